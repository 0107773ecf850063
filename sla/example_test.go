package sla_test

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/itsmkit/itsmkit/sla"
)

func londonDesk() *sla.Calendar {
	const doc = `{
	  "name": "emea-service-desk",
	  "time_zone": "Europe/London",
	  "hours": {
	    "mon": [["09:00", "17:00"]], "tue": [["09:00", "17:00"]], "wed": [["09:00", "17:00"]],
	    "thu": [["09:00", "17:00"]], "fri": [["09:00", "17:00"]]
	  },
	  "shifts": {"2026-12-24": [["09:00", "12:00"]]},
	  "holidays": ["2026-12-25", "2026-12-28"]
	}`
	var spec sla.CalendarSpec
	if err := json.Unmarshal([]byte(doc), &spec); err != nil {
		panic(err)
	}
	cal, err := sla.NewCalendar(spec)
	if err != nil {
		panic(err)
	}
	return cal
}

// The resolution due time of a ticket raised on Friday afternoon with an
// 8-business-hour target, on a 9–5 London calendar.
func ExampleCalendar_Add() {
	cal := londonDesk()
	london := cal.Location()
	raised := time.Date(2026, 11, 27, 15, 30, 0, 0, london) // Friday
	due := cal.Add(raised, 8*time.Hour)
	fmt.Println(due.Format("Mon 2006-01-02 15:04"))

	// Over Christmas: a half-day shift and two holidays.
	due = cal.Add(time.Date(2026, 12, 24, 10, 0, 0, 0, london), 4*time.Hour)
	fmt.Println(due.Format("Mon 2006-01-02 15:04"))
	// Output:
	// Mon 2026-11-30 15:30
	// Tue 2026-12-29 11:00
}

// Business time spent on a ticket over a weekend.
func ExampleCalendar_Elapsed() {
	cal := londonDesk()
	london := cal.Location()
	opened := time.Date(2026, 6, 5, 16, 0, 0, 0, london) // Friday
	resolved := time.Date(2026, 6, 8, 10, 15, 0, 0, london)
	fmt.Println(cal.Elapsed(opened, resolved))
	fmt.Println(resolved.Sub(opened))
	// Output:
	// 2h15m0s
	// 66h15m0s
}

// "Close the incident 3 business days after it was resolved."
func ExampleCalendar_AddDays() {
	cal := londonDesk()
	resolved := time.Date(2026, 12, 23, 11, 0, 0, 0, cal.Location())
	fmt.Println(cal.AddDays(resolved, 3).Format("Mon 2006-01-02 15:04"))
	// Output: Wed 2026-12-30 17:00
}

func ExampleCalendar_Periods() {
	cal := londonDesk()
	london := cal.Location()
	from := time.Date(2026, 12, 24, 0, 0, 0, 0, london)
	for p := range cal.Periods(from, from.AddDate(0, 0, 7)) {
		fmt.Println(p.Start.Format("Mon 01-02 15:04"), "to", p.End.Format("15:04"), p.Duration())
	}
	// Output:
	// Thu 12-24 09:00 to 12:00 3h0m0s
	// Tue 12-29 09:00 to 17:00 8h0m0s
	// Wed 12-30 09:00 to 17:00 8h0m0s
}

// Around the clock, with DST: the autumn change makes a 25-hour day.
func ExampleAlwaysOpen() {
	london, _ := time.LoadLocation("Europe/London")
	cal := sla.AlwaysOpen(london)
	from := time.Date(2026, 10, 25, 0, 0, 0, 0, london)
	fmt.Println(cal.Elapsed(from, from.AddDate(0, 0, 1)))
	// Output: 25h0m0s
}

// A desk staffed only when both the 1st-line team and the on-site
// engineers work.
func ExampleIntersect() {
	first, _ := sla.NewCalendar(sla.CalendarSpec{Name: "first-line", TimeZone: "Europe/Berlin",
		Hours: map[string][]sla.Interval{"mon": {{"07:00", "19:00"}}, "tue": {{"07:00", "19:00"}}}})
	onsite, _ := sla.NewCalendar(sla.CalendarSpec{Name: "on-site", TimeZone: "Europe/Berlin",
		Hours: map[string][]sla.Interval{"mon": {{"09:00", "17:00"}}, "wed": {{"09:00", "17:00"}}}})
	both, err := sla.Intersect(first, onsite)
	if err != nil {
		panic(err)
	}
	fmt.Println(both.Name(), both.Spec().Hours)
	// Output: first-line & on-site map[mon:[[09:00 17:00]]]
}

func ExampleNewCalendar_errors() {
	_, err := sla.NewCalendar(sla.CalendarSpec{Name: "bad", TimeZone: "Europe/Londn",
		Hours: map[string][]sla.Interval{"mon": {{"9am", "17:00"}, {"12:00", "12:00"}}}})
	fmt.Println(err)
	// Output: itsm: invalid calendar bad: time_zone: unknown time zone "Europe/Londn"; hours.mon[0]: start: time "9am" is not HH:MM; hours.mon[1]: start 12:00 equals end; hours: the week has no open time
}
