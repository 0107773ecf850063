package storage_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/itsmkit/itsmkit/itsm"
	"github.com/itsmkit/itsmkit/itsm/itsmtest"
	"github.com/itsmkit/itsmkit/record"
	"github.com/itsmkit/itsmkit/sla"
	"github.com/itsmkit/itsmkit/storage"
)

func TestCrossings(t *testing.T) {
	t.Parallel()
	start := time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC)
	tm, err := sla.NewTimer(sla.AlwaysOpen(time.UTC), sla.BusinessTime(4*time.Hour), nil, "gold", sla.MetricResolution, itsm.PriorityHigh)
	require.NoError(t, err)
	require.NoError(t, tm.Start(start))
	ref := record.Ref{Kind: "incident", ID: "i1"}
	rec := record.TimerRecord{Record: ref, ID: "t1", Timer: tm}

	require.Empty(t, storage.Crossings(rec, start.Add(time.Hour)))
	got := storage.Crossings(rec, start.Add(3*time.Hour))
	require.Equal(t, []storage.Crossing{
		{Record: ref, TimerID: "t1", Policy: "gold", Metric: sla.MetricResolution, Cycle: 1, BasisPoints: 5000, At: start.Add(2 * time.Hour)},
		{Record: ref, TimerID: "t1", Policy: "gold", Metric: sla.MetricResolution, Cycle: 1, BasisPoints: 7500, At: start.Add(3 * time.Hour)},
	}, got)
	got = storage.Crossings(rec, start.Add(5*time.Hour))
	require.Len(t, got, 3)
	require.True(t, got[2].Breach())
	require.False(t, got[1].Breach())
	require.True(t, got[2].At.Equal(start.Add(4*time.Hour)), "breached after %v", got[2].At)
}

type fakeProcessor struct {
	mu      sync.Mutex
	due     int
	calls   int
	failAt  int
	seenNow []time.Time
}

func (p *fakeProcessor) ProcessDueTimers(ctx context.Context, now time.Time, limit int, hook storage.CrossingHook) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.calls++
	p.seenNow = append(p.seenNow, now)
	if p.calls == p.failAt {
		return 0, errors.New("database gone")
	}
	n := min(limit, p.due)
	p.due -= n
	for range n {
		if err := hook(ctx, storage.Crossing{}); err != nil {
			return 0, err
		}
	}
	return n, nil
}

func TestWorkerRunOnceDrainsInBatches(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	p := &fakeProcessor{due: 250}
	hooked := 0
	w := &storage.Worker{Processor: p, Clock: itsmtest.NewClock(now), BatchSize: 100,
		Hook: func(context.Context, storage.Crossing) error { hooked++; return nil }}
	n, err := w.RunOnce(context.Background())
	require.NoError(t, err)
	require.Equal(t, 250, n)
	require.Equal(t, 250, hooked)
	require.Equal(t, 3, p.calls)
	for _, s := range p.seenNow {
		require.Equal(t, now, s, "one pass judges every batch at the same instant")
	}

	_, err = (&storage.Worker{}).RunOnce(context.Background())
	require.Error(t, err)
}

func TestWorkerRunReportsErrorsAndStops(t *testing.T) {
	t.Parallel()
	p := &fakeProcessor{due: 5, failAt: 1}
	ctx, cancel := context.WithCancel(context.Background())
	var errs []error
	w := &storage.Worker{Processor: p, Interval: time.Millisecond, OnError: func(err error) {
		errs = append(errs, err)
	}}
	done := make(chan error)
	go func() { done <- w.Run(ctx) }()
	require.Eventually(t, func() bool {
		p.mu.Lock()
		defer p.mu.Unlock()
		return p.due == 0
	}, 5*time.Second, time.Millisecond)
	cancel()
	require.NoError(t, <-done)
	require.Len(t, errs, 1)
}
