package sla

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"reflect"
	"testing"
	"time"

	"github.com/itsmkit/itsmkit/itsm"
	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/require"
)

// The golden timer scenarios of testdata/sla_timer_scenarios.jsonl: one
// scenario per line, each a calendar (or a 24×7 zone), a timer, a history
// of events and queries of the timer's status at given instants with the
// expected Status. storage/storagetest embeds a copy of the same file and
// runs it through a store.

type scenarioLine struct {
	ID         string          `json:"id"`
	Tags       []string        `json:"tags"`
	Calendar   *CalendarSpec   `json:"calendar"`
	AlwaysOpen string          `json:"always_open"`
	Target     scenarioTarget  `json:"target"`
	Priority   int             `json:"priority"`
	Warnings   []string        `json:"warnings"`
	Events     []scenarioEvent `json:"events"`
	Queries    []scenarioQuery `json:"queries"`
}

// scenarioTarget is {"seconds": N} (business time) or {"days": N}
// (business days).
type scenarioTarget struct {
	Seconds *int64 `json:"seconds"`
	Days    *int   `json:"days"`
}

func (g *scenarioTarget) target() (Target, error) {
	switch {
	case g == nil || (g.Seconds == nil && g.Days == nil):
		return Target{}, nil
	case g.Seconds != nil && g.Days != nil:
		return Target{}, fmt.Errorf("target has both seconds and days")
	case g.Seconds != nil:
		return BusinessTime(time.Duration(*g.Seconds) * time.Second), nil
	default:
		return BusinessDays(*g.Days), nil
	}
}

type scenarioEvent struct {
	Op       string          `json:"op"`
	At       time.Time       `json:"at"`
	Target   *scenarioTarget `json:"target"`
	Priority int             `json:"priority"`
	Pauses   []struct {
		Start time.Time `json:"start"`
		End   time.Time `json:"end"`
	} `json:"pauses"`
}

type scenarioQuery struct {
	At   time.Time      `json:"at"`
	Want scenarioStatus `json:"want"`
}

type scenarioStatus struct {
	Stage            string              `json:"stage"`
	Cycle            int                 `json:"cycle"`
	Priority         int                 `json:"priority"`
	Target           *scenarioTarget     `json:"target"`
	TargetBusinessNS int64               `json:"target_business_ns"`
	Started          string              `json:"started"`
	ElapsedNS        int64               `json:"elapsed_ns"`
	ActualElapsedNS  int64               `json:"actual_elapsed_ns"`
	PausedTimeNS     int64               `json:"paused_time_ns"`
	RemainingNS      int64               `json:"remaining_ns"`
	Paused           bool                `json:"paused"`
	Due              string              `json:"due"`
	BreachedAt       string              `json:"breached_at"`
	Ended            string              `json:"ended"`
	NextWake         string              `json:"next_wake"`
	Percent          string              `json:"percent"`
	Thresholds       []scenarioThreshold `json:"thresholds"`
	PriorCycles      []scenarioCycle     `json:"prior_cycles"`
}

type scenarioThreshold struct {
	BP         int32  `json:"bp"`
	BusinessNS int64  `json:"business_ns"`
	Reached    bool   `json:"reached"`
	At         string `json:"at"`
}

// scenarioCycle is an earlier cycle, as Cycles reports it.
type scenarioCycle struct {
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

func loadTimerScenarios(t testing.TB) []scenarioLine {
	t.Helper()
	data, err := os.ReadFile("testdata/sla_timer_scenarios.jsonl")
	require.NoError(t, err)
	var out []scenarioLine
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 1<<20), 1<<24)
	for sc.Scan() {
		if len(bytes.TrimSpace(sc.Bytes())) == 0 {
			continue
		}
		var l scenarioLine
		dec := json.NewDecoder(bytes.NewReader(sc.Bytes()))
		dec.DisallowUnknownFields()
		require.NoError(t, dec.Decode(&l), "line %d", len(out)+1)
		out = append(out, l)
	}
	require.NoError(t, sc.Err())
	return out
}

// calendar builds the scenario's calendar: its spec, or AlwaysOpen in
// its zone.
func (l *scenarioLine) calendar() (*Calendar, error) {
	switch {
	case l.Calendar != nil && l.AlwaysOpen != "":
		return nil, fmt.Errorf("both calendar and always_open")
	case l.Calendar != nil:
		return NewCalendar(*l.Calendar)
	default:
		loc, err := time.LoadLocation(l.AlwaysOpen)
		if err != nil {
			return nil, err
		}
		return AlwaysOpen(loc), nil
	}
}

// timer builds the scenario's timer on cal and replays its events.
func (l *scenarioLine) timer(cal *Calendar) (*Timer, error) {
	target, err := l.Target.target()
	if err != nil {
		return nil, err
	}
	var warnings []decimal.Decimal
	if l.Warnings != nil {
		warnings = make([]decimal.Decimal, len(l.Warnings))
		for i, w := range l.Warnings {
			if warnings[i], err = decimal.NewFromString(w); err != nil {
				return nil, fmt.Errorf("warnings[%d]: %w", i, err)
			}
		}
	}
	tm, err := NewTimer(cal, target, warnings, "golden", MetricResolution, itsm.Priority(l.Priority))
	if err != nil {
		return nil, err
	}
	for i, ev := range l.Events {
		if err := applyScenarioEvent(tm, ev); err != nil {
			return nil, fmt.Errorf("event %d (%s at %s): %w", i, ev.Op, ev.At.Format(time.RFC3339Nano), err)
		}
	}
	return tm, nil
}

func applyScenarioEvent(tm *Timer, ev scenarioEvent) error {
	target, err := ev.Target.target()
	if err != nil {
		return err
	}
	prio := itsm.Priority(ev.Priority)
	switch ev.Op {
	case "start":
		return tm.Start(ev.At)
	case "start_with_pauses":
		pauses := make([]Outage, len(ev.Pauses))
		for i, p := range ev.Pauses {
			pauses[i] = Outage{Start: p.Start, End: p.End}
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

// scenarioDiffs compares got with want and describes every field that
// differs; prior holds the earlier cycles (Cycles without the last).
func scenarioDiffs(want scenarioStatus, got Status, prior []Status) []string {
	var d diffs
	d.eq("stage", got.Stage.String(), want.Stage)
	d.eq("cycle", got.Cycle, want.Cycle)
	d.eq("priority", int(got.Priority), want.Priority)
	wantTarget, err := want.Target.target()
	if err != nil {
		d.add("target: %v", err)
	} else if !got.Target.Equal(wantTarget) {
		d.add("target: got %s, want %s", got.Target, wantTarget)
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

type diffs []string

func (d *diffs) add(format string, args ...any) { *d = append(*d, fmt.Sprintf(format, args...)) }

// eq records a difference unless got == want, and reports whether they
// are equal.
func (d *diffs) eq(field string, got, want any) bool {
	if got == want {
		return true
	}
	d.add("%s: got %v, want %v", field, got, want)
	return false
}

// instant compares got with want, an RFC 3339 instant or "" for the zero
// time, with time.Time.Equal.
func (d *diffs) instant(field string, got time.Time, want string) {
	if want == "" {
		if !got.IsZero() {
			d.add("%s: got %s, want zero", field, got.UTC().Format(time.RFC3339Nano))
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
		d.add("%s: got %s, want %s", field, got.UTC().Format(time.RFC3339Nano), want)
	}
}

// checkScenarioQueries checks every query of l against tm and returns
// the number checked.
func checkScenarioQueries(t *testing.T, label string, l *scenarioLine, tm *Timer) int {
	t.Helper()
	for qi, q := range l.Queries {
		cycles := tm.Cycles(q.At)
		got := tm.Status(q.At)
		var prior []Status
		if len(cycles) > 0 {
			prior = cycles[:len(cycles)-1]
			if !reflect.DeepEqual(cycles[len(cycles)-1], got) {
				t.Errorf("%s query %d at %s: the last of Cycles is %+v, Status is %+v", label, qi, q.At.Format(time.RFC3339Nano), cycles[len(cycles)-1], got)
			}
		}
		for _, d := range scenarioDiffs(q.Want, got, prior) {
			t.Errorf("%s query %d at %s: %s", label, qi, q.At.Format(time.RFC3339Nano), d)
		}
	}
	return len(l.Queries)
}

func TestTimerScenarios(t *testing.T) {
	t.Parallel()
	lines := loadTimerScenarios(t)
	require.Len(t, lines, 200)
	queries := 0
	for i := range lines {
		queries += len(lines[i].Queries)
	}
	require.Equal(t, 2198, queries)
	for i := range lines {
		l := &lines[i]
		t.Run(l.ID, func(t *testing.T) {
			t.Parallel()
			cal, err := l.calendar()
			require.NoError(t, err, "calendar")
			tm, err := l.timer(cal)
			require.NoError(t, err, "no scenario expects an event to be refused")
			checkScenarioQueries(t, "replayed", l, tm)

			// The timer survives a JSON round trip: same history, same
			// statuses once bound to its calendar.
			b, err := json.Marshal(tm)
			require.NoError(t, err)
			var back Timer
			require.NoError(t, json.Unmarshal(b, &back), "%s", b)
			require.NoError(t, back.Bind(Calendars{cal.Name(): cal}))
			require.Equal(t, tm.Events(), back.Events())
			checkScenarioQueries(t, "after JSON", l, &back)
			for _, q := range l.Queries {
				require.Equal(t, tm.Cycles(q.At), back.Cycles(q.At), "cycles at %s after JSON", q.At)
			}
		})
	}
}
