package sla

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/itsmkit/itsmkit/itsm"
	"github.com/stretchr/testify/require"
)

// complianceTimer returns a resolution timer of the test policy at prio,
// started at start and stopped after stopAfter of business time (or left
// running when stopAfter is 0).
func complianceTimer(t *testing.T, p *Policy, metric Metric, prio itsm.Priority, start time.Time, stopAfter time.Duration) *Timer {
	t.Helper()
	tm, err := p.NewTimer(metric, prio)
	require.NoError(t, err)
	require.NoError(t, tm.Start(start))
	if stopAfter > 0 {
		require.NoError(t, tm.Stop(p.Calendar().Add(start, stopAfter), ""))
	}
	return tm
}

func TestCompliance(t *testing.T) {
	t.Parallel()
	p := timerTestPolicy(t)
	h := time.Hour
	now := time.Date(2026, 12, 3, 12, 0, 0, 0, timerTestNY)
	type row struct {
		metric Metric
		prio   itsm.Priority
		start  time.Time
		stop   time.Duration
		key    string
	}
	rows := []row{
		// P1 resolution (4h): met, met, breached.
		{MetricResolution, 1, novNY(2, 9, 0), 1 * h, "network"},
		{MetricResolution, 1, novNY(3, 9, 0), 3 * h, "network"},
		{MetricResolution, 1, novNY(4, 9, 0), 6 * h, "email"},
		// P2 resolution (8h): met; another still running (since December).
		{MetricResolution, 2, novNY(5, 9, 0), 8 * h, "email"},
		{MetricResolution, 2, time.Date(2026, 12, 3, 9, 0, 0, 0, timerTestNY), 0, "email"},
		// Started on 30 November at 22:00 in New York: 1 December in UTC,
		// but November in the policy's zone.
		{MetricResponse, 1, novNY(30, 22, 0), 10 * time.Minute, "network"},
	}
	var samples []Sample
	for _, r := range rows {
		tm := complianceTimer(t, p, r.metric, r.prio, r.start, r.stop)
		samples = append(samples, tm.Samples(now, r.key)...)
	}
	// A cancelled one and a pending one.
	cancelled := complianceTimer(t, p, MetricResolution, 1, novNY(6, 9, 0), 0)
	require.NoError(t, cancelled.Cancel(novNY(6, 10, 0), "duplicate"))
	samples = append(samples, cancelled.Samples(now, "email")...)
	samples = append(samples, Sample{Policy: "gold", Metric: MetricResolution, Status: Status{Stage: StagePending}})
	// A reopened one: met first, then breached in the second cycle.
	reopened := complianceTimer(t, p, MetricResolution, 1, novNY(9, 9, 0), 2*h)
	require.NoError(t, reopened.Reset(novNY(10, 9, 0), Target{}, 0, "reopened"))
	require.NoError(t, reopened.Stop(novNY(10, 15, 0), ""))
	samples = append(samples, reopened.Samples(now, "network")...)
	require.Len(t, samples, 10)

	t.Run("one group", func(t *testing.T) {
		t.Parallel()
		got := Compliance(samples, 0)
		require.Len(t, got, 1)
		g := got[0]
		require.Equal(t, GroupKey{}, g.Group)
		require.Equal(t, 9, g.Total, "pending left out")
		require.Equal(t, 5, g.Met)
		require.Equal(t, 2, g.Breached)
		require.Equal(t, 1, g.InProgress)
		require.Equal(t, 1, g.Cancelled)
		require.Equal(t, "71.4286", g.MetPercent.String(), "5 of 7")
		require.Equal(t, 7, g.Stopped)
		// 10m, 1h, 2h, 3h, 6h, 6h, 8h
		require.Equal(t, (10*time.Minute+26*h)/7, g.Mean)
		require.Equal(t, 3*h, g.Median)
		require.Equal(t, 8*h, g.P90)
	})
	t.Run("by policy, metric and priority", func(t *testing.T) {
		t.Parallel()
		got := Compliance(samples, ByPolicy|ByMetric|ByPriority)
		require.Len(t, got, 3)
		require.Equal(t, GroupKey{Policy: "gold", Metric: MetricResolution, Priority: 1}, got[0].Group)
		require.Equal(t, 3, got[0].Met)
		require.Equal(t, 2, got[0].Breached)
		require.Equal(t, "60", got[0].MetPercent.String())
		require.Equal(t, 3*h, got[0].Median, "1h, 2h, 3h, 6h, 6h")
		require.Equal(t, GroupKey{Policy: "gold", Metric: MetricResolution, Priority: 2}, got[1].Group)
		require.Equal(t, 1, got[1].InProgress)
		require.Equal(t, "100", got[1].MetPercent.String())
		require.Equal(t, GroupKey{Policy: "gold", Metric: MetricResponse, Priority: 1}, got[2].Group)
	})
	t.Run("by key and month in the policy's zone", func(t *testing.T) {
		t.Parallel()
		got := Compliance(samples, ByKey|ByMonth)
		var keys []GroupKey
		for _, g := range got {
			keys = append(keys, g.Group)
		}
		require.Equal(t, []GroupKey{
			{Key: "email", Month: "2026-11"}, {Key: "email", Month: "2026-12"}, {Key: "network", Month: "2026-11"},
		}, keys)
		require.Equal(t, 5, got[2].Total, "the 30 November response counts in November")
		require.Equal(t, 1, got[1].InProgress)
		require.True(t, got[1].MetPercent.IsZero(), "nothing decided yet")
		require.Zero(t, got[1].Stopped)
		require.Zero(t, got[1].Mean)
	})
	t.Run("JSON", func(t *testing.T) {
		t.Parallel()
		for _, g := range Compliance(samples, ByPolicy|ByMetric|ByPriority|ByKey|ByMonth) {
			b, err := json.Marshal(g)
			require.NoError(t, err)
			var back ComplianceGroup
			require.NoError(t, json.Unmarshal(b, &back))
			require.Empty(t, cmp.Diff(g, back), string(b))
		}
		for _, s := range samples {
			b, err := json.Marshal(s)
			require.NoError(t, err)
			var back Sample
			require.NoError(t, json.Unmarshal(b, &back))
			if s.Location == nil {
				s.Location = time.UTC
			}
			require.Equal(t, s.Location.String(), back.Location.String())
			require.Empty(t, cmp.Diff(s, back, cmp.Comparer(func(a, b *time.Location) bool { return a.String() == b.String() })), string(b))
		}
		var s Sample
		require.ErrorIs(t, json.Unmarshal([]byte(`{"time_zone":"Mars/Olympus","status":{"stage":"met"}}`), &s), itsm.ErrValidation)
	})
}

func TestDurationStats(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in                []time.Duration
		mean, median, p90 time.Duration
	}{
		{nil, 0, 0, 0},
		{[]time.Duration{5}, 5, 5, 5},
		{[]time.Duration{4, 1}, 2, 2, 4},
		{[]time.Duration{1, 2, 3}, 2, 2, 3},
		{[]time.Duration{10, 1, 9, 2, 8, 3, 7, 4, 6, 5}, 5, 5, 9},
		{[]time.Duration{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11}, 6, 6, 10},
		{[]time.Duration{1<<62 + 1, 1 << 62, 1 << 62}, 1 << 62, 1 << 62, 1<<62 + 1},
	}
	for _, tc := range tests {
		mean, median, p90 := durationStats(append([]time.Duration(nil), tc.in...))
		require.Equal(t, []time.Duration{tc.mean, tc.median, tc.p90}, []time.Duration{mean, median, p90}, "%v", tc.in)
	}
}

func TestGroupByText(t *testing.T) {
	t.Parallel()
	all := ByPolicy | ByMetric | ByPriority | ByKey | ByMonth
	require.Equal(t, "policy,metric,priority,key,month", all.String())
	for _, g := range []GroupBy{0, ByMonth, ByPolicy | ByKey, all} {
		b, err := g.MarshalText()
		require.NoError(t, err)
		var back GroupBy
		require.NoError(t, back.UnmarshalText(b))
		require.Equal(t, g, back)
	}
	var g GroupBy
	require.NoError(t, g.UnmarshalText([]byte(" Month , POLICY")))
	require.Equal(t, ByPolicy|ByMonth, g)
	require.ErrorIs(t, g.UnmarshalText([]byte("team")), itsm.ErrValidation)
	require.Empty(t, Compliance(nil, all))
}
