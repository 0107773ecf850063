package sla

import (
	"cmp"
	"encoding/json"
	"math/big"
	"slices"
	"strings"
	"time"

	"github.com/itsmkit/itsmkit/itsm"
	"github.com/shopspring/decimal"
)

// Sample is one timer cycle as seen by a compliance report: who it belongs
// to and its status at the reporting instant.
type Sample struct {
	// Policy is the ID of the timer's policy.
	Policy string
	// Kind is the policy's kind (SLA, OLA, underpinning contract).
	Kind PolicyKind
	// Metric is the metric the timer measures.
	Metric Metric
	// Priority is the cycle's priority, or 0 when none was recorded.
	Priority itsm.Priority
	// Key is a user-supplied grouping key, such as a service or a team.
	Key string
	// Location is the zone of the policy's calendar, used to assign the
	// cycle to a calendar month; nil means UTC.
	Location *time.Location
	// Status is the cycle's status at the reporting instant.
	Status Status
}

type sampleJSON struct {
	Policy   string        `json:"policy,omitempty"`
	Kind     PolicyKind    `json:"kind"`
	Metric   Metric        `json:"metric,omitempty"`
	Priority itsm.Priority `json:"priority,omitzero"`
	Key      string        `json:"key,omitempty"`
	TimeZone string        `json:"time_zone,omitempty"`
	Status   Status        `json:"status"`
}

// MarshalJSON writes the sample with its zone as an IANA name in
// "time_zone" (left out for UTC or nil).
func (s Sample) MarshalJSON() ([]byte, error) {
	w := sampleJSON{Policy: s.Policy, Kind: s.Kind, Metric: s.Metric, Priority: s.Priority, Key: s.Key, Status: s.Status}
	if s.Location != nil && s.Location != time.UTC {
		w.TimeZone = s.Location.String()
	}
	return json.Marshal(w)
}

// UnmarshalJSON reads the form written by MarshalJSON; an unknown zone is
// an *itsm.ValidationError.
func (s *Sample) UnmarshalJSON(b []byte) error {
	var w sampleJSON
	if err := json.Unmarshal(b, &w); err != nil {
		return err
	}
	loc, err := time.LoadLocation(w.TimeZone)
	if err != nil {
		return itsm.NewValidationError("sample", "time_zone", "unknown time zone %q", w.TimeZone)
	}
	*s = Sample{Policy: w.Policy, Kind: w.Kind, Metric: w.Metric, Priority: w.Priority, Key: w.Key, Location: loc, Status: w.Status}
	return nil
}

// Samples returns one Sample per cycle the timer has started by now, oldest
// first, tagged with key.
func (t *Timer) Samples(now time.Time, key string) []Sample {
	cycles := t.Cycles(now)
	out := make([]Sample, len(cycles))
	var loc *time.Location
	if t.cal != nil {
		loc = t.cal.Location()
	}
	for i, st := range cycles {
		out[i] = Sample{Policy: t.policy, Kind: t.kind, Metric: t.metric, Priority: st.Priority, Key: key, Location: loc, Status: st}
	}
	return out
}

// GroupBy selects the dimensions a compliance report groups by; combine
// them with |. The zero value puts everything in one group.
type GroupBy uint8

// The grouping dimensions.
const (
	// ByPolicy groups by policy ID.
	ByPolicy GroupBy = 1 << iota
	// ByMetric groups by metric.
	ByMetric
	// ByPriority groups by priority.
	ByPriority
	// ByKey groups by the user-supplied Sample.Key.
	ByKey
	// ByMonth groups by the calendar month of the cycle's start in the
	// policy calendar's zone.
	ByMonth
)

var groupByNames = [...]string{"policy", "metric", "priority", "key", "month"}

// String lists the dimensions in a fixed order, comma-separated
// ("policy,month"); empty for the zero value.
func (g GroupBy) String() string {
	var parts []string
	for i, n := range groupByNames {
		if g&(1<<i) != 0 {
			parts = append(parts, n)
		}
	}
	return strings.Join(parts, ",")
}

// MarshalText returns String.
func (g GroupBy) MarshalText() ([]byte, error) { return []byte(g.String()), nil }

// UnmarshalText reads a comma-separated list of dimension names in any
// order and case; an empty text is the zero value.
func (g *GroupBy) UnmarshalText(b []byte) error {
	var v GroupBy
	for p := range strings.SplitSeq(string(b), ",") {
		p = strings.TrimSpace(p)
		if p == "" {
			continue
		}
		i := slices.IndexFunc(groupByNames[:], func(n string) bool { return strings.EqualFold(n, p) })
		if i < 0 {
			return itsm.NewValidationError("group by", "group_by", "unknown dimension %q", p)
		}
		v |= 1 << i
	}
	*g = v
	return nil
}

// GroupKey identifies a compliance group. Dimensions not grouped by are
// left empty.
type GroupKey struct {
	// Policy is the policy ID when grouping ByPolicy.
	Policy string `json:"policy,omitempty"`
	// Metric is the metric when grouping ByMetric.
	Metric Metric `json:"metric,omitempty"`
	// Priority is the cycle's priority when grouping ByPriority; 0 for
	// samples without one.
	Priority itsm.Priority `json:"priority,omitzero"`
	// Key is Sample.Key when grouping ByKey.
	Key string `json:"key,omitempty"`
	// Month is the cycle's start month, "YYYY-MM" in the policy
	// calendar's zone, when grouping ByMonth.
	Month string `json:"month,omitempty"`
}

func (k GroupKey) compare(o GroupKey) int {
	return cmp.Or(
		cmp.Compare(k.Policy, o.Policy), cmp.Compare(k.Metric, o.Metric),
		cmp.Compare(k.Priority, o.Priority), cmp.Compare(k.Key, o.Key), cmp.Compare(k.Month, o.Month))
}

// ComplianceGroup summarises the samples of one group.
type ComplianceGroup struct {
	// Group identifies the group.
	Group GroupKey
	// Total counts the group's started cycles (pending samples are
	// skipped).
	Total int
	// Met counts cycles stopped within target.
	Met int
	// Breached counts cycles whose elapsed time exceeds the target,
	// stopped or still active (a breach is final).
	Breached int
	// InProgress counts active cycles not (yet) breached.
	InProgress int
	// Cancelled counts cancelled cycles; they are left out of the
	// percentage and the statistics.
	Cancelled int
	// MetPercent is 100 × Met / (Met + Breached), computed exactly on
	// integers and rounded half away from zero to four decimal places;
	// zero when Met + Breached is zero.
	MetPercent decimal.Decimal
	// Mean, Median and P90 are statistics of the business elapsed time of
	// the cycles that were stopped (met or breached); zero when there are
	// none. Mean is rounded down to the nanosecond, Median of an even
	// count is the mean of the two middle values, P90 is the nearest-rank
	// 90th percentile (the smallest value with at least 90 % of the values
	// at or below it).
	Mean, Median, P90 time.Duration
	// Stopped counts the cycles the statistics cover.
	Stopped int
}

type complianceGroupJSON struct {
	Group      GroupKey        `json:"group"`
	Total      int             `json:"total"`
	Met        int             `json:"met"`
	Breached   int             `json:"breached"`
	InProgress int             `json:"in_progress"`
	Cancelled  int             `json:"cancelled"`
	MetPercent decimal.Decimal `json:"met_percent"`
	Stopped    int             `json:"stopped"`
	Mean       isoDuration     `json:"mean"`
	Median     isoDuration     `json:"median"`
	P90        isoDuration     `json:"p90"`
}

// MarshalJSON writes the group with snake_case keys and durations as ISO
// 8601 time-only strings.
func (g ComplianceGroup) MarshalJSON() ([]byte, error) {
	return json.Marshal(complianceGroupJSON{
		Group: g.Group, Total: g.Total, Met: g.Met, Breached: g.Breached, InProgress: g.InProgress,
		Cancelled: g.Cancelled, MetPercent: g.MetPercent, Stopped: g.Stopped,
		Mean: isoDuration(g.Mean), Median: isoDuration(g.Median), P90: isoDuration(g.P90),
	})
}

// UnmarshalJSON reads the form written by MarshalJSON.
func (g *ComplianceGroup) UnmarshalJSON(b []byte) error {
	var w complianceGroupJSON
	if err := json.Unmarshal(b, &w); err != nil {
		return err
	}
	*g = ComplianceGroup{
		Group: w.Group, Total: w.Total, Met: w.Met, Breached: w.Breached, InProgress: w.InProgress,
		Cancelled: w.Cancelled, MetPercent: w.MetPercent, Stopped: w.Stopped,
		Mean: time.Duration(w.Mean), Median: time.Duration(w.Median), P90: time.Duration(w.P90),
	}
	return nil
}

// Compliance groups samples by the chosen dimensions and summarises each
// group. Groups are returned sorted by policy, metric, priority, key and
// month; a group exists only if it has at least one started sample.
func Compliance(samples []Sample, by GroupBy) []ComplianceGroup {
	type acc struct {
		g     ComplianceGroup
		times []time.Duration
	}
	groups := map[GroupKey]*acc{}
	for _, s := range samples {
		st := s.Status
		if st.Stage == StagePending {
			continue
		}
		k := groupKeyOf(s, by)
		a := groups[k]
		if a == nil {
			a = &acc{g: ComplianceGroup{Group: k}}
			groups[k] = a
		}
		a.g.Total++
		switch st.Stage {
		case StageMet:
			a.g.Met++
		case StageBreached:
			a.g.Breached++
		case StageCancelled:
			a.g.Cancelled++
		default:
			a.g.InProgress++
		}
		if !st.Ended.IsZero() && (st.Stage == StageMet || st.Stage == StageBreached) {
			a.times = append(a.times, st.Elapsed)
		}
	}
	out := make([]ComplianceGroup, 0, len(groups))
	for _, a := range groups {
		g := a.g
		if d := g.Met + g.Breached; d > 0 {
			g.MetPercent = percentOf(int64(g.Met), int64(d), 4)
		}
		g.Stopped = len(a.times)
		g.Mean, g.Median, g.P90 = durationStats(a.times)
		out = append(out, g)
	}
	slices.SortFunc(out, func(a, b ComplianceGroup) int { return a.Group.compare(b.Group) })
	return out
}

func groupKeyOf(s Sample, by GroupBy) GroupKey {
	var k GroupKey
	if by&ByPolicy != 0 {
		k.Policy = s.Policy
	}
	if by&ByMetric != 0 {
		k.Metric = s.Metric
	}
	if by&ByPriority != 0 {
		k.Priority = s.Priority
	}
	if by&ByKey != 0 {
		k.Key = s.Key
	}
	if by&ByMonth != 0 {
		loc := s.Location
		if loc == nil {
			loc = time.UTC
		}
		k.Month = s.Status.Started.In(loc).Format("2006-01")
	}
	return k
}

// durationStats returns the mean (rounded down), the median and the
// nearest-rank 90th percentile of ds, sorting ds in place.
func durationStats(ds []time.Duration) (mean, median, p90 time.Duration) {
	n := len(ds)
	if n == 0 {
		return 0, 0, 0
	}
	slices.Sort(ds)
	sum := new(big.Int)
	for _, d := range ds {
		sum.Add(sum, big.NewInt(int64(d)))
	}
	q := new(big.Int)
	q.Div(sum, big.NewInt(int64(n))) // Euclidean: rounds down for a positive divisor
	mean = time.Duration(q.Int64())
	if n%2 == 1 {
		median = ds[n/2]
	} else {
		a, b := ds[n/2-1], ds[n/2]
		median = a + (b-a)/2
	}
	rank := (9*n + 9) / 10 // ceil(0.9 n)
	p90 = ds[rank-1]
	return mean, median, p90
}
