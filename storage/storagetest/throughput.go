package storagetest

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// ThroughputRound is how many calls one round of BenchmarkThroughput
// makes of each function.
const ThroughputRound = 200

// BenchmarkThroughput measures how many calls of op and of floor a
// second writers goroutines complete together: each iteration of b runs a
// round of ThroughputRound calls of op, shared among writers goroutines
// that each call it until the round is done, and then a round of floor.
// It reports ops/s and floor-ops/s. Run it with writers 1 and with more
// to see how op scales against the floor (the least a durable write costs
// on the same database, which shows what the machine manages). The first
// error of either fails b once the round ends.
func BenchmarkThroughput(b *testing.B, writers int, op, floor func(context.Context) error) {
	b.Helper()
	if writers < 1 {
		b.Fatalf("BenchmarkThroughput: %d writers", writers)
	}
	ctx := b.Context()
	round := func(fn func(context.Context) error) time.Duration {
		var (
			wg    sync.WaitGroup
			next  atomic.Int64
			first atomic.Pointer[error]
		)
		start := time.Now()
		for range writers {
			wg.Go(func() {
				for next.Add(1) <= ThroughputRound {
					if err := fn(ctx); err != nil {
						first.CompareAndSwap(nil, &err)
						return
					}
				}
			})
		}
		wg.Wait()
		if err := first.Load(); err != nil {
			b.Fatal(*err)
		}
		return time.Since(start)
	}
	var ops, floors time.Duration
	for b.Loop() {
		ops += round(op)
		floors += round(floor)
	}
	n := float64(b.N * ThroughputRound)
	b.ReportMetric(n/ops.Seconds(), "ops/s")
	b.ReportMetric(n/floors.Seconds(), "floor-ops/s")
}
