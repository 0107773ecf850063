package sla_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/itsmkit/itsmkit/sla"
	"github.com/itsmkit/itsmkit/sla/holidays"
)

// The benchmark calendar: Monday to Friday 09:00–17:00 in
// America/New_York with the US federal holidays (the same calendar as the
// comparison with rickar/cal in the bench module).
func benchCalendar(b *testing.B) *sla.Calendar {
	spec := sla.CalendarSpec{Name: "us-9to5", TimeZone: "America/New_York", Hours: map[string][]sla.Interval{}}
	for _, d := range []string{"mon", "tue", "wed", "thu", "fri"} {
		spec.Hours[d] = []sla.Interval{{"09:00", "17:00"}}
	}
	spec, err := holidays.AddTo(spec, "US", 2000, 2100)
	if err != nil {
		b.Fatal(err)
	}
	c, err := sla.NewCalendar(spec)
	if err != nil {
		b.Fatal(err)
	}
	return c
}

func benchStarts(b *testing.B) []time.Time {
	ny, err := time.LoadLocation("America/New_York")
	if err != nil {
		b.Fatal(err)
	}
	var out []time.Time
	t := time.Date(2026, 1, 5, 8, 17, 0, 0, ny)
	for range 64 {
		out = append(out, t)
		t = t.Add(131*time.Hour + 7*time.Minute)
	}
	return out
}

var (
	benchTime time.Time
	benchDur  time.Duration
	benchBool bool
)

func BenchmarkAdd(b *testing.B) {
	c, ts := benchCalendar(b), benchStarts(b)
	for _, h := range []int{4, 40, 400, 4000} {
		b.Run(fmt.Sprintf("d=%dh", h), func(b *testing.B) {
			b.ReportAllocs()
			d := time.Duration(h) * time.Hour
			i := 0
			for b.Loop() {
				benchTime = c.Add(ts[i%len(ts)], d)
				i++
			}
		})
	}
}

func BenchmarkSub(b *testing.B) {
	c, ts := benchCalendar(b), benchStarts(b)
	for _, h := range []int{4, 4000} {
		b.Run(fmt.Sprintf("d=%dh", h), func(b *testing.B) {
			b.ReportAllocs()
			d := time.Duration(h) * time.Hour
			i := 0
			for b.Loop() {
				benchTime = c.Sub(ts[i%len(ts)], d)
				i++
			}
		})
	}
}

func BenchmarkElapsed(b *testing.B) {
	c, ts := benchCalendar(b), benchStarts(b)
	for _, days := range []int{1, 30, 365, 3650} {
		b.Run(fmt.Sprintf("days=%d", days), func(b *testing.B) {
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				from := ts[i%len(ts)]
				benchDur = c.Elapsed(from, from.AddDate(0, 0, days))
				i++
			}
		})
	}
}

func BenchmarkIsOpen(b *testing.B) {
	c, ts := benchCalendar(b), benchStarts(b)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		benchBool = c.IsOpen(ts[i%len(ts)])
		i++
	}
}

func BenchmarkNextOpen(b *testing.B) {
	c, ts := benchCalendar(b), benchStarts(b)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		benchTime = c.NextOpen(ts[i%len(ts)])
		i++
	}
}

func BenchmarkAddDays(b *testing.B) {
	c, ts := benchCalendar(b), benchStarts(b)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		benchTime = c.AddDays(ts[i%len(ts)], 10)
		i++
	}
}
