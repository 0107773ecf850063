package sla

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/itsmkit/itsmkit/itsm"
	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/require"
)

// statusView is the part of a Status the table tests pin down.
type statusView struct {
	Stage      Stage
	Elapsed    time.Duration
	Actual     time.Duration
	PausedTime time.Duration
	Paused     bool
	Due        time.Time
	BreachedAt time.Time
	Ended      time.Time
	NextWake   time.Time
	// Warn50, Warn75 and Breach are the thresholds' instants.
	Warn50, Warn75, Breach time.Time
	// Reached lists which of the three thresholds are reached.
	Reached [3]bool
}

func viewOf(t *testing.T, s Status) statusView {
	t.Helper()
	require.Equal(t, 3, s.NumThresholds, "default warnings plus breach")
	return statusView{
		Stage: s.Stage, Elapsed: s.Elapsed, Actual: s.ActualElapsed, PausedTime: s.PausedTime, Paused: s.Paused,
		Due: s.Due, BreachedAt: s.BreachedAt, Ended: s.Ended, NextWake: s.NextWake,
		Warn50: s.Thresholds[0].At, Warn75: s.Thresholds[1].At, Breach: s.Thresholds[2].At,
		Reached: [3]bool{s.Thresholds[0].Reached, s.Thresholds[1].Reached, s.Thresholds[2].Reached},
	}
}

func TestTimerStatusScenarios(t *testing.T) {
	t.Parallel()
	h := time.Hour
	ns := time.Nanosecond
	tests := []struct {
		name   string
		cal    string
		target string
		ops    []timerOp
		now    time.Time
		want   statusView
	}{
		{
			name: "friday evening ticket waits for monday", cal: "us-9-5", target: "PT4H",
			ops: []timerOp{{kind: EventStart, at: novNY(20, 18, 30)}},
			now: novNY(21, 12, 0),
			want: statusView{
				Stage: StageRunning, Actual: 17*h + 30*time.Minute,
				Due: novNY(23, 13, 0), NextWake: novNY(23, 11, 0),
				Warn50: novNY(23, 11, 0), Warn75: novNY(23, 12, 0), Breach: novNY(23, 13, 0),
			},
		},
		{
			name: "half way through monday morning", cal: "us-9-5", target: "PT4H",
			ops: []timerOp{{kind: EventStart, at: novNY(20, 18, 30)}},
			now: novNY(23, 11, 30),
			want: statusView{
				Stage: StageRunning, Elapsed: 2*h + 30*time.Minute, Actual: 65 * h,
				Due: novNY(23, 13, 0), NextWake: novNY(23, 12, 0),
				Warn50: novNY(23, 11, 0), Warn75: novNY(23, 12, 0), Breach: novNY(23, 13, 0),
				Reached: [3]bool{true, false, false},
			},
		},
		{
			name: "elapsed equal to the target is not a breach", cal: "us-9-5", target: "PT4H",
			ops: []timerOp{{kind: EventStart, at: novNY(20, 18, 30)}},
			now: novNY(23, 13, 0),
			want: statusView{
				Stage: StageRunning, Elapsed: 4 * h, Actual: 66*h + 30*time.Minute,
				Due: novNY(23, 13, 0), NextWake: novNY(23, 13, 0).Add(ns),
				Warn50: novNY(23, 11, 0), Warn75: novNY(23, 12, 0), Breach: novNY(23, 13, 0),
				Reached: [3]bool{true, true, false},
			},
		},
		{
			name: "one nanosecond later it is breached at the due instant", cal: "us-9-5", target: "PT4H",
			ops: []timerOp{{kind: EventStart, at: novNY(20, 18, 30)}},
			now: novNY(23, 13, 0).Add(ns),
			want: statusView{
				Stage: StageBreached, Elapsed: 4*h + ns, Actual: 66*h + 30*time.Minute + ns,
				Due: novNY(23, 13, 0), BreachedAt: novNY(23, 13, 0),
				Warn50: novNY(23, 11, 0), Warn75: novNY(23, 12, 0), Breach: novNY(23, 13, 0),
				Reached: [3]bool{true, true, true},
			},
		},
		{
			name: "due at the close is not breached before the next opening", cal: "us-9-5", target: "PT8H",
			ops: []timerOp{{kind: EventStart, at: novNY(23, 9, 0)}},
			now: novNY(23, 20, 0),
			want: statusView{
				Stage: StageRunning, Elapsed: 8 * h, Actual: 11 * h,
				Due: novNY(23, 17, 0), NextWake: novNY(24, 9, 0).Add(ns),
				Warn50: novNY(23, 13, 0), Warn75: novNY(23, 15, 0), Breach: novNY(24, 9, 0),
				Reached: [3]bool{true, true, false},
			},
		},
		{
			name: "stopped after the close but before the next opening is met", cal: "us-9-5", target: "PT8H",
			ops: []timerOp{{kind: EventStart, at: novNY(23, 9, 0)}, {kind: EventStop, at: novNY(23, 20, 0)}},
			now: novNY(24, 12, 0),
			want: statusView{
				Stage: StageMet, Elapsed: 8 * h, Actual: 11 * h, Ended: novNY(23, 20, 0),
				Warn50: novNY(23, 13, 0), Warn75: novNY(23, 15, 0),
				Reached: [3]bool{true, true, false},
			},
		},
		{
			name: "breach instant after a close is the next opening", cal: "us-9-5", target: "PT8H",
			ops: []timerOp{{kind: EventStart, at: novNY(23, 9, 0)}},
			now: novNY(24, 9, 30),
			want: statusView{
				Stage: StageBreached, Elapsed: 8*h + 30*time.Minute, Actual: 24*h + 30*time.Minute,
				Due: novNY(23, 17, 0), BreachedAt: novNY(24, 9, 0),
				Warn50: novNY(23, 13, 0), Warn75: novNY(23, 15, 0), Breach: novNY(24, 9, 0),
				Reached: [3]bool{true, true, true},
			},
		},
		{
			name: "paused across the weekend", cal: "us-9-5", target: "PT4H",
			ops: []timerOp{
				{kind: EventStart, at: novNY(20, 15, 0)}, {kind: EventPause, at: novNY(20, 16, 0)},
				{kind: EventResume, at: novNY(23, 10, 0)},
			},
			now: novNY(23, 12, 0),
			want: statusView{
				Stage: StageRunning, Elapsed: 3 * h, Actual: 3 * h, PausedTime: 66 * h,
				Due: novNY(23, 13, 0), NextWake: novNY(23, 13, 0).Add(ns),
				Warn50: novNY(23, 11, 0), Warn75: novNY(23, 12, 0), Breach: novNY(23, 13, 0),
				Reached: [3]bool{true, true, false},
			},
		},
		{
			name: "while paused nothing is projected", cal: "us-9-5", target: "PT4H",
			ops:  []timerOp{{kind: EventStart, at: novNY(20, 15, 0)}, {kind: EventPause, at: novNY(20, 16, 0)}},
			now:  novNY(21, 12, 0),
			want: statusView{Stage: StagePaused, Paused: true, Elapsed: h, Actual: h, PausedTime: 20 * h},
		},
		{
			name: "stopped while paused keeps the elapsed time of the pause", cal: "us-9-5", target: "PT4H",
			ops: []timerOp{
				{kind: EventStart, at: novNY(23, 9, 0)}, {kind: EventPause, at: novNY(23, 10, 0)},
				{kind: EventStop, at: novNY(23, 15, 0)},
			},
			now:  novNY(24, 9, 0),
			want: statusView{Stage: StageMet, Elapsed: h, Actual: h, PausedTime: 5 * h, Ended: novNY(23, 15, 0)},
		},
		{
			name: "cancelled after the target passed reports no breach instant", cal: "us-9-5", target: "PT1H",
			ops: []timerOp{{kind: EventStart, at: novNY(23, 9, 0)}, {kind: EventCancel, at: novNY(23, 12, 0)}},
			now: novNY(23, 13, 0),
			want: statusView{
				Stage: StageCancelled, Elapsed: 3 * h, Actual: 3 * h, Ended: novNY(23, 12, 0),
				Warn50: novNY(23, 9, 30), Warn75: novNY(23, 9, 45), Breach: novNY(23, 10, 0),
				Reached: [3]bool{true, true, true},
			},
		},
		{
			name: "a DST night on an all-day calendar counts real hours", cal: "ny-all-day", target: "PT12H",
			ops: []timerOp{{kind: EventStart, at: time.Date(2026, 10, 31, 20, 0, 0, 0, timerTestNY)}},
			now: time.Date(2026, 11, 1, 6, 0, 0, 0, timerTestNY), // 11 real hours: the clock fell back
			want: statusView{
				Stage: StageRunning, Elapsed: 11 * h, Actual: 11 * h,
				Due: novNY(1, 7, 0), NextWake: novNY(1, 7, 0).Add(ns),
				Warn50: time.Date(2026, 11, 1, 6, 0, 0, 0, time.UTC), // 01:00 EST, the second 01:00
				Warn75: novNY(1, 4, 0), Breach: novNY(1, 7, 0),
				Reached: [3]bool{true, true, false},
			},
		},
		{
			name: "a 9-5 weekend with the DST change counts business hours only", cal: "us-9-5", target: "PT4H",
			ops: []timerOp{{kind: EventStart, at: time.Date(2026, 10, 30, 16, 0, 0, 0, timerTestNY)}},
			now: novNY(2, 12, 0),
			want: statusView{
				Stage: StageRunning, Elapsed: 4 * h, Actual: 69 * h, // the night of 1 November is 25 hours long
				Due: novNY(2, 12, 0), NextWake: novNY(2, 12, 0).Add(ns),
				Warn50: novNY(2, 10, 0), Warn75: novNY(2, 11, 0), Breach: novNY(2, 12, 0),
				Reached: [3]bool{true, true, false},
			},
		},
		{
			name: "business days: P2D from Friday is due at Tuesday's close", cal: "us-9-5", target: "P2D",
			ops: []timerOp{{kind: EventStart, at: novNY(20, 10, 0)}},
			now: novNY(23, 9, 0),
			want: statusView{
				Stage: StageRunning, Elapsed: 7 * h, Actual: 71 * h,
				Due: novNY(24, 17, 0), NextWake: novNY(23, 13, 30),
				Warn50: novNY(23, 13, 30), Warn75: novNY(24, 11, 15), Breach: novNY(25, 9, 0),
			},
		},
		{
			name: "business days: a pause extends a P2D target", cal: "us-9-5", target: "P2D",
			ops: []timerOp{
				{kind: EventStart, at: novNY(20, 10, 0)}, {kind: EventPause, at: novNY(23, 9, 0)},
				{kind: EventResume, at: novNY(23, 13, 0)},
			},
			now: novNY(23, 13, 0),
			want: statusView{
				Stage: StageRunning, Elapsed: 7 * h, Actual: 71 * h, PausedTime: 4 * h,
				Due: novNY(25, 13, 0), NextWake: novNY(24, 9, 30),
				Warn50: novNY(24, 9, 30), Warn75: novNY(24, 15, 15), Breach: novNY(25, 13, 0),
			},
		},
		{
			name: "business days skip the Thanksgiving holiday", cal: "us-9-5", target: "P2D",
			ops: []timerOp{{kind: EventStart, at: novNY(25, 10, 0)}},
			now: novNY(25, 10, 0),
			want: statusView{
				Stage: StageRunning, Actual: 0,
				Due: novNY(30, 17, 0), NextWake: novNY(27, 13, 30),
				Warn50: novNY(27, 13, 30), Warn75: novNY(30, 11, 15), Breach: time.Date(2026, 12, 1, 9, 0, 0, 0, timerTestNY),
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tm := timerOn(t, timerTestCal(t, tc.cal), tc.target)
			applyOps(t, tm, tc.ops)
			got := viewOf(t, tm.Status(tc.now))
			require.Empty(t, cmp.Diff(tc.want, got))
		})
	}
}

func TestTimerBusinessDaysTarget(t *testing.T) {
	t.Parallel()
	tm := timerOn(t, timerTestCal(t, "us-9-5"), "P2D")
	require.NoError(t, tm.Start(novNY(25, 10, 0)))
	s := tm.Status(novNY(25, 12, 0))
	// Wednesday 10:00–17:00, Friday and Monday: Thursday is a holiday.
	require.Equal(t, 23*time.Hour, s.TargetBusiness)
	require.Equal(t, BusinessDays(2), s.Target)
	require.Equal(t, 21*time.Hour, s.Remaining)
}

func TestTimerPauseInClosedHoursChangesNothing(t *testing.T) {
	t.Parallel()
	cal := timerTestCal(t, "us-9-5")
	plain := timerOn(t, cal, "PT8H")
	applyOps(t, plain, []timerOp{{kind: EventStart, at: novNY(20, 15, 0)}})
	paused := timerOn(t, cal, "PT8H")
	applyOps(t, paused, []timerOp{
		{kind: EventStart, at: novNY(20, 15, 0)},
		{kind: EventPause, at: novNY(21, 10, 0)}, {kind: EventResume, at: novNY(22, 10, 0)},
		{kind: EventPause, at: novNY(22, 23, 0)}, {kind: EventResume, at: novNY(23, 8, 0)},
	})
	for _, now := range []time.Time{novNY(23, 8, 30), novNY(23, 12, 0), novNY(23, 16, 0)} {
		a, b := plain.Status(now), paused.Status(now)
		require.Equal(t, a.Stage, b.Stage, now)
		require.Equal(t, a.Elapsed, b.Elapsed, now)
		require.Equal(t, a.Thresholds, b.Thresholds, now)
		require.True(t, a.BreachedAt.Equal(b.BreachedAt), now)
		if !b.Paused {
			require.True(t, a.Due.Equal(b.Due), now)
			require.True(t, a.NextWake.Equal(b.NextWake), now)
		}
	}
	s := paused.Status(novNY(23, 12, 0))
	require.Equal(t, 33*time.Hour, s.PausedTime)
	require.Equal(t, 5*time.Hour, s.Elapsed)
	require.Equal(t, novNY(23, 15, 0), s.Due)
}

func TestTimerRetarget(t *testing.T) {
	t.Parallel()
	p := timerTestPolicy(t)
	t.Run("priority raised while on track keeps elapsed and moves the due time", func(t *testing.T) {
		t.Parallel()
		tm, err := p.NewTimer(MetricResolution, itsm.PriorityModerate)
		require.NoError(t, err)
		require.NoError(t, tm.Start(novNY(23, 9, 0)))
		require.Equal(t, novNY(24, 17, 0), tm.Status(novNY(23, 10, 0)).Due, "P3 is 16 business hours")
		require.NoError(t, tm.RetargetPriority(novNY(23, 10, 0), p, itsm.PriorityCritical, "priority raised from 3 to 1"))
		s := tm.Status(novNY(23, 11, 0))
		require.Equal(t, StageRunning, s.Stage)
		require.Equal(t, 2*time.Hour, s.Elapsed)
		require.Equal(t, novNY(23, 13, 0), s.Due)
		require.Equal(t, itsm.PriorityCritical, s.Priority)
		require.Equal(t, itsm.PriorityCritical, tm.Priority())
		require.Equal(t, BusinessTime(4*time.Hour), tm.Target())
		ev := tm.Events()
		require.Len(t, ev, 2)
		require.Equal(t, BusinessTime(16*time.Hour), ev[0].Target)
		require.Equal(t, itsm.PriorityModerate, ev[0].Priority)
		require.Equal(t, BusinessTime(4*time.Hour), ev[1].Target)
		require.Equal(t, "priority raised from 3 to 1", ev[1].Reason)
		// The past is replayed with the target in force then.
		require.Equal(t, novNY(24, 17, 0), tm.Status(novNY(23, 9, 30)).Due)
	})
	t.Run("priority raised after the new target was used up breaches in the past", func(t *testing.T) {
		t.Parallel()
		tm, err := p.NewTimer(MetricResolution, itsm.PriorityModerate)
		require.NoError(t, err)
		require.NoError(t, tm.Start(novNY(23, 9, 0)))
		require.NoError(t, tm.RetargetPriority(novNY(24, 10, 0), p, itsm.PriorityCritical, ""))
		s := tm.Status(novNY(24, 10, 0))
		require.Equal(t, StageBreached, s.Stage)
		require.Equal(t, 9*time.Hour, s.Elapsed)
		require.Equal(t, -5*time.Hour, s.Remaining)
		require.Equal(t, novNY(23, 13, 0), s.BreachedAt)
		require.True(t, s.NextWake.IsZero())
	})
	t.Run("unknown priority", func(t *testing.T) {
		t.Parallel()
		tm, err := p.NewTimer(MetricResolution, itsm.PriorityModerate)
		require.NoError(t, err)
		require.NoError(t, tm.Start(novNY(23, 9, 0)))
		err = tm.RetargetPriority(novNY(23, 10, 0), p, 9, "")
		require.ErrorIs(t, err, itsm.ErrValidation)
		require.Equal(t, 1, tm.Len())
	})
}

func TestTimerCycles(t *testing.T) {
	t.Parallel()
	cal := timerTestCal(t, "us-9-5")
	t.Run("reopen starts a new cycle and keeps the met one", func(t *testing.T) {
		t.Parallel()
		tm := timerOn(t, cal, "PT4H")
		require.NoError(t, tm.Start(novNY(23, 9, 0)))
		require.NoError(t, tm.Stop(novNY(23, 11, 0), "resolved"))
		require.NoError(t, tm.Reset(novNY(24, 10, 0), Target{}, 0, "reopened"))
		now := novNY(24, 12, 0)
		s := tm.Status(now)
		require.Equal(t, 2, s.Cycle)
		require.Equal(t, StageRunning, s.Stage)
		require.Equal(t, 2*time.Hour, s.Elapsed)
		require.Equal(t, novNY(24, 10, 0), s.Started)
		require.Equal(t, novNY(24, 14, 0), s.Due)
		cycles := tm.Cycles(now)
		require.Len(t, cycles, 2)
		require.Equal(t, StageMet, cycles[0].Stage)
		require.Equal(t, 1, cycles[0].Cycle)
		require.Equal(t, 2*time.Hour, cycles[0].Elapsed)
		require.Equal(t, novNY(23, 11, 0), cycles[0].Ended)
		require.Equal(t, s, cycles[1])
		// Before the reopen there was one cycle.
		require.Len(t, tm.Cycles(novNY(24, 9, 0)), 1)
		require.Equal(t, StageMet, tm.Status(novNY(24, 9, 0)).Stage)
	})
	t.Run("reset while running cancels the cycle and may change the target", func(t *testing.T) {
		t.Parallel()
		tm := timerOn(t, cal, "PT4H")
		require.NoError(t, tm.Start(novNY(23, 9, 0)))
		require.NoError(t, tm.Pause(novNY(23, 10, 0), "awaiting customer"))
		require.NoError(t, tm.Reset(novNY(23, 11, 0), BusinessTime(time.Hour), itsm.PriorityHigh, "reassigned"))
		cycles := tm.Cycles(novNY(23, 11, 30))
		require.Len(t, cycles, 2)
		require.Equal(t, StageCancelled, cycles[0].Stage)
		require.Equal(t, novNY(23, 11, 0), cycles[0].Ended)
		require.Equal(t, time.Hour, cycles[0].PausedTime)
		require.False(t, cycles[0].Paused)
		require.Equal(t, StageRunning, cycles[1].Stage)
		require.Equal(t, time.Hour, cycles[1].TargetBusiness)
		require.Equal(t, itsm.PriorityHigh, cycles[1].Priority)
		require.Equal(t, novNY(23, 12, 0), cycles[1].Due)
	})
	t.Run("pending", func(t *testing.T) {
		t.Parallel()
		tm := timerOn(t, cal, "PT4H")
		s := tm.Status(novNY(23, 9, 0))
		require.Equal(t, StagePending, s.Stage)
		require.Zero(t, s.Cycle)
		require.Empty(t, tm.Cycles(novNY(23, 9, 0)))
		require.NoError(t, tm.Start(novNY(23, 9, 0)))
		require.Equal(t, StagePending, tm.Status(novNY(23, 8, 0)).Stage, "before the start")
		require.False(t, tm.Status(novNY(23, 8, 0)).Active())
		require.True(t, tm.Status(novNY(23, 9, 0)).Active())
	})
}

// A pending status is the zero Status: no cycle has started, so it has
// no target, priority or thresholds, and it does not pair the timer's
// target with a TargetBusiness of zero (regression: it used to carry the
// timer's target and priority).
func TestTimerPendingStatusIsZero(t *testing.T) {
	t.Parallel()
	tm := timerOn(t, timerTestCal(t, "us-9-5"), "PT4H")
	require.Equal(t, Status{}, tm.Status(novNY(23, 9, 0)), "not started")
	require.NoError(t, tm.Start(novNY(23, 10, 0)))
	require.Equal(t, Status{}, tm.Status(novNY(23, 9, 0)), "before the start")
	s := tm.Status(novNY(23, 10, 0))
	require.Equal(t, itsm.Priority(3), s.Priority)
	require.Equal(t, MustParseTarget("PT4H"), s.Target)
	require.Equal(t, 4*time.Hour, s.TargetBusiness)
}

func TestTimerRetroactive(t *testing.T) {
	t.Parallel()
	cal := timerTestCal(t, "us-9-5")
	t.Run("start when the ticket was logged", func(t *testing.T) {
		t.Parallel()
		tm := timerOn(t, cal, "PT4H")
		require.NoError(t, tm.Start(novNY(23, 9, 0))) // attached at noon
		s := tm.Status(novNY(23, 12, 0))
		require.Equal(t, 3*time.Hour, s.Elapsed)
		require.Equal(t, novNY(23, 13, 0), s.Due)
	})
	t.Run("time already spent waiting is subtracted", func(t *testing.T) {
		t.Parallel()
		tm := timerOn(t, cal, "PT4H")
		require.NoError(t, tm.StartWithPauses(novNY(23, 9, 0), []Outage{{Start: novNY(23, 10, 0), End: novNY(23, 11, 0)}}, "awaiting customer"))
		s := tm.Status(novNY(23, 12, 0))
		require.Equal(t, StageRunning, s.Stage)
		require.Equal(t, 2*time.Hour, s.Elapsed)
		require.Equal(t, time.Hour, s.PausedTime)
		require.Equal(t, novNY(23, 14, 0), s.Due)
		require.Equal(t, "awaiting customer", tm.Events()[1].Reason)
	})
	t.Run("a pause still going on leaves the timer paused", func(t *testing.T) {
		t.Parallel()
		tm := timerOn(t, cal, "PT4H")
		require.NoError(t, tm.StartWithPauses(novNY(23, 9, 0), []Outage{{Start: novNY(23, 10, 0)}}, "awaiting customer"))
		s := tm.Status(novNY(23, 12, 0))
		require.Equal(t, StagePaused, s.Stage)
		require.Equal(t, time.Hour, s.Elapsed)
	})
	t.Run("bad pauses change nothing", func(t *testing.T) {
		t.Parallel()
		for _, pauses := range [][]Outage{
			{{Start: novNY(23, 8, 0), End: novNY(23, 9, 30)}},                                                     // before the start
			{{Start: novNY(23, 10, 0), End: novNY(23, 11, 0)}, {Start: novNY(23, 10, 30), End: novNY(23, 12, 0)}}, // overlapping
			{{Start: novNY(23, 10, 0)}, {Start: novNY(23, 11, 0), End: novNY(23, 12, 0)}},                         // open pause not last
			{{Start: novNY(23, 11, 0), End: novNY(23, 10, 0)}},                                                    // ends before it starts
		} {
			tm := timerOn(t, cal, "PT4H")
			err := tm.StartWithPauses(novNY(23, 9, 0), pauses, "")
			var he *HistoryError
			require.ErrorAs(t, err, &he)
			require.Zero(t, tm.Len())
			require.False(t, tm.Started())
			require.NoError(t, tm.Start(novNY(23, 9, 0)), "the timer is still usable")
		}
	})
}

func TestTimerHistoryErrors(t *testing.T) {
	t.Parallel()
	cal := timerTestCal(t, "us-9-5")
	tg := BusinessTime(time.Hour)
	start := TimerEvent{Kind: EventStart, At: novNY(23, 9, 0), Target: tg}
	tests := []struct {
		name    string
		history []TimerEvent
		next    TimerEvent
		problem HistoryProblem
	}{
		{"resume without pause", []TimerEvent{start}, TimerEvent{Kind: EventResume, At: novNY(23, 10, 0)}, ProblemNotPaused},
		{"pause twice", []TimerEvent{start, {Kind: EventPause, At: novNY(23, 10, 0)}}, TimerEvent{Kind: EventPause, At: novNY(23, 11, 0)}, ProblemNotRunning},
		{"out of time order", []TimerEvent{start, {Kind: EventPause, At: novNY(23, 10, 0)}}, TimerEvent{Kind: EventResume, At: novNY(23, 9, 30)}, ProblemOutOfOrder},
		{"pause after stop", []TimerEvent{start, {Kind: EventStop, At: novNY(23, 10, 0)}}, TimerEvent{Kind: EventPause, At: novNY(23, 11, 0)}, ProblemEnded},
		{"stop after stop", []TimerEvent{start, {Kind: EventStop, At: novNY(23, 10, 0)}}, TimerEvent{Kind: EventStop, At: novNY(23, 11, 0)}, ProblemEnded},
		{"retarget after cancel", []TimerEvent{start, {Kind: EventCancel, At: novNY(23, 10, 0)}}, TimerEvent{Kind: EventRetarget, At: novNY(23, 11, 0), Target: tg}, ProblemEnded},
		{"start twice", []TimerEvent{start}, start, ProblemAlreadyStarted},
		{"pause before start", nil, TimerEvent{Kind: EventPause, At: novNY(23, 10, 0)}, ProblemNotStarted},
		{"reset before start", nil, TimerEvent{Kind: EventReset, At: novNY(23, 10, 0)}, ProblemNotStarted},
		{"start without target", nil, TimerEvent{Kind: EventStart, At: novNY(23, 10, 0)}, ProblemBadTarget},
		{"negative retarget", []TimerEvent{start}, TimerEvent{Kind: EventRetarget, At: novNY(23, 10, 0), Target: BusinessTime(-time.Hour)}, ProblemBadTarget},
		{"retarget without target", []TimerEvent{start}, TimerEvent{Kind: EventRetarget, At: novNY(23, 10, 0)}, ProblemBadTarget},
		{"target on a pause", []TimerEvent{start}, TimerEvent{Kind: EventPause, At: novNY(23, 10, 0), Target: tg}, ProblemBadTarget},
		{"zero time", []TimerEvent{start}, TimerEvent{Kind: EventPause}, ProblemNoTime},
		{"unknown kind", []TimerEvent{start}, TimerEvent{Kind: 42, At: novNY(23, 10, 0)}, ProblemUnknownKind},
		{"bad priority", []TimerEvent{start}, TimerEvent{Kind: EventRetarget, At: novNY(23, 10, 0), Target: tg, Priority: 6}, ProblemBadPriority},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tm := timerOn(t, cal, "PT1H")
			for _, ev := range tc.history {
				require.NoError(t, tm.Append(ev))
			}
			before := tm.Status(novNY(23, 12, 0))
			err := tm.Append(tc.next)
			require.ErrorIs(t, err, itsm.ErrValidation)
			var he *HistoryError
			require.ErrorAs(t, err, &he)
			require.Equal(t, tc.problem, he.Problem, he.Error())
			require.Equal(t, len(tc.history), he.Index)
			require.Equal(t, len(tc.history), tm.Len(), "history unchanged")
			require.Equal(t, before, tm.Status(novNY(23, 12, 0)))
			require.Contains(t, he.Error(), tc.problem.String())
			require.Error(t, ValidateHistory(append(append([]TimerEvent(nil), tc.history...), tc.next)))
		})
	}
	require.NoError(t, ValidateHistory([]TimerEvent{start, {Kind: EventStop, At: start.At}, {Kind: EventReset, At: start.At}}), "equal instants are in order")
}

func TestNewTimerValidation(t *testing.T) {
	t.Parallel()
	_, err := NewTimer(nil, BusinessTime(0), nil, "", "", 7)
	var ve *itsm.ValidationError
	require.ErrorAs(t, err, &ve)
	require.True(t, ve.Has("calendar"))
	require.True(t, ve.Has("target"))
	require.True(t, ve.Has("priority"))
	_, err = NewTimer(AlwaysOpen(nil), BusinessTime(time.Hour), DefaultWarnings()[1:2:2], "", "", 0)
	require.NoError(t, err)
	_, err = NewTimer(AlwaysOpen(nil), BusinessTime(time.Hour), []decimal.Decimal{decimal.New(1, 0), decimal.New(2, 0), decimal.New(3, 0), decimal.New(4, 0), decimal.New(5, 0)}, "", "", 0)
	require.ErrorAs(t, err, &ve)
	require.True(t, ve.Has("warnings"))

	p := timerTestPolicy(t)
	_, err = p.NewTimer("callback", itsm.PriorityHigh)
	require.ErrorIs(t, err, itsm.ErrValidation)
	_, err = p.NewTimer(MetricResponse, 0)
	require.ErrorIs(t, err, itsm.ErrValidation)
}

func TestTimerStatusAllocatesNothing(t *testing.T) {
	cal := timerTestCal(t, "us-9-5")
	tm := timerOn(t, cal, "P2D")
	require.NoError(t, tm.Start(novNY(20, 10, 0)))
	for d := 23; d <= 25; d++ {
		require.NoError(t, tm.Pause(novNY(d, 11, 0), ""))
		require.NoError(t, tm.Resume(novNY(d, 12, 0), ""))
	}
	require.NoError(t, tm.Retarget(novNY(25, 12, 0), BusinessTime(30*time.Hour), 2, ""))
	now := novNY(27, 10, 0)
	allocs := testing.AllocsPerRun(100, func() { _ = tm.Status(now) })
	require.Zero(t, allocs)
}

func TestScaleBasisPoints(t *testing.T) {
	t.Parallel()
	require.Equal(t, 2*time.Hour, scaleBasisPoints(4*time.Hour, 5000))
	require.Equal(t, time.Duration(0), scaleBasisPoints(1, 5000))
	big := time.Duration(1<<63 - 1)
	require.Equal(t, big/2, scaleBasisPoints(big, 5000), "no overflow")
	require.Equal(t, big, scaleBasisPoints(big, fullBasisPoints))
}

func TestStatusPercent(t *testing.T) {
	t.Parallel()
	tests := []struct {
		elapsed, target time.Duration
		want            string
	}{
		{0, time.Hour, "0"},
		{30 * time.Minute, time.Hour, "50"},
		{time.Hour, 3 * time.Hour, "33.3333"},
		{2 * time.Hour, 3 * time.Hour, "66.6667"},
		{4*time.Hour + time.Nanosecond, 4 * time.Hour, "100"},
		{5 * time.Hour, 4 * time.Hour, "125"},
		{time.Hour, 0, "0"},
	}
	for _, tc := range tests {
		got := Status{Elapsed: tc.elapsed, TargetBusiness: tc.target}.Percent()
		require.Equal(t, tc.want, got.String(), "%v / %v", tc.elapsed, tc.target)
	}
	require.Equal(t, "66.67", Status{Elapsed: 2, TargetBusiness: 3}.PercentRound(2).String())
	require.Equal(t, "67", Status{Elapsed: 2, TargetBusiness: 3}.PercentRound(-1).String())
}

func TestTimerBind(t *testing.T) {
	t.Parallel()
	p := timerTestPolicy(t)
	tm, err := p.NewTimer(MetricResponse, 1)
	require.NoError(t, err)
	require.Equal(t, "us-9-5", tm.CalendarName())
	require.NoError(t, tm.Bind(timerTestCalendars(t)))
	err = tm.Bind(Calendars{})
	var ve *itsm.ValidationError
	require.ErrorAs(t, err, &ve)
	require.True(t, ve.Has("calendar"))
	require.True(t, errors.Is(tm.Bind(nil), itsm.ErrValidation))
}

func TestTimerCustomWarnings(t *testing.T) {
	t.Parallel()
	js := strings.Replace(timerTestPolicyJSON, `"kind": "sla",`, `"kind": "sla", "warnings": ["25", "87.5", "99.99"],`, 1)
	p, err := ParsePolicy([]byte(js), timerTestCalendars(t))
	require.NoError(t, err)
	tm, err := p.NewTimer(MetricResolution, itsm.PriorityHigh) // PT8H
	require.NoError(t, err)
	require.NoError(t, tm.Start(novNY(23, 9, 0)))
	s := tm.Status(novNY(23, 12, 0))
	require.Equal(t, 4, s.NumThresholds)
	got := s.ThresholdList()
	require.Equal(t, []int32{2500, 8750, 9999, 10000}, []int32{got[0].BasisPoints, got[1].BasisPoints, got[2].BasisPoints, got[3].BasisPoints})
	require.Equal(t, []string{"25", "87.5", "99.99", "100"}, []string{got[0].Percent().String(), got[1].Percent().String(), got[2].Percent().String(), got[3].Percent().String()})
	require.Equal(t, 2*time.Hour, got[0].Business)
	require.Equal(t, 7*time.Hour, got[1].Business)
	require.Equal(t, 8*time.Hour-2880*time.Millisecond, got[2].Business)
	require.True(t, got[0].Reached)
	require.Equal(t, novNY(23, 11, 0), got[0].At)
	require.False(t, got[1].Reached)
	require.Equal(t, novNY(23, 16, 0), got[1].At)
	require.Equal(t, novNY(23, 16, 0), s.NextWake)
	require.Equal(t, novNY(23, 17, 0).Add(-2880*time.Millisecond), got[2].At)
	require.True(t, got[3].Breach())
	require.False(t, got[2].Breach())
}
