package storagetest

import (
	"bufio"
	"bytes"
	"context"
	_ "embed"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"github.com/itsmkit/itsmkit/itsm"
	"github.com/itsmkit/itsmkit/record"
	"github.com/itsmkit/itsmkit/sla"
)

// goldenScenariosJSONL is a copy of the golden SLA timer scenarios that
// package sla tests itself with (sla/testdata/sla_timer_scenarios.jsonl),
// embedded so that TestTimerScenarios needs no file of this module at run
// time. Keep the two copies identical.
//
//go:embed testdata/sla_timer_scenarios.jsonl
var goldenScenariosJSONL []byte

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
	scenarios, err := decodeGoldenScenarios(goldenScenariosJSONL)
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
func runGoldenScenario(t *testing.T, ctx context.Context, store record.Store, schema *record.Schema, sc *goldenScenario, n int, kind sla.PolicyKind) {
	t.Helper()
	cal, err := sc.calendar()
	if err != nil {
		t.Fatalf("calendar: %v", err)
	}
	tm, err := sc.timer(cal)
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
		for _, d := range goldenDiffs(q.Want, back, q.At) {
			t.Errorf("query %d at %s: %s", qi, fmtInstant(q.At), d)
		}
	}

	// The derived fields follow every save.
	for qi, q := range sc.Queries {
		want := record.NewTimerRecord(ref, goldenTimerID, kind, tm, q.At)
		// record.NewTimerRecord agrees with the golden status, exactly.
		for _, d := range derivedDiffs(q.Want, want) {
			t.Errorf("query %d at %s: record.NewTimerRecord: %s", qi, fmtInstant(q.At), d)
		}
		err := store.InTx(ctx, func(ctx context.Context, tx record.Tx) error {
			return tx.PutTimers(ctx, want)
		})
		if err != nil {
			t.Fatalf("query %d at %s: PutTimers: %v", qi, fmtInstant(q.At), err)
		}
		label := "query " + fmt.Sprint(qi) + " at " + fmtInstant(q.At)
		got := readGoldenTimer(t, ctx, store, ref, want, src, label)
		if got != nil {
			for _, d := range goldenDiffs(q.Want, got, q.At) {
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
	var d goldenDiff
	d.eq("record", r.Record, saved.Record)
	d.eq("id", r.ID, saved.ID)
	d.eq("policy_kind", r.PolicyKind, saved.PolicyKind)
	d.eq("stage", r.Stage, saved.Stage)
	d.sameInstant("at_risk_at", r.AtRiskAt, saved.AtRiskAt)
	d.sameInstant("breach_at", r.BreachAt, saved.BreachAt)
	d.sameInstant("next_wake_at", r.NextWakeAt, saved.NextWakeAt)
	if r.Timer == nil {
		d.add("timer: got nil")
	} else {
		d.eq("timer.policy", r.Timer.Policy(), saved.Timer.Policy())
		d.eq("timer.metric", r.Timer.Metric(), saved.Timer.Metric())
		d.eq("timer.calendar_name", r.Timer.CalendarName(), saved.Timer.CalendarName())
		d.eq("timer.priority", r.Timer.Priority(), saved.Timer.Priority())
		d.eq("timer.target", r.Timer.Target().String(), saved.Timer.Target().String())
		ge, we := r.Timer.Events(), saved.Timer.Events()
		if d.eq("len(timer.events)", len(ge), len(we)) {
			for i := range we {
				g, w := ge[i], we[i]
				if g.Kind != w.Kind || !g.At.Equal(w.At) || !g.Target.Equal(w.Target) || g.Priority != w.Priority || g.Reason != w.Reason {
					d.add("timer.events[%d]: got %s at %s (target %s, priority %d), want %s at %s (target %s, priority %d)", i,
						g.Kind, fmtInstant(g.At), g.Target, int(g.Priority), w.Kind, fmtInstant(w.At), w.Target, int(w.Priority))
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
func derivedDiffs(want goldenStatus, r record.TimerRecord) []string {
	var d goldenDiff
	d.eq("stage", r.Stage.String(), want.Stage)
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
	d.instant("at_risk_at", r.AtRiskAt, micro(atRisk, false))
	d.instant("breach_at", r.BreachAt, micro(breach, false))
	d.instant("next_wake_at", r.NextWakeAt, micro(want.NextWake, true))
	return d
}

// micro returns the RFC 3339 instant s truncated to the microsecond, or
// rounded up when up is set; "" and malformed text are returned as they
// are, for instant to report.
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
	var d goldenDiff
	d.eq("id", got.ID, want.ID)
	d.eq("policy", got.Policy, want.Policy)
	d.eq("policy_kind", got.PolicyKind, want.PolicyKind)
	d.eq("metric", got.Metric, want.Metric)
	d.eq("stage", got.Stage, want.Stage)
	d.sameInstant("at_risk_at", got.AtRiskAt, want.AtRiskAt)
	d.sameInstant("breach_at", got.BreachAt, want.BreachAt)
	d.sameInstant("next_wake_at", got.NextWakeAt, want.NextWakeAt)
	return d
}

// goldenDiffs compares the status of tm at at (Status, and Cycles for
// the earlier cycles) with want and describes every field that differs.
func goldenDiffs(want goldenStatus, tm *sla.Timer, at time.Time) []string {
	got := tm.Status(at)
	cycles := tm.Cycles(at)
	var d goldenDiff
	d.eq("stage", got.Stage.String(), want.Stage)
	d.eq("cycle", got.Cycle, want.Cycle)
	d.eq("priority", int(got.Priority), want.Priority)
	if wt, err := want.Target.target(); err != nil {
		d.add("target: %v", err)
	} else if !got.Target.Equal(wt) {
		d.add("target: got %s, want %s", got.Target, wt)
	}
	d.eq("target_business_ns", int64(got.TargetBusiness), want.TargetBusinessNS)
	d.instant("started", got.Started, want.Started)
	d.eq("elapsed_ns", int64(got.Elapsed), want.ElapsedNS)
	d.eq("actual_elapsed_ns", int64(got.ActualElapsed), want.ActualElapsedNS)
	d.eq("paused_time_ns", int64(got.PausedTime), want.PausedTimeNS)
	d.eq("remaining_ns", int64(got.Remaining), want.RemainingNS)
	d.eq("paused", got.Paused, want.Paused)
	d.instant("due", got.Due, want.Due)
	d.instant("breached_at", got.BreachedAt, want.BreachedAt)
	d.instant("ended", got.Ended, want.Ended)
	d.instant("next_wake", got.NextWake, want.NextWake)
	d.eq("percent", got.Percent().StringFixed(4), want.Percent)
	if d.eq("len(thresholds)", got.NumThresholds, len(want.Thresholds)) {
		for i, w := range want.Thresholds {
			g := got.Thresholds[i]
			f := fmt.Sprintf("thresholds[%d].", i)
			d.eq(f+"bp", g.BasisPoints, w.BP)
			d.eq(f+"business_ns", int64(g.Business), w.BusinessNS)
			d.eq(f+"reached", g.Reached, w.Reached)
			d.instant(f+"at", g.At, w.At)
		}
	}
	var prior []sla.Status
	if len(cycles) > 0 {
		prior = cycles[:len(cycles)-1]
	}
	if d.eq("len(prior_cycles)", len(prior), len(want.PriorCycles)) {
		for i, w := range want.PriorCycles {
			g := prior[i]
			f := fmt.Sprintf("prior_cycles[%d].", i)
			d.eq(f+"cycle", g.Cycle, w.Cycle)
			d.eq(f+"stage", g.Stage.String(), w.Stage)
			d.instant(f+"started", g.Started, w.Started)
			d.instant(f+"ended", g.Ended, w.Ended)
			d.eq(f+"target_business_ns", int64(g.TargetBusiness), w.TargetBusinessNS)
			d.eq(f+"elapsed_ns", int64(g.Elapsed), w.ElapsedNS)
			d.eq(f+"actual_elapsed_ns", int64(g.ActualElapsed), w.ActualElapsedNS)
			d.eq(f+"paused_time_ns", int64(g.PausedTime), w.PausedTimeNS)
			d.instant(f+"breached_at", g.BreachedAt, w.BreachedAt)
		}
	}
	return d
}

// goldenDiff collects descriptions of differing fields.
type goldenDiff []string

func (d *goldenDiff) add(format string, args ...any) { *d = append(*d, fmt.Sprintf(format, args...)) }

// eq records a difference unless got == want and reports whether they
// are equal.
func (d *goldenDiff) eq(field string, got, want any) bool {
	if got == want {
		return true
	}
	d.add("%s: got %v, want %v", field, got, want)
	return false
}

// instant compares got with want, an RFC 3339 instant or "" for the
// zero time, with time.Time.Equal.
func (d *goldenDiff) instant(field string, got time.Time, want string) {
	if want == "" {
		if !got.IsZero() {
			d.add("%s: got %s, want zero", field, fmtInstant(got))
		}
		return
	}
	w, err := time.Parse(time.RFC3339Nano, want)
	switch {
	case err != nil:
		d.add("%s: bad expected instant %q: %v", field, want, err)
	case got.IsZero():
		d.add("%s: got zero, want %s", field, want)
	case !got.Equal(w):
		d.add("%s: got %s, want %s", field, fmtInstant(got), want)
	}
}

// sameInstant compares a stored instant with the one saved: derived
// instants are whole microseconds, so every store keeps them exactly.
func (d *goldenDiff) sameInstant(field string, got, want time.Time) {
	if !got.Equal(want) {
		d.add("%s: got %s, want %s", field, fmtInstant(got), fmtInstant(want))
	}
}

func fmtInstant(t time.Time) string {
	if t.IsZero() {
		return "zero"
	}
	return t.UTC().Format(time.RFC3339Nano)
}

// The golden scenarios, one JSON object a line.

type goldenScenario struct {
	ID         string            `json:"id"`
	Tags       []string          `json:"tags"`
	Calendar   *sla.CalendarSpec `json:"calendar"`
	AlwaysOpen string            `json:"always_open"`
	Target     goldenTarget      `json:"target"`
	Priority   int               `json:"priority"`
	Warnings   []string          `json:"warnings"`
	Events     []goldenEvent     `json:"events"`
	Queries    []goldenQuery     `json:"queries"`
}

// goldenTarget is {"seconds": N} (business time) or {"days": N}
// (business days).
type goldenTarget struct {
	Seconds *int64 `json:"seconds"`
	Days    *int   `json:"days"`
}

func (g *goldenTarget) target() (sla.Target, error) {
	switch {
	case g == nil || (g.Seconds == nil && g.Days == nil):
		return sla.Target{}, nil
	case g.Seconds != nil && g.Days != nil:
		return sla.Target{}, fmt.Errorf("target has both seconds and days")
	case g.Seconds != nil:
		return sla.BusinessTime(time.Duration(*g.Seconds) * time.Second), nil
	default:
		return sla.BusinessDays(*g.Days), nil
	}
}

type goldenEvent struct {
	Op       string        `json:"op"`
	At       time.Time     `json:"at"`
	Target   *goldenTarget `json:"target"`
	Priority int           `json:"priority"`
	Pauses   []struct {
		Start time.Time `json:"start"`
		End   time.Time `json:"end"`
	} `json:"pauses"`
}

type goldenQuery struct {
	At   time.Time    `json:"at"`
	Want goldenStatus `json:"want"`
}

type goldenStatus struct {
	Stage            string            `json:"stage"`
	Cycle            int               `json:"cycle"`
	Priority         int               `json:"priority"`
	Target           *goldenTarget     `json:"target"`
	TargetBusinessNS int64             `json:"target_business_ns"`
	Started          string            `json:"started"`
	ElapsedNS        int64             `json:"elapsed_ns"`
	ActualElapsedNS  int64             `json:"actual_elapsed_ns"`
	PausedTimeNS     int64             `json:"paused_time_ns"`
	RemainingNS      int64             `json:"remaining_ns"`
	Paused           bool              `json:"paused"`
	Due              string            `json:"due"`
	BreachedAt       string            `json:"breached_at"`
	Ended            string            `json:"ended"`
	NextWake         string            `json:"next_wake"`
	Percent          string            `json:"percent"`
	Thresholds       []goldenThreshold `json:"thresholds"`
	PriorCycles      []goldenCycle     `json:"prior_cycles"`
}

type goldenThreshold struct {
	BP         int32  `json:"bp"`
	BusinessNS int64  `json:"business_ns"`
	Reached    bool   `json:"reached"`
	At         string `json:"at"`
}

// goldenCycle is an earlier cycle, as sla.Timer.Cycles reports it.
type goldenCycle struct {
	Cycle            int    `json:"cycle"`
	Stage            string `json:"stage"`
	Started          string `json:"started"`
	Ended            string `json:"ended"`
	TargetBusinessNS int64  `json:"target_business_ns"`
	ElapsedNS        int64  `json:"elapsed_ns"`
	ActualElapsedNS  int64  `json:"actual_elapsed_ns"`
	PausedTimeNS     int64  `json:"paused_time_ns"`
	BreachedAt       string `json:"breached_at"`
}

// decodeGoldenScenarios decodes the JSON lines of data, refusing unknown
// fields.
func decodeGoldenScenarios(data []byte) ([]goldenScenario, error) {
	var out []goldenScenario
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 1<<20), 1<<24)
	for line := 1; sc.Scan(); line++ {
		if len(bytes.TrimSpace(sc.Bytes())) == 0 {
			continue
		}
		var s goldenScenario
		dec := json.NewDecoder(bytes.NewReader(sc.Bytes()))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&s); err != nil {
			return nil, fmt.Errorf("line %d: %w", line, err)
		}
		if len(s.Events) == 0 {
			return nil, fmt.Errorf("line %d (%s): no events", line, s.ID)
		}
		out = append(out, s)
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no scenarios")
	}
	return out, nil
}

// calendar builds the scenario's calendar: its spec, or sla.AlwaysOpen in
// its zone.
func (s *goldenScenario) calendar() (*sla.Calendar, error) {
	switch {
	case s.Calendar != nil && s.AlwaysOpen != "":
		return nil, fmt.Errorf("both calendar and always_open")
	case s.Calendar != nil:
		return sla.NewCalendar(*s.Calendar)
	default:
		loc, err := time.LoadLocation(s.AlwaysOpen)
		if err != nil {
			return nil, err
		}
		return sla.AlwaysOpen(loc), nil
	}
}

// timer builds the scenario's timer on cal and replays its events.
func (s *goldenScenario) timer(cal *sla.Calendar) (*sla.Timer, error) {
	target, err := s.Target.target()
	if err != nil {
		return nil, err
	}
	var warnings []decimal.Decimal
	if s.Warnings != nil {
		warnings = make([]decimal.Decimal, len(s.Warnings))
		for i, w := range s.Warnings {
			if warnings[i], err = decimal.NewFromString(w); err != nil {
				return nil, fmt.Errorf("warnings[%d]: %w", i, err)
			}
		}
	}
	tm, err := sla.NewTimer(cal, target, warnings, "golden", sla.MetricResolution, itsm.Priority(s.Priority))
	if err != nil {
		return nil, err
	}
	for i, ev := range s.Events {
		if err := applyGoldenEvent(tm, ev); err != nil {
			return nil, fmt.Errorf("event %d (%s at %s): %w", i, ev.Op, fmtInstant(ev.At), err)
		}
	}
	return tm, nil
}

func applyGoldenEvent(tm *sla.Timer, ev goldenEvent) error {
	target, err := ev.Target.target()
	if err != nil {
		return err
	}
	prio := itsm.Priority(ev.Priority)
	switch ev.Op {
	case "start":
		return tm.Start(ev.At)
	case "start_with_pauses":
		pauses := make([]sla.Outage, len(ev.Pauses))
		for i, p := range ev.Pauses {
			pauses[i] = sla.Outage{Start: p.Start, End: p.End}
		}
		return tm.StartWithPauses(ev.At, pauses, "")
	case "pause":
		return tm.Pause(ev.At, "")
	case "resume":
		return tm.Resume(ev.At, "")
	case "stop":
		return tm.Stop(ev.At, "")
	case "cancel":
		return tm.Cancel(ev.At, "")
	case "reset":
		return tm.Reset(ev.At, target, prio, "")
	case "retarget":
		return tm.Retarget(ev.At, target, prio, "")
	default:
		return fmt.Errorf("unknown op %q", ev.Op)
	}
}
