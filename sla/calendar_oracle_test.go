package sla

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// oracle is a deliberately simple reference implementation of the calendar
// semantics, used to check the fast one. It reads the spec directly, asks
// package time for every wall-clock reading, and walks real time minute by
// minute. Every zone offset and interval boundary used in the tests is a
// whole minute, so openness is constant within each Unix minute.
type oracle struct {
	spec     CalendarSpec
	loc      *time.Location
	holidays map[string]bool
	memo     map[string][][2]int // own, by date
}

func newOracle(t testing.TB, spec CalendarSpec) *oracle {
	loc, err := time.LoadLocation(spec.TimeZone)
	require.NoError(t, err)
	o := &oracle{spec: spec, loc: loc, holidays: map[string]bool{}, memo: map[string][][2]int{}}
	for _, h := range spec.Holidays {
		o.holidays[h] = true
	}
	return o
}

func hm(s string) int {
	return (int(s[0]-'0')*10+int(s[1]-'0'))*60 + int(s[3]-'0')*10 + int(s[4]-'0')
}

// own lists a date's open intervals in minutes after its midnight (ends
// past 1440 for overnight intervals).
func (o *oracle) own(y int, mo time.Month, d int) [][2]int {
	key := time.Date(y, mo, d, 12, 0, 0, 0, time.UTC).Format("2006-01-02")
	if v, ok := o.memo[key]; ok {
		return v
	}
	v := o.ownUncached(key, y, mo, d)
	o.memo[key] = v
	return v
}

func (o *oracle) ownUncached(key string, y int, mo time.Month, d int) [][2]int {
	if o.holidays[key] {
		return nil
	}
	ivs, ok := o.spec.Shifts[key]
	if !ok {
		wd := time.Date(y, mo, d, 12, 0, 0, 0, time.UTC).Weekday()
		ivs = o.spec.Hours[weekdayNames[wd]]
	}
	var out [][2]int
	for _, iv := range ivs {
		s, e := hm(iv[0]), hm(iv[1])
		if e <= s {
			e += 1440
		}
		out = append(out, [2]int{s, e})
	}
	// Remove breaks minute by minute.
	var res [][2]int
	for _, iv := range out {
		for m := iv[0]; m < iv[1]; m++ {
			inBreak := false
			for _, b := range o.spec.Breaks[key] {
				bs, be := hm(b[0]), hm(b[1])
				if be <= bs {
					be += 1440
				}
				if m >= bs && m < be {
					inBreak = true
				}
			}
			if inBreak {
				continue
			}
			if n := len(res); n > 0 && res[n-1][1] == m {
				res[n-1][1] = m + 1
			} else {
				res = append(res, [2]int{m, m + 1})
			}
		}
	}
	return res
}

// open reports whether the minute containing u is open.
func (o *oracle) open(u time.Time) bool {
	lt := u.In(o.loc)
	y, mo, d := lt.Date()
	clock := lt.Hour()*60 + lt.Minute()
	if o.holidays[lt.Format("2006-01-02")] {
		return false
	}
	for _, iv := range o.own(y, mo, d) {
		if clock >= iv[0] && clock < iv[1] {
			return true
		}
	}
	for _, iv := range o.own(y, mo, d-1) {
		if clock+1440 >= iv[0] && clock+1440 < iv[1] {
			return true
		}
	}
	return false
}

func minuteFloor(u time.Time) time.Time { return u.Truncate(time.Minute) }

func (o *oracle) elapsed(from, to time.Time) time.Duration {
	if to.Before(from) {
		return -o.elapsed(to, from)
	}
	var sum time.Duration
	for m := minuteFloor(from); m.Before(to); m = m.Add(time.Minute) {
		if !o.open(m) {
			continue
		}
		a, b := m, m.Add(time.Minute)
		if a.Before(from) {
			a = from
		}
		if b.After(to) {
			b = to
		}
		sum += b.Sub(a)
	}
	return sum
}

// add walks forward; ok is false when maxMinutes were not enough.
func (o *oracle) add(t time.Time, d time.Duration, maxMinutes int) (time.Time, bool) {
	if d == 0 {
		return t, true
	}
	m := minuteFloor(t)
	for range maxMinutes {
		next := m.Add(time.Minute)
		if o.open(m) {
			a := m
			if a.Before(t) {
				a = t
			}
			if avail := next.Sub(a); avail >= d {
				return a.Add(d), true
			} else {
				d -= avail
			}
		}
		m = next
	}
	return time.Time{}, false
}

func (o *oracle) sub(t time.Time, d time.Duration, maxMinutes int) (time.Time, bool) {
	if d == 0 {
		return t, true
	}
	m := minuteFloor(t)
	if m.Equal(t) {
		m = m.Add(-time.Minute)
	}
	for range maxMinutes {
		if o.open(m) {
			b := m.Add(time.Minute)
			if b.After(t) {
				b = t
			}
			if avail := b.Sub(m); avail >= d {
				return b.Add(-d), true
			} else {
				d -= avail
			}
		}
		m = m.Add(-time.Minute)
	}
	return time.Time{}, false
}

var oracleZones = []string{
	"America/New_York", "Europe/London", "Australia/Sydney", "Australia/Lord_Howe",
	"Pacific/Chatham", "Africa/Casablanca", "Pacific/Apia", "America/St_Johns",
	"Asia/Kathmandu", "UTC", "Europe/Dublin", "America/Santiago",
}

// randomIntervals returns up to n intervals of one day, sometimes with an
// overnight last interval.
func randomIntervals(r *rand.Rand, n int) []Interval {
	k := r.IntN(n + 1)
	pts := map[int]bool{}
	for len(pts) < 2*k {
		pts[r.IntN(96)*15+r.IntN(2)*r.IntN(15)] = true
	}
	var sorted []int
	for p := range pts {
		sorted = append(sorted, p)
	}
	slices.Sort(sorted)
	var out []Interval
	for i := 0; i+1 < len(sorted); i += 2 {
		out = append(out, Interval{clockStr(sorted[i]), clockStr(sorted[i+1])})
	}
	if len(out) > 0 {
		switch r.IntN(6) {
		case 0: // run the last interval to midnight
			out[len(out)-1][1] = "24:00"
		case 1: // make it overnight
			last := &out[len(out)-1]
			*last = Interval{last[0], clockStr(r.IntN(hm(last[0]) + 1))}
			if last[0] == last[1] {
				out = out[:len(out)-1]
			}
		}
	}
	return out
}

func clockStr(m int) string { return fmt.Sprintf("%02d:%02d", m/60, m%60) }

// zoneChanges returns the instants in [from, to) at which loc's offset
// changes.
func zoneChanges(loc *time.Location, from, to time.Time) []time.Time {
	var out []time.Time
	for t := from.In(loc); t.Before(to); {
		_, end := t.ZoneBounds()
		if end.IsZero() || !end.Before(to) {
			break
		}
		out = append(out, end)
		t = end
	}
	return out
}

// randomCalendar builds a random valid calendar whose exceptions cluster
// around the zone's offset changes of 2025–2027.
func randomCalendar(t testing.TB, r *rand.Rand) (*Calendar, CalendarSpec, []time.Time) {
	for {
		zone := oracleZones[r.IntN(len(oracleZones))]
		loc, _ := time.LoadLocation(zone)
		changes := zoneChanges(loc, time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2028, 1, 1, 0, 0, 0, 0, time.UTC))
		if len(changes) == 0 {
			changes = []time.Time{time.Date(2026, 3, 8, 7, 0, 0, 0, time.UTC)}
		}
		spec := CalendarSpec{Name: "random", TimeZone: zone, Hours: map[string][]Interval{}}
		for _, wd := range weekdayNames {
			if r.IntN(4) > 0 {
				if iv := randomIntervals(r, 3); len(iv) > 0 {
					spec.Hours[wd] = iv
				}
			}
		}
		near := func() string {
			c := changes[r.IntN(len(changes))].In(loc)
			return c.AddDate(0, 0, r.IntN(7)-3).Format("2006-01-02")
		}
		for range r.IntN(4) {
			spec.Holidays = append(spec.Holidays, near())
		}
		for range r.IntN(3) {
			if spec.Shifts == nil {
				spec.Shifts = map[string][]Interval{}
			}
			spec.Shifts[near()] = randomIntervals(r, 2)
		}
		for range r.IntN(3) {
			if spec.Breaks == nil {
				spec.Breaks = map[string][]Interval{}
			}
			spec.Breaks[near()] = randomIntervals(r, 2)
		}
		cal, err := NewCalendar(spec)
		if err != nil {
			continue // overlapping neighbours or an empty week: draw again
		}
		return cal, spec, changes
	}
}

// randomInstant picks an instant near one of changes, at a whole minute,
// a whole second or an arbitrary nanosecond.
func randomInstant(r *rand.Rand, changes []time.Time) time.Time {
	c := changes[r.IntN(len(changes))]
	u := c.Add(time.Duration(r.Int64N(int64(6*24*time.Hour))) - 3*24*time.Hour)
	switch r.IntN(3) {
	case 0:
		return u.Truncate(time.Minute)
	case 1:
		return u.Truncate(time.Second)
	}
	return u
}

func randomDuration(r *rand.Rand) time.Duration {
	switch r.IntN(4) {
	case 0:
		return time.Duration(r.IntN(600)) * time.Minute
	case 1:
		return time.Duration(r.Int64N(int64(30 * time.Hour)))
	case 2:
		return time.Duration(r.IntN(3600)) * time.Second
	}
	return time.Duration(r.IntN(10)) * time.Hour
}

func TestCalendarMatchesOracle(t *testing.T) {
	t.Parallel()
	r := rand.New(rand.NewPCG(1, 2))
	const calendars, queries = 120, 12
	for ci := range calendars {
		cal, spec, changes := randomCalendar(t, r)
		o := newOracle(t, spec)
		seed := r.Uint64()
		t.Run(fmt.Sprintf("%d-%s", ci, spec.TimeZone), func(t *testing.T) {
			t.Parallel()
			r := rand.New(rand.NewPCG(seed, 7))
			for range queries {
				a := randomInstant(r, changes)
				b := a.Add(time.Duration(r.Int64N(int64(16*24*time.Hour))) - 8*24*time.Hour)
				if r.IntN(3) == 0 {
					b = randomInstant(r, changes[:1]) // near a's change or another
					if b.Sub(a).Abs() > 20*24*time.Hour {
						b = a.Add(time.Duration(r.IntN(100)) * time.Minute)
					}
				}
				msg := fmt.Sprintf("spec %+v a=%s b=%s", spec, a.UTC(), b.UTC())
				require.Equal(t, o.open(a), cal.IsOpen(a), "IsOpen "+msg)
				require.Equal(t, o.elapsed(a, b), cal.Elapsed(a, b), "Elapsed "+msg)

				d := randomDuration(r)
				if want, ok := o.add(a, d, 30*24*60); ok {
					got := cal.Add(a, d)
					require.Truef(t, want.Equal(got), "Add(%s) = %s, want %s; %s", d, got.UTC(), want.UTC(), msg)
					require.Equal(t, d, cal.Elapsed(a, got), "Elapsed(t, Add) "+msg)
					require.Equal(t, got, cal.Sub(a, -d), "Sub(-d) "+msg)
				}
				if want, ok := o.sub(b, d, 30*24*60); ok {
					got := cal.Sub(b, d)
					require.Truef(t, want.Equal(got), "Sub(%s) = %s, want %s; %s", d, got.UTC(), want.UTC(), msg)
					require.Equal(t, d, cal.Elapsed(got, b), "Elapsed(Sub, t) "+msg)
				}

				// NextOpen and NextClose against a minute walk (within 30 days).
				next := cal.NextOpen(a)
				if o.open(a) {
					require.Equal(t, a, next, "NextOpen of an open instant "+msg)
				} else if next.Sub(a) < 30*24*time.Hour {
					require.True(t, o.open(next), "NextOpen is open "+msg)
					require.Zero(t, o.elapsed(a, next), "nothing open before NextOpen "+msg)
				}
				closeAt := cal.NextClose(a)
				if closeAt.Sub(a) < 30*24*time.Hour {
					require.False(t, o.open(closeAt), "NextClose is closed "+msg)
					require.True(t, closeAt.After(next), "NextClose after NextOpen "+msg)
					require.Equal(t, closeAt.Sub(next), o.elapsed(next, closeAt), "open from NextOpen to NextClose "+msg)
				}
			}
		})
	}
}
