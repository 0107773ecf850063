package sla

import (
	"fmt"
	"time"

	"github.com/itsmkit/itsmkit/itsm"
)

// The years for which NewCalendar expands HolidayRules. A rule never
// closes a date outside them; use explicit Holidays for such dates.
const (
	RuleFirstYear = 1900
	RuleLastYear  = 2199
)

// Observance values for HolidayRule.Observed.
const (
	// ObservedNone keeps the holiday on its date, even on a weekend.
	ObservedNone = ""
	// ObservedNearestWeekday moves a Saturday holiday to the Friday before
	// and a Sunday holiday to the Monday after (the US federal rule).
	ObservedNearestWeekday = "nearest_weekday"
	// ObservedNextWeekday moves a Saturday or Sunday holiday to the
	// Monday after (the usual UK substitute-day rule for a single day).
	ObservedNextWeekday = "next_weekday"
)

// HolidayRule is a recurring holiday. Exactly one form is used:
//
//   - a fixed date: Month and Day, e.g. {"month": 12, "day": 25};
//   - the Nth weekday of a month: Month, Weekday and Nth, where Nth is 1–5
//     counted from the start of the month or -1 to -5 counted from its end
//     (-1 is the last), e.g. {"month": 11, "weekday": "thu", "nth": 4}; a
//     year without that weekday (a 5th Monday) has no holiday;
//   - an offset in days from Western (Gregorian) Easter Sunday:
//     EasterOffset, e.g. {"easter_offset": -2} for Good Friday.
//
// Observed ("nearest_weekday" or "next_weekday") moves a holiday that falls
// on a weekend; it applies to every form, and may move a holiday into the
// neighbouring year (1 January on a Saturday is observed on 31 December).
// When two rules land on the same date the date is simply closed once; no
// further substitute day is invented.
type HolidayRule struct {
	// Name describes the holiday; it is not interpreted.
	Name string `json:"name,omitempty"`
	// Month is 1–12; it is required unless EasterOffset is set.
	Month int `json:"month,omitempty"`
	// Day is the day of the month for a fixed-date rule.
	Day int `json:"day,omitempty"`
	// Weekday is "mon" … "sun" for an Nth-weekday rule.
	Weekday string `json:"weekday,omitempty"`
	// Nth selects the occurrence of Weekday: 1–5, or -1 to -5 from the
	// end of the month.
	Nth int `json:"nth,omitempty"`
	// EasterOffset, when set, makes the rule Easter Sunday plus this many
	// days (-366 to 366).
	EasterOffset *int `json:"easter_offset,omitempty"`
	// Observed is "", "nearest_weekday" or "next_weekday".
	Observed string `json:"observed,omitempty"`
	// FromYear, when non-zero, is the first year in which the rule
	// applies (the year of the date before any observance move).
	FromYear int `json:"from_year,omitempty"`
	// ToYear, when non-zero, is the last year in which the rule applies.
	ToYear int `json:"to_year,omitempty"`
}

type ruleKind uint8

const (
	ruleFixed ruleKind = iota
	ruleNth
	ruleEaster
)

// compiledRule is a validated HolidayRule.
type compiledRule struct {
	kind     ruleKind
	month    int
	day      int
	weekday  time.Weekday
	nth      int
	easter   int
	observed string
	from, to int
}

// compileRule validates r and records problems under field.
func compileRule(r HolidayRule, field string, v *itsm.ValidationError) (compiledRule, bool) {
	n := len(v.Fields)
	c := compiledRule{month: r.Month, day: r.Day, nth: r.Nth, observed: r.Observed, from: r.FromYear, to: r.ToYear}
	switch {
	case r.EasterOffset != nil:
		c.kind = ruleEaster
		c.easter = *r.EasterOffset
		if r.Month != 0 || r.Day != 0 || r.Weekday != "" || r.Nth != 0 {
			v.Add(field, "an easter_offset rule takes no month, day, weekday or nth")
		}
		if c.easter < -366 || c.easter > 366 {
			v.Add(field+".easter_offset", "%d is outside -366..366", c.easter)
		}
	case r.Weekday != "":
		c.kind = ruleNth
		wd, ok := weekdayKeys[r.Weekday]
		if !ok {
			v.Add(field+".weekday", "%q is not one of mon, tue, wed, thu, fri, sat, sun", r.Weekday)
		}
		c.weekday = wd
		if r.Nth == 0 || r.Nth < -5 || r.Nth > 5 {
			v.Add(field+".nth", "%d is not 1..5 or -1..-5", r.Nth)
		}
		if r.Day != 0 {
			v.Add(field+".day", "a weekday rule takes no day")
		}
		if r.Month < 1 || r.Month > 12 {
			v.Add(field+".month", "%d is not 1..12", r.Month)
		}
	default:
		c.kind = ruleFixed
		if r.Month < 1 || r.Month > 12 {
			v.Add(field+".month", "%d is not 1..12", r.Month)
		} else if r.Day < 1 || r.Day > daysIn(r.Month, 2000) {
			v.Add(field+".day", "%d is not a day of month %d", r.Day, r.Month)
		}
		if r.Nth != 0 {
			v.Add(field+".nth", "nth needs a weekday")
		}
	}
	switch r.Observed {
	case ObservedNone, ObservedNearestWeekday, ObservedNextWeekday:
	default:
		v.Add(field+".observed", "%q is not one of \"\", %q, %q", r.Observed, ObservedNearestWeekday, ObservedNextWeekday)
	}
	if r.FromYear != 0 && r.ToYear != 0 && r.FromYear > r.ToYear {
		v.Add(field+".to_year", "%d is before from_year %d", r.ToYear, r.FromYear)
	}
	return c, len(v.Fields) == n
}

// dateOf returns the rule's date in year as days since 1970-01-01, after
// the observance shift; ok is false when the rule has no date that year.
func (c compiledRule) dateOf(year int) (int64, bool) {
	if (c.from != 0 && year < c.from) || (c.to != 0 && year > c.to) {
		return 0, false
	}
	var day int64
	switch c.kind {
	case ruleFixed:
		if c.day > daysIn(c.month, year) { // 29 February in a common year
			return 0, false
		}
		day = civilToDays(year, c.month, c.day)
	case ruleNth:
		if c.nth > 0 {
			first := civilToDays(year, c.month, 1)
			shift := (int64(c.weekday) - int64(weekdayOf(first)) + 7) % 7
			day = first + shift + int64(c.nth-1)*7
			if day >= first+int64(daysIn(c.month, year)) {
				return 0, false
			}
		} else {
			last := civilToDays(year, c.month, daysIn(c.month, year))
			shift := (int64(weekdayOf(last)) - int64(c.weekday) + 7) % 7
			day = last - shift + int64(c.nth+1)*7
			if day < last-int64(daysIn(c.month, year))+1 {
				return 0, false
			}
		}
	case ruleEaster:
		m, d := easter(year)
		day = civilToDays(year, m, d) + int64(c.easter)
	}
	switch c.observed {
	case ObservedNearestWeekday:
		switch weekdayOf(day) {
		case time.Saturday:
			day--
		case time.Sunday:
			day++
		}
	case ObservedNextWeekday:
		switch weekdayOf(day) {
		case time.Saturday:
			day += 2
		case time.Sunday:
			day++
		}
	}
	return day, true
}

// easter returns the month and day of Western Easter Sunday in year, by
// the anonymous Gregorian algorithm (Meeus/Jones/Butcher).
func easter(year int) (month, day int) {
	a := year % 19
	b := year / 100
	c := year % 100
	d := b / 4
	e := b % 4
	f := (b + 8) / 25
	g := (b - f + 1) / 3
	h := (19*a + b - d - g + 15) % 30
	i := c / 4
	k := c % 4
	l := (32 + 2*e + 2*i - h - k) % 7
	m := (a + 11*h + 22*l) / 451
	month = (h + l - 7*m + 114) / 31
	day = (h+l-7*m+114)%31 + 1
	return month, day
}

// daysIn returns the number of days in month of year.
func daysIn(month, year int) int {
	switch month {
	case 2:
		if year%4 == 0 && (year%100 != 0 || year%400 == 0) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}

// civilToDays converts a proleptic Gregorian date to days since
// 1970-01-01 (Howard Hinnant's days_from_civil).
func civilToDays(y, m, d int) int64 {
	yy := int64(y)
	if m <= 2 {
		yy--
	}
	era := floorDiv(yy, 400)
	yoe := yy - era*400
	mp := int64((m + 9) % 12)
	doy := (153*mp+2)/5 + int64(d) - 1
	doe := yoe*365 + yoe/4 - yoe/100 + doy
	return era*146097 + doe - 719468
}

// weekdayOf returns the weekday of day (days since 1970-01-01, a
// Thursday).
func weekdayOf(day int64) time.Weekday { return time.Weekday((floorMod(day, 7) + 4) % 7) }

func floorDiv(a, b int64) int64 {
	q := a / b
	if (a%b != 0) && ((a < 0) != (b < 0)) {
		q--
	}
	return q
}

func floorMod(a, b int64) int64 { return a - floorDiv(a, b)*b }

// String describes the rule, for messages.
func (r HolidayRule) String() string {
	switch {
	case r.EasterOffset != nil:
		return fmt.Sprintf("easter%+d", *r.EasterOffset)
	case r.Weekday != "":
		return fmt.Sprintf("%s #%d of month %d", r.Weekday, r.Nth, r.Month)
	}
	return fmt.Sprintf("%02d-%02d", r.Month, r.Day)
}
