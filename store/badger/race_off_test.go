//go:build !race

package badger

// raceEnabled scales heavy tests down under the race detector.
const raceEnabled = false
