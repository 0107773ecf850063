package sla

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"time"

	"github.com/rickb777/date/v2"

	"github.com/itsmkit/itsmkit/itsm"
)

// CalendarSpec is the serialisable definition of a business calendar. It
// decodes with encoding/json from, and encodes to, this shape:
//
//	{
//	  "name": "emea-service-desk",
//	  "time_zone": "Europe/London",
//	  "hours": {"mon": [["09:00", "17:00"]], "tue": [["09:00", "12:00"], ["13:00", "17:00"]]},
//	  "shifts": {"2026-12-24": [["09:00", "12:00"]]},
//	  "breaks": {"2026-06-03": [["12:15", "12:45"]]},
//	  "holidays": ["2026-12-25", "2026-12-28"],
//	  "holiday_rules": [{"name": "Christmas Day", "month": 12, "day": 25, "observed": "nearest_weekday"}]
//	}
//
// Times of day are "HH:MM" (00:00–23:59, and "24:00" as an end). An
// interval whose end is before its start is overnight: it belongs to the
// date it starts on and runs into the next date. Dates are ISO 8601
// "YYYY-MM-DD". NewCalendar validates a spec; the zero value is not a valid
// calendar (it has no time zone and no hours).
type CalendarSpec struct {
	// Name identifies the calendar in errors and reports. It may be empty.
	Name string `json:"name,omitempty"`
	// TimeZone is an IANA zone name such as "Europe/London" or "UTC". It
	// is required; "Local" is refused because it depends on the machine.
	TimeZone string `json:"time_zone"`
	// Hours holds the weekly opening intervals, keyed by "mon", "tue",
	// "wed", "thu", "fri", "sat" and "sun". A missing weekday is closed.
	Hours map[string][]Interval `json:"hours"`
	// Shifts replace the weekly hours of single dates, keyed by date. An
	// empty list leaves the date with no intervals of its own; unlike a
	// holiday it does not cut the previous date's overnight interval.
	Shifts map[string][]Interval `json:"shifts,omitempty"`
	// Breaks remove time from the intervals that belong to single dates,
	// after any shift, keyed by date; they are written on that date's
	// clock and may be overnight.
	Breaks map[string][]Interval `json:"breaks,omitempty"`
	// Holidays close whole local dates, even a date with a shift.
	Holidays []string `json:"holidays,omitempty"`
	// HolidayRules are recurring holidays, expanded for the years
	// RuleFirstYear through RuleLastYear (narrowed by each rule's own
	// FromYear and ToYear). They close dates exactly like Holidays.
	HolidayRules []HolidayRule `json:"holiday_rules,omitempty"`
}

// Interval is an opening (or break) interval of one date as a pair of
// "HH:MM" times, [start, end). It encodes as a two-element JSON array;
// decoding refuses an array of any other length.
type Interval [2]string

// UnmarshalJSON reads a JSON array of exactly two strings, and refuses
// other lengths with an *itsm.ValidationError instead of dropping or
// inventing values.
func (iv *Interval) UnmarshalJSON(b []byte) error {
	var parts []string
	if err := json.Unmarshal(b, &parts); err != nil {
		return err
	}
	if len(parts) != 2 {
		return itsm.NewValidationError("calendar", "interval", "want [start, end], got %d values", len(parts))
	}
	*iv = Interval{parts[0], parts[1]}
	return nil
}

// clone returns a deep copy of s, so that a Calendar never shares maps or
// slices with its caller.
func (s CalendarSpec) clone() CalendarSpec {
	cp := s
	cp.Hours = cloneIntervals(s.Hours)
	cp.Shifts = cloneIntervals(s.Shifts)
	cp.Breaks = cloneIntervals(s.Breaks)
	cp.Holidays = slices.Clone(s.Holidays)
	cp.HolidayRules = slices.Clone(s.HolidayRules)
	for i, r := range cp.HolidayRules {
		if r.EasterOffset != nil {
			v := *r.EasterOffset
			cp.HolidayRules[i].EasterOffset = &v
		}
	}
	return cp
}

func cloneIntervals(m map[string][]Interval) map[string][]Interval {
	if m == nil {
		return nil
	}
	out := make(map[string][]Interval, len(m))
	for k, v := range m {
		out[k] = slices.Clone(v)
	}
	return out
}

const (
	secPerMinute = 60
	secPerHour   = 3600
	secPerDay    = 86400
)

// parseClock parses "HH:MM" into seconds after midnight. "24:00" is
// accepted (86400); the caller decides where it is allowed.
func parseClock(s string) (int64, error) {
	if len(s) != 5 || s[2] != ':' || !isDigit(s[0]) || !isDigit(s[1]) || !isDigit(s[3]) || !isDigit(s[4]) {
		return 0, fmt.Errorf("time %q is not HH:MM", s)
	}
	h := int64(s[0]-'0')*10 + int64(s[1]-'0')
	m := int64(s[3]-'0')*10 + int64(s[4]-'0')
	if m > 59 {
		return 0, fmt.Errorf("time %q has minutes above 59", s)
	}
	if h > 24 || (h == 24 && m != 0) {
		return 0, fmt.Errorf("time %q is after 24:00", s)
	}
	return h*secPerHour + m*secPerMinute, nil
}

func isDigit(b byte) bool { return b >= '0' && b <= '9' }

// formatClock formats seconds after midnight (0–86400, whole minutes) as
// "HH:MM".
func formatClock(sec int64) string {
	h, m := sec/secPerHour, sec%secPerHour/secPerMinute
	return fmt.Sprintf("%02d:%02d", h, m)
}

// parseDate parses an ISO 8601 calendar date "YYYY-MM-DD" (years 0001–9999)
// and returns it as days since 1970-01-01.
func parseDate(s string) (int64, error) {
	if len(s) != 10 || s[4] != '-' || s[7] != '-' {
		return 0, fmt.Errorf("date %q is not YYYY-MM-DD", s)
	}
	for i, ch := range []byte(s) {
		if i != 4 && i != 7 && !isDigit(ch) {
			return 0, fmt.Errorf("date %q is not YYYY-MM-DD", s)
		}
	}
	y, _ := strconv.Atoi(s[:4])
	m, _ := strconv.Atoi(s[5:7])
	d, _ := strconv.Atoi(s[8:])
	if y < 1 || m < 1 || m > 12 || d < 1 {
		return 0, fmt.Errorf("date %q does not exist", s)
	}
	dt := date.New(y, time.Month(m), d)
	if yy, mm, dd := dt.Date(); yy != y || int(mm) != m || dd != d {
		return 0, fmt.Errorf("date %q does not exist", s)
	}
	return int64(dt) - date.ZeroOffset, nil
}

// dayToDate converts days since 1970-01-01 to a date.Date.
func dayToDate(day int64) date.Date { return date.Date(day + date.ZeroOffset) }

// formatDay formats days since 1970-01-01 as "YYYY-MM-DD".
func formatDay(day int64) string {
	y, m, d := dayToDate(day).Date()
	return fmt.Sprintf("%04d-%02d-%02d", y, int(m), d)
}

// weekdayKeys maps the JSON weekday keys to time.Weekday.
var weekdayKeys = map[string]time.Weekday{
	"sun": time.Sunday, "mon": time.Monday, "tue": time.Tuesday, "wed": time.Wednesday,
	"thu": time.Thursday, "fri": time.Friday, "sat": time.Saturday,
}

var weekdayNames = [7]string{"sun", "mon", "tue", "wed", "thu", "fri", "sat"}

// sortedKeys returns the keys of m in order, so validation reports
// problems deterministically.
func sortedKeys[V any](m map[string]V) []string {
	return slices.Sorted(maps.Keys(m))
}
