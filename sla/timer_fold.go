package sla

import (
	"math"
	"time"
)

// Status returns the status of the timer's current cycle at now. Only
// events at or before now count, so Status(t) for an earlier t replays the
// past. It is a pure function of the history, the calendar and now, runs in
// time linear in the number of events and does not allocate. Before the
// first cycle starts it is the zero Status, whose stage is pending.
//
// Status panics if the timer has no calendar, which happens only for a
// timer decoded from JSON and not yet bound with Bind.
func (t *Timer) Status(now time.Time) Status {
	n := t.countUntil(now)
	c := -1
	for i := n - 1; i >= 0; i-- {
		if k := t.events[i].Kind; k == EventStart || k == EventReset {
			c = i
			break
		}
	}
	if c < 0 {
		// No cycle has started: no target, priority or thresholds yet.
		return Status{Stage: StagePending}
	}
	return t.fold(c, n, time.Time{}, now)
}

// Cycles returns the status at now of every cycle that has started by now,
// oldest first; the last one is Status(now). A cycle that was reset while
// running or paused ends as cancelled at the reset. It allocates the
// result.
func (t *Timer) Cycles(now time.Time) []Status {
	n := t.countUntil(now)
	var out []Status
	c := -1
	for i := 0; i < n; i++ {
		if k := t.events[i].Kind; k == EventStart || k == EventReset {
			if c >= 0 {
				out = append(out, t.fold(c, i, t.events[i].At, now))
			}
			c = i
		}
	}
	if c >= 0 {
		out = append(out, t.fold(c, n, time.Time{}, now))
	}
	return out
}

// countUntil returns the number of events at or before now (events are in
// time order).
func (t *Timer) countUntil(now time.Time) int {
	lo, hi := 0, len(t.events)
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if t.events[m].At.After(now) {
			hi = m
		} else {
			lo = m + 1
		}
	}
	return lo
}

// scaleBasisPoints returns d × bp / 10000 rounded down, without overflow
// for any positive d and 0 ≤ bp ≤ 10000.
func scaleBasisPoints(d time.Duration, bp int32) time.Duration {
	q, r := d/fullBasisPoints, d%fullBasisPoints
	return q*time.Duration(bp) + r*time.Duration(bp)/fullBasisPoints
}

// nextNanosecond returns d + 1ns, saturating at the largest duration.
func nextNanosecond(d time.Duration) time.Duration {
	if d == math.MaxInt64 {
		return d
	}
	return d + 1
}

// cycleFold accumulates one cycle's running segments.
type cycleFold struct {
	cal     *Calendar
	s       Status
	target  time.Duration
	elapsed time.Duration
	due     time.Time
	breach  time.Time
}

// run adds the running segment [a, b) and records the thresholds it
// reaches.
func (f *cycleFold) run(a, b time.Time) {
	e0 := f.elapsed
	after := e0 + f.cal.Elapsed(a, b)
	nw := f.s.NumThresholds - 1
	for i := 0; i < nw; i++ {
		th := &f.s.Thresholds[i]
		if !th.Reached && th.Business <= after {
			th.Reached = true
			th.At = f.cal.Add(a, max(th.Business-e0, 0))
		}
	}
	if f.due.IsZero() && f.target <= after {
		f.due = f.cal.Add(a, max(f.target-e0, 0))
	}
	if f.breach.IsZero() && f.target < after {
		f.breach = f.cal.Add(a, nextNanosecond(f.target-e0)).Add(-1)
	}
	f.elapsed = after
	f.s.ActualElapsed += b.Sub(a)
}

// fold computes the status at now of the cycle whose start or reset event
// is events[c] and whose events end before index end. A non-zero resetAt
// ends a still-active cycle there as cancelled.
func (t *Timer) fold(c, end int, resetAt, now time.Time) Status {
	cal := t.cal
	if cal == nil {
		panic("sla: Timer.Status on a timer whose calendar " + t.calName + " is not bound; call Bind first")
	}
	ev := t.events
	f := cycleFold{cal: cal, s: Status{Target: t.target, Priority: t.priority}}
	s := &f.s
	for i := 0; i < end; i++ {
		e := &ev[i]
		if !e.Target.IsZero() {
			s.Target = e.Target
		}
		if e.Priority != 0 {
			s.Priority = e.Priority
		}
		if i <= c && (e.Kind == EventStart || e.Kind == EventReset) {
			s.Cycle++
		}
	}
	start := ev[c].At
	s.Started = start
	target := s.Target.Resolve(cal, start)
	s.TargetBusiness = target
	for i := 0; i < t.nwarn; i++ {
		s.Thresholds[i] = Threshold{BasisPoints: t.warnings[i], Business: scaleBasisPoints(target, t.warnings[i])}
	}
	s.Thresholds[t.nwarn] = Threshold{BasisPoints: fullBasisPoints, Business: target}
	s.NumThresholds = t.nwarn + 1

	f.target = target
	running := true
	mark := start // start of the current running segment or pause
	var endKind EventKind
	for i := c + 1; i < end && endKind == 0; i++ {
		e := &ev[i]
		switch e.Kind {
		case EventPause:
			f.run(mark, e.At)
			running, mark = false, e.At
		case EventResume:
			s.PausedTime += e.At.Sub(mark)
			running, mark = true, e.At
		case EventStop, EventCancel:
			endKind = e.Kind
			s.Ended = e.At
		}
	}
	if endKind == 0 && !resetAt.IsZero() {
		endKind = EventCancel
		s.Ended = resetAt
	}
	closeAt := now
	if endKind != 0 {
		closeAt = s.Ended
	}
	if running {
		f.run(mark, closeAt)
	} else {
		s.PausedTime += closeAt.Sub(mark)
		s.Paused = endKind == 0
	}
	s.Elapsed = f.elapsed
	s.Remaining = target - f.elapsed
	breached := f.elapsed > target
	bi := t.nwarn
	if breached {
		s.Thresholds[bi].Reached = true
		s.Thresholds[bi].At = f.breach
	}
	switch {
	case endKind == EventCancel:
		s.Stage = StageCancelled
	case breached:
		s.Stage = StageBreached
		s.BreachedAt = f.breach
	case endKind == EventStop:
		s.Stage = StageMet
	case !running:
		s.Stage = StagePaused
	default:
		s.Stage = StageRunning
	}
	if endKind != 0 || !running {
		return f.s
	}
	// The clock runs: project the thresholds still ahead.
	s.Due = f.due
	if s.Due.IsZero() {
		s.Due = cal.Add(now, target-f.elapsed)
	}
	for i := 0; i < bi; i++ {
		th := &s.Thresholds[i]
		if !th.Reached {
			th.At = cal.Add(now, th.Business-f.elapsed)
			if s.NextWake.IsZero() {
				s.NextWake = th.At
			}
		}
	}
	if !breached {
		wake := cal.Add(now, nextNanosecond(target-f.elapsed))
		s.Thresholds[bi].At = wake.Add(-1)
		if s.NextWake.IsZero() {
			s.NextWake = wake
		}
	}
	return f.s
}
