package storagetest

import (
	stdcmp "cmp"
	"context"
	"slices"
	"strings"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/require"

	"github.com/itsmkit/itsmkit/itsm"
	"github.com/itsmkit/itsmkit/record"
	"github.com/itsmkit/itsmkit/sla"
)

// weekdays returns a named Monday-to-Friday 09:00–17:00 UTC calendar.
func weekdays() *sla.Calendar {
	day := []sla.Interval{{"09:00", "17:00"}}
	cal, err := sla.NewCalendar(sla.CalendarSpec{
		Name: "weekdays", TimeZone: "UTC",
		Hours: map[string][]sla.Interval{"mon": day, "tue": day, "wed": day, "thu": day, "fri": day},
	})
	must(err)
	return cal
}

// richTimer returns a 24×7 timer with every kind of event but cancel.
func richTimer() *sla.Timer {
	tm := newTimer("gold", sla.MetricResolution, 8*time.Hour, t0)
	must(tm.Pause(t0.Add(time.Hour), "awaiting caller"))
	must(tm.Resume(t0.Add(3*time.Hour), "caller replied"))
	must(tm.Retarget(t0.Add(4*time.Hour), sla.BusinessTime(4*time.Hour), itsm.PriorityCritical, "priority raised"))
	must(tm.Stop(t0.Add(5*time.Hour), "resolved"))
	must(tm.Reset(t0.Add(6*time.Hour), sla.Target{}, 0, "reopened"))
	return tm
}

// calendarTimer returns a running timer on the weekdays calendar.
func calendarTimer() *sla.Timer {
	tm, err := sla.NewTimer(weekdays(), sla.BusinessDays(2), nil, "silver", sla.MetricResponse, itsm.PriorityModerate)
	must(err)
	must(tm.Start(t0)) // a Monday
	return tm
}

// wakeAt returns a running 4-hour timer record with id for ref whose
// NextWakeAt is at.
func wakeAt(ref record.Ref, id string, at time.Time) record.TimerRecord {
	r := timerRecord(ref, id, sla.KindSLA, newTimer("gold", sla.MetricResolution, 4*time.Hour, t0), t0)
	r.NextWakeAt = at
	return r
}

// dueOrder sorts timer records as TimersDue returns them.
func dueOrder(a, b record.TimerRecord) int {
	if c := a.NextWakeAt.Compare(b.NextWakeAt); c != 0 {
		return c
	}
	if c := strings.Compare(a.ID, b.ID); c != 0 {
		return c
	}
	if c := strings.Compare(a.Record.Kind, b.Record.Kind); c != 0 {
		return c
	}
	return strings.Compare(a.Record.ID, b.Record.ID)
}

// requireTimersOf fails unless the timers of ref read through r equal want.
func (e *env) requireTimersOf(ctx context.Context, r record.Reader, ref record.Ref, want ...record.TimerRecord) {
	e.t.Helper()
	got, err := r.Timers(ctx, ref)
	require.NoError(e.t, err)
	require.NotNil(e.t, got, "Timers returns a non-nil slice")
	requireTimers(e.t, want, got)
}

// due returns TimersDue(before, limit) through r.
func (e *env) due(ctx context.Context, r record.Reader, before time.Time, limit int) []record.TimerRecord {
	e.t.Helper()
	got, err := r.TimersDue(ctx, before, limit)
	require.NoError(e.t, err)
	return got
}

var timerChecks = []check{
	{"RoundTrip", func(e *env) {
		rec := e.fixture(1)
		e.create(rec)
		ref := rec.Ref()
		b := timerRecord(ref, "tmr-b", sla.KindOLA, richTimer(), t0.Add(7*time.Hour))
		a := timerRecord(ref, "tmr-a", sla.KindUC, calendarTimer(), t0.Add(time.Hour))
		later := timerRecord(ref, "tmr-0", sla.KindSLA, newTimer("gold", sla.MetricResolution, time.Hour, t0), t0)
		e.tx(func(ctx context.Context, tx record.Tx) { require.NoError(e.t, tx.PutTimers(ctx, b, a)) })
		e.tx(func(ctx context.Context, tx record.Tx) { require.NoError(e.t, tx.PutTimers(ctx, later)) })

		got, err := e.store.Timers(e.ctx, ref)
		require.NoError(e.t, err)
		requireTimers(e.t, []record.TimerRecord{b, a, later}, got) // in the order first saved

		// A named calendar comes back unbound; binding the calendars
		// restores the same status.
		require.Equal(e.t, "weekdays", got[1].Timer.CalendarName())
		require.Nil(e.t, got[1].Timer.Calendar(), "stores return timers with their calendar unbound")
		always := sla.AlwaysOpen(time.UTC)
		cals := sla.Calendars{"weekdays": weekdays(), always.Name(): always}
		at := t0.Add(30 * time.Hour)
		for i, want := range []record.TimerRecord{b, a, later} {
			require.NoError(e.t, got[i].Timer.Bind(cals))
			if diff := cmp.Diff(want.Timer.Status(at), got[i].Timer.Status(at), cmpOpts); diff != "" {
				e.t.Fatalf("status of %s after a round trip (-want +got):\n%s", want.ID, diff)
			}
		}
		e.tx(func(ctx context.Context, tx record.Tx) { e.requireTimersOf(ctx, tx, ref, b, a, later) })
		requireRecord(e.t, fixture{rec: rec, timers: []record.TimerRecord{b, a, later}}.want(), e.get(ref))
	}},
	{"Replace", func(e *env) {
		rec := e.fixture(1)
		e.create(rec)
		ref := rec.Ref()
		b := timerRecord(ref, "tmr-b", sla.KindSLA, newTimer("gold", sla.MetricResolution, 4*time.Hour, t0), t0)
		a := timerRecord(ref, "tmr-a", sla.KindSLA, newTimer("gold", sla.MetricResponse, time.Hour, t0), t0)
		e.tx(func(ctx context.Context, tx record.Tx) { require.NoError(e.t, tx.PutTimers(ctx, b, a)) })

		second := newTimer("gold", sla.MetricResolution, 4*time.Hour, t0)
		must(second.Pause(t0.Add(time.Hour), "awaiting caller"))
		b2 := timerRecord(ref, "tmr-b", sla.KindOLA, second, t0.Add(2*time.Hour))
		require.NotEqual(e.t, b.Stage, b2.Stage, "storagetest: the replacement differs in its derived fields")
		e.tx(func(ctx context.Context, tx record.Tx) {
			require.NoError(e.t, tx.PutTimers(ctx, b2))
			e.requireTimersOf(ctx, tx, ref, b2, a)
		})
		e.requireTimersOf(e.ctx, e.store, ref, b2, a)
		requireRecord(e.t, fixture{rec: rec, timers: []record.TimerRecord{b2, a}}.want(), e.get(ref))
		// Replacing a timer twice in one call keeps the last.
		c := timerRecord(ref, "tmr-c", sla.KindUC, newTimer("gold", sla.MetricResolution, 2*time.Hour, t0), t0)
		c2 := timerRecord(ref, "tmr-c", sla.KindUC, newTimer("gold", sla.MetricResolution, 3*time.Hour, t0), t0)
		e.tx(func(ctx context.Context, tx record.Tx) { require.NoError(e.t, tx.PutTimers(ctx, c, a, c2)) })
		e.requireTimersOf(e.ctx, e.store, ref, b2, a, c2)
	}},
	{"SameIDInTwoRecords", func(e *env) {
		// A timer is known by its record and its ID: the same ID under
		// two records, of one kind or two, names separate timers.
		x, y := e.fixture(1), e.fixture(2)
		z := e.og.record(1)
		z.ID = x.ID
		e.create(x, y, z)
		wake := t0.Add(time.Hour)
		ofX, ofY, ofZ := wakeAt(x.Ref(), "tmr-a", wake), wakeAt(y.Ref(), "tmr-a", wake), wakeAt(z.Ref(), "tmr-a", wake)
		e.tx(func(ctx context.Context, tx record.Tx) { require.NoError(e.t, tx.PutTimers(ctx, ofZ, ofY, ofX)) })

		paused := newTimer("gold", sla.MetricResolution, 4*time.Hour, t0)
		must(paused.Pause(t0.Add(time.Minute), "awaiting caller"))
		ofX2 := timerRecord(x.Ref(), "tmr-a", sla.KindSLA, paused, t0.Add(2*time.Minute))
		ofX2.NextWakeAt = wake
		e.tx(func(ctx context.Context, tx record.Tx) { require.NoError(e.t, tx.PutTimers(ctx, ofX2)) })
		e.requireTimersOf(e.ctx, e.store, x.Ref(), ofX2)
		e.requireTimersOf(e.ctx, e.store, y.Ref(), ofY)
		e.requireTimersOf(e.ctx, e.store, z.Ref(), ofZ)

		want := []record.TimerRecord{ofX2, ofY, ofZ}
		slices.SortFunc(want, dueOrder) // one instant and ID: the record's kind, then its ID decide
		requireTimers(e.t, want, e.due(e.ctx, e.store, wake, 10))
	}},
	{"MissingRecord", func(e *env) {
		x := e.fixture(1)
		theirs := e.og.record(2)
		theirs.ID = e.gen.id(2)
		e.create(x, theirs)
		missing := e.gen.ref(2) // its ID exists in the other kind only
		ok := wakeAt(x.Ref(), "tmr-a", t0.Add(time.Hour))
		orphan := wakeAt(missing, "tmr-b", t0.Add(time.Hour))
		e.refusedInTx(func(ctx context.Context, tx record.Tx) error {
			err := tx.PutTimers(ctx, ok, orphan)
			// The transaction goes on without the refused call's timers.
			e.requireTimersOf(ctx, tx, x.Ref())
			return err
		}, func(err error) { requireNotFound(e.t, err, missing.Kind, missing.ID) })
		for _, ref := range []record.Ref{x.Ref(), missing, theirs.Ref()} {
			e.requireTimersOf(e.ctx, e.store, ref)
		}
		require.Empty(e.t, e.due(e.ctx, e.store, t0.Add(1000*time.Hour), 10))
		require.Empty(e.t, e.get(x.Ref()).SLA)
	}},
	{"RecordCreatedInSameTx", func(e *env) {
		rec := e.fixture(1)
		tr := wakeAt(rec.Ref(), "tmr-a", t0.Add(time.Hour))
		e.tx(func(ctx context.Context, tx record.Tx) {
			require.NoError(e.t, tx.Create(ctx, rec))
			require.NoError(e.t, tx.PutTimers(ctx, tr))
		})
		e.requireTimersOf(e.ctx, e.store, rec.Ref(), tr)
	}},
	{"Validation", func(e *env) {
		rec := e.fixture(1)
		e.create(rec)
		valid := wakeAt(rec.Ref(), "tmr-a", t0.Add(time.Hour))
		for _, tc := range []struct {
			name string
			edit func(r *record.TimerRecord)
		}{
			{"no ID", func(r *record.TimerRecord) { r.ID = "" }},
			{"malformed record kind", func(r *record.TimerRecord) { r.Record.Kind = "Not A Kind" }},
			{"no record ID", func(r *record.TimerRecord) { r.Record.ID = "" }},
			{"no timer", func(r *record.TimerRecord) { r.Timer = nil }},
			{"started in year -300000", func(r *record.TimerRecord) {
				r.Timer = newTimer("gold", sla.MetricResolution, 4*time.Hour, time.Date(-300000, 1, 1, 0, 0, 0, 0, time.UTC))
			}},
			{"started in year 10000", func(r *record.TimerRecord) {
				r.Timer = newTimer("gold", sla.MetricResolution, 4*time.Hour, time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC))
			}},
			{"wake-up in year 10000", func(r *record.TimerRecord) { r.NextWakeAt = time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC) }},
			{"breach in year 0", func(r *record.TimerRecord) { r.BreachAt = time.Date(0, 6, 1, 0, 0, 0, 0, time.UTC) }},
			{"invalid UTF-8 reason", func(r *record.TimerRecord) { must(r.Timer.Pause(t0.Add(time.Minute), "awaiting caf\xe9")) }},
			{"NUL in policy", func(r *record.TimerRecord) {
				r.Timer = newTimer("gold\x00", sla.MetricResolution, 4*time.Hour, t0)
			}},
		} {
			bad := wakeAt(rec.Ref(), "tmr-b", t0.Add(time.Hour))
			tc.edit(&bad)
			require.Error(e.t, record.CheckTimerRecords([]record.TimerRecord{bad}), "storagetest: fixture %s passes CheckTimerRecords", tc.name)
			e.refusedInTx(func(ctx context.Context, tx record.Tx) error { return tx.PutTimers(ctx, valid, bad) },
				func(err error) { requireValidation(e.t, err, tc.name) })
			e.requireTimersOf(e.ctx, e.store, rec.Ref())
		}
	}},
	{"Due", func(e *env) {
		x, y := e.fixture(1), e.fixture(2)
		z := e.og.record(1)
		e.create(x, y, z)
		recs := []record.TimerRecord{
			wakeAt(x.Ref(), "tmr-c", t0.Add(time.Hour)),
			wakeAt(y.Ref(), "tmr-d", t0.Add(3*time.Hour)),
			wakeAt(y.Ref(), "tmr-a", t0.Add(time.Hour)), // ties with tmr-c: the ID decides
			wakeAt(x.Ref(), "tmr-e", time.Time{}),       // nothing to wake for
			wakeAt(x.Ref(), "tmr-b", t0.Add(2*time.Hour)),
			wakeAt(z.Ref(), "tmr-f", t0.Add(2*time.Hour+time.Microsecond)),
			wakeAt(x.Ref(), "tmr-g", time.Date(1200, 1, 1, 0, 0, 0, 0, time.UTC)),
			wakeAt(y.Ref(), "tmr-h", time.Date(2500, 1, 1, 0, 0, 0, 0, time.UTC)),
		}
		e.tx(func(ctx context.Context, tx record.Tx) { require.NoError(e.t, tx.PutTimers(ctx, recs...)) })
		ids := func(rs []record.TimerRecord) []string {
			var out []string
			for _, r := range rs {
				out = append(out, r.ID)
			}
			return out
		}
		check := func(ctx context.Context, r record.Reader) {
			require.Equal(e.t, []string{"tmr-g", "tmr-a", "tmr-c", "tmr-b"}, ids(e.due(ctx, r, t0.Add(2*time.Hour), 10)), "NextWakeAt equal to before is due")
			require.Equal(e.t, []string{"tmr-g", "tmr-a"}, ids(e.due(ctx, r, t0.Add(2*time.Hour), 2)))
			require.Equal(e.t, []string{"tmr-g", "tmr-a", "tmr-c", "tmr-b", "tmr-f", "tmr-d"}, ids(e.due(ctx, r, t0.Add(1000*time.Hour), 10)))
			require.Equal(e.t, []string{"tmr-g", "tmr-a", "tmr-c", "tmr-b", "tmr-f", "tmr-d", "tmr-h"}, ids(e.due(ctx, r, time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC), 10)))
			require.Equal(e.t, []string{"tmr-g"}, ids(e.due(ctx, r, t0.Add(59*time.Minute), 10)))
			require.Empty(e.t, e.due(ctx, r, t0.Add(time.Hour), 0), "a limit of 0")
			require.Empty(e.t, e.due(ctx, r, t0.Add(time.Hour), -1), "a negative limit")
			requireTimers(e.t, []record.TimerRecord{recs[6], recs[2], recs[0]}, e.due(ctx, r, t0.Add(time.Hour), 10))
		}
		check(e.ctx, e.store)
		e.tx(func(ctx context.Context, tx record.Tx) { check(ctx, tx) })
	}},
	{"SummaryFollowsTimers", func(e *env) {
		// The SLA summary of Get and the SLA filters of List follow what
		// PutTimers saves.
		rec := e.fixture(1)
		e.create(rec)
		ref := rec.Ref()
		list := func(f record.SLAFilter) []record.Ref {
			page, err := e.store.List(e.ctx, record.Query{Kind: ref.Kind, SLA: f, Now: tNow})
			require.NoError(e.t, err)
			return refs(page.Records)
		}
		requireState := func(breached, atRisk bool, timers ...record.TimerRecord) {
			e.t.Helper()
			requireRecord(e.t, fixture{rec: rec, timers: timers}.want(), e.get(ref))
			in := func(b bool) []record.Ref {
				if b {
					return []record.Ref{ref}
				}
				return []record.Ref{}
			}
			require.Equal(e.t, in(breached), list(record.SLAFilter{Breached: true}), "breached")
			require.Equal(e.t, in(atRisk), list(record.SLAFilter{AtRisk: true}), "at risk")
			require.Equal(e.t, in(len(timers) > 0), list(record.SLAFilter{Metric: sla.MetricResolution}), "by metric")
		}
		requireState(false, false)
		for _, sc := range []struct {
			sc               int
			breached, atRisk bool
		}{{scBreached, true, false}, {scPausedAtRisk, false, true}, {scMet, false, false}, {scStale, true, false}, {scHealthy, false, false}} {
			timers := scenarioTimers(ref, sc.sc, 0, tNow) // variant 0: gold/resolution, replaced each time
			e.tx(func(ctx context.Context, tx record.Tx) { require.NoError(e.t, tx.PutTimers(ctx, timers...)) })
			requireState(sc.breached, sc.atRisk, timers...)
		}
		// A second timer adds to the summary, after the first.
		first := scenarioTimers(ref, scHealthy, 0, tNow)
		second := scenarioTimers(ref, scBreached, 1, tNow)
		e.tx(func(ctx context.Context, tx record.Tx) { require.NoError(e.t, tx.PutTimers(ctx, second...)) })
		requireState(true, false, append(first, second...)...)
	}},
}

// slaListChecks check the SLA filters of List where a store may keep
// derived state of its own about timers: judged at instants long after a
// timer's saved wake-up and before its thresholds, with two timers of one
// metric on one record, and after an Update moves a record's opening
// instant. Each compares List, page by page, with Query.Match over the
// stored records.
var slaListChecks = []check{
	{"SLA/Exact", func(e *env) {
		// Four records, each with a response timer (one hour) started at
		// a different instant and saved then: the saved status is ok,
		// and every later status comes from a wake-up nobody handled.
		// Record 1 has a second response timer, at risk with the first.
		var refs []record.Ref
		for i := range 4 {
			rec := e.fixture(i)
			rec.OpenedAt = t0.Add(time.Duration(i) * 10 * time.Minute)
			start := t0.Add(time.Duration(i) * 20 * time.Minute)
			trs := []record.TimerRecord{timerRecord(rec.Ref(), "resp", sla.KindOLA, newTimer("gold", sla.MetricResponse, time.Hour, start), start)}
			if i == 1 {
				trs = append(trs, timerRecord(rec.Ref(), "resp2", sla.KindOLA, newTimer("gold", sla.MetricResponse, time.Hour, start), start))
			}
			e.put(fixture{rec: rec, timers: trs})
			refs = append(refs, rec.Ref())
		}
		// Record 4's timer is saved after its breach: judged earlier, it
		// was at risk, and before that neither.
		rec := e.fixture(4)
		rec.OpenedAt = t0.Add(-time.Hour)
		late := timerRecord(rec.Ref(), "resp", sla.KindSLA, newTimer("gold", sla.MetricResponse, time.Hour, t0), t0.Add(3*time.Hour))
		e.put(fixture{rec: rec, timers: []record.TimerRecord{late}})
		refs = append(refs, rec.Ref())
		e.requireSLALists(refs)

		// Moving record 3 first in opening order moves it in the lists
		// read from its timers too.
		moved := e.get(refs[3])
		moved.OpenedAt = t0.Add(-2 * time.Hour)
		e.tx(func(ctx context.Context, tx record.Tx) { require.NoError(e.t, tx.Update(ctx, moved)) })
		page, err := e.store.List(e.ctx, record.Query{Kind: e.gen.kind(), SLA: record.SLAFilter{Metric: sla.MetricResponse}})
		require.NoError(e.t, err)
		require.NotEmpty(e.t, page.Records)
		require.Equal(e.t, refs[3], page.Records[0].Ref(), "the record moved first")
		e.requireSLALists(refs)
	}},
}

// requireSLALists lists the records refs with SLA filters judged at many
// instants, in pages of two, and fails unless every page holds what
// Query.Match selects of the stored records, in List order, each once.
func (e *env) requireSLALists(refs []record.Ref) {
	e.t.Helper()
	var stored []*record.Record
	for _, ref := range refs {
		stored = append(stored, e.get(ref))
	}
	slices.SortFunc(stored, func(a, b *record.Record) int {
		return stdcmp.Or(a.OpenedAt.Compare(b.OpenedAt), strings.Compare(a.ID, b.ID))
	})
	filters := []record.SLAFilter{
		{AtRisk: true}, {AtRisk: true, Metric: sla.MetricResponse}, {AtRisk: true, PolicyKinds: []sla.PolicyKind{sla.KindOLA}},
		{Breached: true}, {Breached: true, Metric: sla.MetricResponse}, {Breached: true, PolicyKinds: []sla.PolicyKind{sla.KindSLA, sla.KindOLA}},
		{Metric: sla.MetricResponse}, {PolicyKinds: []sla.PolicyKind{sla.KindOLA, sla.KindSLA}},
	}
	// Every instant also half a microsecond before and after: stores
	// keep whole microseconds, and Now may fall between two.
	var nows []time.Time
	for m := -90; m <= 240; m += 5 {
		at := t0.Add(time.Duration(m) * time.Minute)
		nows = append(nows, at, at.Add(-500*time.Nanosecond), at.Add(500*time.Nanosecond))
	}
	for _, f := range filters {
		for _, now := range nows {
			q := record.Query{Kind: e.gen.kind(), SLA: f, Now: now, Limit: 2}
			var want []string
			for _, r := range stored {
				if q.Match(r) {
					want = append(want, r.ID)
				}
			}
			var got []string
			for pages := 0; ; pages++ {
				require.Less(e.t, pages, 10, "%+v at %s: too many pages", f, q.Now)
				page, err := e.store.List(e.ctx, q)
				require.NoError(e.t, err)
				for _, r := range page.Records {
					got = append(got, r.ID)
				}
				if page.Next == "" {
					break
				}
				q.After = page.Next
			}
			require.Equal(e.t, want, got, "%+v at %s", f, q.Now)
		}
	}
}
