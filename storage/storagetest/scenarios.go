package storagetest

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/itsmkit/itsmkit/internal/slagolden"
	"github.com/itsmkit/itsmkit/itsm"
	"github.com/itsmkit/itsmkit/record"
	"github.com/itsmkit/itsmkit/sla"
)

// The kind TestTimerScenarios declares: one state, so that its records
// need nothing but a header.
const (
	goldenKind   = "sla_scenario"
	goldenPrefix = "SCN"
	goldenState  = "open"
	// goldenTimerID is the ID of each scenario's timer on its record.
	goldenTimerID = "golden/resolution"
)

// TestTimerScenarios runs the golden SLA timer scenarios through the
// stores newStore makes: two hundred histories of timer events (start,
// pauses, stops, cancellations, resets, retargets) on business calendars
// and 24×7 zones, with the timer's expected status at about eleven
// instants each. It calls newStore once, with t, for a fresh, empty store;
// each scenario is a subtest named by its ID that declares a kind of its
// own ("sla_scenario"), creates one record and saves the scenario's
// replayed timer on it with Tx.PutTimers, as record.NewTimerRecord
// derives it.
//
// It then checks, for the store's copy of the timer read back with
// Reader.Timers and bound to the scenario's calendar, that its history
// is the one saved (to the nanosecond) and that Status and Cycles at each
// query instant give the expected stage, cycle, priority, target, elapsed,
// paused and remaining times, due, breach, end and wake-up instants,
// percentage and thresholds. At each query instant it saves the timer
// again, derived at that instant, and checks that Timers returns the
// derived fields (Stage, AtRiskAt, BreachAt, NextWakeAt) and Get returns
// the record's SLA summary (record.Record.SLA) that record.NewTimerRecord
// derives; derived instants may come back rounded to the microsecond,
// either way, as the SQL stores keep them.
//
// The checks need no particular clock and make no timing assertions.
func TestTimerScenarios(t *testing.T, newStore func(t *testing.T) record.Store) {
	t.Helper()
	scenarios, err := slagolden.Scenarios()
	if err != nil {
		t.Fatalf("storagetest: golden timer scenarios: %v", err)
	}
	schema := record.MustNewSchema(record.SchemaDef{
		Kind:   goldenKind,
		Prefix: goldenPrefix,
		States: []record.StateDef{{Name: goldenState, Category: itsm.CategoryActive}},
	})
	kinds := []sla.PolicyKind{sla.KindSLA, sla.KindOLA, sla.KindUC}
	store := newStore(t)
	if store == nil {
		t.Fatal("storagetest: newStore returned a nil record.Store")
	}
	for i := range scenarios {
		sc := &scenarios[i]
		t.Run(sc.ID, func(t *testing.T) {
			runGoldenScenario(t, t.Context(), store, schema, sc, i, kinds[i%len(kinds)])
		})
	}
}

// runGoldenScenario checks scenario sc, the n-th, on store.
func runGoldenScenario(t *testing.T, ctx context.Context, store record.Store, schema *record.Schema, sc *slagolden.Scenario, n int, kind sla.PolicyKind) {
	t.Helper()
	cal, err := sc.NewCalendar()
	if err != nil {
		t.Fatalf("calendar: %v", err)
	}
	tm, err := sc.NewTimer(cal)
	if err != nil {
		t.Fatalf("no scenario expects an event to be refused: %v", err)
	}
	if err := store.Declare(ctx, schema); err != nil {
		t.Fatalf("Declare: %v", err)
	}
	events := tm.Events()
	opened := events[0].At.UTC()
	rec := &record.Record{Header: record.Header{
		Kind: goldenKind, ID: sc.ID, Number: fmt.Sprintf("%s%07d", goldenPrefix, n+1),
		Title: "golden SLA timer scenario " + sc.ID, State: goldenState, StateCategory: itsm.CategoryActive,
		Requester: itsm.Actor{ID: "storagetest"}, OpenedAt: opened, UpdatedAt: opened,
	}}
	ref := rec.Ref()
	// Saved as a service saves it: right after its last event.
	saved := record.NewTimerRecord(ref, goldenTimerID, kind, tm, events[len(events)-1].At)
	err = store.InTx(ctx, func(ctx context.Context, tx record.Tx) error {
		if err := tx.Create(ctx, rec); err != nil {
			return fmt.Errorf("create: %w", err)
		}
		if err := tx.PutTimers(ctx, saved); err != nil {
			return fmt.Errorf("put timers: %w", err)
		}
		return nil
	})
	if err != nil {
		t.Fatalf("InTx: %v", err)
	}

	src := sla.Calendars{cal.Name(): cal}
	back := readGoldenTimer(t, ctx, store, ref, saved, src, "after Create")
	if t.Failed() {
		return
	}
	for qi, q := range sc.Queries {
		for _, d := range slagolden.TimerDiffs(q.Want, back, q.At) {
			t.Errorf("query %d at %s: %s", qi, slagolden.FormatInstant(q.At), d)
		}
	}

	// The derived fields follow every save.
	for qi, q := range sc.Queries {
		want := record.NewTimerRecord(ref, goldenTimerID, kind, tm, q.At)
		// record.NewTimerRecord agrees with the golden status, exactly.
		for _, d := range derivedDiffs(q.Want, want) {
			t.Errorf("query %d at %s: record.NewTimerRecord: %s", qi, slagolden.FormatInstant(q.At), d)
		}
		err := store.InTx(ctx, func(ctx context.Context, tx record.Tx) error {
			return tx.PutTimers(ctx, want)
		})
		if err != nil {
			t.Fatalf("query %d at %s: PutTimers: %v", qi, slagolden.FormatInstant(q.At), err)
		}
		label := "query " + fmt.Sprint(qi) + " at " + slagolden.FormatInstant(q.At)
		got := readGoldenTimer(t, ctx, store, ref, want, src, label)
		if got != nil {
			for _, d := range slagolden.TimerDiffs(q.Want, got, q.At) {
				t.Errorf("%s: after saving again: %s", label, d)
			}
		}
		stored, err := store.Get(ctx, ref)
		if err != nil {
			t.Fatalf("%s: Get: %v", label, err)
		}
		if len(stored.SLA) != 1 {
			t.Errorf("%s: Get: SLA summary has %d timers, want 1", label, len(stored.SLA))
		} else {
			for _, d := range summaryDiffs(stored.SLA[0], want.Summary()) {
				t.Errorf("%s: Get: SLA summary: %s", label, d)
			}
		}
		if t.Failed() {
			return
		}
	}
}

// readGoldenTimer reads the timers of ref, checks that there is exactly
// the one saved, with its history and derived fields, and returns its
// timer bound through src; nil after a failure.
func readGoldenTimer(t *testing.T, ctx context.Context, store record.Store, ref record.Ref, saved record.TimerRecord, src sla.CalendarSource, label string) *sla.Timer {
	t.Helper()
	got, err := store.Timers(ctx, ref)
	if err != nil {
		t.Fatalf("%s: Timers: %v", label, err)
	}
	if len(got) != 1 {
		t.Errorf("%s: Timers returned %d timers, want 1", label, len(got))
		return nil
	}
	r := got[0]
	var d slagolden.Diffs
	d.Eq("record", r.Record, saved.Record)
	d.Eq("id", r.ID, saved.ID)
	d.Eq("policy_kind", r.PolicyKind, saved.PolicyKind)
	d.Eq("stage", r.Stage, saved.Stage)
	// Derived instants are whole microseconds, so every store keeps them
	// exactly.
	d.SameInstant("at_risk_at", r.AtRiskAt, saved.AtRiskAt)
	d.SameInstant("breach_at", r.BreachAt, saved.BreachAt)
	d.SameInstant("next_wake_at", r.NextWakeAt, saved.NextWakeAt)
	if r.Timer == nil {
		d.Add("timer: got nil")
	} else {
		d.Eq("timer.policy", r.Timer.Policy(), saved.Timer.Policy())
		d.Eq("timer.metric", r.Timer.Metric(), saved.Timer.Metric())
		d.Eq("timer.calendar_name", r.Timer.CalendarName(), saved.Timer.CalendarName())
		d.Eq("timer.priority", r.Timer.Priority(), saved.Timer.Priority())
		d.Eq("timer.target", r.Timer.Target().String(), saved.Timer.Target().String())
		ge, we := r.Timer.Events(), saved.Timer.Events()
		if d.Eq("len(timer.events)", len(ge), len(we)) {
			for i := range we {
				g, w := ge[i], we[i]
				if g.Kind != w.Kind || !g.At.Equal(w.At) || !g.Target.Equal(w.Target) || g.Priority != w.Priority || g.Reason != w.Reason {
					d.Add("timer.events[%d]: got %s at %s (target %s, priority %d), want %s at %s (target %s, priority %d)", i,
						g.Kind, slagolden.FormatInstant(g.At), g.Target, int(g.Priority), w.Kind, slagolden.FormatInstant(w.At), w.Target, int(w.Priority))
				}
			}
		}
	}
	for _, s := range d {
		t.Errorf("%s: Timers: %s", label, s)
	}
	if len(d) > 0 {
		return nil
	}
	if err := r.Timer.Bind(src); err != nil {
		t.Errorf("%s: Bind: %v", label, err)
		return nil
	}
	return r.Timer
}

// derivedDiffs compares the fields record.NewTimerRecord derives with
// the golden status they come from.
func derivedDiffs(want slagolden.Status, r record.TimerRecord) []string {
	var d slagolden.Diffs
	d.Eq("stage", r.Stage.String(), want.Stage)
	atRisk, breach := "", ""
	for _, th := range want.Thresholds {
		if th.BP == 10000 {
			breach = th.At
		} else {
			atRisk = th.At
		}
	}
	// NewTimerRecord keeps derived instants to the microsecond: the
	// warning and breach instants truncated, the wake-up rounded up.
	d.Instant("at_risk_at", r.AtRiskAt, micro(atRisk, false))
	d.Instant("breach_at", r.BreachAt, micro(breach, false))
	d.Instant("next_wake_at", r.NextWakeAt, micro(want.NextWake, true))
	return d
}

// micro returns the RFC 3339 instant s truncated to the microsecond, or
// rounded up when up is set; "" and malformed text are returned as they
// are, for Diffs.Instant to report.
func micro(s string, up bool) string {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return s
	}
	f := t.Truncate(time.Microsecond)
	if up && f.Before(t) {
		f = f.Add(time.Microsecond)
	}
	return f.Format(time.RFC3339Nano)
}

// summaryDiffs compares a stored SLA summary with the one derived.
func summaryDiffs(got, want record.TimerSummary) []string {
	var d slagolden.Diffs
	d.Eq("id", got.ID, want.ID)
	d.Eq("policy", got.Policy, want.Policy)
	d.Eq("policy_kind", got.PolicyKind, want.PolicyKind)
	d.Eq("metric", got.Metric, want.Metric)
	d.Eq("stage", got.Stage, want.Stage)
	d.SameInstant("at_risk_at", got.AtRiskAt, want.AtRiskAt)
	d.SameInstant("breach_at", got.BreachAt, want.BreachAt)
	d.SameInstant("next_wake_at", got.NextWakeAt, want.NextWakeAt)
	return d
}
