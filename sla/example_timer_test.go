package sla_test

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/itsmkit/itsmkit/itsm"
	"github.com/itsmkit/itsmkit/sla"
	"github.com/shopspring/decimal"
)

// A high-priority incident on a 9–5 service desk in New York: logged late
// on Friday, paused while the desk waits for the customer on Monday, and
// breached on Monday afternoon.
func ExampleTimer() {
	var spec sla.CalendarSpec
	if err := json.Unmarshal([]byte(`{"name":"us-9-5","time_zone":"America/New_York",
		"hours":{"mon":[["09:00","17:00"]],"tue":[["09:00","17:00"]],"wed":[["09:00","17:00"]],
		         "thu":[["09:00","17:00"]],"fri":[["09:00","17:00"]]},
		"holidays":["2026-11-26","2026-12-25"]}`), &spec); err != nil {
		panic(err)
	}
	cal, err := sla.NewCalendar(spec)
	if err != nil {
		panic(err)
	}
	policy, err := sla.ParsePolicy([]byte(`{"id":"gold","calendar":"us-9-5","targets":{
		"resolution":{"1":"PT2H","2":"PT4H","3":"PT8H","4":"P3D","5":"P10D"}}}`), sla.Calendars{"us-9-5": cal})
	if err != nil {
		panic(err)
	}

	ny := cal.Location()
	at := func(day, hour, minute int) time.Time {
		return time.Date(2026, time.November, day, hour, minute, 0, 0, ny)
	}
	show := func(now time.Time, s sla.Status) {
		fmt.Printf("%s %-8s elapsed %-6v %s%%", now.Format("Mon 15:04"), s.Stage, s.Elapsed, s.Percent())
		if !s.Due.IsZero() {
			fmt.Printf(" due %s", s.Due.Format("Mon 15:04"))
		}
		if !s.NextWake.IsZero() {
			fmt.Printf(" wake %s", s.NextWake.Format("Mon 15:04"))
		}
		if !s.BreachedAt.IsZero() {
			fmt.Printf(" breached at %s", s.BreachedAt.Format("Mon 15:04"))
		}
		fmt.Println()
	}

	timer, err := policy.NewTimer(sla.MetricResolution, itsm.PriorityHigh)
	if err != nil {
		panic(err)
	}
	// Logged on Friday at 16:30: half an hour of business time that day.
	if err := timer.Start(at(20, 16, 30)); err != nil {
		panic(err)
	}
	show(at(20, 16, 30), timer.Status(at(20, 16, 30)))
	show(at(21, 12, 0), timer.Status(at(21, 12, 0)))

	// Monday: waiting for the customer from 10:00 to 11:00.
	_ = timer.Pause(at(23, 10, 0), "awaiting customer")
	show(at(23, 10, 30), timer.Status(at(23, 10, 30)))
	_ = timer.Resume(at(23, 11, 0), "customer replied")
	show(at(23, 11, 30), timer.Status(at(23, 11, 30)))

	// Nobody resolves it in time.
	s := timer.Status(at(23, 14, 0))
	show(at(23, 14, 0), s)
	for _, th := range s.ThresholdList() {
		fmt.Printf("  %5s%% reached=%-5v at %s\n", th.Percent(), th.Reached, th.At.Format("Mon 15:04"))
	}

	// Resolved later the same day: the cycle stays breached.
	_ = timer.Stop(at(23, 15, 0), "resolved")
	show(at(23, 16, 0), timer.Status(at(23, 16, 0)))

	// Output:
	// Fri 16:30 running  elapsed 0s     0% due Mon 12:30 wake Mon 10:30
	// Sat 12:00 running  elapsed 30m0s  12.5% due Mon 12:30 wake Mon 10:30
	// Mon 10:30 paused   elapsed 1h30m0s 37.5%
	// Mon 11:30 running  elapsed 2h0m0s 50% due Mon 13:30 wake Mon 12:30
	// Mon 14:00 breached elapsed 4h30m0s 112.5% due Mon 13:30 breached at Mon 13:30
	//      50% reached=true  at Mon 11:30
	//      75% reached=true  at Mon 12:30
	//     100% reached=true  at Mon 13:30
	// Mon 16:00 breached elapsed 5h30m0s 137.5% breached at Mon 13:30
}

// Monthly availability of a service with agreed hours of 9–5 on weekdays,
// and the service credit it earns.
func ExampleAvailability() {
	var spec sla.CalendarSpec
	if err := json.Unmarshal([]byte(`{"name":"us-9-5","time_zone":"America/New_York",
		"hours":{"mon":[["09:00","17:00"]],"tue":[["09:00","17:00"]],"wed":[["09:00","17:00"]],
		         "thu":[["09:00","17:00"]],"fri":[["09:00","17:00"]]},
		"holidays":["2026-11-26"]}`), &spec); err != nil {
		panic(err)
	}
	hours, err := sla.NewCalendar(spec)
	if err != nil {
		panic(err)
	}
	ny := hours.Location()
	at := func(day, hour, minute int) time.Time {
		return time.Date(2026, time.November, day, hour, minute, 0, 0, ny)
	}
	report, err := sla.Availability(hours, at(1, 0, 0), time.Date(2026, time.December, 1, 0, 0, 0, 0, ny), []sla.Outage{
		{Start: at(2, 8, 0), End: at(2, 10, 0)},   // only 09:00–10:00 is agreed time
		{Start: at(2, 9, 30), End: at(2, 10, 30)}, // overlaps the first: merged
		{Start: at(7, 10, 0), End: at(7, 14, 0)},  // a Saturday: not agreed time
	})
	if err != nil {
		panic(err)
	}
	credits, err := sla.NewCreditTable(
		sla.CreditTier{Below: decimal.RequireFromString("99.9"), Credit: decimal.NewFromInt(5)},
		sla.CreditTier{Below: decimal.NewFromInt(99), Credit: decimal.NewFromInt(15)},
	)
	if err != nil {
		panic(err)
	}
	fmt.Println("agreed:", report.Agreed, "downtime:", report.Downtime)
	fmt.Println("availability:", report.Percent().String()+"%")
	fmt.Println("credit:", credits.Credit(report, decimal.RequireFromString("2500.00")))
	// Output:
	// agreed: 160h0m0s downtime: 1h30m0s
	// availability: 99.0625%
	// credit: 125
}
