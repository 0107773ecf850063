//go:build !race

package sqlite

// raceEnabled reports whether the tests run under the race detector, which
// slows the transpiled SQLite engine down about twentyfold.
const raceEnabled = false
