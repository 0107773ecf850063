package sla

import (
	"encoding/json"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// Fixtures shared by the policy, timer and compliance tests. November 2026:
// Friday the 20th, Monday the 23rd, Thanksgiving Thursday the 26th.

const timerTestUS95 = `{"name":"us-9-5","time_zone":"America/New_York","hours":{"mon":[["09:00","17:00"]],"tue":[["09:00","17:00"]],"wed":[["09:00","17:00"]],"thu":[["09:00","17:00"]],"fri":[["09:00","17:00"]]},"holidays":["2026-11-26","2026-12-25"]}`

// timerTestAllDayNY is open around the clock in New York, but as a real
// weekly calendar rather than the AlwaysOpen fast path.
const timerTestAllDayNY = `{"name":"ny-all-day","time_zone":"America/New_York","hours":{"mon":[["00:00","24:00"]],"tue":[["00:00","24:00"]],"wed":[["00:00","24:00"]],"thu":[["00:00","24:00"]],"fri":[["00:00","24:00"]],"sat":[["00:00","24:00"]],"sun":[["00:00","24:00"]]}}`

const timerTestPolicyJSON = `{
  "id": "gold",
  "name": "Gold incident SLA",
  "kind": "sla",
  "calendar": "us-9-5",
  "targets": {
    "response":   {"1": "PT30M", "2": "PT1H", "3": "PT2H", "4": "PT4H", "5": "P1D"},
    "resolution": {"1": "PT4H", "2": "PT8H", "3": "PT16H", "4": "P5D", "5": "P10D"},
    "update":     {"critical": "PT1H", "high": "PT2H", "moderate": "PT4H", "low": "PT8H", "planning": "P2D"}
  }
}`

var timerTestCals = sync.OnceValues(func() (Calendars, error) {
	out := Calendars{}
	for _, js := range []string{timerTestUS95, timerTestAllDayNY} {
		var spec CalendarSpec
		if err := json.Unmarshal([]byte(js), &spec); err != nil {
			return nil, err
		}
		c, err := NewCalendar(spec)
		if err != nil {
			return nil, err
		}
		out[spec.Name] = c
	}
	return out, nil
})

func timerTestCalendars(t testing.TB) Calendars {
	t.Helper()
	cals, err := timerTestCals()
	require.NoError(t, err)
	return cals
}

func timerTestCal(t testing.TB, name string) *Calendar {
	t.Helper()
	c, ok := timerTestCalendars(t).Calendar(name)
	require.True(t, ok, name)
	return c
}

func timerTestPolicy(t testing.TB) *Policy {
	t.Helper()
	p, err := ParsePolicy([]byte(timerTestPolicyJSON), timerTestCalendars(t))
	require.NoError(t, err)
	return p
}

var timerTestNY = func() *time.Location {
	loc, err := time.LoadLocation("America/New_York")
	if err != nil {
		panic(err)
	}
	return loc
}()

// novNY returns a New York wall-clock instant in November 2026:
// novNY(20, 18, 30) is Friday 20 November 18:30.
func novNY(day, hour, minute int) time.Time {
	return time.Date(2026, time.November, day, hour, minute, 0, 0, timerTestNY)
}

// timerOn returns an unstarted timer on cal with target and default
// warnings.
func timerOn(t testing.TB, cal *Calendar, target string) *Timer {
	t.Helper()
	tm, err := NewTimer(cal, MustParseTarget(target), nil, "test", MetricResolution, 3)
	require.NoError(t, err)
	return tm
}

// timerOp is one step of a scripted history.
type timerOp struct {
	kind   EventKind
	at     time.Time
	target string
}

func applyOps(t testing.TB, tm *Timer, ops []timerOp) {
	t.Helper()
	for i, op := range ops {
		ev := TimerEvent{Kind: op.kind, At: op.at}
		if op.kind == EventStart {
			ev.Target = tm.target
		}
		if op.target != "" {
			ev.Target = MustParseTarget(op.target)
		}
		require.NoError(t, tm.Append(ev), "op %d", i)
	}
}
