//go:build race

package storagetest_test

// raceEnabled reports whether the tests run with the race detector.
const raceEnabled = true
