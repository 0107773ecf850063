package sla

import (
	"cmp"
	"encoding/json"
	"slices"
	"strconv"
	"time"

	"github.com/itsmkit/itsmkit/itsm"
	"github.com/shopspring/decimal"
)

// Outage is a half-open interval [Start, End) of real time, such as a
// service outage or (for Timer.StartWithPauses) a pause. A zero End means
// "still going on" where the caller allows it.
type Outage struct {
	// Start is the first instant of the interval.
	Start time.Time `json:"start"`
	// End is the first instant after the interval.
	End time.Time `json:"end,omitzero"`
}

// AvailabilityReport is the availability of a service over one period.
type AvailabilityReport struct {
	// From is the first instant of the period [From, To).
	From time.Time `json:"from"`
	// To is the first instant after the period.
	To time.Time `json:"to"`
	// Agreed is the agreed service time in the period: the open time of
	// the service-hours calendar.
	Agreed time.Duration `json:"-"`
	// Downtime is the agreed service time lost to outages, with
	// overlapping outages merged and time outside agreed hours ignored.
	Downtime time.Duration `json:"-"`
}

type availabilityJSON struct {
	From     time.Time       `json:"from"`
	To       time.Time       `json:"to"`
	Agreed   isoDuration     `json:"agreed"`
	Downtime isoDuration     `json:"downtime"`
	Percent  decimal.Decimal `json:"percent"`
}

// MarshalJSON writes {"from","to","agreed","downtime","percent"} with
// durations as ISO 8601 time-only strings; "percent" is derived.
func (r AvailabilityReport) MarshalJSON() ([]byte, error) {
	return json.Marshal(availabilityJSON{From: r.From, To: r.To, Agreed: isoDuration(r.Agreed), Downtime: isoDuration(r.Downtime), Percent: r.Percent()})
}

// UnmarshalJSON reads the form written by MarshalJSON; "percent" is
// ignored.
func (r *AvailabilityReport) UnmarshalJSON(b []byte) error {
	var w availabilityJSON
	if err := json.Unmarshal(b, &w); err != nil {
		return err
	}
	*r = AvailabilityReport{From: w.From, To: w.To, Agreed: time.Duration(w.Agreed), Downtime: time.Duration(w.Downtime)}
	return nil
}

// Uptime is Agreed − Downtime.
func (r AvailabilityReport) Uptime() time.Duration { return r.Agreed - r.Downtime }

// Percent returns the availability, 100 × (Agreed − Downtime) / Agreed,
// rounded half away from zero to four decimal places; 100 when no service
// time was agreed in the period.
func (r AvailabilityReport) Percent() decimal.Decimal {
	if r.Agreed <= 0 {
		return decimal.NewFromInt(100)
	}
	return percentOf(int64(r.Uptime()), int64(r.Agreed), 4)
}

// Below reports whether the exact availability is strictly below pct
// percent, without rounding. No agreed time counts as 100 %.
func (r AvailabilityReport) Below(pct decimal.Decimal) bool {
	if r.Agreed <= 0 {
		return decimal.NewFromInt(100).LessThan(pct)
	}
	up := decimal.NewFromInt(int64(r.Uptime())).Mul(decimal.NewFromInt(100))
	return up.LessThan(pct.Mul(decimal.NewFromInt(int64(r.Agreed))))
}

// Availability measures the service over [from, to) against the agreed
// service hours. Outages are clipped to the period, merged where they
// overlap or touch, and only their time inside agreed hours counts. An
// outage with a zero End is taken to last until to. It fails with an
// *itsm.ValidationError for a nil calendar, to before from, or an outage
// that ends before it starts.
func Availability(hours *Calendar, from, to time.Time, outages []Outage) (AvailabilityReport, error) {
	v := &itsm.ValidationError{Subject: "availability"}
	if hours == nil {
		v.Add("hours", "calendar is required")
	}
	if to.Before(from) {
		v.Add("to", "is before from")
	}
	for i, o := range outages {
		if !o.End.IsZero() && o.End.Before(o.Start) {
			v.Add("outages["+strconv.Itoa(i)+"]", "ends before it starts")
		}
	}
	if err := v.Err(); err != nil {
		return AvailabilityReport{}, err
	}
	r := AvailabilityReport{From: from, To: to, Agreed: hours.Elapsed(from, to)}
	clipped := make([]Outage, 0, len(outages))
	for _, o := range outages {
		if o.End.IsZero() || o.End.After(to) {
			o.End = to
		}
		if o.Start.Before(from) {
			o.Start = from
		}
		if o.End.After(o.Start) {
			clipped = append(clipped, o)
		}
	}
	slices.SortFunc(clipped, func(a, b Outage) int { return a.Start.Compare(b.Start) })
	for i := 0; i < len(clipped); {
		cur := clipped[i]
		j := i + 1
		for ; j < len(clipped) && !clipped[j].Start.After(cur.End); j++ {
			if clipped[j].End.After(cur.End) {
				cur.End = clipped[j].End
			}
		}
		r.Downtime += hours.Elapsed(cur.Start, cur.End)
		i = j
	}
	return r, nil
}

// CreditTier is one row of a service-credit table: when availability is
// strictly below Below percent, the customer is credited Credit percent of
// the fee.
type CreditTier struct {
	// Below is the availability threshold in percent, in (0, 100].
	Below decimal.Decimal `json:"below"`
	// Credit is the share of the fee credited, in percent, in [0, 100].
	Credit decimal.Decimal `json:"credit"`
}

// CreditTable is a set of tiers, such as below 99.9 % → 5 % and below
// 99 % → 15 %. The lowest threshold that applies wins. Build it with
// NewCreditTable or validate a decoded one with Validate.
type CreditTable []CreditTier

// NewCreditTable returns the tiers sorted by Below, highest first, after
// Validate.
func NewCreditTable(tiers ...CreditTier) (CreditTable, error) {
	t := slices.Clone(CreditTable(tiers))
	if err := t.Validate(); err != nil {
		return nil, err
	}
	slices.SortFunc(t, func(a, b CreditTier) int { return b.Below.Cmp(a.Below) })
	return t, nil
}

// Validate checks every tier's range, that no two tiers share a threshold,
// and that a lower threshold never gives a smaller credit. Problems are
// reported in one *itsm.ValidationError with fields "[i].below" and
// "[i].credit".
func (t CreditTable) Validate() error {
	v := &itsm.ValidationError{Subject: "credit table"}
	hundred := decimal.NewFromInt(100)
	for i, tier := range t {
		f := "[" + strconv.Itoa(i) + "]"
		if !tier.Below.IsPositive() || tier.Below.GreaterThan(hundred) {
			v.Add(f+".below", "%s is outside (0, 100]", tier.Below)
		}
		if tier.Credit.IsNegative() || tier.Credit.GreaterThan(hundred) {
			v.Add(f+".credit", "%s is outside [0, 100]", tier.Credit)
		}
	}
	if v.Err() != nil {
		return v
	}
	idx := make([]int, len(t))
	for i := range idx {
		idx[i] = i
	}
	slices.SortFunc(idx, func(a, b int) int { return cmp.Or(t[b].Below.Cmp(t[a].Below), a-b) })
	for k := 1; k < len(idx); k++ {
		prev, cur := t[idx[k-1]], t[idx[k]]
		f := "[" + strconv.Itoa(idx[k]) + "]"
		if cur.Below.Equal(prev.Below) {
			v.Add(f+".below", "duplicate threshold %s", cur.Below)
		} else if cur.Credit.LessThan(prev.Credit) {
			v.Add(f+".credit", "%s%% below %s%% is less than the %s%% credit of a higher threshold", cur.Credit, cur.Below, prev.Credit)
		}
	}
	return v.Err()
}

// Tier returns the tier that applies to r (the one with the lowest Below
// above the exact availability) and true, or false when none applies.
func (t CreditTable) Tier(r AvailabilityReport) (CreditTier, bool) {
	var best CreditTier
	found := false
	for _, tier := range t {
		if r.Below(tier.Below) && (!found || tier.Below.LessThan(best.Below)) {
			best, found = tier, true
		}
	}
	return best, found
}

// Credit returns the service credit for r on a fee: fee × Credit / 100 of
// the applicable tier, exact (no rounding), or zero when no tier applies.
func (t CreditTable) Credit(r AvailabilityReport, fee decimal.Decimal) decimal.Decimal {
	tier, ok := t.Tier(r)
	if !ok {
		return decimal.Zero
	}
	return fee.Mul(tier.Credit).Shift(-2)
}
