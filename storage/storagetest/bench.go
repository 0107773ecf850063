package storagetest

import (
	"context"
	"testing"
	"time"
)

// BenchmarkAgainstFloor runs op and then floor once in each iteration of
// b and reports the mean time of each (op-µs, floor-µs) and their ratio
// (x-floor); ns/op is the time of both together. Adapters use it to
// compare a service operation with the least a durable write costs on the
// same database: interleaving the two keeps the ratio steady on a machine
// whose disk speed drifts between runs, where two separate benchmarks
// would each see a different disk. The first error of either fails b.
func BenchmarkAgainstFloor(b *testing.B, op, floor func(context.Context) error) {
	b.Helper()
	ctx := b.Context()
	var opTime, floorTime time.Duration
	for b.Loop() {
		t0 := time.Now()
		if err := op(ctx); err != nil {
			b.Fatal(err)
		}
		t1 := time.Now()
		if err := floor(ctx); err != nil {
			b.Fatal(err)
		}
		opTime, floorTime = opTime+t1.Sub(t0), floorTime+time.Since(t1)
	}
	n := float64(b.N)
	b.ReportMetric(float64(opTime.Microseconds())/n, "op-µs")
	b.ReportMetric(float64(floorTime.Microseconds())/n, "floor-µs")
	if floorTime > 0 {
		b.ReportMetric(float64(opTime)/float64(floorTime), "x-floor")
	}
}
