package storage_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"slices"
	"strconv"
	"strings"
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

func TestAllCrossingsKeepsResetCycles(t *testing.T) {
	t.Parallel()
	start := time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC)
	tm, err := sla.NewTimer(sla.AlwaysOpen(time.UTC), sla.BusinessTime(time.Hour), nil, "gold", sla.MetricResolution, itsm.PriorityHigh)
	require.NoError(t, err)
	require.NoError(t, tm.Start(start))
	require.NoError(t, tm.Reset(start.Add(2*time.Hour), sla.Target{}, 0, "reopened"))
	rec := record.TimerRecord{Record: record.Ref{Kind: "incident", ID: "i1"}, ID: "t1", Timer: tm}
	at := start.Add(150 * time.Minute)
	require.Len(t, storage.Crossings(rec, at), 1, "the current cycle's 50 %")
	all := storage.AllCrossings(rec, at)
	require.Len(t, all, 4)
	for i, c := range all[:3] {
		require.Equal(t, 1, c.Cycle, i)
	}
	require.Equal(t, 2, all[3].Cycle)
	require.Equal(t, start.Add(2*time.Hour), storage.LastChange(tm))
	require.True(t, storage.LastChange(nil).IsZero())
}

func TestCrossingEventRoundTrip(t *testing.T) {
	t.Parallel()
	at := time.Date(2026, 11, 20, 13, 0, 0, 0, time.UTC)
	for _, c := range []storage.Crossing{
		{Record: record.Ref{Kind: "incident", ID: "i1"}, TimerID: "gold/resolution", Policy: "gold", Metric: sla.MetricResolution, Cycle: 1, BasisPoints: 10000, At: at},
		{Record: record.Ref{Kind: "change", ID: "c-7"}, TimerID: "t", Policy: "silver", Metric: sla.MetricResponse, Cycle: 3, BasisPoints: 3333, At: at},
		{Record: record.Ref{Kind: "incident", ID: "i2"}, TimerID: "t", Metric: sla.MetricResponse, Cycle: 1, BasisPoints: 7500, At: at},
	} {
		ev := c.Event()
		require.NoError(t, ev.Validate())
		require.Equal(t, itsm.System, ev.Actor)
		require.Equal(t, at, ev.At)
		require.Equal(t, c.Breach(), ev.Action == storage.ActionSLABreach)
		require.NotEmpty(t, ev.Reason)
		got, ok := storage.CrossingFromEvent(ev)
		require.True(t, ok)
		require.Equal(t, c, got)
	}
	require.Contains(t, storage.Crossing{Policy: "gold", Metric: sla.MetricResolution, BasisPoints: 3333}.Event().Reason, "33.33%")

	good := storage.Crossing{Record: record.Ref{Kind: "incident", ID: "i1"}, TimerID: "t", Cycle: 1, BasisPoints: 5000, At: at}.Event()
	edit := func(f func(*itsm.Event)) itsm.Event {
		ev := good
		ev.Changes = slices.Clone(good.Changes)
		f(&ev)
		return ev
	}
	for name, ev := range map[string]itsm.Event{
		"another action": edit(func(e *itsm.Event) { e.Action = "resolve" }),
		"another actor":  edit(func(e *itsm.Event) { e.Actor = itsm.Actor{ID: "alice"} }),
		"breach action":  edit(func(e *itsm.Event) { e.Action = storage.ActionSLABreach }),
		"no timer":       edit(func(e *itsm.Event) { e.Changes = e.Changes[1:] }),
		"cycle 0":        edit(func(e *itsm.Event) { e.Changes[3].New = "0" }),
		"bad cycle":      edit(func(e *itsm.Event) { e.Changes[3].New = "x" }),
		"points 0":       edit(func(e *itsm.Event) { e.Changes[4].New = "0" }),
		"points > 100 %": edit(func(e *itsm.Event) { e.Changes[4].New = "10001" }),
		"no points":      edit(func(e *itsm.Event) { e.Changes = e.Changes[:4] }),
	} {
		_, ok := storage.CrossingFromEvent(ev)
		require.False(t, ok, name)
	}
	reordered := edit(func(e *itsm.Event) { slices.Reverse(e.Changes) })
	c, ok := storage.CrossingFromEvent(reordered)
	require.True(t, ok, "fields are found by name")
	require.Equal(t, int32(5000), c.BasisPoints)
}

func TestWrittenCrossings(t *testing.T) {
	t.Parallel()
	start := time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC) // a Monday
	day := []sla.Interval{{"09:00", "17:00"}}
	cal, err := sla.NewCalendar(sla.CalendarSpec{Name: "office", TimeZone: "UTC", Hours: map[string][]sla.Interval{"mon": day}})
	require.NoError(t, err)
	tm, err := sla.NewTimer(cal, sla.BusinessTime(2*time.Hour), nil, "gold", sla.MetricResolution, itsm.PriorityHigh)
	require.NoError(t, err)
	ref := record.Ref{Kind: "incident", ID: "i1"}
	rec := record.TimerRecord{Record: ref, ID: "t1", Timer: tm}
	cs, err := storage.WrittenCrossings(rec, nil)
	require.NoError(t, err)
	require.Empty(t, cs, "a timer without events")
	require.NoError(t, tm.Start(start))
	require.NoError(t, tm.Stop(start.Add(3*time.Hour), "resolved"))
	cs, err = storage.WrittenCrossings(rec, nil)
	require.NoError(t, err)
	require.Len(t, cs, 3, "a bound timer needs no source")

	enc, err := json.Marshal(tm)
	require.NoError(t, err)
	unbound := new(sla.Timer)
	require.NoError(t, json.Unmarshal(enc, unbound))
	rec.Timer = unbound
	_, err = storage.WrittenCrossings(rec, sla.Calendars{})
	var uc *storage.UnknownCalendarError
	require.ErrorAs(t, err, &uc)
	require.Equal(t, storage.UnknownCalendarError{Calendar: "office", Record: ref, TimerID: "t1"}, *uc)
	require.ErrorIs(t, err, storage.ErrUnknownCalendar)
	got, err := storage.WrittenCrossings(rec, sla.Calendars{"office": cal})
	require.NoError(t, err)
	require.Equal(t, cs, got)
	require.Nil(t, unbound.Calendar(), "the caller's timer stays unbound")
}

type fakeProcessor struct {
	mu      sync.Mutex
	due     int
	stuck   int // due timers that are always skipped
	missing []string
	calls   int
	failAt  int
	limits  []int
	seenNow []time.Time
}

func (p *fakeProcessor) ProcessDueTimers(ctx context.Context, now time.Time, limit int) (storage.Batch, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.calls++
	p.seenNow = append(p.seenNow, now)
	p.limits = append(p.limits, limit)
	if p.calls == p.failAt {
		return storage.Batch{}, errors.New("database gone")
	}
	var b storage.Batch
	for i := range min(limit, p.stuck) {
		b.Skipped = append(b.Skipped, &storage.UnknownCalendarError{Calendar: "night", Record: record.Ref{Kind: "incident", ID: "i"}, TimerID: strconv.Itoa(i)})
	}
	n := min(limit-len(b.Skipped), p.due)
	p.due -= n
	b.Claimed, b.Processed, b.Recorded = len(b.Skipped)+n, n, 2*n
	return b, nil
}

func (p *fakeProcessor) UnknownCalendars(context.Context) ([]string, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.missing, nil
}

func TestWorkerRunOnceDrainsInBatches(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	p := &fakeProcessor{due: 250}
	w := &storage.Worker{Processor: p, Clock: itsmtest.NewClock(now), BatchSize: 100}
	pass, err := w.RunOnce(context.Background())
	require.NoError(t, err)
	require.Equal(t, storage.Pass{Batches: 3, Processed: 250, Recorded: 500}, pass)
	require.Equal(t, 3, p.calls)
	for _, s := range p.seenNow {
		require.Equal(t, now, s, "one pass judges every batch at the same instant")
	}

	_, err = (&storage.Worker{}).RunOnce(context.Background())
	require.Error(t, err)
}

func TestWorkerSkipsUnknownCalendars(t *testing.T) {
	t.Parallel()
	// Three timers always skipped, due first: every batch claims them
	// again, so later batches claim three more, and the pass ends.
	p := &fakeProcessor{due: 5, stuck: 3}
	var logged bytes.Buffer
	w := &storage.Worker{Processor: p, BatchSize: 2, Logger: slog.New(slog.NewTextHandler(&logged, nil))}
	pass, err := w.RunOnce(context.Background())
	require.NoError(t, err)
	require.Equal(t, 5, pass.Processed)
	require.Len(t, pass.Skipped, 3)
	require.Equal(t, int64(3), w.Skipped())
	require.Equal(t, 3, strings.Count(logged.String(), "calendar=night"), logged.String())
	require.Equal(t, []int{2, 4, 5, 5, 5}, p.limits, "each batch leaves room for the skipped timers")

	pass, err = w.RunOnce(context.Background())
	require.NoError(t, err)
	require.Zero(t, pass.Processed)
	require.Len(t, pass.Skipped, 3)
	require.Equal(t, int64(6), w.Skipped(), "counted once per pass")
}

func TestWorkerRefusesUnknownCalendars(t *testing.T) {
	t.Parallel()
	p := &fakeProcessor{due: 5, missing: []string{"a", "b"}}
	w := &storage.Worker{Processor: p}
	_, err := w.RunOnce(context.Background())
	var me *storage.MissingCalendarsError
	require.ErrorAs(t, err, &me)
	require.ErrorIs(t, err, storage.ErrUnknownCalendar)
	require.Equal(t, []string{"a", "b"}, me.Calendars)
	require.ErrorContains(t, err, "a, b")
	require.ErrorIs(t, w.Run(context.Background()), storage.ErrUnknownCalendar)
	require.Zero(t, p.calls, "nothing is processed")

	p.mu.Lock()
	p.missing = nil
	p.mu.Unlock()
	pass, err := w.RunOnce(context.Background())
	require.NoError(t, err)
	require.Equal(t, 5, pass.Processed)
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
