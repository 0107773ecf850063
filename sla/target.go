package sla

import (
	"math/big"
	"strconv"
	"strings"
	"time"

	"github.com/itsmkit/itsmkit/itsm"
	"github.com/rickb777/period"
)

// Target is how much business time a metric may take. It has one of two
// forms, both written as ISO 8601 durations:
//
//   - business time, a time-only duration such as "PT4H", "PT30M" or
//     "PT1H30M": that much open time on the policy's calendar;
//   - business days, a day-only duration such as "P2D": the work is due by
//     the close of the n-th open day after the day the timer starts
//     (Calendar.AddDays). When a timer cycle starts at instant s, the target
//     becomes the business duration Elapsed(s, AddDays(s, n)); pauses then
//     extend it like any other target. A "P1D" ticket logged on Friday
//     morning on a Monday-to-Friday calendar is therefore due at Monday's
//     close, and a ticket logged on Saturday is due at Monday's close too.
//
// Mixed forms ("P1DT4H"), years, months, weeks and fractional days are
// refused with a *TargetError because they have no single business meaning.
// The zero Target means "no target"; a valid target is positive.
type Target struct {
	business time.Duration
	days     int
}

// BusinessTime returns a target of d open time on the policy's calendar.
func BusinessTime(d time.Duration) Target { return Target{business: d} }

// BusinessDays returns a target due by the close of the n-th open day after
// the start date (see Target).
func BusinessDays(n int) Target { return Target{days: n} }

// ParseTarget reads an ISO 8601 duration in one of the two forms described
// at Target. A syntax error or an unsupported form yields a *TargetError;
// negative and zero values parse, and Validate refuses them.
func ParseTarget(s string) (Target, error) {
	p, err := period.Parse(strings.TrimSpace(s))
	if err != nil {
		return Target{}, &TargetError{Text: s, Reason: "not an ISO 8601 duration"}
	}
	if p.Years() != 0 || p.Months() != 0 || p.Weeks() != 0 ||
		!p.YearsDecimal().IsZero() || !p.MonthsDecimal().IsZero() || !p.WeeksDecimal().IsZero() {
		return Target{}, &TargetError{Text: s, Reason: "years, months and weeks have no business meaning; use days or hours"}
	}
	days := p.DaysDecimal()
	hms := p.OnlyHMS()
	if !days.IsZero() {
		if !hms.IsZero() {
			return Target{}, &TargetError{Text: s, Reason: "mixes business days with a time of day; use either PnD or PTnHnM"}
		}
		if !days.IsInt() {
			return Target{}, &TargetError{Text: s, Reason: "business days must be a whole number"}
		}
		return Target{days: p.Days()}, nil
	}
	d, ok := exactHMS(hms)
	if !ok {
		return Target{}, &TargetError{Text: s, Reason: "out of range or finer than a nanosecond"}
	}
	return Target{business: d}, nil
}

// MustParseTarget is ParseTarget that panics on error; for tests and
// package-level constants only.
func MustParseTarget(s string) Target {
	t, err := ParseTarget(s)
	if err != nil {
		panic(err)
	}
	return t
}

// IsZero reports whether t is the zero Target ("no target").
func (t Target) IsZero() bool { return t.business == 0 && t.days == 0 }

// Equal reports whether t and o are the same target in the same form
// ("P1D" and "PT8H" differ even on a calendar with 8-hour days).
func (t Target) Equal(o Target) bool { return t == o }

// Business returns the business-time amount and true for a business-time
// target, or 0 and false for a business-days target.
func (t Target) Business() (time.Duration, bool) { return t.business, t.days == 0 }

// Days returns the number of business days and true for a business-days
// target, or 0 and false otherwise.
func (t Target) Days() (int, bool) { return t.days, t.days != 0 }

// Validate returns a *TargetError unless t is positive.
func (t Target) Validate() error {
	if t.business > 0 || t.days > 0 {
		return nil
	}
	return &TargetError{Text: t.String(), Reason: "must be positive"}
}

// Resolve converts t to business time for a cycle starting at start on cal.
// A business-time target is returned unchanged; a business-days target
// becomes cal.Elapsed(start, cal.AddDays(start, n)). Resolve returns 0 for a
// target that is not positive.
func (t Target) Resolve(cal *Calendar, start time.Time) time.Duration {
	if t.days > 0 {
		return cal.Elapsed(start, cal.AddDays(start, t.days))
	}
	if t.business > 0 {
		return t.business
	}
	return 0
}

// String returns the ISO 8601 form: "P2D" for business days, a time-only
// duration such as "PT4H30M" otherwise, "PT0S" for the zero Target.
func (t Target) String() string {
	switch {
	case t.days < 0:
		return "-P" + strconv.Itoa(-t.days) + "D"
	case t.days > 0:
		return "P" + strconv.Itoa(t.days) + "D"
	}
	return FormatISODuration(t.business)
}

// MarshalText returns String.
func (t Target) MarshalText() ([]byte, error) { return []byte(t.String()), nil }

// UnmarshalText parses with ParseTarget.
func (t *Target) UnmarshalText(b []byte) error {
	v, err := ParseTarget(string(b))
	if err != nil {
		return err
	}
	*t = v
	return nil
}

// TargetError reports a target that cannot be used: a malformed or
// unsupported ISO 8601 duration, or a value that is not positive. It matches
// itsm.ErrValidation.
type TargetError struct {
	// Text is the target as written.
	Text string
	// Reason says what is wrong.
	Reason string
}

// Error says which target is wrong and why.
func (e *TargetError) Error() string { return "sla: target " + strconv.Quote(e.Text) + ": " + e.Reason }

// Unwrap returns itsm.ErrValidation.
func (e *TargetError) Unwrap() error { return itsm.ErrValidation }

// FormatISODuration writes d as a time-only ISO 8601 duration: hours,
// minutes and seconds, with fractional seconds down to the nanosecond and
// hours not folded into days ("PT36H", "PT1H30M", "PT0.5S", "-PT15M"). Zero
// is "PT0S". It is the form every duration in this package's JSON takes.
func FormatISODuration(d time.Duration) string {
	if d == 0 {
		return "PT0S"
	}
	var b [48]byte
	out := b[:0]
	u := uint64(d)
	if d < 0 {
		out = append(out, '-')
		u = -u
	}
	out = append(out, 'P', 'T')
	h := u / uint64(time.Hour)
	u -= h * uint64(time.Hour)
	m := u / uint64(time.Minute)
	u -= m * uint64(time.Minute)
	if h > 0 {
		out = strconv.AppendUint(out, h, 10)
		out = append(out, 'H')
	}
	if m > 0 {
		out = strconv.AppendUint(out, m, 10)
		out = append(out, 'M')
	}
	if u > 0 {
		s := u / uint64(time.Second)
		ns := u % uint64(time.Second)
		out = strconv.AppendUint(out, s, 10)
		if ns > 0 {
			frac := strconv.AppendUint(nil, ns+uint64(time.Second), 10)[1:] // 9 digits, zero-padded
			frac = []byte(strings.TrimRight(string(frac), "0"))
			out = append(out, '.')
			out = append(out, frac...)
		}
		out = append(out, 'S')
	}
	return string(out)
}

// ParseISODuration reads a time-only ISO 8601 duration such as "PT4H",
// "PT1H30M15.5S" or "-PT15M" exactly, to the nanosecond. Days, weeks,
// months and years are refused because their length in real time is not
// fixed; the error matches itsm.ErrValidation.
func ParseISODuration(s string) (time.Duration, error) {
	p, err := period.Parse(strings.TrimSpace(s))
	if err != nil {
		return 0, itsm.NewValidationError("duration", "duration", "%q is not an ISO 8601 duration", s)
	}
	if !p.OnlyYMWD().IsZero() {
		return 0, itsm.NewValidationError("duration", "duration", "%q: only hours, minutes and seconds are allowed", s)
	}
	d, ok := exactHMS(p)
	if !ok {
		return 0, itsm.NewValidationError("duration", "duration", "%q is out of range or finer than a nanosecond", s)
	}
	return d, nil
}

// exactHMS returns the hours, minutes and seconds of p as a duration, and
// false when they are not a whole number of nanoseconds or lie outside the
// range of time.Duration. period.Period.Duration cannot serve: it wraps
// around on overflow and calls the result precise ("PT5124096H" would be
// 25 minutes), so the sum is made exactly, in rational numbers.
func exactHMS(p period.Period) (time.Duration, bool) {
	sum := new(big.Rat)
	for _, f := range [...]struct {
		v    string
		unit time.Duration
	}{{p.HoursDecimal().String(), time.Hour}, {p.MinutesDecimal().String(), time.Minute}, {p.SecondsDecimal().String(), time.Second}} {
		x, ok := new(big.Rat).SetString(f.v)
		if !ok {
			return 0, false
		}
		sum.Add(sum, x.Mul(x, new(big.Rat).SetInt64(int64(f.unit))))
	}
	if !sum.IsInt() || !sum.Num().IsInt64() {
		return 0, false
	}
	return time.Duration(sum.Num().Int64()), true
}
