//go:build race

package tuples

// raceEnabled scales heavy tests down under the race detector.
const raceEnabled = true
