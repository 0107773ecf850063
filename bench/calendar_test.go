package bench

import (
	"fmt"
	"testing"
	"time"

	"github.com/itsmkit/itsmkit/sla"
	"github.com/itsmkit/itsmkit/sla/holidays"
	"github.com/rickar/cal/v2"
	"github.com/rickar/cal/v2/us"
)

// The benchmarks compare sla.Calendar with rickar/cal's BusinessCalendar on
// the same calendar: Monday to Friday 09:00–17:00 in America/New_York with
// the US federal holidays. Compare the lib=itsmkit and lib=rickar columns
// with benchstat -col /lib.

var newYork = mustLoad("America/New_York")

func mustLoad(name string) *time.Location {
	loc, err := time.LoadLocation(name)
	if err != nil {
		panic(err)
	}
	return loc
}

func itsmkitCalendar(tb testing.TB) *sla.Calendar {
	spec := sla.CalendarSpec{Name: "us-9to5", TimeZone: "America/New_York", Hours: map[string][]sla.Interval{}}
	for _, d := range []string{"mon", "tue", "wed", "thu", "fri"} {
		spec.Hours[d] = []sla.Interval{{"09:00", "17:00"}}
	}
	spec, err := holidays.AddTo(spec, "US", 2000, 2100)
	if err != nil {
		tb.Fatal(err)
	}
	c, err := sla.NewCalendar(spec)
	if err != nil {
		tb.Fatal(err)
	}
	return c
}

func rickarCalendar() *cal.BusinessCalendar {
	c := cal.NewBusinessCalendar()
	c.AddHoliday(us.Holidays...)
	c.SetWorkHours(9*time.Hour, 17*time.Hour)
	return c
}

// starts are the instants the benchmarks cycle through: working and
// closed times spread over 2026.
func starts() []time.Time {
	var out []time.Time
	t := time.Date(2026, 1, 5, 8, 17, 0, 0, newYork)
	for range 64 {
		out = append(out, t)
		t = t.Add(131*time.Hour + 7*time.Minute)
	}
	return out
}

var sink time.Time
var sinkD time.Duration

func BenchmarkAdd(b *testing.B) {
	ours, theirs := itsmkitCalendar(b), rickarCalendar()
	ts := starts()
	for _, h := range []int{4, 40, 400, 4000} {
		d := time.Duration(h) * time.Hour
		b.Run(fmt.Sprintf("d=%dh/lib=itsmkit", h), func(b *testing.B) {
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				sink = ours.Add(ts[i%len(ts)], d)
				i++
			}
		})
		b.Run(fmt.Sprintf("d=%dh/lib=rickar", h), func(b *testing.B) {
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				sink = theirs.AddWorkHours(ts[i%len(ts)], d)
				i++
			}
		})
	}
}

func BenchmarkElapsed(b *testing.B) {
	ours, theirs := itsmkitCalendar(b), rickarCalendar()
	ts := starts()
	for _, days := range []int{1, 30, 365, 3650} {
		b.Run(fmt.Sprintf("days=%d/lib=itsmkit", days), func(b *testing.B) {
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				from := ts[i%len(ts)]
				sinkD = ours.Elapsed(from, from.AddDate(0, 0, days))
				i++
			}
		})
		b.Run(fmt.Sprintf("days=%d/lib=rickar", days), func(b *testing.B) {
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				from := ts[i%len(ts)]
				sinkD = theirs.WorkHoursInRange(from, from.AddDate(0, 0, days))
				i++
			}
		})
	}
}

// TestSameAnswers checks that the two libraries agree on the benchmarked
// calendar, so the benchmarks compare equal work.
func TestSameAnswers(t *testing.T) {
	ours, theirs := itsmkitCalendar(t), rickarCalendar()
	for _, from := range starts() {
		for _, h := range []int{4, 40, 400} {
			d := time.Duration(h) * time.Hour
			if a, b := ours.Add(from, d), theirs.AddWorkHours(from, d); !a.Equal(b) {
				t.Errorf("Add(%s, %s): itsmkit %s, rickar %s", from, d, a, b)
			}
		}
		for _, days := range []int{1, 30, 365} {
			to := from.AddDate(0, 0, days)
			if a, b := ours.Elapsed(from, to), theirs.WorkHoursInRange(from, to); a != b {
				t.Errorf("Elapsed(%s, %s): itsmkit %s, rickar %s", from, to, a, b)
			}
		}
	}
}
