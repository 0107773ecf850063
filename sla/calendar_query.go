package sla

import (
	"math"
	"time"
)

// How the queries work.
//
// A calendar's open set is a set of wall-clock readings ("wall time"): the
// intervals of every date, placed at that date's local midnight. Real time
// is cut into zone segments (stretches with one UTC offset, from
// time.Time.ZoneBounds); within a segment the wall clock is real time plus
// the offset, so the open real time of a segment is the open wall time of
// its wall image. The open wall time before a wall point is a closed-form
// function (whole weeks times the week's total, plus the corrections of the
// exception dates before it, found by binary search), so a query costs a
// few binary searches per zone segment whatever the distance.
//
// Inside one query every position is an int64 count of nanoseconds from an
// origin: the local midnight of the date of the query's first instant,
// written as Unix seconds (so wall midnights are multiples of nsPerDay).
// SearchHorizon keeps every position within ±2^63 ns.

const (
	nsPerSec = int64(time.Second)
	nsPerDay = secPerDay * nsPerSec
	horizon  = int64(SearchHorizon)
	// far is a bound on positions a query keeps, beyond horizon but safe
	// from overflow.
	far = horizon + 4*nsPerDay
)

// frame is the origin of one query.
type frame struct {
	c       *Calendar
	e0      int64 // origin in Unix seconds (a multiple of 86400)
	refDay  int64 // e0 / 86400
	baseRef int64 // base(refDay - 1)
}

// newFrame returns a frame whose origin is the local midnight (as wall
// seconds) of t's local date.
func (c *Calendar) newFrame(t time.Time) frame {
	sec := t.Unix()
	off, _, _ := c.zoneAt(sec)
	day := floorDiv(sec+off, secPerDay)
	return frame{c: c, e0: day * secPerDay, refDay: day, baseRef: c.base(day - 1)}
}

// rel converts t to a position in f.
func (f *frame) rel(t time.Time) int64 {
	return (t.Unix()-f.e0)*nsPerSec + int64(t.Nanosecond())
}

// time converts a real position back to a time in loc.
func (f *frame) time(u int64, loc *time.Location) time.Time {
	return time.Unix(f.e0+floorDiv(u, nsPerSec), floorMod(u, nsPerSec)).In(loc)
}

// seg returns the UTC offset (in ns) of the zone segment containing real
// position u, and the segment's end, clamped to [u, lim].
func (f *frame) seg(u, lim int64) (off, end int64) {
	o, _, e := f.c.zoneAt(f.e0 + floorDiv(u, nsPerSec))
	end = lim
	if e != math.MaxInt64 {
		if d := e - f.e0; d < lim/nsPerSec+1 {
			end = min(lim, d*nsPerSec)
		}
	}
	return o * nsPerSec, max(end, u)
}

// segBefore returns the UTC offset of the zone segment containing the
// instant just before real position u, and the segment's start, clamped to
// [lim, u].
func (f *frame) segBefore(u, lim int64) (off, start int64) {
	o, s, _ := f.c.zoneAt(f.e0 + floorDiv(u-1, nsPerSec))
	start = lim
	if s != math.MinInt64 {
		if d := s - f.e0; d > lim/nsPerSec-1 {
			start = max(lim, d*nsPerSec)
		}
	}
	return o * nsPerSec, min(start, u)
}

// zoneAt returns the UTC offset in seconds at Unix second sec and the
// bounds of the zone period containing it, math.MinInt64 and
// math.MaxInt64 when unbounded.
func (c *Calendar) zoneAt(sec int64) (off, start, end int64) {
	// start ≤ sec < end always holds.
	t := time.Unix(sec, 0).In(c.loc)
	_, o := t.Zone()
	s, e := t.ZoneBounds()
	start, end = math.MinInt64, math.MaxInt64
	if !s.IsZero() {
		start = s.Unix()
	}
	if !e.IsZero() {
		end = e.Unix()
	}
	// ZoneBounds can report a period that does not contain t (seen for
	// 31 December of leap years beyond the zone's transition table, where
	// the POSIX rule is used). Fall back to a short period around sec
	// whose offset is checked.
	if end <= sec {
		end = c.probe(sec, o, 1)
	}
	if start > sec {
		start = c.probe(sec, o, -1)
	}
	return int64(o), start, end
}

// probe returns a bound of a stretch around sec (after it for dir 1,
// before it for dir -1) within an hour during which the offset is off: the
// full hour when the offset at its far end is off too, otherwise the first
// second with another offset, found by bisection.
func (c *Calendar) probe(sec int64, off, dir int) int64 {
	offAt := func(s int64) int {
		_, o := time.Unix(s, 0).In(c.loc).Zone()
		return o
	}
	if dir > 0 {
		if offAt(sec+3599) == off {
			return sec + 3600
		}
		lo, hi := sec, sec+3599 // offAt(lo) == off, offAt(hi) != off
		for hi-lo > 1 {
			m := lo + (hi-lo)/2
			if offAt(m) == off {
				lo = m
			} else {
				hi = m
			}
		}
		return hi
	}
	if offAt(sec-3600) == off {
		return sec - 3600
	}
	lo, hi := sec-3600, sec // offAt(lo) != off, offAt(hi) == off
	for hi-lo > 1 {
		m := lo + (hi-lo)/2
		if offAt(m) == off {
			hi = m
		} else {
			lo = m
		}
	}
	return hi
}

// tmplCum returns the open seconds of the weekly hours over the epoch days
// before day (negative for days before 1970-01-01).
func (c *Calendar) tmplCum(day int64) int64 {
	return floorDiv(day, 7)*c.weekTotal + c.cum[floorMod(day, 7)]
}

// excIdx returns the number of exceptions before day.
func (c *Calendar) excIdx(day int64) int {
	lo, hi := 0, len(c.exc)
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if c.exc[m].day < day {
			lo = m + 1
		} else {
			hi = m
		}
	}
	return lo
}

// base returns the open wall seconds of every date before day, relative to
// the weekly hours' epoch count.
func (c *Calendar) base(day int64) int64 {
	return c.tmplCum(day) + c.corr[c.excIdx(day)]
}

// spansAt returns day's intervals, given i = excIdx(day).
func (c *Calendar) spansAt(day int64, i int) []span {
	if i < len(c.exc) && c.exc[i].day == day {
		return c.exc[i].spans
	}
	return c.week[weekdayOf(day)]
}

// spansOf returns day's intervals.
func (c *Calendar) spansOf(day int64) []span { return c.spansAt(day, c.excIdx(day)) }

// partial returns the open nanoseconds of sp before x (ns after the
// owning date's midnight).
func partial(sp []span, x int64) int64 {
	var acc int64
	for _, s := range sp {
		a := s.s * nsPerSec
		if a >= x {
			break
		}
		b := s.e * nsPerSec
		acc += min(x, b) - a
	}
	return acc
}

// cum returns the open wall time before wall position w, relative to the
// frame's origin date, in ns.
func (f *frame) cum(w int64) int64 {
	c := f.c
	dd := floorDiv(w, nsPerDay)
	day := f.refDay + dd
	i := c.excIdx(day - 1)
	res := (c.tmplCum(day-1) + c.corr[i] - f.baseRef) * nsPerSec
	res += partial(c.spansAt(day-1, i), w-(dd-1)*nsPerDay)
	if i < len(c.exc) && c.exc[i].day == day-1 {
		i++
	}
	res += partial(c.spansAt(day, i), w-dd*nsPerDay)
	return res
}

// lastDayAtMost returns the last date whose base is at most k seconds.
func (c *Calendar) lastDayAtMost(k int64) int64 {
	lo, hi := 0, len(c.exc)
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if c.tmplCum(c.exc[m].day)+c.corr[m] <= k {
			lo = m + 1
		} else {
			hi = m
		}
	}
	if j := lo - 1; j >= 0 {
		x := c.exc[j].day
		if c.tmplCum(x+1)+c.corr[lo] > k {
			return x
		}
	}
	kk := k - c.corr[lo]
	d := (floorDiv(kk, c.weekTotal) - 1) * 7
	for c.tmplCum(d+1) <= kk {
		d++
	}
	return d
}

// locate returns the wall position where the open wall time since the
// origin date reaches target (relative ns). With latest false it is the
// earliest such position (the close of an interval when target falls at
// its end); with latest true it is the latest one (the next opening). ok is
// false when the position lies beyond the reach of the frame.
func (f *frame) locate(target int64, latest bool) (w int64, ok bool) {
	c := f.c
	ts := f.baseRef + floorDiv(target, nsPerSec)
	tn := floorMod(target, nsPerSec)
	k := ts
	if !latest && tn == 0 {
		k--
	}
	day := c.lastDayAtMost(k)
	dd := day - f.refDay
	if dd > far/nsPerDay || dd < -far/nsPerDay {
		return 0, false
	}
	rem := (ts-c.base(day))*nsPerSec + tn
	sp := c.spansOf(day)
	for _, s := range sp {
		l := (s.e - s.s) * nsPerSec
		if rem < l || (!latest && rem == l) {
			return dd*nsPerDay + s.s*nsPerSec + rem, true
		}
		rem -= l
	}
	// Unreachable for a consistent calendar: base(day+1) > k.
	return dd*nsPerDay + sp[len(sp)-1].e*nsPerSec, true
}

// openAt reports whether wall position w is open.
func (f *frame) openAt(w int64) bool {
	c := f.c
	dd := floorDiv(w, nsPerDay)
	day := f.refDay + dd
	x := w - dd*nsPerDay
	i := c.excIdx(day - 1)
	if inSpans(c.spansAt(day-1, i), x+nsPerDay) {
		return true
	}
	if i < len(c.exc) && c.exc[i].day == day-1 {
		i++
	}
	return inSpans(c.spansAt(day, i), x)
}

func inSpans(sp []span, x int64) bool {
	for _, s := range sp {
		if x < s.s*nsPerSec {
			return false
		}
		if x < s.e*nsPerSec {
			return true
		}
	}
	return false
}

// IsOpen reports whether the calendar is open at t.
func (c *Calendar) IsOpen(t time.Time) bool {
	if c.always {
		return true
	}
	sec := t.Unix()
	off, _, _ := c.zoneAt(sec)
	wall := sec + off
	day := floorDiv(wall, secPerDay)
	x := (wall-day*secPerDay)*nsPerSec + int64(t.Nanosecond())
	i := c.excIdx(day - 1)
	if inSpans(c.spansAt(day-1, i), x+nsPerDay) {
		return true
	}
	if i < len(c.exc) && c.exc[i].day == day-1 {
		i++
	}
	return inSpans(c.spansAt(day, i), x)
}

// Add returns the earliest instant r at or after t such that the calendar
// is open for exactly d between t and r (Elapsed(t, r) == d). A due time
// that exactly fills an open interval is that interval's close, not the
// next opening. Add(t, 0) is t; a negative d is Sub(t, -d). If d is not
// reached within SearchHorizon, Add returns t plus SearchHorizon.
func (c *Calendar) Add(t time.Time, d time.Duration) time.Time {
	switch {
	case d == 0:
		return t
	case d < 0:
		if d == math.MinInt64 {
			d++
		}
		return c.Sub(t, -d)
	case c.always:
		return t.Add(d)
	}
	f := c.newFrame(t)
	u := f.rel(t)
	lim := u + horizon
	rem := int64(d)
	for u < lim {
		off, end := f.seg(u, lim)
		ws, we := u+off, end+off
		cs := f.cum(ws)
		if avail := f.cum(we) - cs; avail >= rem {
			w, _ := f.locate(cs+rem, false)
			return f.time(w-off, t.Location())
		} else {
			rem -= avail
		}
		u = end
	}
	return f.time(lim, t.Location())
}

// Sub returns the latest instant r at or before t such that the calendar is
// open for exactly d between r and t (Elapsed(r, t) == d): when r would
// fall at a close, it is the following opening. Sub(t, 0) is t; a negative
// d is Add(t, -d). If d is not reached within SearchHorizon, Sub returns t
// minus SearchHorizon.
func (c *Calendar) Sub(t time.Time, d time.Duration) time.Time {
	switch {
	case d == 0:
		return t
	case d < 0:
		if d == math.MinInt64 {
			d++
		}
		return c.Add(t, -d)
	case c.always:
		return t.Add(-d)
	}
	f := c.newFrame(t)
	u := f.rel(t)
	lim := u - horizon
	rem := int64(d)
	for u > lim {
		off, start := f.segBefore(u, lim)
		ws, we := start+off, u+off
		ce := f.cum(we)
		if avail := ce - f.cum(ws); avail >= rem {
			w, _ := f.locate(ce-rem, true)
			return f.time(w-off, t.Location())
		} else {
			rem -= avail
		}
		u = start
	}
	return f.time(lim, t.Location())
}

// Elapsed returns the real time during which the calendar is open in
// [from, to), or minus the open time in [to, from) when to is before from.
// The result saturates at ±math.MaxInt64 (about 292 years).
func (c *Calendar) Elapsed(from, to time.Time) time.Duration {
	if to.Before(from) {
		return -c.Elapsed(to, from)
	}
	if c.always {
		return to.Sub(from)
	}
	var sum int64
	for from.Before(to) {
		end := to
		if to.Sub(from) > SearchHorizon {
			end = from.Add(SearchHorizon)
		}
		part := c.elapsed(from, end)
		if sum > math.MaxInt64-part {
			return math.MaxInt64
		}
		sum += part
		from = end
	}
	return time.Duration(sum)
}

// elapsed is Elapsed for from ≤ to ≤ from+SearchHorizon.
func (c *Calendar) elapsed(from, to time.Time) int64 {
	f := c.newFrame(from)
	u, v := f.rel(from), f.rel(to)
	var sum int64
	for u < v {
		off, end := f.seg(u, v)
		sum += f.cum(end+off) - f.cum(u+off)
		u = end
	}
	return sum
}

// NextOpen returns t when the calendar is open at t, and otherwise the
// next instant at which it opens. If it does not open within
// SearchHorizon, NextOpen returns t plus SearchHorizon.
func (c *Calendar) NextOpen(t time.Time) time.Time {
	if c.always {
		return t
	}
	f := c.newFrame(t)
	u := f.rel(t)
	lim := u + horizon
	for u < lim {
		off, end := f.seg(u, lim)
		w, ok := f.locate(f.cum(u+off), true)
		if ok && w < end+off {
			return f.time(max(w-off, u), t.Location())
		}
		u = end
	}
	return f.time(lim, t.Location())
}

// NextClose returns the end of the open period that contains t or, when
// the calendar is closed at t, the end of the next open period. Periods
// continue across midnight and across DST changes while the calendar stays
// open. If no close is found within SearchHorizon (a 24×7 calendar never
// closes), NextClose returns t plus SearchHorizon.
func (c *Calendar) NextClose(t time.Time) time.Time {
	if c.always {
		return t.Add(SearchHorizon)
	}
	f := c.newFrame(t)
	u := f.rel(t)
	lim := u + horizon
	// Move to the next opening.
	for {
		if u >= lim {
			return f.time(lim, t.Location())
		}
		off, end := f.seg(u, lim)
		w, ok := f.locate(f.cum(u+off), true)
		if ok && w < end+off {
			u = max(w-off, u)
			break
		}
		u = end
	}
	for u < lim {
		off, end := f.seg(u, lim)
		w := f.runEnd(u+off, end+off)
		if w < end+off {
			return f.time(w-off, t.Location())
		}
		u = end
		if u < lim && !f.openAt(u+f.offAt(u)) {
			return f.time(u, t.Location())
		}
	}
	return f.time(lim, t.Location())
}

// offAt returns the UTC offset in ns at real position u.
func (f *frame) offAt(u int64) int64 {
	o, _, _ := f.c.zoneAt(f.e0 + floorDiv(u, nsPerSec))
	return o * nsPerSec
}

// runEnd returns the first wall position at or after w where the calendar
// is closed, or limit if it stays open until limit.
func (f *frame) runEnd(w, limit int64) int64 {
	c := f.c
	for w < limit {
		dd := floorDiv(w, nsPerDay)
		day := f.refDay + dd
		x := w - dd*nsPerDay
		i := c.excIdx(day - 1)
		end := int64(-1)
		if e := spanEnd(c.spansAt(day-1, i), x+nsPerDay); e >= 0 {
			end = e - nsPerDay
		}
		if i < len(c.exc) && c.exc[i].day == day-1 {
			i++
		}
		if end < 0 {
			end = spanEnd(c.spansAt(day, i), x)
		}
		if end < 0 {
			return w
		}
		w = dd*nsPerDay + end
		if c.fullWeek && end == nsPerDay {
			// Every plain date is open all day: jump to the next exception.
			next := int64(math.MaxInt64)
			if j := c.excIdx(day + 1); j < len(c.exc) {
				next = c.exc[j].day
			}
			if next-f.refDay > far/nsPerDay {
				return limit
			}
			w = max(w, (next-f.refDay)*nsPerDay)
		}
	}
	return limit
}

// spanEnd returns the end (ns after midnight) of the interval of sp
// containing x, or -1.
func spanEnd(sp []span, x int64) int64 {
	for _, s := range sp {
		if x < s.s*nsPerSec {
			return -1
		}
		if x < s.e*nsPerSec {
			return s.e * nsPerSec
		}
	}
	return -1
}

// AddDays returns the close of the n-th open local date strictly after t's
// local date: the end of the last open interval belonging to that date,
// which for an overnight interval lies on the next date. An open date is a
// date with at least one open interval after shifts, breaks and holidays
// that the clock does not skip entirely (so a date removed by a zone
// change, like 30 December 2011 in Samoa, never counts). It is meant for
// "N business days" rules. n ≤ 0 returns t. If the n-th open date lies
// beyond SearchHorizon, AddDays returns t plus SearchHorizon. An interval
// that ends in a clock gap (a skipped hour) closes at the DST change; one
// that ends in a repeated hour closes at the second pass.
func (c *Calendar) AddDays(t time.Time, n int) time.Time {
	if n <= 0 {
		return t
	}
	sec := t.Unix()
	off, _, _ := c.zoneAt(sec)
	d0 := floorDiv(sec+off, secPerDay)
	maxDays := horizon / nsPerDay
	left := int64(n)
	day := d0 + 1
	i := c.excIdx(day)
	calm := int64(math.MinInt64) // dates before calm are untouched by offset changes
	for day-d0 <= maxDays {
		if day >= calm {
			calm = c.calmUntil(day)
		}
		if (i == len(c.exc) || c.exc[i].day >= day+8) && left > c.openDays && day+8 <= calm {
			// Whole plain weeks with no offset change.
			weeks := (left - 1) / c.openDays
			if i < len(c.exc) {
				weeks = min(weeks, (c.exc[i].day-day-1)/7)
			}
			weeks = min(weeks, (calm-day-1)/7, (maxDays-(day-d0))/7+1)
			left -= weeks * c.openDays
			day += weeks * 7
			continue
		}
		sp := c.spansAt(day, i)
		if len(sp) > 0 && (day < calm || c.hasTime(day, sp)) {
			left--
			if left == 0 {
				return time.Unix(c.lateSec(day*secPerDay+sp[len(sp)-1].e), 0).In(t.Location())
			}
		}
		if i < len(c.exc) && c.exc[i].day == day {
			i++
		}
		day++
	}
	return t.Add(SearchHorizon)
}

// calmUntil returns the first date at or after day whose intervals (two
// dates of wall clock) may meet the next offset change; it is day itself
// when the change is that close.
func (c *Calendar) calmUntil(day int64) int64 {
	// UTC offsets stay within ±26 h, so no instant before p reads a wall
	// time of this date, and a change at instant e can only touch dates
	// whose two days of wall clock reach e-26h.
	const maxOff = 26 * secPerHour
	_, _, end := c.zoneAt(day*secPerDay - maxOff)
	if end == math.MaxInt64 {
		return day + horizon/nsPerDay + 16 // beyond any search
	}
	return max(day, floorDiv(end-maxOff-2*secPerDay, secPerDay))
}

// hasTime reports whether some interval of day lasts a positive real time.
func (c *Calendar) hasTime(day int64, sp []span) bool {
	for _, s := range sp {
		if c.lateSec(day*secPerDay+s.e) > c.lateSec(day*secPerDay+s.s) {
			return true
		}
	}
	return false
}

// lateSec returns the latest Unix second whose wall reading is at most
// wall (Unix-style wall seconds): the close of an interval ending at that
// reading.
func (c *Calendar) lateSec(wall int64) int64 {
	off, _, _ := c.zoneAt(wall)
	_, start, end := c.zoneAt(wall - off)
	best := int64(math.MinInt64)
	try := func(p int64) {
		o, s, e := c.zoneAt(p)
		if cand := wall - o; cand >= s {
			best = max(best, min(cand, e))
		}
	}
	try(wall - off)
	if start != math.MinInt64 {
		try(start - 1)
	}
	if end != math.MaxInt64 {
		try(end)
	}
	if best == math.MinInt64 {
		best = wall - off
	}
	return best
}
