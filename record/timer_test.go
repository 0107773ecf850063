package record

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/itsmkit/itsmkit/itsm"
	"github.com/itsmkit/itsmkit/sla"
)

// fourHourTimer returns a 24×7 resolution timer of four hours with the
// default warnings at 50 % and 75 %.
func fourHourTimer(t *testing.T) *sla.Timer {
	t.Helper()
	tm, err := sla.NewTimer(sla.AlwaysOpen(time.UTC), sla.BusinessTime(4*time.Hour), nil, "gold", sla.MetricResolution, itsm.PriorityHigh)
	require.NoError(t, err)
	return tm
}

func TestNewTimerRecord(t *testing.T) {
	t.Parallel()
	ref := Ref{Kind: "ticket", ID: "T1"}
	h := func(d float64) time.Time { return t0.Add(time.Duration(d * float64(time.Hour))) }

	tests := []struct {
		name                       string
		events                     func(tm *sla.Timer) error
		now                        time.Time
		stage                      sla.Stage
		atRisk, breach, next       time.Time
		breachedAtNow, atRiskAtNow bool
	}{
		{
			name:   "running before the warnings",
			events: func(tm *sla.Timer) error { return tm.Start(t0) },
			now:    h(1), stage: sla.StageRunning,
			atRisk: h(3), breach: h(4), next: h(2),
		},
		{
			name:   "running past the first warning",
			events: func(tm *sla.Timer) error { return tm.Start(t0) },
			now:    h(2.5), stage: sla.StageRunning,
			atRisk: h(3), breach: h(4), next: h(3),
		},
		{
			name:   "running past the last warning",
			events: func(tm *sla.Timer) error { return tm.Start(t0) },
			now:    h(3.5), stage: sla.StageRunning,
			atRisk: h(3), breach: h(4), next: h(4).Add(time.Microsecond), // one nanosecond after the breach, rounded up
			atRiskAtNow: true,
		},
		{
			name:   "breached",
			events: func(tm *sla.Timer) error { return tm.Start(t0) },
			now:    h(5), stage: sla.StageBreached,
			atRisk: h(3), breach: h(4),
			breachedAtNow: true,
		},
		{
			name: "paused before the warnings",
			events: func(tm *sla.Timer) error {
				if err := tm.Start(t0); err != nil {
					return err
				}
				return tm.Pause(h(1), "awaiting caller")
			},
			now: h(10), stage: sla.StagePaused,
		},
		{
			name: "paused past the last warning",
			events: func(tm *sla.Timer) error {
				if err := tm.Start(t0); err != nil {
					return err
				}
				return tm.Pause(h(3.5), "awaiting caller")
			},
			now: h(10), stage: sla.StagePaused,
			atRisk:      h(3),
			atRiskAtNow: true,
		},
		{
			name: "resumed",
			events: func(tm *sla.Timer) error {
				if err := tm.Start(t0); err != nil {
					return err
				}
				if err := tm.Pause(h(1), ""); err != nil {
					return err
				}
				return tm.Resume(h(2), "")
			},
			now: h(2.5), stage: sla.StageRunning,
			atRisk: h(4), breach: h(5), next: h(3),
		},
		{
			name: "met",
			events: func(tm *sla.Timer) error {
				if err := tm.Start(t0); err != nil {
					return err
				}
				return tm.Stop(h(1), "")
			},
			now: h(10), stage: sla.StageMet,
		},
		{
			name: "stopped after the breach",
			events: func(tm *sla.Timer) error {
				if err := tm.Start(t0); err != nil {
					return err
				}
				return tm.Stop(h(6), "")
			},
			now: h(10), stage: sla.StageBreached,
			atRisk: h(3), breach: h(4),
			breachedAtNow: true,
		},
		{
			name:   "not started",
			events: func(tm *sla.Timer) error { return nil },
			now:    h(1), stage: sla.StagePending,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tm := fourHourTimer(t)
			require.NoError(t, tc.events(tm))
			r := NewTimerRecord(ref, "resolution", sla.KindOLA, tm, tc.now)
			require.Equal(t, ref, r.Record)
			require.Equal(t, "resolution", r.ID)
			require.Same(t, tm, r.Timer)
			require.Equal(t, sla.KindOLA, r.PolicyKind)
			require.Equal(t, tc.stage, r.Stage)
			require.True(t, tc.atRisk.Equal(r.AtRiskAt), "at risk at %v, want %v", r.AtRiskAt, tc.atRisk)
			require.True(t, tc.breach.Equal(r.BreachAt), "breach at %v, want %v", r.BreachAt, tc.breach)
			require.True(t, tc.next.Equal(r.NextWakeAt), "next wake at %v, want %v", r.NextWakeAt, tc.next)
			require.NoError(t, CheckTimerRecords([]TimerRecord{r}))

			s := r.Summary()
			require.Equal(t, TimerSummary{
				ID: "resolution", Policy: "gold", PolicyKind: sla.KindOLA, Metric: sla.MetricResolution,
				Stage: r.Stage, AtRiskAt: r.AtRiskAt, BreachAt: r.BreachAt, NextWakeAt: r.NextWakeAt,
			}, s)
			require.Equal(t, tc.breachedAtNow, s.BreachedBy(tc.now), "breached")
			require.Equal(t, tc.atRiskAtNow, s.AtRiskBy(tc.now), "at risk")
		})
	}
}

func TestTimerRecordSummaryWithoutTimer(t *testing.T) {
	t.Parallel()
	r := TimerRecord{ID: "x", PolicyKind: sla.KindUC, Stage: sla.StageRunning, BreachAt: t0}
	require.Equal(t, TimerSummary{ID: "x", PolicyKind: sla.KindUC, Stage: sla.StageRunning, BreachAt: t0}, r.Summary())
}

func TestTimerSummaryEdges(t *testing.T) {
	t.Parallel()
	s := TimerSummary{Stage: sla.StageRunning, AtRiskAt: t0, BreachAt: t0.Add(time.Hour)}
	tests := []struct {
		at               time.Time
		breached, atRisk bool
	}{
		{t0.Add(-time.Nanosecond), false, false},
		{t0, false, true},
		{t0.Add(30 * time.Minute), false, true},
		{t0.Add(time.Hour), false, true},
		{t0.Add(time.Hour + time.Nanosecond), true, false},
		{t0.Add(time.Hour).In(berlin), false, true},
	}
	for _, tc := range tests {
		require.Equal(t, tc.breached, s.BreachedBy(tc.at), "breached at %v", tc.at)
		require.Equal(t, tc.atRisk, s.AtRiskBy(tc.at), "at risk at %v", tc.at)
	}

	for stage, active := range map[sla.Stage]bool{
		sla.StagePending: false, sla.StageRunning: true, sla.StagePaused: true,
		sla.StageMet: false, sla.StageBreached: false, sla.StageCancelled: false,
	} {
		s := TimerSummary{Stage: stage, AtRiskAt: t0}
		require.Equal(t, active, s.Active(), stage)
		require.Equal(t, active, s.AtRiskBy(t0.Add(time.Hour)), stage)
	}

	// Without instants nothing is due, breached or at risk.
	var zero TimerSummary
	require.False(t, zero.BreachedBy(t0))
	require.False(t, TimerSummary{Stage: sla.StageRunning}.AtRiskBy(t0))
	// A breach is a breach in any stage.
	require.True(t, TimerSummary{Stage: sla.StageCancelled, BreachAt: t0}.BreachedBy(t0.Add(1)))
}

func TestSummary(t *testing.T) {
	t.Parallel()
	resp := TimerSummary{ID: "r", Metric: sla.MetricResponse, Stage: sla.StageRunning, AtRiskAt: t0.Add(3 * time.Hour), BreachAt: t0.Add(4 * time.Hour)}
	resp2 := TimerSummary{ID: "r2", Metric: sla.MetricResponse, Stage: sla.StageMet}
	res := TimerSummary{ID: "s", Metric: sla.MetricResolution, Stage: sla.StageRunning, AtRiskAt: t0.Add(6 * time.Hour), BreachAt: t0.Add(8 * time.Hour)}
	paused := TimerSummary{ID: "p", Metric: "update", Stage: sla.StagePaused, AtRiskAt: t0.Add(time.Hour)}
	late := TimerSummary{ID: "l", Metric: "update", Stage: sla.StageBreached, BreachAt: t0.Add(2 * time.Hour)}
	stopped := TimerSummary{ID: "x", Metric: "update", Stage: sla.StageMet, BreachAt: t0.Add(time.Minute)}
	s := Summary{res, resp, paused, resp2}

	t.Run("next due", func(t *testing.T) {
		t.Parallel()
		for _, tc := range []struct {
			s    Summary
			now  time.Time
			want time.Time
		}{
			{s, t0, resp.BreachAt},
			{s, resp.BreachAt, resp.BreachAt},
			{s, resp.BreachAt.Add(1), res.BreachAt},
			{s, res.BreachAt, res.BreachAt},
			{s, res.BreachAt.Add(1), time.Time{}},
			{Summary{late, stopped, paused}, t0, time.Time{}},
			{nil, t0, time.Time{}},
		} {
			require.True(t, tc.want.Equal(tc.s.NextDue(tc.now)), "at %v: %v, want %v", tc.now, tc.s.NextDue(tc.now), tc.want)
		}
	})
	t.Run("breached", func(t *testing.T) {
		t.Parallel()
		require.False(t, s.Breached(t0))
		require.False(t, s.Breached(resp.BreachAt))
		require.True(t, s.Breached(resp.BreachAt.Add(1)))
		require.True(t, Summary{late}.Breached(late.BreachAt.Add(1)))
		require.False(t, Summary(nil).Breached(t0))
	})
	t.Run("at risk", func(t *testing.T) {
		t.Parallel()
		require.False(t, Summary{res, resp}.AtRisk(t0))
		require.True(t, s.AtRisk(t0.Add(time.Hour)), "the paused timer")
		require.True(t, Summary{res, resp}.AtRisk(resp.AtRiskAt))
		require.False(t, Summary{res, resp}.AtRisk(resp.BreachAt.Add(1)), "response breached, resolution not yet at risk")
		require.True(t, Summary{res, resp}.AtRisk(res.AtRiskAt), "resolution at risk")
		require.False(t, Summary{resp}.AtRisk(resp.BreachAt.Add(1)))
		require.False(t, Summary(nil).AtRisk(t0))
	})
	t.Run("metric", func(t *testing.T) {
		t.Parallel()
		require.Equal(t, Summary{resp, resp2}, s.Metric(sla.MetricResponse))
		require.Equal(t, Summary{res}, s.Metric(sla.MetricResolution))
		require.Nil(t, s.Metric("callback"))
	})
}

func TestCheckTimerRecords(t *testing.T) {
	t.Parallel()
	tm := fourHourTimer(t)
	ok := TimerRecord{Record: Ref{Kind: "ticket", ID: "T1"}, ID: "resolution", Timer: tm}
	require.NoError(t, CheckTimerRecords(nil))
	require.NoError(t, CheckTimerRecords([]TimerRecord{ok, ok}))

	long := strings.Repeat("x", MaxIDLen+1)
	bad := []TimerRecord{
		ok,
		{},
		{Record: Ref{Kind: "Ticket", ID: long}, ID: "a\x00", Timer: tm},
		{Record: Ref{Kind: "ticket", ID: "\xff"}, ID: long, Timer: tm},
		{Record: Ref{Kind: "ticket", ID: "T1"}, ID: "resolution"},
	}
	require.Equal(t, []string{
		"[1].id", "[1].record.kind", "[1].record.id", "[1].timer",
		"[2].id", "[2].record.kind", "[2].record.id",
		"[3].id", "[3].record.id",
		"[4].timer",
	}, fieldsOf(t, CheckTimerRecords(bad)))
}
