package storage

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync/atomic"
	"time"

	"github.com/itsmkit/itsmkit/itsm"
	"github.com/itsmkit/itsmkit/record"
)

// ErrUnknownCalendar marks a timer that names a calendar its store's
// calendar source does not know: the timer cannot be judged, so no
// crossing of it can be recorded. *UnknownCalendarError and
// *MissingCalendarsError match it.
var ErrUnknownCalendar = errors.New("storage: unknown calendar")

// UnknownCalendarError reports a timer that a wake-up pass skipped
// because its store does not know the calendar it names. It matches
// ErrUnknownCalendar.
type UnknownCalendarError struct {
	// Calendar is the name the timer gives.
	Calendar string
	// Record and TimerID name the timer.
	Record  record.Ref
	TimerID string
}

// Error names the timer and the calendar.
func (e *UnknownCalendarError) Error() string {
	return fmt.Sprintf("storage: timer %s of %s names unknown calendar %q", e.TimerID, e.Record, e.Calendar)
}

// Unwrap returns ErrUnknownCalendar.
func (e *UnknownCalendarError) Unwrap() error { return ErrUnknownCalendar }

// MissingCalendarsError is the refusal of a Worker to start: stored
// timers that await a wake-up name calendars the store does not know. It
// matches ErrUnknownCalendar.
type MissingCalendarsError struct {
	// Calendars are the unknown names, sorted.
	Calendars []string
}

// Error lists the unknown calendars.
func (e *MissingCalendarsError) Error() string {
	return fmt.Sprintf("storage: stored timers name calendars the store does not know: %s", strings.Join(e.Calendars, ", "))
}

// Unwrap returns ErrUnknownCalendar.
func (e *MissingCalendarsError) Unwrap() error { return ErrUnknownCalendar }

// Batch is what one TimerProcessor.ProcessDueTimers call did.
type Batch struct {
	// Claimed is how many due timers the call took, Processed included.
	Claimed int
	// Processed is how many timers it judged and refreshed.
	Processed int
	// Recorded is how many crossings it recorded (each with its audit
	// event and outbox message).
	Recorded int
	// Skipped holds the timers it left as they were because their
	// calendar is unknown, in claim order; they stay due.
	Skipped []*UnknownCalendarError
}

// TimerProcessor is implemented by adapters that run the SLA wake-up work
// against their own database.
type TimerProcessor interface {
	// ProcessDueTimers claims up to limit timers whose NextWakeAt is at or
	// before now and that no other worker holds and, in one transaction,
	// for each claimed timer whose calendar the store knows: records each
	// of its crossings at now that is not recorded yet (exactly once,
	// whatever the number of concurrent workers), appending the
	// crossing's audit event (Crossing.Event) as Tx.AppendEvents does,
	// with its Sequence, its place in the audit trail and its outbox
	// message, and refreshes the timer's derived fields (Stage, AtRiskAt,
	// BreachAt, NextWakeAt). A timer whose calendar the store does not
	// know is left unchanged (it stays due) and reported in
	// Batch.Skipped; the others are processed all the same. Nothing is
	// delivered: subscribers read the outbox after the commit. A limit
	// of 0 or less processes nothing. On an error nothing of the call is
	// kept.
	ProcessDueTimers(ctx context.Context, now time.Time, limit int) (Batch, error)
	// UnknownCalendars returns, sorted and without duplicates, the
	// calendar names that stored timers with a wake-up (NextWakeAt set)
	// give and that the store's calendar source does not know; empty when
	// every such timer can be judged. Timers without a wake-up are never
	// processed and are not looked at.
	UnknownCalendars(ctx context.Context) ([]string, error)
}

// Pass is what one Worker.RunOnce did.
type Pass struct {
	// Batches is how many ProcessDueTimers calls it made.
	Batches int
	// Processed is how many timers it processed.
	Processed int
	// Recorded is how many crossings it recorded.
	Recorded int
	// Skipped holds each timer skipped for an unknown calendar, once.
	Skipped []*UnknownCalendarError
}

// Worker wakes up SLA timers: every Interval it asks the Processor to work
// through the due timers in batches until none is left. It only records:
// crossings go to the outbox as audit events, and a deliverer hands them
// to subscribers outside any transaction, so a subscriber may call the
// services of any store.
type Worker struct {
	// Processor is the adapter, such as a *sqlite.Store.
	Processor TimerProcessor
	// Clock tells the time; default the system clock.
	Clock itsm.Clock
	// Interval is the pause between passes; default 30 seconds.
	Interval time.Duration
	// BatchSize is how many timers one transaction claims; default 100.
	// Timers skipped for an unknown calendar stay due, so later batches
	// of a pass claim that many more, to leave room for the others.
	BatchSize int
	// OnError is told about a failed pass; the worker carries on with the
	// next pass. Nil ignores errors.
	OnError func(error)
	// Logger receives a warning for each timer a pass skips; nil uses
	// slog.Default().
	Logger *slog.Logger

	started atomic.Bool
	skipped atomic.Int64
}

// Skipped returns how many timers the worker's passes have skipped for an
// unknown calendar since it was made, counting a timer once per pass.
func (w *Worker) Skipped() int64 { return w.skipped.Load() }

// start checks, until it has once succeeded, that the store knows every
// calendar its due timers name.
func (w *Worker) start(ctx context.Context) error {
	if w.Processor == nil {
		return errors.New("storage: worker has no processor")
	}
	if w.started.Load() {
		return nil
	}
	missing, err := w.Processor.UnknownCalendars(ctx)
	if err != nil {
		return fmt.Errorf("storage: worker: check calendars: %w", err)
	}
	if len(missing) > 0 {
		return &MissingCalendarsError{Calendars: missing}
	}
	w.started.Store(true)
	return nil
}

// RunOnce works through every timer due now, batch by batch, and returns
// what it did. The first call of a Worker (and every call until one has
// got this far) first asks the Processor for UnknownCalendars, and
// returns a *MissingCalendarsError without processing anything when there
// are any. Timers written later with an unknown calendar are skipped:
// each is logged to Logger and counted (in Skipped and in the Pass) once
// per pass, and the pass goes on with the others. A pass ends when a
// batch claims fewer timers than it may, or claims only timers skipped
// before in the pass, so it ends even when skipped timers stay due.
func (w *Worker) RunOnce(ctx context.Context) (Pass, error) {
	if err := w.start(ctx); err != nil {
		return Pass{}, err
	}
	return w.pass(ctx)
}

func (w *Worker) pass(ctx context.Context) (Pass, error) {
	size := w.BatchSize
	if size <= 0 {
		size = 100
	}
	log := w.Logger
	if log == nil {
		log = slog.Default()
	}
	type timerKey struct {
		rec record.Ref
		id  string
	}
	seen := make(map[timerKey]bool)
	now := itsm.ClockOrSystem(w.Clock).Now()
	var p Pass
	for {
		limit := size + len(p.Skipped)
		b, err := w.Processor.ProcessDueTimers(ctx, now, limit)
		if err != nil {
			return p, err
		}
		p.Batches++
		p.Processed += b.Processed
		p.Recorded += b.Recorded
		fresh := 0
		for _, s := range b.Skipped {
			k := timerKey{s.Record, s.TimerID}
			if seen[k] {
				continue
			}
			seen[k] = true
			fresh++
			p.Skipped = append(p.Skipped, s)
			w.skipped.Add(1)
			log.LogAttrs(ctx, slog.LevelWarn, "SLA timer skipped: unknown calendar",
				slog.String("kind", s.Record.Kind), slog.String("record", s.Record.ID),
				slog.String("timer", s.TimerID), slog.String("calendar", s.Calendar),
				slog.Any("error", s))
		}
		if b.Claimed < limit || (b.Processed == 0 && fresh == 0) {
			return p, nil
		}
	}
}

// Run checks the calendars as RunOnce does, returning its
// *MissingCalendarsError (or the error of the check) before doing
// anything else, and then calls RunOnce every Interval until ctx is done,
// and then returns nil. Errors of a pass go to OnError.
func (w *Worker) Run(ctx context.Context) error {
	if err := w.start(ctx); err != nil {
		return err
	}
	every := w.Interval
	if every <= 0 {
		every = 30 * time.Second
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		if _, err := w.pass(ctx); err != nil && w.OnError != nil && ctx.Err() == nil {
			w.OnError(err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}
