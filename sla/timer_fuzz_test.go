package sla

import (
	"encoding/binary"
	"encoding/json"
	"math/big"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/itsmkit/itsmkit/itsm"
	"github.com/stretchr/testify/require"
)

// fuzzHistory turns bytes into a sequence of timer events, three bytes
// each: the kind, a time step (up to about a day, backwards when the high
// bit is set) and a target and priority choice. Events that the history refuses are skipped, so the
// timer always holds a valid history and the refusals are exercised too.
func fuzzHistory(t *testing.T, tm *Timer, start time.Time, data []byte) time.Time {
	at := start
	targets := []Target{{}, BusinessTime(time.Minute), BusinessTime(4 * time.Hour), BusinessTime(-time.Hour), BusinessDays(1), BusinessDays(3), BusinessTime(37*time.Hour + 1)}
	for len(data) >= 3 {
		kind := EventKind(data[0] % 9) // 0 and 8 are unknown kinds
		step := time.Duration(binary.BigEndian.Uint16([]byte{data[1] & 0x17, data[2]})) * time.Minute / 4
		if data[1]&0x80 != 0 {
			step = -step // out of order on purpose
		}
		at = at.Add(step)
		ev := TimerEvent{Kind: kind, At: at, Target: targets[int(data[2])%len(targets)]}
		if kind == EventStart && ev.Target.IsZero() {
			ev.Target = BusinessTime(2 * time.Hour)
		}
		if data[1]&0x08 != 0 {
			ev.Priority = itsm.Priority(data[2] % 7)
		}
		before := tm.Len()
		if err := tm.Append(ev); err != nil {
			var he *HistoryError
			require.ErrorAs(t, err, &he)
			require.Equal(t, before, tm.Len())
			at = at.Add(-step)
		}
		data = data[3:]
	}
	require.NoError(t, ValidateHistory(tm.Events()))
	return at
}

// checkStatusInvariants checks what must hold for any status.
func checkStatusInvariants(t *testing.T, s Status, now time.Time) {
	t.Helper()
	if s.Stage == StagePending {
		require.Zero(t, s.Elapsed)
		require.True(t, s.BreachedAt.IsZero())
		return
	}
	require.GreaterOrEqual(t, s.Elapsed, time.Duration(0))
	require.LessOrEqual(t, s.Elapsed, s.ActualElapsed, "business ≤ actual")
	require.GreaterOrEqual(t, s.PausedTime, time.Duration(0))
	require.Positive(t, s.TargetBusiness)
	require.Equal(t, s.TargetBusiness-s.Elapsed, s.Remaining)
	require.Equal(t, s.Stage == StageBreached, !s.BreachedAt.IsZero(), "breach instant only when breached")
	if s.Stage != StageCancelled {
		require.Equal(t, s.Elapsed > s.TargetBusiness, s.Stage == StageBreached)
	}
	if s.Stage == StageBreached {
		require.False(t, s.BreachedAt.After(now))
		require.False(t, s.BreachedAt.Before(s.Started))
	}
	require.Equal(t, s.Stage == StageMet || s.Stage == StageCancelled || (s.Stage == StageBreached && !s.Ended.IsZero()), !s.Ended.IsZero())
	require.False(t, s.Started.After(now))
	if !s.NextWake.IsZero() {
		require.True(t, s.NextWake.After(now), "wake %v after now %v", s.NextWake, now)
	}
	// The percentage is 100·elapsed/target rounded to 4 places.
	exact := new(big.Rat).SetFrac(big.NewInt(int64(s.Elapsed)*100), big.NewInt(int64(s.TargetBusiness)))
	diff := new(big.Rat).Sub(s.Percent().Rat(), exact)
	require.LessOrEqual(t, diff.Abs(diff).Cmp(big.NewRat(1, 20000)), 0, "percent %s vs %s", s.Percent(), exact.FloatString(8))
	prev := time.Duration(-1)
	for i := range s.NumThresholds {
		th := s.Thresholds[i]
		require.Greater(t, th.Business, prev, "thresholds increase")
		prev = th.Business
		if th.Breach() {
			require.Equal(t, s.Elapsed > s.TargetBusiness, th.Reached)
		} else {
			require.Equal(t, s.Elapsed >= th.Business, th.Reached, "warning %d", i)
		}
		if th.Reached {
			require.False(t, th.At.IsZero())
			require.False(t, th.At.After(now))
		}
	}
	require.True(t, s.Thresholds[s.NumThresholds-1].Breach())
}

func FuzzTimerHistory(f *testing.F) {
	f.Add([]byte{1, 0, 10, 2, 1, 0, 3, 2, 0, 4, 1, 0}, uint16(600), true)
	f.Add([]byte{1, 0, 2, 7, 0, 30, 2, 4, 0, 3, 2, 0, 6, 0, 1, 4, 16, 0}, uint16(5000), false)
	f.Add([]byte{1, 0, 4, 2, 0x10, 0, 3, 0x10, 0, 5, 0, 0, 6, 0x80, 5, 2, 0, 1}, uint16(9000), true)
	f.Add([]byte{3, 0, 0, 1, 0, 6, 1, 0, 0}, uint16(1), false)
	cals := Calendars{"24x7": AlwaysOpen(timerTestNY), "us-9-5": timerTestCal(f, "us-9-5")}
	f.Fuzz(func(t *testing.T, data []byte, probe uint16, business bool) {
		cal := cals["24x7"]
		if business {
			cal = cals["us-9-5"]
		}
		tm := timerOn(t, cal, "PT3H")
		start := novNY(20, 16, 0)
		last := fuzzHistory(t, tm, start, data)
		span := last.Sub(start) + 48*time.Hour
		probes := []time.Time{start.Add(-time.Minute), start, last, last.Add(time.Hour), start.Add(time.Duration(probe) * span / 65535)}
		for _, ev := range tm.Events() {
			probes = append(probes, ev.At, ev.At.Add(time.Nanosecond))
		}
		for _, now := range probes {
			s := tm.Status(now)
			checkStatusInvariants(t, s, now)
			if cs := tm.Cycles(now); len(cs) > 0 {
				require.Equal(t, s, cs[len(cs)-1])
				for i, c := range cs {
					require.Equal(t, i+1, c.Cycle)
					checkStatusInvariants(t, c, now)
				}
			}
			b, err := json.Marshal(s)
			require.NoError(t, err)
			var back Status
			require.NoError(t, json.Unmarshal(b, &back))
			require.Empty(t, cmp.Diff(s, back))
			// The status replays: asking again later about the same
			// instant gives the same answer, and a stopped cycle no
			// longer moves.
			if !s.Ended.IsZero() {
				later := tm.Status(now.Add(24 * time.Hour))
				if later.Cycle == s.Cycle {
					require.Equal(t, s.Elapsed, later.Elapsed)
					require.Equal(t, s.Stage, later.Stage)
				}
			}
		}
		b, err := json.Marshal(tm)
		require.NoError(t, err)
		var back Timer
		require.NoError(t, json.Unmarshal(b, &back))
		require.NoError(t, back.Bind(cals))
		require.Empty(t, cmp.Diff(tm.Events(), back.Events()))
	})
}
