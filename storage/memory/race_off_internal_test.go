//go:build !race

package memory

// bigStore is the size of the larger store of TestReadsDoNotScan.
const bigStore = 20000
