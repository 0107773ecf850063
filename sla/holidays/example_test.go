package holidays_test

import (
	"fmt"
	"time"

	"github.com/itsmkit/itsmkit/sla"
	"github.com/itsmkit/itsmkit/sla/holidays"
)

// A New York desk that closes on the US federal holidays.
func ExampleAddTo() {
	spec := sla.CalendarSpec{
		Name:     "us-desk",
		TimeZone: "America/New_York",
		Hours: map[string][]sla.Interval{
			"mon": {{"09:00", "17:00"}}, "tue": {{"09:00", "17:00"}}, "wed": {{"09:00", "17:00"}},
			"thu": {{"09:00", "17:00"}}, "fri": {{"09:00", "17:00"}},
		},
	}
	spec, err := holidays.AddTo(spec, "US", 2026, 2027)
	if err != nil {
		panic(err)
	}
	cal, err := sla.NewCalendar(spec)
	if err != nil {
		panic(err)
	}
	// Wednesday before Thanksgiving, 4 business hours.
	due := cal.Add(time.Date(2026, 11, 25, 15, 0, 0, 0, cal.Location()), 4*time.Hour)
	fmt.Println(due.Format("Mon 2006-01-02 15:04"))
	// Output: Fri 2026-11-27 11:00
}

func ExampleDates() {
	dates, err := holidays.Dates("GB", 2026, 2026)
	if err != nil {
		panic(err)
	}
	for _, d := range dates {
		fmt.Println(d, d.Weekday())
	}
	// Output:
	// 2026-01-01 Thursday
	// 2026-04-03 Friday
	// 2026-04-06 Monday
	// 2026-05-04 Monday
	// 2026-05-25 Monday
	// 2026-08-31 Monday
	// 2026-12-25 Friday
	// 2026-12-28 Monday
}
