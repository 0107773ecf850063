package sla

import (
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/itsmkit/itsmkit/itsm"
)

func FuzzParseClock(f *testing.F) {
	for _, s := range []string{"09:00", "24:00", "00:00", "23:59", "25:00", "9am", "24:01", "12:60", "", "1:00", "-1:00", "０9:00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		v, err := parseClock(s)
		if err != nil {
			return
		}
		if v < 0 || v > secPerDay || v%secPerMinute != 0 {
			t.Fatalf("parseClock(%q) = %d", s, v)
		}
		if got := formatClock(v); got != s {
			t.Fatalf("parseClock(%q) = %d formats as %q", s, v, got)
		}
	})
}

func FuzzParseDate(f *testing.F) {
	for _, s := range []string{"2026-12-25", "2028-02-29", "2027-02-29", "0001-01-01", "9999-12-31", "0000-01-01", "2026-13-01", "2026-1-1", "26-01-01", "2026/01/01", "+2026-01-01"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		v, err := parseDate(s)
		if err != nil {
			return
		}
		if got := formatDay(v); got != s {
			t.Fatalf("parseDate(%q) = %d formats as %q", s, v, got)
		}
		if w := weekdayOf(v); w != dayToDate(v).Weekday() {
			t.Fatalf("weekday of %s: %v, date says %v", s, w, dayToDate(v).Weekday())
		}
	})
}

// FuzzCalendar decodes a spec from JSON, builds it, and runs every query
// on fuzzed instants and durations, checking the contract's identities.
// No input may panic or hang.
func FuzzCalendar(f *testing.F) {
	seeds := []string{
		`{"name": "emea-service-desk", "time_zone": "Europe/London", "hours": {"mon": [["09:00", "17:00"]], "tue": [["09:00", "12:00"], ["13:00", "17:00"]], "sun": [["00:00", "24:00"]]}, "shifts": {"2026-12-24": [["09:00", "12:00"]]}, "breaks": {"2026-06-03": [["12:15", "12:45"]]}, "holidays": ["2026-12-25", "2026-12-28"]}`,
		`{"time_zone": "America/New_York", "hours": {"sun": [["01:30", "03:30"]], "mon": [["22:00", "06:00"]]}, "holidays": ["2026-11-02"]}`,
		`{"time_zone": "Pacific/Apia", "hours": {"thu": [["00:00", "24:00"]], "fri": [["09:00", "17:00"]]}, "shifts": {"2011-12-30": [["00:00", "24:00"]]}}`,
		`{"time_zone": "Australia/Lord_Howe", "hours": {"sun": [["00:00", "24:00"]], "sat": [["23:00", "01:00"]]}, "breaks": {"2026-10-03": [["23:30", "00:30"]]}}`,
		`{"time_zone": "UTC", "hours": {"mon": [["09:00", "17:00"]]}, "holiday_rules": [{"month": 12, "day": 25, "observed": "nearest_weekday"}, {"easter_offset": -2}, {"month": 5, "weekday": "mon", "nth": -1}]}`,
		`{"time_zone": "Pacific/Chatham", "hours": {"wed": [["00:00", "24:00"]], "thu": [["00:00", "24:00"]]}}`,
		`{"time_zone": "Mars/Base", "hours": {"mon": [["25:00", "9am"]]}}`,
		`{}`,
	}
	for i, s := range seeds {
		f.Add([]byte(s), int64(1798000000+i*86400*37), int64(3*time.Hour), int64(86400*9))
	}
	f.Fuzz(func(t *testing.T, doc []byte, atSec, dur, span int64) {
		var spec CalendarSpec
		if json.Unmarshal(doc, &spec) != nil {
			return
		}
		c, err := NewCalendar(spec)
		if err != nil {
			if !errors.Is(err, itsm.ErrValidation) {
				t.Fatalf("error %v does not match ErrValidation", err)
			}
			return
		}
		// Keep instants within years 1–9999 and durations within 2000 h,
		// the span within 20 years.
		const minSec, maxSec = -62135596800, 253402300799
		at := time.Unix(minSec+mod(atSec, maxSec-minSec), mod(dur, 1e9))
		d := time.Duration(dur % int64(2000*time.Hour))
		to := at.Add(time.Duration(span%(20*365*86400)) * time.Second)

		r := c.Add(at, d)
		within := func(x time.Time) bool { return x.Sub(at).Abs() < SearchHorizon }
		if within(r) && c.Elapsed(at, r) != d {
			t.Fatalf("Elapsed(t, Add(t, %s)) = %s", d, c.Elapsed(at, r))
		}
		if s := c.Sub(at, d); within(s) && c.Elapsed(s, at) != d {
			t.Fatalf("Elapsed(Sub(t, %s), t) = %s", d, c.Elapsed(s, at))
		}
		if e, back := c.Elapsed(at, to), c.Elapsed(to, at); e != -back {
			t.Fatalf("Elapsed not antisymmetric: %s, %s", e, back)
		}
		if o := c.NextOpen(at); within(o) && !c.IsOpen(o) {
			t.Fatalf("NextOpen(%s) = %s is closed", at, o)
		}
		if cl := c.NextClose(at); within(cl) && c.IsOpen(cl) {
			t.Fatalf("NextClose(%s) = %s is open", at, cl)
		}
		_ = c.AddDays(at, int(span%500))
		n := 0
		for p := range c.Periods(at, at.Add(10*24*time.Hour)) {
			if !p.End.After(p.Start) {
				t.Fatalf("empty period %v", p)
			}
			if n++; n > 2000 {
				break
			}
		}
		if _, err := Union(c, c); err != nil && !errors.Is(err, itsm.ErrValidation) {
			t.Fatal(err)
		}
	})
}

func mod(a, m int64) int64 {
	r := a % m
	if r < 0 {
		r += m
	}
	return r
}
