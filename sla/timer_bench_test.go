package sla

import (
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// benchTimer returns a timer on the US 9–5 calendar with a start and then
// events pause/resume events, one pair per business hour from Monday 23
// November 2026, and the instant to ask about (an hour after the last
// event, with the clock running).
func benchTimer(b testing.TB, events int) (*Timer, time.Time) {
	cal := timerTestCal(b, "us-9-5")
	tm := timerOn(b, cal, "PT800H")
	at := novNY(23, 9, 0)
	require.NoError(b, tm.Start(at))
	for i := 0; i < events/2; i++ {
		at = cal.Add(at, 40*time.Minute)
		require.NoError(b, tm.Pause(at, ""))
		at = cal.Add(at, 20*time.Minute)
		require.NoError(b, tm.Resume(at, ""))
	}
	return tm, cal.Add(at, time.Hour)
}

func BenchmarkTimerStatus(b *testing.B) {
	for _, n := range []int{2, 200} {
		b.Run("events="+strconv.Itoa(n), func(b *testing.B) {
			tm, now := benchTimer(b, n)
			require.Equal(b, StageRunning, tm.Status(now).Stage)
			b.ReportAllocs()
			var s Status
			for b.Loop() {
				s = tm.Status(now)
			}
			_ = s
		})
	}
}

func TestBenchTimerShape(t *testing.T) {
	// Not parallel: testing.AllocsPerRun refuses to run in parallel tests.
	for _, n := range []int{2, 200} {
		tm, now := benchTimer(t, n)
		require.Equal(t, n+1, tm.Len())
		s := tm.Status(now)
		require.Equal(t, StageRunning, s.Stage)
		require.Equal(t, time.Duration(n/2)*40*time.Minute+time.Hour, s.Elapsed)
		require.Zero(t, testing.AllocsPerRun(20, func() { _ = tm.Status(now) }))
	}
}
