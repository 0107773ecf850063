package sla

import (
	"encoding/json"
	"errors"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/itsmkit/itsmkit/itsm"
	"github.com/stretchr/testify/require"
)

func mustLoc(t testing.TB, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	require.NoError(t, err)
	return loc
}

func mustCal(t testing.TB, spec CalendarSpec) *Calendar {
	t.Helper()
	c, err := NewCalendar(spec)
	require.NoError(t, err)
	return c
}

func utc(s string) time.Time {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		panic(err)
	}
	return t
}

func everyDay(ivs ...Interval) map[string][]Interval {
	m := map[string][]Interval{}
	for _, d := range weekdayNames {
		m[d] = ivs
	}
	return m
}

func weekdays(ivs ...Interval) map[string][]Interval {
	m := map[string][]Interval{}
	for _, d := range []string{"mon", "tue", "wed", "thu", "fri"} {
		m[d] = ivs
	}
	return m
}

func requireTime(t *testing.T, want, got time.Time, msgAndArgs ...any) {
	t.Helper()
	require.Truef(t, want.Equal(got), "got %s, want %s %v", got.UTC().Format(time.RFC3339Nano), want.UTC().Format(time.RFC3339Nano), msgAndArgs)
}

func TestIssueJSONShape(t *testing.T) {
	t.Parallel()
	const doc = `{"name": "emea-service-desk", "time_zone": "Europe/London", "hours": {"mon": [["09:00", "17:00"]], "tue": [["09:00", "12:00"], ["13:00", "17:00"]], "sun": [["00:00", "24:00"]]}, "shifts": {"2026-12-24": [["09:00", "12:00"]]}, "breaks": {"2026-06-03": [["12:15", "12:45"]]}, "holidays": ["2026-12-25", "2026-12-28"]}`
	var spec CalendarSpec
	require.NoError(t, json.Unmarshal([]byte(doc), &spec))
	c := mustCal(t, spec)
	require.Equal(t, "emea-service-desk", c.Name())
	require.Equal(t, "Europe/London", c.Location().String())
	require.Equal(t, []Interval{{"09:00", "12:00"}, {"13:00", "17:00"}}, c.Spec().Hours["tue"])

	// The spec survives a JSON round trip and rebuilds the same calendar.
	b, err := json.Marshal(c.Spec())
	require.NoError(t, err)
	var again CalendarSpec
	require.NoError(t, json.Unmarshal(b, &again))
	c2 := mustCal(t, again)
	from, to := utc("2026-06-01T00:00:00Z"), utc("2027-01-10T00:00:00Z")
	require.Equal(t, c.Elapsed(from, to), c2.Elapsed(from, to))

	// Spec returns a copy.
	s := c.Spec()
	s.Hours["mon"][0] = Interval{"00:00", "01:00"}
	require.Equal(t, Interval{"09:00", "17:00"}, c.Spec().Hours["mon"][0])
}

func TestDSTTraps(t *testing.T) {
	t.Parallel()
	t.Run("new york spring forward: an interval whose start is skipped", func(t *testing.T) {
		t.Parallel()
		c := mustCal(t, CalendarSpec{TimeZone: "America/New_York", Hours: map[string][]Interval{"sun": {{"02:30", "08:45"}}}})
		require.False(t, c.IsOpen(utc("2026-03-08T06:59:59Z"))) // 01:59:59 EST
		require.True(t, c.IsOpen(utc("2026-03-08T07:00:00Z")))  // 03:00 EDT
		requireTime(t, utc("2026-03-08T07:00:00Z"), c.NextOpen(utc("2026-03-08T05:00:00Z")))
		requireTime(t, utc("2026-03-08T12:45:00Z"), c.NextClose(utc("2026-03-08T05:00:00Z")))
		require.Equal(t, 5*time.Hour+45*time.Minute, c.Elapsed(utc("2026-03-08T05:00:00Z"), utc("2026-03-09T05:00:00Z")))
		requireTime(t, utc("2026-03-08T08:00:00Z"), c.Add(utc("2026-03-08T05:00:00Z"), time.Hour))
	})
	t.Run("new york fall back: a day is 25 hours and 01:30-03:30 is open twice", func(t *testing.T) {
		t.Parallel()
		full := mustCal(t, CalendarSpec{TimeZone: "America/New_York", Hours: map[string][]Interval{"sun": {{"00:00", "24:00"}}}})
		require.Equal(t, 25*time.Hour, full.Elapsed(utc("2026-11-01T04:00:00Z"), utc("2026-11-02T05:00:00Z")))

		c := mustCal(t, CalendarSpec{TimeZone: "America/New_York", Hours: map[string][]Interval{"sun": {{"01:30", "03:30"}}}})
		require.Equal(t, 150*time.Minute, c.Elapsed(utc("2026-11-01T00:00:00Z"), utc("2026-11-02T00:00:00Z")))
		require.True(t, c.IsOpen(utc("2026-11-01T05:45:00Z")))  // first 01:45 (EDT)
		require.False(t, c.IsOpen(utc("2026-11-01T06:15:00Z"))) // 01:15 EST
		require.True(t, c.IsOpen(utc("2026-11-01T06:45:00Z")))  // second 01:45 (EST)
		// A due time that fills the first pass ends there, not at the reopening.
		requireTime(t, utc("2026-11-01T06:00:00Z"), c.Add(utc("2026-11-01T05:30:00Z"), 30*time.Minute))
		requireTime(t, utc("2026-11-01T06:31:00Z"), c.Add(utc("2026-11-01T05:30:00Z"), 31*time.Minute))
		requireTime(t, utc("2026-11-01T06:30:00Z"), c.Sub(utc("2026-11-01T08:30:00Z"), 2*time.Hour))
		requireTime(t, utc("2026-11-01T05:59:00Z"), c.Sub(utc("2026-11-01T08:30:00Z"), 2*time.Hour+time.Minute))
		requireTime(t, utc("2026-11-01T06:00:00Z"), c.NextClose(utc("2026-11-01T05:40:00Z")))
		requireTime(t, utc("2026-11-01T06:30:00Z"), c.NextOpen(utc("2026-11-01T06:00:00Z")))
	})
	t.Run("london weekend across both changes", func(t *testing.T) {
		t.Parallel()
		c := mustCal(t, CalendarSpec{TimeZone: "Europe/London", Hours: weekdays(Interval{"09:00", "17:00"})})
		requireTime(t, utc("2026-03-30T09:00:00Z"), c.Add(utc("2026-03-27T16:00:00Z"), 2*time.Hour)) // Mon 10:00 BST
		require.Equal(t, 16*time.Hour, c.Elapsed(utc("2026-10-23T08:00:00Z"), utc("2026-10-26T17:00:00Z")))
		requireTime(t, utc("2026-10-23T08:00:00Z"), c.Sub(utc("2026-10-26T17:00:00Z"), 16*time.Hour))
	})
	// Real length of each local day with an offset change, for a calendar
	// open all day every day (not the 24×7 fast path: it has a holiday).
	for _, tc := range []struct {
		zone  string
		date  string
		hours time.Duration
	}{
		{"Australia/Sydney", "2026-04-05", 25 * time.Hour},
		{"Australia/Sydney", "2026-10-04", 23 * time.Hour},
		{"Australia/Lord_Howe", "2026-04-05", 24*time.Hour + 30*time.Minute},
		{"Australia/Lord_Howe", "2026-10-04", 23*time.Hour + 30*time.Minute},
		{"Pacific/Chatham", "2026-04-05", 25 * time.Hour},
		{"Pacific/Chatham", "2026-09-27", 23 * time.Hour},
		{"Africa/Casablanca", "2026-02-15", 25 * time.Hour},
		{"Africa/Casablanca", "2026-03-22", 23 * time.Hour},
		{"America/New_York", "2026-03-08", 23 * time.Hour},
		{"Europe/London", "2026-10-25", 25 * time.Hour},
	} {
		t.Run(tc.zone+" "+tc.date, func(t *testing.T) {
			t.Parallel()
			loc := mustLoc(t, tc.zone)
			c := mustCal(t, CalendarSpec{TimeZone: tc.zone, Hours: everyDay(Interval{"00:00", "24:00"}), Holidays: []string{"1999-01-01"}})
			d, err := time.Parse("2006-01-02", tc.date)
			require.NoError(t, err)
			start := time.Date(d.Year(), d.Month(), d.Day(), 0, 0, 0, 0, loc)
			end := time.Date(d.Year(), d.Month(), d.Day()+1, 0, 0, 0, 0, loc)
			require.Equal(t, tc.hours, end.Sub(start), "the zone data changed")
			require.Equal(t, tc.hours, c.Elapsed(start, end))
			requireTime(t, end, c.Add(start, tc.hours))
			requireTime(t, start, c.Sub(end, tc.hours))
			// A 9–5 day on the same date is 8 real hours (no change inside it).
			nine := mustCal(t, CalendarSpec{TimeZone: tc.zone, Hours: everyDay(Interval{"09:00", "17:00"})})
			require.Equal(t, 8*time.Hour, nine.Elapsed(start, end))
			requireTime(t, time.Date(d.Year(), d.Month(), d.Day(), 17, 0, 0, 0, loc), nine.Add(start, 8*time.Hour))
		})
	}
	t.Run("chatham 45-minute offset", func(t *testing.T) {
		t.Parallel()
		loc := mustLoc(t, "Pacific/Chatham")
		c := mustCal(t, CalendarSpec{TimeZone: "Pacific/Chatham", Hours: weekdays(Interval{"09:00", "17:00"})})
		mon9 := time.Date(2026, 6, 1, 9, 0, 0, 0, loc)
		require.Equal(t, "2026-05-31T20:15:00Z", mon9.UTC().Format(time.RFC3339))
		require.True(t, c.IsOpen(mon9))
		require.False(t, c.IsOpen(mon9.Add(-time.Second)))
		requireTime(t, time.Date(2026, 6, 2, 10, 0, 0, 0, loc), c.Add(time.Date(2026, 6, 1, 16, 0, 0, 0, loc), 2*time.Hour))
	})
}

func TestMidnightAndOvernight(t *testing.T) {
	t.Parallel()
	loc := mustLoc(t, "Europe/Berlin")
	at := func(d, h, m int) time.Time { return time.Date(2026, 6, d, h, m, 0, 0, loc) } // 2026-06-01 is a Monday
	t.Run("24:00 joins the next day's 00:00", func(t *testing.T) {
		t.Parallel()
		c := mustCal(t, CalendarSpec{TimeZone: "Europe/Berlin", Hours: map[string][]Interval{"mon": {{"22:00", "24:00"}}, "tue": {{"00:00", "02:00"}}}})
		require.True(t, c.IsOpen(at(1, 23, 59)))
		require.True(t, c.IsOpen(at(2, 0, 0)))
		require.False(t, c.IsOpen(at(2, 2, 0)))
		requireTime(t, at(2, 2, 0), c.NextClose(at(1, 23, 0)))
		var got []Period
		for p := range c.Periods(at(1, 0, 0), at(3, 0, 0)) {
			got = append(got, p)
		}
		require.Len(t, got, 1)
		requireTime(t, at(1, 22, 0), got[0].Start)
		requireTime(t, at(2, 2, 0), got[0].End)
		require.Equal(t, 4*time.Hour, got[0].Duration())
	})
	t.Run("overnight interval belongs to its start date", func(t *testing.T) {
		t.Parallel()
		spec := CalendarSpec{TimeZone: "Europe/Berlin", Hours: map[string][]Interval{"mon": {{"22:00", "06:00"}}}}
		c := mustCal(t, spec)
		require.True(t, c.IsOpen(at(2, 5, 59)))
		require.False(t, c.IsOpen(at(2, 6, 0)))
		require.Equal(t, 8*time.Hour, c.Elapsed(at(1, 0, 0), at(3, 0, 0)))
		requireTime(t, at(2, 6, 0), c.AddDays(at(0, 12, 0), 1))
		requireTime(t, at(9, 6, 0), c.AddDays(at(1, 12, 0), 1))
	})
	t.Run("a holiday closes the spill into it and its own spill", func(t *testing.T) {
		t.Parallel()
		c := mustCal(t, CalendarSpec{TimeZone: "Europe/Berlin", Hours: everyDay(Interval{"22:00", "06:00"}), Holidays: []string{"2026-06-02"}})
		require.True(t, c.IsOpen(at(1, 23, 0)))  // Monday's own part
		require.False(t, c.IsOpen(at(2, 1, 0)))  // Monday's spill into the holiday
		require.False(t, c.IsOpen(at(2, 23, 0))) // the holiday's own interval
		require.False(t, c.IsOpen(at(3, 1, 0)))  // the holiday's spill
		require.True(t, c.IsOpen(at(3, 23, 0)))
		require.Equal(t, 10*time.Hour, c.Elapsed(at(1, 0, 0), at(4, 0, 0))) // Sunday's spill 6h, Monday 2h, Wednesday 2h
	})
	t.Run("shift replaces and break removes, holiday wins", func(t *testing.T) {
		t.Parallel()
		c := mustCal(t, CalendarSpec{
			TimeZone: "Europe/Berlin", Hours: weekdays(Interval{"09:00", "17:00"}),
			Shifts:   map[string][]Interval{"2026-06-01": {{"07:00", "11:00"}}, "2026-06-03": {{"08:00", "20:00"}}},
			Breaks:   map[string][]Interval{"2026-06-01": {{"08:00", "08:30"}}, "2026-06-02": {{"12:00", "13:00"}}},
			Holidays: []string{"2026-06-03"},
		})
		require.Equal(t, 3*time.Hour+30*time.Minute, c.Elapsed(at(1, 0, 0), at(2, 0, 0)))
		require.Equal(t, 7*time.Hour, c.Elapsed(at(2, 0, 0), at(3, 0, 0)))
		require.Zero(t, c.Elapsed(at(3, 0, 0), at(4, 0, 0)))
		requireTime(t, at(1, 8, 30), c.NextOpen(at(1, 8, 0)))
	})
}

func TestLeapDay(t *testing.T) {
	t.Parallel()
	loc := mustLoc(t, "UTC")
	c := mustCal(t, CalendarSpec{
		TimeZone: "UTC", Hours: everyDay(Interval{"09:00", "17:00"}),
		Shifts:       map[string][]Interval{"2028-02-29": {{"10:00", "12:00"}}},
		HolidayRules: []HolidayRule{{Name: "leap", Month: 2, Day: 29}},
	})
	// The rule closes 29 February only in leap years, overriding the shift.
	require.Zero(t, c.Elapsed(time.Date(2028, 2, 29, 0, 0, 0, 0, loc), time.Date(2028, 3, 1, 0, 0, 0, 0, loc)))
	requireTime(t, time.Date(2028, 3, 1, 10, 0, 0, 0, loc), c.Add(time.Date(2028, 2, 28, 16, 0, 0, 0, loc), 2*time.Hour))
	requireTime(t, time.Date(2027, 3, 1, 9, 0, 0, 0, loc), c.NextOpen(time.Date(2027, 2, 28, 17, 0, 0, 0, loc)))
	_, err := NewCalendar(CalendarSpec{TimeZone: "UTC", Hours: everyDay(Interval{"09:00", "17:00"}), Holidays: []string{"2027-02-29"}})
	require.ErrorIs(t, err, itsm.ErrValidation)
}

func TestHolidayOnDSTDay(t *testing.T) {
	t.Parallel()
	c := mustCal(t, CalendarSpec{TimeZone: "America/New_York", Hours: everyDay(Interval{"00:00", "24:00"}), Holidays: []string{"2026-03-08", "2026-11-01"}})
	ny := mustLoc(t, "America/New_York")
	require.Equal(t, 24*time.Hour, c.Elapsed(time.Date(2026, 3, 7, 0, 0, 0, 0, ny), time.Date(2026, 3, 9, 0, 0, 0, 0, ny)))
	require.Equal(t, 24*time.Hour, c.Elapsed(time.Date(2026, 10, 31, 0, 0, 0, 0, ny), time.Date(2026, 11, 2, 0, 0, 0, 0, ny)))
	requireTime(t, time.Date(2026, 3, 9, 0, 0, 0, 0, ny), c.NextOpen(time.Date(2026, 3, 8, 12, 0, 0, 0, ny)))
	requireTime(t, time.Date(2026, 3, 8, 0, 0, 0, 0, ny), c.NextClose(time.Date(2026, 3, 7, 12, 0, 0, 0, ny)))
}

func TestSamoaSkippedDay(t *testing.T) {
	t.Parallel()
	apia := mustLoc(t, "Pacific/Apia")
	c := mustCal(t, CalendarSpec{TimeZone: "Pacific/Apia", Hours: everyDay(Interval{"09:00", "17:00"}), Shifts: map[string][]Interval{"2011-12-30": {{"00:00", "24:00"}}}})
	from := time.Date(2011, 12, 29, 9, 0, 0, 0, apia)
	to := time.Date(2011, 12, 31, 17, 0, 0, 0, apia)
	require.Equal(t, 16*time.Hour, c.Elapsed(from, to), "30 December 2011 never happened in Samoa")
	requireTime(t, time.Date(2011, 12, 31, 10, 0, 0, 0, apia), c.Add(time.Date(2011, 12, 29, 16, 0, 0, 0, apia), 2*time.Hour))
	requireTime(t, time.Date(2011, 12, 29, 16, 0, 0, 0, apia), c.Sub(time.Date(2011, 12, 31, 10, 0, 0, 0, apia), 2*time.Hour))
	requireTime(t, time.Date(2011, 12, 31, 17, 0, 0, 0, apia), c.AddDays(time.Date(2011, 12, 29, 12, 0, 0, 0, apia), 1))
}

func TestAddDays(t *testing.T) {
	t.Parallel()
	london := mustLoc(t, "Europe/London")
	c := mustCal(t, CalendarSpec{TimeZone: "Europe/London", Hours: weekdays(Interval{"09:00", "12:00"}, Interval{"13:00", "17:00"}), Holidays: []string{"2026-12-25", "2026-12-28"}})
	at := func(m time.Month, d, h int) time.Time { return time.Date(2026, m, d, h, 0, 0, 0, london) }
	tests := []struct {
		name string
		t    time.Time
		n    int
		want time.Time
	}{
		{"zero", at(12, 18, 10), 0, at(12, 18, 10)},
		{"negative", at(12, 18, 10), -3, at(12, 18, 10)},
		{"friday to monday", at(12, 18, 10), 1, at(12, 21, 17)},
		{"from a sunday", at(12, 20, 10), 1, at(12, 21, 17)},
		{"over holidays", at(12, 24, 10), 1, at(12, 29, 17)},
		{"two weeks", at(12, 1, 10), 10, at(12, 15, 17)},
		{"across the spring change", at(3, 27, 10), 1, at(3, 30, 17)},
		{"many weeks", at(1, 5, 10), 50, at(3, 16, 17)},
	}
	for _, tt := range tests {
		requireTime(t, tt.want, c.AddDays(tt.t, tt.n), tt.name)
	}
	// A holiday far in the future is skipped too, after whole weeks.
	c2 := mustCal(t, CalendarSpec{TimeZone: "UTC", Hours: weekdays(Interval{"09:00", "17:00"}), Holidays: []string{"2030-01-01"}})
	u := func(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 17, 0, 0, 0, time.UTC) }
	requireTime(t, u(2030, 1, 2), c2.AddDays(u(2029, 12, 31), 1))
	start := time.Date(2026, 11, 24, 8, 0, 0, 0, time.UTC)
	for _, n := range []int{1, 5, 6, 100, 809, 810, 2000} {
		day, left := start, n
		for left > 0 {
			day = day.AddDate(0, 0, 1)
			if wd := day.Weekday(); wd != time.Saturday && wd != time.Sunday && day.Format("2006-01-02") != "2030-01-01" {
				left--
			}
		}
		requireTime(t, u(day.Year(), day.Month(), day.Day()), c2.AddDays(start, n), n)
	}
}

func TestPeriods(t *testing.T) {
	t.Parallel()
	london := mustLoc(t, "Europe/London")
	c := mustCal(t, CalendarSpec{TimeZone: "Europe/London", Hours: weekdays(Interval{"09:00", "12:00"}, Interval{"13:00", "17:00"})})
	from, to := time.Date(2026, 6, 5, 10, 0, 0, 0, london), time.Date(2026, 6, 8, 12, 30, 0, 0, london)
	var got []Period
	var sum time.Duration
	for p := range c.Periods(from, to) {
		got = append(got, p)
		sum += p.Duration()
	}
	want := []Period{
		{time.Date(2026, 6, 5, 10, 0, 0, 0, london), time.Date(2026, 6, 5, 12, 0, 0, 0, london)},
		{time.Date(2026, 6, 5, 13, 0, 0, 0, london), time.Date(2026, 6, 5, 17, 0, 0, 0, london)},
		{time.Date(2026, 6, 8, 9, 0, 0, 0, london), time.Date(2026, 6, 8, 12, 0, 0, 0, london)},
	}
	require.Len(t, got, len(want))
	for i := range want {
		requireTime(t, want[i].Start, got[i].Start)
		requireTime(t, want[i].End, got[i].End)
	}
	require.Equal(t, c.Elapsed(from, to), sum)

	n := 0
	for range c.Periods(from, to) {
		n++
		break
	}
	require.Equal(t, 1, n, "stops when the consumer stops")
	for range c.Periods(to, from) {
		t.Fatal("reversed range yields nothing")
	}
}

func TestValidationErrors(t *testing.T) {
	t.Parallel()
	nine := []Interval{{"09:00", "17:00"}}
	base := func() CalendarSpec {
		return CalendarSpec{Name: "desk", TimeZone: "Europe/London", Hours: map[string][]Interval{"mon": nine}}
	}
	tests := []struct {
		name   string
		modify func(*CalendarSpec)
		field  string
	}{
		{"unknown zone", func(s *CalendarSpec) { s.TimeZone = "Mars/Olympus_Mons" }, "time_zone"},
		{"missing zone", func(s *CalendarSpec) { s.TimeZone = "" }, "time_zone"},
		{"local zone", func(s *CalendarSpec) { s.TimeZone = "Local" }, "time_zone"},
		{"25:00", func(s *CalendarSpec) { s.Hours["tue"] = []Interval{{"09:00", "25:00"}} }, "hours.tue[0]"},
		{"24:30", func(s *CalendarSpec) { s.Hours["tue"] = []Interval{{"09:00", "24:30"}} }, "hours.tue[0]"},
		{"9am", func(s *CalendarSpec) { s.Hours["tue"] = []Interval{{"9am", "17:00"}} }, "hours.tue[0]"},
		{"minutes 60", func(s *CalendarSpec) { s.Hours["tue"] = []Interval{{"09:60", "17:00"}} }, "hours.tue[0]"},
		{"start 24:00", func(s *CalendarSpec) { s.Hours["tue"] = []Interval{{"24:00", "02:00"}} }, "hours.tue[0]"},
		{"empty time", func(s *CalendarSpec) { s.Hours["tue"] = []Interval{{"09:00"}} }, "hours.tue[0]"},
		{"start equals end", func(s *CalendarSpec) { s.Hours["tue"] = []Interval{{"09:00", "09:00"}} }, "hours.tue[0]"},
		{"overlap", func(s *CalendarSpec) { s.Hours["tue"] = []Interval{{"09:00", "12:00"}, {"11:00", "13:00"}} }, "hours.tue[1]"},
		{"overnight overlaps next day", func(s *CalendarSpec) { s.Hours["sun"] = []Interval{{"22:00", "10:00"}} }, "hours.mon[0]"},
		{"unknown weekday", func(s *CalendarSpec) { s.Hours["monday"] = nine }, "hours.monday"},
		{"no open time", func(s *CalendarSpec) { s.Hours = map[string][]Interval{"mon": {}} }, "hours"},
		{"bad holiday", func(s *CalendarSpec) { s.Holidays = []string{"2026-01-01", "2026-02-30"} }, "holidays[1]"},
		{"holiday not iso", func(s *CalendarSpec) { s.Holidays = []string{"01/02/2026"} }, "holidays[0]"},
		{"bad shift date", func(s *CalendarSpec) { s.Shifts = map[string][]Interval{"2026-13-01": nine} }, "shifts.2026-13-01"},
		{"bad shift time", func(s *CalendarSpec) {
			s.Shifts = map[string][]Interval{"2026-12-24": {{"09:00", "12:00"}, {"13:00", "noon"}}}
		}, "shifts.2026-12-24[1]"},
		{"bad break", func(s *CalendarSpec) { s.Breaks = map[string][]Interval{"2026-06-03": {{"12:15", "12:15"}}} }, "breaks.2026-06-03[0]"},
		{"shift overlaps previous overnight", func(s *CalendarSpec) {
			s.Hours["sun"] = []Interval{{"20:00", "02:00"}}
			s.Shifts = map[string][]Interval{"2026-06-01": {{"01:00", "05:00"}}}
		}, "shifts.2026-06-01[0]"},
		{"rule month", func(s *CalendarSpec) { s.HolidayRules = []HolidayRule{{Month: 13, Day: 1}} }, "holiday_rules[0].month"},
		{"rule day", func(s *CalendarSpec) { s.HolidayRules = []HolidayRule{{Month: 4, Day: 31}} }, "holiday_rules[0].day"},
		{"rule nth", func(s *CalendarSpec) { s.HolidayRules = []HolidayRule{{Month: 5, Weekday: "mon", Nth: 6}} }, "holiday_rules[0].nth"},
		{"rule weekday", func(s *CalendarSpec) { s.HolidayRules = []HolidayRule{{Month: 5, Weekday: "monday", Nth: 1}} }, "holiday_rules[0].weekday"},
		{"rule observed", func(s *CalendarSpec) { s.HolidayRules = []HolidayRule{{Month: 5, Day: 1, Observed: "closest"}} }, "holiday_rules[0].observed"},
		{"rule years", func(s *CalendarSpec) {
			s.HolidayRules = []HolidayRule{{Month: 5, Day: 1, FromYear: 2030, ToYear: 2020}}
		}, "holiday_rules[0].to_year"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			spec := base()
			tt.modify(&spec)
			c, err := NewCalendar(spec)
			require.Nil(t, c)
			require.ErrorIs(t, err, itsm.ErrValidation)
			var ve *itsm.ValidationError
			require.True(t, errors.As(err, &ve))
			require.Equal(t, "calendar desk", ve.Subject)
			require.Truef(t, ve.Has(tt.field), "want a problem with %s, got %v", tt.field, err)
		})
	}
}

func TestHolidayRules(t *testing.T) {
	t.Parallel()
	two := -2
	c := mustCal(t, CalendarSpec{TimeZone: "UTC", Hours: everyDay(Interval{"00:00", "24:00"}), HolidayRules: []HolidayRule{
		{Name: "Independence Day", Month: 7, Day: 4, Observed: ObservedNearestWeekday},
		{Name: "Thanksgiving", Month: 11, Weekday: "thu", Nth: 4},
		{Name: "Memorial Day", Month: 5, Weekday: "mon", Nth: -1},
		{Name: "Good Friday", EasterOffset: &two},
		{Name: "Boxing Day", Month: 12, Day: 26, Observed: ObservedNextWeekday, FromYear: 2026},
	}})
	closed := []string{"2026-07-03", "2027-07-05", "2026-11-26", "2027-11-25", "2026-05-25", "2027-05-31", "2026-04-03", "2027-03-26", "2026-12-28", "2000-04-21", "2100-03-26"}
	open := []string{"2026-07-04", "2027-07-04", "2026-11-19", "2026-05-18", "2026-04-05", "2025-12-26", "2026-12-26"}
	for _, d := range closed {
		day, err := time.Parse("2006-01-02", d)
		require.NoError(t, err)
		require.False(t, c.IsOpen(day.Add(12*time.Hour)), d)
	}
	for _, d := range open {
		day, err := time.Parse("2006-01-02", d)
		require.NoError(t, err)
		require.True(t, c.IsOpen(day.Add(12*time.Hour)), d)
	}
	// Rules are expanded for RuleFirstYear..RuleLastYear only.
	require.True(t, c.IsOpen(time.Date(RuleLastYear+1, 11, 27, 12, 0, 0, 0, time.UTC)), "4th Thursday of 2200")
	require.False(t, c.IsOpen(time.Date(RuleLastYear, 11, 28, 12, 0, 0, 0, time.UTC)), "4th Thursday of 2199")
}

func TestEaster(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ y, m, d int }{{2024, 3, 31}, {2025, 4, 20}, {2026, 4, 5}, {2027, 3, 28}, {2038, 4, 25}, {1818, 3, 22}, {2285, 3, 22}} {
		m, d := easter(tc.y)
		require.Equal(t, [2]int{tc.m, tc.d}, [2]int{m, d}, "%d", tc.y)
	}
}

func TestAlwaysOpen(t *testing.T) {
	t.Parallel()
	c := AlwaysOpen(nil)
	require.Equal(t, time.UTC, c.Location())
	now := utc("2026-11-24T07:00:00.5Z")
	require.True(t, c.IsOpen(now))
	requireTime(t, now.Add(90*time.Hour), c.Add(now, 90*time.Hour))
	requireTime(t, now.Add(-90*time.Hour), c.Sub(now, 90*time.Hour))
	require.Equal(t, -3*time.Hour, c.Elapsed(now, now.Add(-3*time.Hour)))
	requireTime(t, now, c.NextOpen(now))
	requireTime(t, now.Add(SearchHorizon), c.NextClose(now))

	ny := AlwaysOpen(mustLoc(t, "America/New_York"))
	rebuilt := mustCal(t, ny.Spec())
	from, to := utc("2026-03-01T00:00:00Z"), utc("2026-04-01T00:00:00Z")
	require.Equal(t, to.Sub(from), rebuilt.Elapsed(from, to))
	requireTime(t, time.Date(2026, 3, 9, 4, 0, 0, 0, time.UTC), ny.AddDays(utc("2026-03-07T12:00:00Z"), 1), "close of Sunday 8 March is Monday 00:00 EDT")
}

func TestFarInstantsTerminate(t *testing.T) {
	t.Parallel()
	c := mustCal(t, CalendarSpec{TimeZone: "America/New_York", Hours: weekdays(Interval{"09:00", "17:00"}), Holidays: []string{"2026-12-25"}})
	for _, at := range []time.Time{
		time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(9999, 12, 31, 23, 59, 59, 0, time.UTC),
		time.Date(1883, 11, 18, 12, 0, 0, 0, time.UTC), // New York adopts standard time
		{},
	} {
		_ = c.IsOpen(at)
		r := c.Add(at, 40*time.Hour)
		require.Equal(t, 40*time.Hour, c.Elapsed(at, r))
		r = c.Sub(at, 40*time.Hour)
		require.Equal(t, 40*time.Hour, c.Elapsed(r, at))
		require.True(t, c.IsOpen(c.NextOpen(at)))
		require.False(t, c.IsOpen(c.NextClose(at)))
		_ = c.AddDays(at, 3)
	}
	// Durations beyond the horizon stop there.
	t0 := utc("2026-01-01T00:00:00Z")
	require.Equal(t, t0.Add(SearchHorizon), c.Add(t0, time.Duration(1<<62)))
	require.Equal(t, t0.Add(-SearchHorizon), c.Sub(t0, time.Duration(1<<62)))
	require.Equal(t, t0.Add(-SearchHorizon), c.Add(t0, time.Duration(-1<<63)))
	full := time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC)
	end := time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC)
	e := c.Elapsed(full, end)
	require.Greater(t, e, time.Duration(0))
	require.Equal(t, -e, c.Elapsed(end, full))

	// A calendar closed by holidays for years: searches stop at the horizon.
	var hol []string
	for d := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC); d.Year() < 2031; d = d.AddDate(0, 0, 1) {
		hol = append(hol, d.Format("2006-01-02"))
	}
	closed := mustCal(t, CalendarSpec{TimeZone: "UTC", Hours: weekdays(Interval{"09:00", "17:00"}), Holidays: hol})
	requireTime(t, utc("2031-01-01T09:00:00Z"), closed.NextOpen(t0))
	requireTime(t, utc("2031-01-01T10:00:00Z"), closed.Add(t0, time.Hour))
	requireTime(t, utc("2031-01-01T17:00:00Z"), closed.AddDays(t0, 1))
}

func TestResultLocation(t *testing.T) {
	t.Parallel()
	c := mustCal(t, CalendarSpec{TimeZone: "Europe/London", Hours: weekdays(Interval{"09:00", "17:00"})})
	tokyo := mustLoc(t, "Asia/Tokyo")
	at := time.Date(2026, 6, 1, 17, 0, 0, 0, tokyo) // 09:00 London
	require.Equal(t, tokyo, c.Add(at, time.Hour).Location())
	require.Equal(t, tokyo, c.Sub(at, time.Hour).Location())
	require.Equal(t, tokyo, c.NextOpen(at).Location())
	require.Equal(t, tokyo, c.NextClose(at).Location())
	require.Equal(t, tokyo, c.AddDays(at, 1).Location())
}

func TestZeroAllocs(t *testing.T) {
	c := mustCal(t, CalendarSpec{TimeZone: "America/New_York", Hours: weekdays(Interval{"09:00", "17:00"}), Holidays: []string{"2026-07-03", "2026-11-26", "2026-12-25"}})
	t0 := utc("2026-06-30T15:04:05Z")
	t1 := utc("2027-01-30T15:04:05Z")
	for name, f := range map[string]func(){
		"Add":       func() { _ = c.Add(t0, 400*time.Hour) },
		"Sub":       func() { _ = c.Sub(t1, 400*time.Hour) },
		"Elapsed":   func() { _ = c.Elapsed(t0, t1) },
		"IsOpen":    func() { _ = c.IsOpen(t0) },
		"NextOpen":  func() { _ = c.NextOpen(t0) },
		"NextClose": func() { _ = c.NextClose(t0) },
		"AddDays":   func() { _ = c.AddDays(t0, 30) },
	} {
		require.Zero(t, testing.AllocsPerRun(100, f), name)
	}
}

func TestProperties(t *testing.T) {
	t.Parallel()
	r := rand.New(rand.NewPCG(3, 4))
	for range 60 {
		c, _, changes := randomCalendar(t, r)
		for range 30 {
			a := randomInstant(r, changes)
			d := randomDuration(r) + time.Duration(r.IntN(90))*24*time.Hour
			got := c.Add(a, d)
			require.Equal(t, d, c.Elapsed(a, got))
			if d > 0 {
				require.True(t, c.IsOpen(got.Add(-1)), "Add ends just after open time (earliest)")
			}
			back := c.Sub(a, d)
			require.Equal(t, d, c.Elapsed(back, a))
			if d > 0 {
				require.True(t, c.IsOpen(back), "Sub starts at open time (latest)")
			}
			// Monotonic in t and d.
			d2 := d + time.Duration(r.Int64N(int64(10*time.Hour)))
			require.False(t, c.Add(a, d2).Before(got))
			later := a.Add(time.Duration(r.Int64N(int64(48 * time.Hour))))
			require.False(t, c.Add(later, d).Before(got))
			// Elapsed is additive and antisymmetric.
			b := randomInstant(r, changes)
			m := randomInstant(r, changes)
			require.Equal(t, c.Elapsed(a, b), c.Elapsed(a, m)+c.Elapsed(m, b))
			require.Equal(t, -c.Elapsed(a, b), c.Elapsed(b, a))
		}
	}
}

func TestComposition(t *testing.T) {
	t.Parallel()
	r := rand.New(rand.NewPCG(5, 6))
	tried := 0
	for tried < 40 {
		a, _, changes := randomCalendar(t, r)
		spec := CalendarSpec{}
		var b *Calendar
		for {
			b, spec, _ = randomCalendar(t, r)
			if spec.TimeZone == a.Location().String() {
				break
			}
		}
		_ = spec
		tried++
		u, err := Union(a, b)
		require.NoError(t, err)
		i, err := Intersect(a, b)
		if err != nil {
			require.ErrorIs(t, err, itsm.ErrValidation) // no common open time in the week
		}
		for range 200 {
			at := randomInstant(r, changes)
			require.Equal(t, a.IsOpen(at) || b.IsOpen(at), u.IsOpen(at))
			if i != nil {
				require.Equal(t, a.IsOpen(at) && b.IsOpen(at), i.IsOpen(at))
			}
		}
		// The combined spec rebuilds the same calendar.
		u2 := mustCal(t, u.Spec())
		x, y := randomInstant(r, changes), randomInstant(r, changes)
		require.Equal(t, u.Elapsed(x, y), u2.Elapsed(x, y))
	}

	london := mustCal(t, CalendarSpec{Name: "l", TimeZone: "Europe/London", Hours: weekdays(Interval{"09:00", "17:00"})})
	paris := mustCal(t, CalendarSpec{Name: "p", TimeZone: "Europe/Paris", Hours: weekdays(Interval{"09:00", "17:00"})})
	_, err := Intersect(london, paris)
	require.ErrorIs(t, err, itsm.ErrValidation)
	_, err = Union(london, paris)
	require.ErrorIs(t, err, itsm.ErrValidation)
	same, err := Intersect(london, AlwaysOpen(time.UTC))
	require.NoError(t, err)
	require.Same(t, london, same)
	all, err := Union(AlwaysOpen(nil), paris)
	require.NoError(t, err)
	require.Equal(t, "Europe/Paris", all.Location().String())
	require.True(t, all.IsOpen(utc("2026-06-06T03:00:00Z")))
	weekend := mustCal(t, CalendarSpec{Name: "w", TimeZone: "Europe/London", Hours: map[string][]Interval{"sat": {{"09:00", "17:00"}}}})
	_, err = Intersect(london, weekend)
	require.ErrorIs(t, err, itsm.ErrValidation)
	both, err := Union(london, weekend)
	require.NoError(t, err)
	require.Equal(t, "l | w", both.Name())
	require.Equal(t, 48*time.Hour, both.Elapsed(utc("2026-06-01T00:00:00Z"), utc("2026-06-08T00:00:00Z")))
}

func TestIntervalJSONLength(t *testing.T) {
	t.Parallel()
	var spec CalendarSpec
	err := json.Unmarshal([]byte(`{"time_zone":"UTC","hours":{"mon":[["09:00","12:00","13:00"]]}}`), &spec)
	require.ErrorIs(t, err, itsm.ErrValidation)
	err = json.Unmarshal([]byte(`{"time_zone":"UTC","hours":{"mon":[["09:00"]]}}`), &spec)
	require.ErrorIs(t, err, itsm.ErrValidation)
	require.NoError(t, json.Unmarshal([]byte(`{"time_zone":"UTC","hours":{"mon":[["09:00","17:00"]]}}`), &spec))
	require.Equal(t, Interval{"09:00", "17:00"}, spec.Hours["mon"][0])
	b, err := json.Marshal(spec.Hours["mon"][0])
	require.NoError(t, err)
	require.JSONEq(t, `["09:00","17:00"]`, string(b))
}
