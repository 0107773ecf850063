package sla

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/itsmkit/itsmkit/itsm"
	"github.com/stretchr/testify/require"
)

// timerTestHistory returns a timer on the test policy with every kind of
// event: a priority upgrade, a pause, a stop and a reopen.
func timerTestHistory(t *testing.T) *Timer {
	t.Helper()
	p := timerTestPolicy(t)
	tm, err := p.NewTimer(MetricResolution, itsm.PriorityModerate)
	require.NoError(t, err)
	require.NoError(t, tm.Start(novNY(20, 16, 0)))
	require.NoError(t, tm.Pause(novNY(23, 10, 0), "awaiting customer"))
	require.NoError(t, tm.Resume(novNY(23, 11, 0), "customer replied"))
	require.NoError(t, tm.RetargetPriority(novNY(23, 12, 0), p, itsm.PriorityHigh, "priority raised"))
	require.NoError(t, tm.Stop(novNY(23, 15, 0), "resolved"))
	require.NoError(t, tm.Reset(novNY(24, 9, 30), Target{}, 0, "reopened"))
	return tm
}

func TestTimerJSONRoundTrip(t *testing.T) {
	t.Parallel()
	tm := timerTestHistory(t)
	b, err := json.Marshal(tm)
	require.NoError(t, err)
	js := string(b)
	require.Contains(t, js, `"calendar":"us-9-5"`)
	require.Contains(t, js, `"kind":"retarget","at":"2026-11-23T12:00:00-05:00","target":"PT8H","priority":"high","reason":"priority raised"`)
	require.Contains(t, js, `"warnings":["50","75"]`)

	var back Timer
	require.NoError(t, json.Unmarshal(b, &back))
	require.Nil(t, back.Calendar(), "a named calendar needs Bind")
	require.Panics(t, func() { back.Status(novNY(24, 12, 0)) })
	require.NoError(t, back.Bind(timerTestCalendars(t)))
	require.Equal(t, tm.Policy(), back.Policy())
	require.Equal(t, tm.Metric(), back.Metric())
	require.Equal(t, tm.Kind(), back.Kind())
	require.Equal(t, tm.Priority(), back.Priority())
	require.Empty(t, cmp.Diff(tm.Events(), back.Events()))
	for _, now := range []time.Time{novNY(23, 11, 30), novNY(23, 16, 0), novNY(24, 12, 0), novNY(30, 12, 0)} {
		require.Empty(t, cmp.Diff(tm.Cycles(now), back.Cycles(now)), now)
	}
	again, err := json.Marshal(&back)
	require.NoError(t, err)
	require.JSONEq(t, js, string(again))
	// Further events are still checked against the decoded history.
	require.Error(t, back.Resume(novNY(24, 10, 0), ""))
}

func TestTimerJSON24x7(t *testing.T) {
	t.Parallel()
	p, err := ParsePolicy([]byte(`{"id":"noc","time_zone":"America/New_York",
		"targets":{"response":{"1":"PT1H","2":"PT1H","3":"PT1H","4":"PT1H","5":"PT1H"}}}`), nil)
	require.NoError(t, err)
	tm, err := p.NewTimer(MetricResponse, itsm.PriorityLow)
	require.NoError(t, err)
	require.NoError(t, tm.Start(novNY(21, 10, 0)))
	b, err := json.Marshal(tm)
	require.NoError(t, err)
	require.Contains(t, string(b), `"time_zone":"America/New_York"`)
	var back Timer
	require.NoError(t, json.Unmarshal(b, &back))
	require.NotNil(t, back.Calendar(), "24×7 binds itself")
	require.NoError(t, back.Bind(nil))
	require.Empty(t, cmp.Diff(tm.Status(novNY(21, 10, 30)), back.Status(novNY(21, 10, 30))))
}

func TestTimerJSONAlwaysOpenBindsItself(t *testing.T) {
	t.Parallel()
	tm, err := NewTimer(AlwaysOpen(timerTestNY), BusinessTime(time.Hour), nil, "adhoc", MetricResolution, 0)
	require.NoError(t, err)
	require.NoError(t, tm.Start(novNY(21, 10, 0)))
	b, err := json.Marshal(tm)
	require.NoError(t, err)
	require.NotContains(t, string(b), `"calendar"`)
	var back Timer
	require.NoError(t, json.Unmarshal(b, &back))
	require.NotNil(t, back.Calendar(), "a timer on AlwaysOpen binds itself")
	require.Equal(t, tm.Status(novNY(21, 12, 0)).Stage, back.Status(novNY(21, 12, 0)).Stage)
}

func TestTimerJSONErrors(t *testing.T) {
	t.Parallel()
	tests := map[string]string{
		"resume without pause": `{"target":"PT1H","events":[{"kind":"start","at":"2026-11-23T09:00:00Z","target":"PT1H"},{"kind":"resume","at":"2026-11-23T10:00:00Z"}]}`,
		"out of order":         `{"target":"PT1H","events":[{"kind":"start","at":"2026-11-23T09:00:00Z","target":"PT1H"},{"kind":"pause","at":"2026-11-23T08:00:00Z"}]}`,
		"after stop":           `{"target":"PT1H","events":[{"kind":"start","at":"2026-11-23T09:00:00Z","target":"PT1H"},{"kind":"stop","at":"2026-11-23T10:00:00Z"},{"kind":"pause","at":"2026-11-23T11:00:00Z"}]}`,
		"no target":            `{"events":[]}`,
		"bad warnings":         `{"target":"PT1H","warnings":["90","10"],"events":[]}`,
		"unknown zone":         `{"target":"PT1H","time_zone":"Mars/Olympus","events":[]}`,
		"unknown event kind":   `{"target":"PT1H","events":[{"kind":"explode","at":"2026-11-23T09:00:00Z"}]}`,
	}
	for name, js := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			var tm Timer
			require.ErrorIs(t, json.Unmarshal([]byte(js), &tm), itsm.ErrValidation)
			require.Zero(t, tm.Len())
		})
	}
}

func TestStatusJSONRoundTrip(t *testing.T) {
	t.Parallel()
	tm := timerTestHistory(t)
	for _, now := range []time.Time{novNY(20, 15, 0), novNY(21, 12, 0), novNY(23, 10, 30), novNY(23, 16, 0), novNY(24, 10, 0), novNY(30, 12, 0)} {
		for _, s := range append(tm.Cycles(now), tm.Status(now)) {
			b, err := json.Marshal(s)
			require.NoError(t, err)
			var back Status
			require.NoError(t, json.Unmarshal(b, &back), string(b))
			require.Empty(t, cmp.Diff(s, back), string(b))
		}
	}
	b, err := json.Marshal(tm.Status(novNY(24, 10, 0)))
	require.NoError(t, err)
	require.JSONEq(t, `{
		"stage":"running","cycle":2,"priority":"high","target":"PT8H","target_business":"PT8H",
		"started":"2026-11-24T09:30:00-05:00","elapsed":"PT30M","actual_elapsed":"PT30M","paused_time":"PT0S",
		"remaining":"PT7H30M","percent":"6.25","due":"2026-11-25T09:30:00-05:00",
		"next_wake":"2026-11-24T13:30:00-05:00",
		"thresholds":[
			{"percent":"50","business":"PT4H","reached":false,"at":"2026-11-24T13:30:00-05:00"},
			{"percent":"75","business":"PT6H","reached":false,"at":"2026-11-24T15:30:00-05:00"},
			{"percent":"100","business":"PT8H","reached":false,"at":"2026-11-25T09:30:00-05:00"}
		]}`, string(b))

	var s Status
	require.Error(t, json.Unmarshal([]byte(`{"stage":"sleeping"}`), &s))
	require.Error(t, json.Unmarshal([]byte(`{"stage":"met","elapsed":"P1D"}`), &s))
	require.Error(t, json.Unmarshal([]byte(`{"thresholds":[{"percent":"1"},{"percent":"2"},{"percent":"3"},{"percent":"4"},{"percent":"5"},{"percent":"100"}]}`), &s))
	require.Error(t, json.Unmarshal([]byte(`{"thresholds":[{"percent":"100.5"}]}`), &s))
	require.Error(t, json.Unmarshal([]byte(`{"thresholds":[{"percent":"50.001"}]}`), &s))
}

func TestTextForms(t *testing.T) {
	t.Parallel()
	for s := StagePending; s <= StageCancelled; s++ {
		b, err := s.MarshalText()
		require.NoError(t, err)
		var back Stage
		require.NoError(t, back.UnmarshalText(b))
		require.Equal(t, s, back)
	}
	require.Equal(t, "stage(9)", Stage(9).String())
	_, err := Stage(9).MarshalText()
	require.ErrorIs(t, err, itsm.ErrValidation)

	for k := EventStart; k <= EventRetarget; k++ {
		b, err := k.MarshalText()
		require.NoError(t, err)
		var back EventKind
		require.NoError(t, back.UnmarshalText(b))
		require.Equal(t, k, back)
	}
	require.Equal(t, "event(0)", EventKind(0).String())
	_, err = EventKind(0).MarshalText()
	require.ErrorIs(t, err, itsm.ErrValidation)

	for p := ProblemUnknownKind; p <= ProblemBadPriority; p++ {
		require.NotContains(t, p.String(), "problem(")
	}
	require.Equal(t, "problem(0)", HistoryProblem(0).String())
}
