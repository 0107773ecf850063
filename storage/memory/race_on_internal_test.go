//go:build race

package memory

// bigStore is the size of the larger store of TestReadsDoNotScan: the race
// detector slows loading twentyfold.
const bigStore = 5000
