package storage

import (
	"context"
	"errors"
	"time"

	"github.com/itsmkit/itsmkit/itsm"
)

// TimerProcessor is implemented by adapters that run the SLA wake-up work
// against their own database.
type TimerProcessor interface {
	// ProcessDueTimers claims up to limit timers whose NextWakeAt is at or
	// before now and that no other worker holds, records each of their
	// crossings at now that is not recorded yet (exactly once, whatever
	// the number of concurrent workers), calls hook for each crossing it
	// recorded, and refreshes the timers' derived fields (Stage, AtRiskAt,
	// BreachAt, NextWakeAt), all in one transaction. It returns how many
	// timers it processed.
	ProcessDueTimers(ctx context.Context, now time.Time, limit int, hook CrossingHook) (int, error)
}

// Worker wakes up SLA timers: every Interval it asks the Processor to work
// through the due timers in batches until none is left.
type Worker struct {
	// Processor is the adapter, such as a *sqlite.Store.
	Processor TimerProcessor
	// Hook receives each crossing; nil records crossings without telling
	// anyone.
	Hook CrossingHook
	// Clock tells the time; default the system clock.
	Clock itsm.Clock
	// Interval is the pause between passes; default 30 seconds.
	Interval time.Duration
	// BatchSize is how many timers one transaction claims; default 100.
	BatchSize int
	// OnError is told about a failed pass; the worker carries on with the
	// next pass. Nil ignores errors.
	OnError func(error)
}

// RunOnce works through every timer due now, batch by batch, and returns
// how many timers it processed.
func (w *Worker) RunOnce(ctx context.Context) (int, error) {
	if w.Processor == nil {
		return 0, errors.New("storage: worker has no processor")
	}
	size := w.BatchSize
	if size <= 0 {
		size = 100
	}
	hook := w.Hook
	if hook == nil {
		hook = func(context.Context, Crossing) error { return nil }
	}
	now := itsm.ClockOrSystem(w.Clock).Now()
	total := 0
	for {
		n, err := w.Processor.ProcessDueTimers(ctx, now, size, hook)
		total += n
		if err != nil || n < size {
			return total, err
		}
	}
}

// Run calls RunOnce every Interval until ctx is done, and then returns
// nil. Errors of a pass go to OnError.
func (w *Worker) Run(ctx context.Context) error {
	every := w.Interval
	if every <= 0 {
		every = 30 * time.Second
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		if _, err := w.RunOnce(ctx); err != nil && w.OnError != nil && ctx.Err() == nil {
			w.OnError(err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}
