package sla

import (
	"slices"

	"github.com/itsmkit/itsmkit/itsm"
)

// Intersect returns a calendar that is open exactly when both a and b are
// open: the set intersection of their open instants.
//
// Both calendars must be in the same time zone (compared by name), except
// that a calendar open at every instant (AlwaysOpen, or 24×7 hours without
// exceptions) combines with any zone: intersecting with it returns the
// other calendar unchanged. The result's Spec is written out in full:
// weekly hours cut at midnight, and one shift or holiday for every date on
// which either calendar has an exception (including dates from holiday
// rules, for the years those rules are expanded). Its name is
// "a.Name & b.Name". Intersect returns a *itsm.ValidationError when the
// zones differ or when the result has no open time in its week (e.g. a
// weekday calendar and a weekend calendar).
func Intersect(a, b *Calendar) (*Calendar, error) {
	switch {
	case a.always:
		return b, nil
	case b.always:
		return a, nil
	}
	return combine(a, b, " & ", intersectSpans)
}

// Union returns a calendar that is open exactly when a or b (or both) is
// open: the set union of their open instants. Zones are handled as for
// Intersect; a union with a calendar open at every instant is AlwaysOpen
// in the other calendar's zone. Its name is "a.Name | b.Name". Union
// returns a *itsm.ValidationError when the zones differ.
func Union(a, b *Calendar) (*Calendar, error) {
	switch {
	case a.always:
		return AlwaysOpen(b.loc), nil
	case b.always:
		return AlwaysOpen(a.loc), nil
	}
	return combine(a, b, " | ", unionSpans)
}

func combine(a, b *Calendar, sep string, op func(x, y []span) []span) (*Calendar, error) {
	name := a.Name() + sep + b.Name()
	if a.loc.String() != b.loc.String() {
		return nil, itsm.NewValidationError("calendar "+name, "time_zone",
			"cannot combine calendars in different zones (%s and %s)", a.loc, b.loc)
	}
	spec := CalendarSpec{Name: name, TimeZone: a.spec.TimeZone, Hours: map[string][]Interval{}}
	var tmpl [7][]span
	for wd := range 7 {
		prev := (wd + 6) % 7
		tmpl[wd] = op(dayContent(a.week[prev], a.week[wd]), dayContent(b.week[prev], b.week[wd]))
		if len(tmpl[wd]) > 0 {
			spec.Hours[weekdayNames[wd]] = toIntervals(tmpl[wd])
		}
	}
	days := map[int64]bool{}
	for _, c := range []*Calendar{a, b} {
		for _, e := range c.exc {
			days[e.day] = true
			days[e.day+1] = true
		}
	}
	for _, day := range slices.Sorted(mapKeys(days)) {
		sp := op(dayContent(a.spansOf(day-1), a.spansOf(day)), dayContent(b.spansOf(day-1), b.spansOf(day)))
		if slices.Equal(sp, tmpl[weekdayOf(day)]) {
			continue
		}
		key := formatDay(day)
		if len(sp) == 0 {
			spec.Holidays = append(spec.Holidays, key)
			continue
		}
		if spec.Shifts == nil {
			spec.Shifts = map[string][]Interval{}
		}
		spec.Shifts[key] = toIntervals(sp)
	}
	return NewCalendar(spec)
}

func mapKeys(m map[int64]bool) func(func(int64) bool) {
	return func(yield func(int64) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

// dayContent returns the open wall time of one date, [0, 86400): the
// overnight part of the previous date's intervals and the date's own
// intervals cut at midnight.
func dayContent(prev, own []span) []span {
	var out []span
	for _, s := range prev {
		if s.e > secPerDay {
			out = appendMerged(out, span{max(s.s, secPerDay) - secPerDay, s.e - secPerDay})
		}
	}
	for _, s := range own {
		if s.s < secPerDay {
			out = appendMerged(out, span{s.s, min(s.e, secPerDay)})
		}
	}
	return out
}

func appendMerged(out []span, s span) []span {
	if n := len(out); n > 0 && out[n-1].e >= s.s {
		out[n-1].e = max(out[n-1].e, s.e)
		return out
	}
	return append(out, s)
}

// intersectSpans intersects two sorted, disjoint span lists.
func intersectSpans(x, y []span) []span {
	var out []span
	for i, j := 0, 0; i < len(x) && j < len(y); {
		s, e := max(x[i].s, y[j].s), min(x[i].e, y[j].e)
		if s < e {
			out = appendMerged(out, span{s, e})
		}
		if x[i].e < y[j].e {
			i++
		} else {
			j++
		}
	}
	return out
}

// unionSpans unites two sorted, disjoint span lists.
func unionSpans(x, y []span) []span {
	all := append(slices.Clone(x), y...)
	slices.SortFunc(all, func(a, b span) int { return int(a.s - b.s) })
	var out []span
	for _, s := range all {
		out = appendMerged(out, s)
	}
	return out
}

func toIntervals(sp []span) []Interval {
	out := make([]Interval, len(sp))
	for i, s := range sp {
		out[i] = Interval{formatClock(s.s), formatClock(s.e)}
	}
	return out
}
