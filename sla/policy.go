package sla

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/itsmkit/itsmkit/itsm"
	"github.com/shopspring/decimal"
)

// PolicyKind says whom a policy binds: the customer (SLA), another team of
// the same provider (OLA) or an external supplier (underpinning contract).
// The zero value is KindSLA.
type PolicyKind uint8

// The policy kinds.
const (
	// KindSLA is a service level agreement with a customer.
	KindSLA PolicyKind = iota
	// KindOLA is an operational level agreement between internal teams.
	KindOLA
	// KindUC is an underpinning contract with an external supplier.
	KindUC
)

var policyKindNames = [...]string{"sla", "ola", "uc"}

// String returns "sla", "ola" or "uc", or "kind(N)" for an unknown value.
func (k PolicyKind) String() string {
	if int(k) < len(policyKindNames) {
		return policyKindNames[k]
	}
	return "kind(" + strconv.Itoa(int(k)) + ")"
}

// MarshalText returns String, refusing an unknown kind.
func (k PolicyKind) MarshalText() ([]byte, error) {
	if int(k) >= len(policyKindNames) {
		return nil, itsm.NewValidationError("policy kind", "kind", "unknown kind %d", int(k))
	}
	return []byte(k.String()), nil
}

// UnmarshalText accepts "sla", "ola" or "uc" in any case; an empty text
// means KindSLA.
func (k *PolicyKind) UnmarshalText(b []byte) error {
	s := strings.TrimSpace(string(b))
	if s == "" {
		*k = KindSLA
		return nil
	}
	for i, n := range policyKindNames {
		if strings.EqualFold(s, n) {
			*k = PolicyKind(i)
			return nil
		}
	}
	return itsm.NewValidationError("policy kind", "kind", "unknown kind %q (want sla, ola or uc)", s)
}

// Metric names what a target measures. MetricResponse and MetricResolution
// are predefined; any other non-empty name ("update", "callback") is a
// user-defined metric.
type Metric string

// The predefined metrics.
const (
	// MetricResponse measures the time to the first response.
	MetricResponse Metric = "response"
	// MetricResolution measures the time to resolution.
	MetricResolution Metric = "resolution"
)

// MaxWarnings is the largest number of warning thresholds a policy may set.
const MaxWarnings = 4

// DefaultWarnings are the warning thresholds of a policy that sets none:
// 50 % and 75 % of the target.
func DefaultWarnings() []decimal.Decimal {
	return []decimal.Decimal{decimal.NewFromInt(50), decimal.NewFromInt(75)}
}

// CalendarSource resolves a calendar name. Calendars is the simplest
// implementation; a service may back it with storage.
type CalendarSource interface {
	// Calendar returns the calendar called name, or false if there is none.
	Calendar(name string) (*Calendar, bool)
}

// Calendars is a CalendarSource backed by a map from name to calendar. A
// nil map knows no calendars.
type Calendars map[string]*Calendar

// Calendar returns c[name] and whether it is present and not nil.
func (c Calendars) Calendar(name string) (*Calendar, bool) {
	cal, ok := c[name]
	return cal, ok && cal != nil
}

// PolicySpec is the stored form of a Policy, as written in JSON:
//
//	{
//	  "id": "gold-incident",
//	  "name": "Gold incident SLA",
//	  "kind": "sla",
//	  "calendar": "us-9-5",
//	  "warnings": ["50", "75"],
//	  "targets": {
//	    "response":   {"1": "PT15M", "2": "PT30M", "3": "PT1H", "4": "PT4H", "5": "P2D"},
//	    "resolution": {"1": "PT4H", "2": "PT8H", "3": "P2D", "4": "P5D", "5": "P10D"}
//	  }
//	}
//
// Priorities are written as digits, labels ("P1") or names ("critical") and
// marshal as names. Targets are ISO 8601 durations (see Target).
type PolicySpec struct {
	// ID identifies the policy; required.
	ID string `json:"id"`
	// Name is a human-readable title; optional.
	Name string `json:"name,omitempty"`
	// Kind is sla (the default), ola or uc.
	Kind PolicyKind `json:"kind"`
	// Calendar names the business calendar the targets run on. Empty means
	// around the clock (24×7) in TimeZone.
	Calendar string `json:"calendar,omitempty"`
	// TimeZone is the IANA zone of a 24×7 policy (default UTC); it sets the
	// local dates of business-day targets and of monthly reports. It must
	// be empty when Calendar is set, since the calendar has its own zone.
	TimeZone string `json:"time_zone,omitempty"`
	// Warnings are the warning thresholds in percent of the target,
	// strictly increasing, each above 0 and below 100, with at most two
	// decimal places and at most MaxWarnings of them. Nil means
	// DefaultWarnings; an empty, non-nil slice means no warnings. The
	// breach threshold is always 100 %.
	Warnings []decimal.Decimal `json:"warnings"`
	// Targets holds, per metric, a target for every priority 1..5.
	Targets map[Metric]map[itsm.Priority]Target `json:"targets"`
}

// Policy is a validated, immutable SLA, OLA or underpinning contract: its
// calendar is resolved and every metric has a positive target for each of
// the five priorities. It is safe for concurrent use.
type Policy struct {
	spec     PolicySpec
	cal      *Calendar
	warnings [MaxWarnings]int32 // basis points
	nwarn    int
}

// NewPolicy validates spec and resolves its calendar through src (which may
// be nil for a 24×7 policy). Every problem found is reported in one
// *itsm.ValidationError whose fields name the offending part: "id", "kind",
// "calendar" (unknown calendar), "time_zone", "warnings" or "warnings[i]"
// (out of range, out of order, too precise, too many), "targets" (none),
// "targets.<metric>" (empty metric name), "targets.<metric>.<priority>"
// (missing priority, priority outside 1..5, target not positive).
func NewPolicy(spec PolicySpec, src CalendarSource) (*Policy, error) {
	v := &itsm.ValidationError{Subject: "policy " + strconv.Quote(spec.ID)}
	p := &Policy{}
	if strings.TrimSpace(spec.ID) == "" {
		v.Add("id", "is required")
	}
	if int(spec.Kind) >= len(policyKindNames) {
		v.Add("kind", "unknown kind %d", int(spec.Kind))
	}
	switch {
	case spec.Calendar == "":
		loc, err := time.LoadLocation(spec.TimeZone)
		if err != nil || strings.EqualFold(spec.TimeZone, "local") {
			v.Add("time_zone", "unknown time zone %q", spec.TimeZone)
		} else {
			p.cal = AlwaysOpen(loc)
		}
	case spec.TimeZone != "":
		v.Add("time_zone", "must be empty when a calendar is named; the calendar's zone applies")
	default:
		var cal *Calendar
		ok := false
		if src != nil {
			cal, ok = src.Calendar(spec.Calendar)
		}
		if !ok {
			v.Add("calendar", "unknown calendar %q", spec.Calendar)
		}
		p.cal = cal
	}
	warnings := spec.Warnings
	if warnings == nil {
		warnings = DefaultWarnings()
	}
	if len(warnings) > MaxWarnings {
		v.Add("warnings", "at most %d warning thresholds, got %d", MaxWarnings, len(warnings))
	} else {
		bps, bad := warningBasisPoints(warnings, v)
		if !bad {
			p.nwarn = copy(p.warnings[:], bps[:len(warnings)])
		}
	}
	if len(spec.Targets) == 0 {
		v.Add("targets", "at least one metric is required")
	}
	for _, m := range sortedMetrics(spec.Targets) {
		byPrio := spec.Targets[m]
		field := "targets." + string(m)
		if strings.TrimSpace(string(m)) == "" {
			v.Add(field, "metric name is empty")
		}
		for prio := itsm.MinPriority; prio <= itsm.MaxPriority; prio++ {
			t, ok := byPrio[prio]
			f := field + "." + strconv.Itoa(int(prio))
			switch {
			case !ok:
				v.Add(f, "missing target for priority %d", int(prio))
			case t.Validate() != nil:
				v.Add(f, "target %s must be positive", t)
			}
		}
		for _, prio := range slices.Sorted(maps.Keys(byPrio)) {
			if !prio.Valid() {
				v.Add(field+"."+strconv.Itoa(int(prio)), "priority %d is outside %d..%d", int(prio), itsm.MinPriority, itsm.MaxPriority)
			}
		}
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	p.spec = clonePolicySpec(spec)
	if p.spec.Warnings == nil {
		p.spec.Warnings = DefaultWarnings()
	}
	return p, nil
}

// warningBasisPoints converts warning percentages to basis points,
// recording problems in v. bad reports whether any was found.
func warningBasisPoints(ws []decimal.Decimal, v *itsm.ValidationError) (bps [MaxWarnings]int32, bad bool) {
	hundred := decimal.NewFromInt(100)
	for i, w := range ws {
		f := "warnings[" + strconv.Itoa(i) + "]"
		switch {
		case !w.IsPositive() || w.GreaterThanOrEqual(hundred):
			v.Add(f, "%s is outside (0, 100)", w)
			bad = true
			continue
		case !w.Shift(2).IsInteger():
			v.Add(f, "%s has more than two decimal places", w)
			bad = true
			continue
		}
		bps[i] = int32(w.Shift(2).IntPart())
		if i > 0 && !bad && bps[i] <= bps[i-1] {
			v.Add(f, "%s is not above the previous threshold %s", w, ws[i-1])
			bad = true
		}
	}
	return bps, bad
}

// ParsePolicy decodes one policy from JSON (see PolicySpec) and validates it
// with NewPolicy. Unknown fields are refused. Malformed JSON yields an
// *itsm.ValidationError with field "json"; a malformed target yields a
// *TargetError; both match itsm.ErrValidation.
func ParsePolicy(data []byte, src CalendarSource) (*Policy, error) {
	var spec PolicySpec
	if err := decodePolicyJSON(data, &spec); err != nil {
		return nil, err
	}
	return NewPolicy(spec, src)
}

// ParsePolicies decodes a JSON array of policies and validates each one.
// Policy IDs must be unique. The first problem is returned, and it says
// which element it concerns.
func ParsePolicies(data []byte, src CalendarSource) ([]*Policy, error) {
	var specs []PolicySpec
	if err := decodePolicyJSON(data, &specs); err != nil {
		return nil, err
	}
	out := make([]*Policy, 0, len(specs))
	seen := make(map[string]int, len(specs))
	for i, s := range specs {
		if j, dup := seen[s.ID]; dup {
			return nil, itsm.NewValidationError("policies", "["+strconv.Itoa(i)+"].id", "duplicate id %q (also at [%d])", s.ID, j)
		}
		seen[s.ID] = i
		p, err := NewPolicy(s, src)
		if err != nil {
			return nil, fmt.Errorf("sla: policies[%d]: %w", i, err)
		}
		out = append(out, p)
	}
	return out, nil
}

func decodePolicyJSON(data []byte, dst any) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	err := dec.Decode(dst)
	if err == nil && dec.More() {
		err = errors.New("trailing data after the JSON value")
	}
	if err == nil {
		return nil
	}
	var te *TargetError
	if errors.As(err, &te) {
		return te
	}
	return itsm.NewValidationError("policy", "json", "%v", err)
}

// ID returns the policy's identifier.
func (p *Policy) ID() string { return p.spec.ID }

// Name returns the policy's title, which may be empty.
func (p *Policy) Name() string { return p.spec.Name }

// Kind returns whether this is an SLA, OLA or underpinning contract.
func (p *Policy) Kind() PolicyKind { return p.spec.Kind }

// Calendar returns the resolved calendar: the named one, or a 24×7
// calendar in the policy's zone.
func (p *Policy) Calendar() *Calendar { return p.cal }

// CalendarName returns the calendar's name as written in the policy; it is
// empty for a 24×7 policy.
func (p *Policy) CalendarName() string { return p.spec.Calendar }

// Warnings returns the warning thresholds in percent, in increasing order.
func (p *Policy) Warnings() []decimal.Decimal { return slices.Clone(p.spec.Warnings) }

// Metrics returns the policy's metrics in lexical order.
func (p *Policy) Metrics() []Metric { return sortedMetrics(p.spec.Targets) }

// Target returns the target for metric at priority, or false when the
// policy does not measure metric or priority is outside 1..5.
func (p *Policy) Target(metric Metric, priority itsm.Priority) (Target, bool) {
	t, ok := p.spec.Targets[metric][priority]
	return t, ok
}

// Spec returns a deep copy of the policy's stored form, with Warnings
// filled in when the policy used the defaults.
func (p *Policy) Spec() PolicySpec { return clonePolicySpec(p.spec) }

// MarshalJSON writes the policy as its PolicySpec. To read it back use
// ParsePolicy, which needs a CalendarSource to resolve the calendar.
func (p *Policy) MarshalJSON() ([]byte, error) { return json.Marshal(p.spec) }

// NewTimer returns an unstarted timer for metric at priority under this
// policy, carrying its calendar, target and warnings. It fails with an
// *itsm.ValidationError when the policy has no such metric or priority is
// outside 1..5.
func (p *Policy) NewTimer(metric Metric, priority itsm.Priority) (*Timer, error) {
	t, ok := p.Target(metric, priority)
	if !ok {
		return nil, itsm.NewValidationError("timer", "metric", "policy %q has no %q target for priority %d", p.spec.ID, metric, int(priority))
	}
	return &Timer{
		policy:   p.spec.ID,
		kind:     p.spec.Kind,
		metric:   metric,
		priority: priority,
		calName:  p.spec.Calendar,
		cal:      p.cal,
		target:   t,
		warnings: p.warnings,
		nwarn:    p.nwarn,
	}, nil
}

func clonePolicySpec(s PolicySpec) PolicySpec {
	c := s
	if s.Warnings != nil {
		c.Warnings = slices.Clone(s.Warnings)
	}
	if s.Targets != nil {
		c.Targets = make(map[Metric]map[itsm.Priority]Target, len(s.Targets))
		for m, byPrio := range s.Targets {
			inner := make(map[itsm.Priority]Target, len(byPrio))
			for k, t := range byPrio {
				inner[k] = t
			}
			c.Targets[m] = inner
		}
	}
	return c
}

func sortedMetrics[V any](m map[Metric]V) []Metric {
	return slices.Sorted(maps.Keys(m))
}
