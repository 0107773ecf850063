package sla

import (
	"iter"
	"time"
)

// Period is one open stretch of a calendar, [Start, End).
type Period struct {
	Start, End time.Time
}

// Duration returns the real length of the period, End minus Start.
func (p Period) Duration() time.Duration { return p.End.Sub(p.Start) }

// Periods returns the open periods of the calendar between from and to, in
// order, clipped to [from, to). A period runs from an opening to the next
// close, so it continues across midnight and DST changes while the
// calendar stays open. Times are in from's Location. The sequence is empty
// when to is not after from, and it can be ranged over more than once.
func (c *Calendar) Periods(from, to time.Time) iter.Seq[Period] {
	return func(yield func(Period) bool) {
		to := to.In(from.Location())
		for from.Before(to) {
			start := c.NextOpen(from)
			if !start.Before(to) {
				return
			}
			end := c.NextClose(start)
			if end.After(to) {
				end = to
			}
			if !end.After(start) {
				return
			}
			if !yield(Period{Start: start, End: end}) {
				return
			}
			from = end
		}
	}
}
