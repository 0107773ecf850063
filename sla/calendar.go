package sla

import (
	"cmp"
	"slices"
	"time"

	"github.com/itsmkit/itsmkit/itsm"
)

// Calendar is a validated business calendar: one IANA time zone, weekly
// hours, date shifts, breaks and holidays. Build one with NewCalendar (or
// AlwaysOpen, Intersect, Union). A Calendar is immutable and safe for
// concurrent use; Add, Sub, Elapsed, IsOpen, NextOpen, NextClose and
// AddDays do not allocate.
//
// # Semantics
//
// An instant is open when its wall-clock reading in the calendar's zone
// falls inside an open interval of its local date (intervals are
// half-open), or inside the part of the previous date's overnight interval
// that runs into this date. Nothing is invented or counted twice around DST
// changes: an interval's start that the clock skips opens when the clock
// reaches the interval, and during a fall-back hour the interval is open
// during each pass of the clock through it.
//
// A holiday closes its whole local date: its own intervals (including their
// overnight part on the next date) and the overnight part of the previous
// date's intervals that runs into it. A shift replaces a date's weekly
// intervals; breaks are then removed from them. Intervals of neighbouring
// dates must not overlap (an overnight interval and the next date's
// intervals); NewCalendar refuses such a spec.
//
// # Results and bounds
//
// Methods return instants in the Location of their time argument, like
// time.Time arithmetic; compare them with Equal. Durations have full
// nanosecond precision.
//
// Searches (Add, Sub, NextOpen, NextClose, AddDays) look at most
// SearchHorizon of real time away from their argument. A search that does
// not finish within it, possible only when holidays or shifts close the
// calendar for that long, returns the instant at the horizon; for Add that
// means Elapsed(t, result) < d. Elapsed saturates at the largest and
// smallest time.Duration.
type Calendar struct {
	spec CalendarSpec
	loc  *time.Location

	week      [7][]span // by time.Weekday
	dayTotal  [7]int64  // open seconds of each weekday's intervals
	weekTotal int64
	cum       [8]int64 // cum[k]: open seconds of epoch days 0..k-1 (day 0 is a Thursday)
	openDays  int64    // weekdays with at least one interval
	fullWeek  bool     // every weekday is exactly 00:00–24:00

	exc  []exception // sorted by day
	corr []int64     // corr[i] = Σ_{j<i} (exc[j].total - dayTotal[weekday(exc[j].day)])

	always bool // open at every instant: a full week with no exceptions
}

// span is an open interval [s, e) in seconds after the local midnight of
// the date that owns it; 0 ≤ s < 86400 and s < e ≤ s+86400.
type span struct{ s, e int64 }

// exception is a date whose intervals differ from the weekly hours.
type exception struct {
	day   int64 // days since 1970-01-01
	spans []span
	total int64
}

// SearchHorizon bounds how far the searching methods look from their
// argument: 250 years of 365 days.
const SearchHorizon = 250 * 365 * 24 * time.Hour

// NewCalendar validates spec and builds a Calendar from it. Every problem
// found is reported in one *itsm.ValidationError (matching
// itsm.ErrValidation) whose Subject is "calendar <name>" and whose field
// names follow the JSON, for example "time_zone", "hours.mon[0]",
// "shifts.2026-12-24[1]", "holidays[3]" or "holiday_rules[0].month".
//
// It refuses an unknown or missing zone, malformed times ("25:00", "9am"),
// an interval whose start equals its end, overlapping intervals on one
// date (or an overnight interval that overlaps the next date's), a bad
// date, unknown weekday keys, invalid holiday rules, and weekly hours with
// no open time. The spec is copied, so later changes to its maps do not
// affect the calendar.
func NewCalendar(spec CalendarSpec) (*Calendar, error) {
	spec = spec.clone()
	v := &itsm.ValidationError{Subject: "calendar"}
	if spec.Name != "" {
		v.Subject = "calendar " + spec.Name
	}
	c := &Calendar{spec: spec}

	switch spec.TimeZone {
	case "":
		v.Add("time_zone", "is required")
	case "Local":
		v.Add("time_zone", "\"Local\" depends on the machine; name an IANA zone")
	default:
		loc, err := time.LoadLocation(spec.TimeZone)
		if err != nil {
			v.Add("time_zone", "unknown time zone %q", spec.TimeZone)
		}
		c.loc = loc
	}

	// Weekly hours.
	for _, key := range sortedKeys(spec.Hours) {
		wd, ok := weekdayKeys[key]
		if !ok {
			v.Add("hours."+key, "unknown weekday; use mon, tue, wed, thu, fri, sat or sun")
			continue
		}
		c.week[wd] = parseIntervals(spec.Hours[key], "hours."+key, v)
	}
	for wd := range 7 {
		prev := (wd + 6) % 7
		if i := overlapsSpill(c.week[prev], c.week[wd]); i >= 0 {
			v.Add(fieldIndex("hours."+weekdayNames[wd], i), "overlaps the overnight interval of %s", weekdayNames[prev])
		}
		c.dayTotal[wd] = total(c.week[wd])
		c.weekTotal += c.dayTotal[wd]
		if len(c.week[wd]) > 0 {
			c.openDays++
		}
	}
	if c.weekTotal == 0 && !v.Has("hours") {
		v.Add("hours", "the week has no open time")
	}
	for k := range 7 {
		c.cum[k+1] = c.cum[k] + c.dayTotal[weekdayOf(int64(k))]
	}
	c.fullWeek = true
	for wd := range 7 {
		if len(c.week[wd]) != 1 || c.week[wd][0] != (span{0, secPerDay}) {
			c.fullWeek = false
		}
	}

	// Dated exceptions.
	holidays := map[int64]bool{}
	for i, s := range spec.Holidays {
		day, err := parseDate(s)
		if err != nil {
			v.Add(fieldIndex("holidays", i), "%s", err.Error())
			continue
		}
		holidays[day] = true
	}
	for i, r := range spec.HolidayRules {
		cr, ok := compileRule(r, fieldIndex("holiday_rules", i), v)
		if !ok {
			continue
		}
		for y := RuleFirstYear; y <= RuleLastYear; y++ {
			if day, ok := cr.dateOf(y); ok {
				holidays[day] = true
			}
		}
	}
	shifts := map[int64][]span{}
	for _, key := range sortedKeys(spec.Shifts) {
		day, err := parseDate(key)
		if err != nil {
			v.Add("shifts."+key, "%s", err.Error())
			continue
		}
		shifts[day] = parseIntervals(spec.Shifts[key], "shifts."+key, v)
	}
	breaks := map[int64][]span{}
	for _, key := range sortedKeys(spec.Breaks) {
		day, err := parseDate(key)
		if err != nil {
			v.Add("breaks."+key, "%s", err.Error())
			continue
		}
		breaks[day] = parseIntervals(spec.Breaks[key], "breaks."+key, v)
	}
	if err := v.Err(); err != nil {
		return nil, err
	}

	// own returns a date's intervals before holiday clipping of its spill.
	own := func(day int64) []span {
		if holidays[day] {
			return nil
		}
		sp, ok := shifts[day]
		if !ok {
			sp = c.week[weekdayOf(day)]
		}
		if b, ok := breaks[day]; ok {
			sp = subtract(sp, b)
		}
		return sp
	}
	days := map[int64]bool{}
	for d := range holidays {
		days[d] = true
		if spills(own(d - 1)) {
			days[d-1] = true
		}
	}
	for d := range shifts {
		days[d] = true
	}
	for d := range breaks {
		days[d] = true
	}
	for d := range days {
		sp := own(d)
		if holidays[d+1] {
			sp = clip(sp, secPerDay)
		}
		c.exc = append(c.exc, exception{day: d, spans: sp, total: total(sp)})
	}
	slices.SortFunc(c.exc, func(a, b exception) int { return cmp.Compare(a.day, b.day) })
	// Neighbouring dates must not overlap once exceptions are applied.
	for _, e := range c.exc {
		if i := overlapsSpill(c.spansOf(e.day-1), e.spans); i >= 0 {
			v.Add(exceptionField(spec, e.day, i), "overlaps the overnight interval of %s", formatDay(e.day-1))
		}
		if i := overlapsSpill(e.spans, c.spansOf(e.day+1)); i >= 0 {
			v.Add(exceptionField(spec, e.day+1, i), "overlaps the overnight interval of %s", formatDay(e.day))
		}
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	c.corr = make([]int64, len(c.exc)+1)
	for i, e := range c.exc {
		c.corr[i+1] = c.corr[i] + e.total - c.dayTotal[weekdayOf(e.day)]
	}
	c.always = c.fullWeek && len(c.exc) == 0
	return c, nil
}

// exceptionField names the spec field that defines day's intervals, for an
// overlap message.
func exceptionField(spec CalendarSpec, day int64, i int) string {
	key := formatDay(day)
	if _, ok := spec.Shifts[key]; ok {
		return fieldIndex("shifts."+key, i)
	}
	return fieldIndex("hours."+weekdayNames[weekdayOf(day)], i)
}

// parseIntervals parses, validates and sorts a date's intervals, merging
// intervals that touch. Problems are recorded under field[i].
func parseIntervals(list []Interval, field string, v *itsm.ValidationError) []span {
	out := make([]span, 0, len(list))
	type indexed struct {
		span
		i int
	}
	var all []indexed
	for i, iv := range list {
		f := fieldIndex(field, i)
		s, err := parseClock(iv[0])
		if err != nil {
			v.Add(f, "start: %s", err.Error())
			continue
		}
		e, err := parseClock(iv[1])
		if err != nil {
			v.Add(f, "end: %s", err.Error())
			continue
		}
		switch {
		case s == secPerDay:
			v.Add(f, "start 24:00 is not a time of the day; use 00:00")
			continue
		case s == e:
			v.Add(f, "start %s equals end", iv[0])
			continue
		case e < s:
			e += secPerDay // overnight
		}
		all = append(all, indexed{span{s, e}, i})
	}
	slices.SortStableFunc(all, func(a, b indexed) int { return cmp.Compare(a.s, b.s) })
	for k, x := range all {
		if k > 0 && x.s < all[k-1].e {
			v.Add(fieldIndex(field, max(x.i, all[k-1].i)), "overlaps %s[%d]", field, min(x.i, all[k-1].i))
			continue
		}
		if n := len(out); n > 0 && out[n-1].e == x.s {
			out[n-1].e = x.e
			continue
		}
		out = append(out, x.span)
	}
	return out
}

func fieldIndex(field string, i int) string {
	return field + "[" + itoa(i) + "]"
}

func itoa(i int) string {
	if i == 0 {
		return "0"
	}
	var b [20]byte
	n := len(b)
	neg := i < 0
	if neg {
		i = -i
	}
	for i > 0 {
		n--
		b[n] = byte('0' + i%10)
		i /= 10
	}
	if neg {
		n--
		b[n] = '-'
	}
	return string(b[n:])
}

// overlapsSpill reports the index of the first interval of next that
// starts before the overnight part of prev ends, or -1.
func overlapsSpill(prev, next []span) int {
	if len(prev) == 0 || len(next) == 0 {
		return -1
	}
	end := prev[len(prev)-1].e - secPerDay
	if end > next[0].s {
		return 0
	}
	return -1
}

func spills(sp []span) bool { return len(sp) > 0 && sp[len(sp)-1].e > secPerDay }

func total(sp []span) int64 {
	var t int64
	for _, x := range sp {
		t += x.e - x.s
	}
	return t
}

// clip cuts sp at limit seconds.
func clip(sp []span, limit int64) []span {
	var out []span
	for _, x := range sp {
		if x.s >= limit {
			break
		}
		out = append(out, span{x.s, min(x.e, limit)})
	}
	return out
}

// subtract removes the intervals of b from the sorted intervals of a.
func subtract(a, b []span) []span {
	var out []span
	for _, x := range a {
		pieces := []span{x}
		for _, y := range b {
			var next []span
			for _, p := range pieces {
				if y.e <= p.s || y.s >= p.e {
					next = append(next, p)
					continue
				}
				if y.s > p.s {
					next = append(next, span{p.s, y.s})
				}
				if y.e < p.e {
					next = append(next, span{y.e, p.e})
				}
			}
			pieces = next
		}
		out = append(out, pieces...)
	}
	return out
}

// Name returns the calendar's name from its spec (possibly empty).
func (c *Calendar) Name() string { return c.spec.Name }

// Location returns the calendar's time zone.
func (c *Calendar) Location() *time.Location { return c.loc }

// Spec returns a deep copy of the spec the calendar was built from, so it
// can be stored or sent as JSON and rebuilt with NewCalendar.
func (c *Calendar) Spec() CalendarSpec { return c.spec.clone() }

// String returns the calendar's name and zone.
func (c *Calendar) String() string {
	if c.spec.Name == "" {
		return "calendar (" + c.loc.String() + ")"
	}
	return "calendar " + c.spec.Name + " (" + c.loc.String() + ")"
}

// AlwaysOpen returns a calendar that is open at every instant (24×7) in
// loc; a nil loc means UTC. Its methods take a fast path: Add is t.Add(d),
// Elapsed is to.Sub(from). Its Spec has every weekday 00:00–24:00 and
// TimeZone loc.String(), which NewCalendar can rebuild when loc is a named
// IANA zone.
func AlwaysOpen(loc *time.Location) *Calendar {
	if loc == nil {
		loc = time.UTC
	}
	full := []span{{0, secPerDay}}
	c := &Calendar{
		loc:       loc,
		weekTotal: 7 * secPerDay,
		openDays:  7,
		fullWeek:  true,
		always:    true,
		corr:      []int64{0},
		spec:      CalendarSpec{Name: "24x7", TimeZone: loc.String(), Hours: map[string][]Interval{}},
	}
	for wd := range 7 {
		c.week[wd] = full
		c.dayTotal[wd] = secPerDay
		c.spec.Hours[weekdayNames[wd]] = []Interval{{"00:00", "24:00"}}
	}
	for k := range 7 {
		c.cum[k+1] = c.cum[k] + secPerDay
	}
	return c
}
