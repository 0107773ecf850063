// Package slagolden holds the golden SLA timer scenarios and the code that
// checks timers against them, for the tests of package sla and for the
// store conformance suite of package storagetest.
//
// The scenarios are testdata/sla_timer_scenarios.jsonl, embedded: one JSON
// object a line, each a calendar (or a 24×7 zone), a timer, a history of
// events and queries of the timer's status at given instants with the
// expected sla.Status. Decode reads them, Scenario.NewCalendar and
// Scenario.NewTimer replay one, and StatusDiffs (or TimerDiffs) describes
// every field of a status that differs from the expected one.
package slagolden

import (
	"bufio"
	"bytes"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/shopspring/decimal"

	"github.com/itsmkit/itsmkit/itsm"
	"github.com/itsmkit/itsmkit/sla"
)

// scenariosJSONL is the one copy of the golden scenarios.
//
//go:embed testdata/sla_timer_scenarios.jsonl
var scenariosJSONL []byte

// Scenarios decodes the embedded golden scenarios, in file order.
func Scenarios() ([]Scenario, error) { return Decode(scenariosJSONL) }

// Decode decodes the JSON lines of data, one Scenario a line, skipping
// blank lines. It refuses unknown fields, a scenario without events and
// data without scenarios; errors name the line.
func Decode(data []byte) ([]Scenario, error) {
	var out []Scenario
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 1<<20), 1<<24)
	for line := 1; sc.Scan(); line++ {
		if len(bytes.TrimSpace(sc.Bytes())) == 0 {
			continue
		}
		var s Scenario
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
		return nil, errors.New("no scenarios")
	}
	return out, nil
}

// Scenario is one golden scenario: a timer on a calendar, its events and
// the queries of its status.
type Scenario struct {
	// ID names the scenario; the tests name their subtests by it.
	ID string `json:"id"`
	// Tags describe what the scenario exercises.
	Tags []string `json:"tags"`
	// Calendar is the business calendar, or nil for AlwaysOpen.
	Calendar *sla.CalendarSpec `json:"calendar"`
	// AlwaysOpen is the zone of a 24×7 calendar, used when Calendar is
	// nil.
	AlwaysOpen string `json:"always_open"`
	// Target is the timer's initial target.
	Target TargetSpec `json:"target"`
	// Priority is the timer's initial priority.
	Priority int `json:"priority"`
	// Warnings are the warning thresholds in percent, as decimal text;
	// nil for the default ones.
	Warnings []string `json:"warnings"`
	// Events is the timer's history, replayed in order.
	Events []Event `json:"events"`
	// Queries are the instants at which the status is checked.
	Queries []Query `json:"queries"`
}

// NewCalendar builds the scenario's calendar: its spec, or sla.AlwaysOpen
// in its zone.
func (s *Scenario) NewCalendar() (*sla.Calendar, error) {
	switch {
	case s.Calendar != nil && s.AlwaysOpen != "":
		return nil, errors.New("both calendar and always_open")
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

// NewTimer builds the scenario's timer on cal (policy "golden", metric
// sla.MetricResolution) and replays its events.
func (s *Scenario) NewTimer(cal *sla.Calendar) (*sla.Timer, error) {
	target, err := s.Target.Target()
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
		if err := ev.Apply(tm); err != nil {
			return nil, fmt.Errorf("event %d (%s at %s): %w", i, ev.Op, FormatInstant(ev.At), err)
		}
	}
	return tm, nil
}

// TargetSpec is a target as the scenarios write it: {"seconds": N}
// (business time) or {"days": N} (business days).
type TargetSpec struct {
	// Seconds is a business-time target in seconds.
	Seconds *int64 `json:"seconds"`
	// Days is a business-days target.
	Days *int `json:"days"`
}

// Target returns the sla.Target g stands for; the zero Target when g is
// nil or empty.
func (g *TargetSpec) Target() (sla.Target, error) {
	switch {
	case g == nil || (g.Seconds == nil && g.Days == nil):
		return sla.Target{}, nil
	case g.Seconds != nil && g.Days != nil:
		return sla.Target{}, errors.New("target has both seconds and days")
	case g.Seconds != nil:
		return sla.BusinessTime(time.Duration(*g.Seconds) * time.Second), nil
	default:
		return sla.BusinessDays(*g.Days), nil
	}
}

// Event is one event of a scenario's history.
type Event struct {
	// Op is start, start_with_pauses, pause, resume, stop, cancel, reset
	// or retarget.
	Op string `json:"op"`
	// At is the event's instant.
	At time.Time `json:"at"`
	// Target is the new target of a reset or retarget.
	Target *TargetSpec `json:"target"`
	// Priority is the new priority of a reset or retarget.
	Priority int `json:"priority"`
	// Pauses are the outages of a start_with_pauses.
	Pauses []Pause `json:"pauses"`
}

// Pause is an outage of a start_with_pauses event.
type Pause struct {
	// Start is the outage's start.
	Start time.Time `json:"start"`
	// End is the outage's end.
	End time.Time `json:"end"`
}

// Apply applies ev to tm with the sla.Timer method its Op names.
func (ev Event) Apply(tm *sla.Timer) error {
	target, err := ev.Target.Target()
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

// Query is an instant and the status expected at it.
type Query struct {
	// At is the instant asked about.
	At time.Time `json:"at"`
	// Want is the expected status at At.
	Want Status `json:"want"`
}

// Status is an expected sla.Status, with durations in nanoseconds and
// instants as RFC 3339 text ("" for the zero time), and the earlier
// cycles sla.Timer.Cycles reports.
type Status struct {
	// Stage is sla.Status.Stage as its String.
	Stage string `json:"stage"`
	// Cycle is sla.Status.Cycle.
	Cycle int `json:"cycle"`
	// Priority is sla.Status.Priority.
	Priority int `json:"priority"`
	// Target is sla.Status.Target; nil for the zero Target.
	Target *TargetSpec `json:"target"`
	// TargetBusinessNS is sla.Status.TargetBusiness.
	TargetBusinessNS int64 `json:"target_business_ns"`
	// Started is sla.Status.Started.
	Started string `json:"started"`
	// ElapsedNS is sla.Status.Elapsed.
	ElapsedNS int64 `json:"elapsed_ns"`
	// ActualElapsedNS is sla.Status.ActualElapsed.
	ActualElapsedNS int64 `json:"actual_elapsed_ns"`
	// PausedTimeNS is sla.Status.PausedTime.
	PausedTimeNS int64 `json:"paused_time_ns"`
	// RemainingNS is sla.Status.Remaining.
	RemainingNS int64 `json:"remaining_ns"`
	// Paused is sla.Status.Paused.
	Paused bool `json:"paused"`
	// Due is sla.Status.Due.
	Due string `json:"due"`
	// BreachedAt is sla.Status.BreachedAt.
	BreachedAt string `json:"breached_at"`
	// Ended is sla.Status.Ended.
	Ended string `json:"ended"`
	// NextWake is sla.Status.NextWake.
	NextWake string `json:"next_wake"`
	// Percent is sla.Status.Percent with four decimals.
	Percent string `json:"percent"`
	// Thresholds are the used entries of sla.Status.Thresholds.
	Thresholds []Threshold `json:"thresholds"`
	// PriorCycles are the earlier cycles: sla.Timer.Cycles without the
	// last.
	PriorCycles []Cycle `json:"prior_cycles"`
}

// Threshold is an expected sla.Threshold.
type Threshold struct {
	// BP is sla.Threshold.BasisPoints; 10000 is the breach.
	BP int32 `json:"bp"`
	// BusinessNS is sla.Threshold.Business.
	BusinessNS int64 `json:"business_ns"`
	// Reached is sla.Threshold.Reached.
	Reached bool `json:"reached"`
	// At is sla.Threshold.At.
	At string `json:"at"`
}

// Cycle is an earlier cycle, as sla.Timer.Cycles reports it.
type Cycle struct {
	// Cycle is sla.Status.Cycle.
	Cycle int `json:"cycle"`
	// Stage is sla.Status.Stage as its String.
	Stage string `json:"stage"`
	// Started is sla.Status.Started.
	Started string `json:"started"`
	// Ended is sla.Status.Ended.
	Ended string `json:"ended"`
	// TargetBusinessNS is sla.Status.TargetBusiness.
	TargetBusinessNS int64 `json:"target_business_ns"`
	// ElapsedNS is sla.Status.Elapsed.
	ElapsedNS int64 `json:"elapsed_ns"`
	// ActualElapsedNS is sla.Status.ActualElapsed.
	ActualElapsedNS int64 `json:"actual_elapsed_ns"`
	// PausedTimeNS is sla.Status.PausedTime.
	PausedTimeNS int64 `json:"paused_time_ns"`
	// BreachedAt is sla.Status.BreachedAt.
	BreachedAt string `json:"breached_at"`
}

// TimerDiffs compares the status of tm at at (sla.Timer.Status, and
// sla.Timer.Cycles for the earlier cycles) with want, as StatusDiffs does.
func TimerDiffs(want Status, tm *sla.Timer, at time.Time) []string {
	got := tm.Status(at)
	var prior []sla.Status
	if cycles := tm.Cycles(at); len(cycles) > 0 {
		prior = cycles[:len(cycles)-1]
	}
	return StatusDiffs(want, got, prior)
}

// StatusDiffs compares got with want and describes every field that
// differs, one string each, prefixed with the field's JSON name; prior
// holds the earlier cycles (sla.Timer.Cycles without the last). It
// returns nil when all agree.
func StatusDiffs(want Status, got sla.Status, prior []sla.Status) []string {
	var d Diffs
	d.Eq("stage", got.Stage.String(), want.Stage)
	d.Eq("cycle", got.Cycle, want.Cycle)
	d.Eq("priority", int(got.Priority), want.Priority)
	if wt, err := want.Target.Target(); err != nil {
		d.Add("target: %v", err)
	} else if !got.Target.Equal(wt) {
		d.Add("target: got %s, want %s", got.Target, wt)
	}
	d.Eq("target_business_ns", int64(got.TargetBusiness), want.TargetBusinessNS)
	d.Instant("started", got.Started, want.Started)
	d.Eq("elapsed_ns", int64(got.Elapsed), want.ElapsedNS)
	d.Eq("actual_elapsed_ns", int64(got.ActualElapsed), want.ActualElapsedNS)
	d.Eq("paused_time_ns", int64(got.PausedTime), want.PausedTimeNS)
	d.Eq("remaining_ns", int64(got.Remaining), want.RemainingNS)
	d.Eq("paused", got.Paused, want.Paused)
	d.Instant("due", got.Due, want.Due)
	d.Instant("breached_at", got.BreachedAt, want.BreachedAt)
	d.Instant("ended", got.Ended, want.Ended)
	d.Instant("next_wake", got.NextWake, want.NextWake)
	d.Eq("percent", got.Percent().StringFixed(4), want.Percent)
	if d.Eq("len(thresholds)", got.NumThresholds, len(want.Thresholds)) {
		for i, w := range want.Thresholds {
			g := got.Thresholds[i]
			f := fmt.Sprintf("thresholds[%d].", i)
			d.Eq(f+"bp", g.BasisPoints, w.BP)
			d.Eq(f+"business_ns", int64(g.Business), w.BusinessNS)
			d.Eq(f+"reached", g.Reached, w.Reached)
			d.Instant(f+"at", g.At, w.At)
		}
	}
	if d.Eq("len(prior_cycles)", len(prior), len(want.PriorCycles)) {
		for i, w := range want.PriorCycles {
			g := prior[i]
			f := fmt.Sprintf("prior_cycles[%d].", i)
			d.Eq(f+"cycle", g.Cycle, w.Cycle)
			d.Eq(f+"stage", g.Stage.String(), w.Stage)
			d.Instant(f+"started", g.Started, w.Started)
			d.Instant(f+"ended", g.Ended, w.Ended)
			d.Eq(f+"target_business_ns", int64(g.TargetBusiness), w.TargetBusinessNS)
			d.Eq(f+"elapsed_ns", int64(g.Elapsed), w.ElapsedNS)
			d.Eq(f+"actual_elapsed_ns", int64(g.ActualElapsed), w.ActualElapsedNS)
			d.Eq(f+"paused_time_ns", int64(g.PausedTime), w.PausedTimeNS)
			d.Instant(f+"breached_at", g.BreachedAt, w.BreachedAt)
		}
	}
	return d
}

// Diffs collects descriptions of differing fields.
type Diffs []string

// Add records a difference described by format and args, as fmt.Sprintf
// formats them.
func (d *Diffs) Add(format string, args ...any) { *d = append(*d, fmt.Sprintf(format, args...)) }

// Eq records a difference unless got == want and reports whether they
// are equal.
func (d *Diffs) Eq(field string, got, want any) bool {
	if got == want {
		return true
	}
	d.Add("%s: got %v, want %v", field, got, want)
	return false
}

// Instant compares got with want, an RFC 3339 instant or "" for the zero
// time, with time.Time.Equal.
func (d *Diffs) Instant(field string, got time.Time, want string) {
	if want == "" {
		if !got.IsZero() {
			d.Add("%s: got %s, want zero", field, FormatInstant(got))
		}
		return
	}
	w, err := time.Parse(time.RFC3339Nano, want)
	switch {
	case err != nil:
		d.Add("%s: bad expected instant %q: %v", field, want, err)
	case got.IsZero():
		d.Add("%s: got zero, want %s", field, want)
	case !got.Equal(w):
		d.Add("%s: got %s, want %s", field, FormatInstant(got), want)
	}
}

// SameInstant records a difference unless got and want are the same
// instant (time.Time.Equal).
func (d *Diffs) SameInstant(field string, got, want time.Time) {
	if !got.Equal(want) {
		d.Add("%s: got %s, want %s", field, FormatInstant(got), FormatInstant(want))
	}
}

// FormatInstant formats t in UTC as RFC 3339 with nanoseconds, or "zero"
// for the zero time.
func FormatInstant(t time.Time) string {
	if t.IsZero() {
		return "zero"
	}
	return t.UTC().Format(time.RFC3339Nano)
}
