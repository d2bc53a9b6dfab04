//go:build !race

package schema

// raceEnabled is set under -race, where every parse costs several times
// more: the randomized tests run fewer cases.
const raceEnabled = false
