package storagetest

import (
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/shopspring/decimal"

	"github.com/itsmkit/itsmkit/itsm"
	"github.com/itsmkit/itsmkit/record"
	"github.com/itsmkit/itsmkit/sla"
)

// t0 is the instant the fixtures are built around: whole seconds, UTC, a
// Monday. tNow is the instant the SLA fixtures are judged at.
var (
	t0   = time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)
	tNow = t0.Add(24 * time.Hour)
)

// The pools the generator draws header fields and attribute values from.
// Text holds LIKE's wildcards, white space and letters outside ASCII, so
// that text round trips and filters are put to the test.
var (
	poolActors = []itsm.Actor{
		{ID: "carol", Name: "Carol", Roles: []itsm.Role{"employee"}},
		{ID: "ann", Name: "Ann Ødegård", Roles: []itsm.Role{"employee", "vip"}},
		{ID: "bob"},
	}
	poolGroups       = []string{"", "service-desk", "network-ops", "field-service"}
	poolAssignees    = []string{"", "dave", "erin", "frank"}
	poolServices     = []string{"", "email", "vpn", "printing", "hr"}
	poolConfigItems  = []string{"mx-01", "mx-02", "fw-01", "prn-3", "db-7"}
	poolCategories   = []string{"", "network", "hardware", "software", "access"}
	poolWatchers     = []string{"gina", "hal", "ivy"}
	poolTitles       = []string{"Mail relay down", "VPN drops", "Outlook slow", "Printer jam", "Cannot log in", "Disk 50% full", "a_b broken", "ÉCRAN noir", "Straße gesperrt", "Ωmega down"}
	poolDescriptions = []string{"Users cannot send mail", "Tunnel resets every hour", "Floor 3 PRINTER", "Überweisung hängt", "", "First line\nsecond line"}
	poolTexts        = []string{"alpha", "Beta 50%", "gamma_ray", "Délta", "epsilon", ""}
	poolInts         = []int64{-1 << 40, -17, 0, 3, 42, 250, 1<<53 + 1}
	poolDecimals     = []string{"0", "12.5", "-3.75", "100", "0.001"}
	poolTimes        = []time.Time{
		time.Date(1, 1, 1, 0, 0, 0, 1000, time.UTC),
		time.Date(1200, 3, 1, 12, 0, 0, 0, time.UTC),
		t0,
		t0.Add(90*time.Minute + 123456*time.Microsecond),
		time.Date(2500, 7, 4, 8, 30, 0, 0, time.UTC),
		time.Date(9999, 12, 31, 23, 59, 59, 999999000, time.UTC),
	}
)

// pick returns an element of pool chosen by r.
func pick[T any](r *rand.Rand, pool []T) T { return pool[r.IntN(len(pool))] }

// gen generates records of one kind from its schema: states from the
// schema's states, attribute values from its declarations (required ones
// always set) and header fields drawn from the pools. A record depends
// only on the seed and its index.
type gen struct {
	schema *record.Schema
	states []record.StateDef
	attrs  []record.Attribute
	seed   uint64
}

func newGen(s *record.Schema, seed uint64) *gen {
	return &gen{schema: s, states: s.States(), attrs: s.Attributes(), seed: seed}
}

// kind returns the generator's kind.
func (g *gen) kind() string { return g.schema.Kind() }

// id returns the ID of the i-th record.
func (g *gen) id(i int) string { return fmt.Sprintf("st-%06d", i) }

// ref returns the Ref of the i-th record.
func (g *gen) ref(i int) record.Ref { return record.Ref{Kind: g.kind(), ID: g.id(i)} }

// number returns the number of the i-th record.
func (g *gen) number(i int) string { return fmt.Sprintf("%s%07d", g.schema.Prefix(), i+1) }

// rng returns the random source of the i-th record.
func (g *gen) rng(i int) *rand.Rand { return rand.New(rand.NewPCG(g.seed, uint64(i))) }

// record returns the i-th record: in state i modulo the number of states,
// opened i minutes after t0, with its resolved and closed instants set as
// its state's category asks, and every other field drawn from the pools.
func (g *gen) record(i int) *record.Record {
	r := g.rng(i)
	st := g.states[i%len(g.states)]
	opened := t0.Add(time.Duration(i) * time.Minute)
	actor := pick(r, poolActors)
	actor.Roles = append([]itsm.Role(nil), actor.Roles...)
	rec := &record.Record{Header: record.Header{
		Kind:            g.kind(),
		ID:              g.id(i),
		Number:          g.number(i),
		Title:           fmt.Sprintf("%s #%d", pick(r, poolTitles), i),
		Description:     pick(r, poolDescriptions),
		State:           st.Name,
		StateCategory:   st.Category,
		Impact:          itsm.Impact(1 + r.IntN(3)),
		Urgency:         itsm.Urgency(1 + r.IntN(3)),
		Priority:        itsm.Priority(1 + r.IntN(5)),
		Requester:       actor,
		AssignmentGroup: pick(r, poolGroups),
		Assignee:        pick(r, poolAssignees),
		Service:         pick(r, poolServices),
		Category:        pick(r, poolCategories),
		Major:           r.IntN(5) == 0,
		OpenedAt:        opened,
		UpdatedAt:       opened.Add(time.Duration(r.IntN(3600)) * time.Second),
	}}
	for _, k := range r.Perm(len(poolWatchers))[:r.IntN(len(poolWatchers)+1)] {
		rec.Watchers = append(rec.Watchers, poolWatchers[k])
	}
	for _, k := range r.Perm(len(poolConfigItems))[:r.IntN(4)] {
		rec.ConfigItems = append(rec.ConfigItems, poolConfigItems[k])
	}
	g.setInstants(rec, opened.Add(time.Duration(1+r.IntN(48))*time.Hour), opened.Add(time.Duration(49+r.IntN(48))*time.Hour))
	rec.Attrs = g.attrValues(r)
	if r.IntN(8) > 0 {
		rec.Body = fmt.Appendf(nil, `{"v": 1, "seq": %d, "tags": [%q, "x"], "nested": {"k": %d, "s": "ü \"q\""}, "none": null}`,
			i, pick(r, poolTexts), r.IntN(4))
	}
	return rec
}

// setInstants sets rec.ResolvedAt to resolved when its state's category
// is resolved or closed and rec.ClosedAt to closed when it is closed or
// cancelled; it clears them otherwise.
func (g *gen) setInstants(rec *record.Record, resolved, closed time.Time) {
	rec.ResolvedAt, rec.ClosedAt = time.Time{}, time.Time{}
	switch rec.StateCategory {
	case itsm.CategoryResolved:
		rec.ResolvedAt = resolved
	case itsm.CategoryClosed:
		rec.ResolvedAt, rec.ClosedAt = resolved, closed
	case itsm.CategoryCancelled:
		rec.ClosedAt = closed
	}
}

// setState moves rec to st and sets its instants as setInstants does.
func (g *gen) setState(rec *record.Record, st record.StateDef, resolved, closed time.Time) {
	rec.State, rec.StateCategory = st.Name, st.Category
	g.setInstants(rec, resolved, closed)
}

// attrValues returns values for the declared attributes: every required
// one and about two in three of the others.
func (g *gen) attrValues(r *rand.Rand) map[string]record.Value {
	attrs := make(map[string]record.Value)
	for _, a := range g.attrs {
		if a.Required || r.IntN(3) > 0 {
			attrs[a.Name] = attrValue(a, r)
		}
	}
	return attrs
}

// attrValue returns a value of a's type drawn from the pools.
func attrValue(a record.Attribute, r *rand.Rand) record.Value {
	switch a.Type {
	case record.AttrInt:
		return record.Int(pick(r, poolInts))
	case record.AttrDecimal:
		return record.Decimal(decimal.RequireFromString(pick(r, poolDecimals)))
	case record.AttrBool:
		return record.Bool(r.IntN(2) == 0)
	case record.AttrTime:
		return record.Time(pick(r, poolTimes))
	case record.AttrChoice:
		return record.Text(pick(r, a.Choices))
	default:
		return record.Text(pick(r, poolTexts))
	}
}

// The timer scenarios of the SLA fixtures, judged at tNow (h(x) is x
// hours from tNow; targets are 4 hours of 24×7 time unless said):
const (
	scNone           = iota // no timer
	scStale                 // started h(-5), saved at h(-2): breached by tNow, at risk at h(-1.5)
	scBreached              // started h(-5), saved at tNow: breached
	scAtRisk                // started h(-3.5): at risk; plus a healthy 8-hour timer of the other metric
	scPausedAtRisk          // started h(-5), paused at h(-1.5): at risk while paused
	scHealthy               // started h(-1): at risk from h(2), breached from h(3)
	scMet                   // started h(-5), stopped at h(-2): met
	scPausedBreached        // started h(-6), paused at h(-1): breached at h(-2), paused
	numScenarios
)

var (
	policyKinds = []sla.PolicyKind{sla.KindSLA, sla.KindOLA, sla.KindUC}
	metrics     = []sla.Metric{sla.MetricResolution, sla.MetricResponse}
	policies    = []string{"gold", "silver"}
)

// newTimer returns a started 24×7 timer with the default warnings (50 %
// and 75 %). Its arguments are fixed by the suite, so an error is a bug
// of the suite and panics.
func newTimer(policy string, metric sla.Metric, target time.Duration, start time.Time) *sla.Timer {
	tm, err := sla.NewTimer(sla.AlwaysOpen(time.UTC), sla.BusinessTime(target), nil, policy, metric, itsm.PriorityHigh)
	if err != nil {
		panic(err)
	}
	must(tm.Start(start))
	return tm
}

func must(err error) {
	if err != nil {
		panic(err)
	}
}

// timerRecord returns the TimerRecord a service saves for tm at saved
// (record.NewTimerRecord), with its derived instants truncated to the
// microsecond, which is what a store keeps. (While the breach is the next
// threshold, NextWakeAt lies a nanosecond after the breach.)
func timerRecord(ref record.Ref, id string, kind sla.PolicyKind, tm *sla.Timer, saved time.Time) record.TimerRecord {
	r := record.NewTimerRecord(ref, id, kind, tm, saved)
	r.AtRiskAt = r.AtRiskAt.Truncate(time.Microsecond)
	r.BreachAt = r.BreachAt.Truncate(time.Microsecond)
	r.NextWakeAt = r.NextWakeAt.Truncate(time.Microsecond)
	return r
}

// scenarioTimers returns the timers of scenario sc for ref, judged around
// now; variant chooses the policy, its kind and the metric.
func scenarioTimers(ref record.Ref, sc, variant int, now time.Time) []record.TimerRecord {
	h := func(x float64) time.Time { return now.Add(time.Duration(x * float64(time.Hour))) }
	policy := policies[variant%len(policies)]
	kind := policyKinds[variant%len(policyKinds)]
	metric := metrics[variant%len(metrics)]
	id := policy + "/" + string(metric)
	one := func(tm *sla.Timer, saved time.Time) []record.TimerRecord {
		return []record.TimerRecord{timerRecord(ref, id, kind, tm, saved)}
	}
	const target = 4 * time.Hour
	switch sc {
	case scStale:
		return one(newTimer(policy, metric, target, h(-5)), h(-2))
	case scBreached:
		return one(newTimer(policy, metric, target, h(-5)), now)
	case scAtRisk:
		otherMetric := metrics[(variant+1)%len(metrics)]
		otherKind := policyKinds[(variant+1)%len(policyKinds)]
		return []record.TimerRecord{
			timerRecord(ref, id, kind, newTimer(policy, metric, target, h(-3.5)), now),
			timerRecord(ref, policy+"/"+string(otherMetric), otherKind, newTimer(policy, otherMetric, 8*time.Hour, h(-3.5)), now),
		}
	case scPausedAtRisk:
		tm := newTimer(policy, metric, target, h(-5))
		must(tm.Pause(h(-1.5), "awaiting caller"))
		return one(tm, now)
	case scHealthy:
		return one(newTimer(policy, metric, target, h(-1)), now)
	case scMet:
		tm := newTimer(policy, metric, target, h(-5))
		must(tm.Stop(h(-2), "resolved"))
		return one(tm, now)
	case scPausedBreached:
		tm := newTimer(policy, metric, target, h(-6))
		must(tm.Pause(h(-1), "awaiting vendor"))
		return one(tm, now)
	}
	return nil
}

// summaryOf returns the SLA summary a store derives from timers, the
// timers of one record in the order they were first saved.
func summaryOf(timers []record.TimerRecord) record.Summary {
	var s record.Summary
	for _, t := range timers {
		s = append(s, t.Summary())
	}
	return s
}

// fixture is a generated record with its timers, as the suite stores
// them, and the record a store must return for it.
type fixture struct {
	rec    *record.Record
	timers []record.TimerRecord
}

// want returns the record a store returns for f after Create: version 1
// and the SLA summary of f's timers.
func (f fixture) want() *record.Record {
	w := f.rec.Clone()
	w.Version = 1
	w.SLA = summaryOf(f.timers)
	return w
}

// population returns n generated records with timers for the List
// checks. Instants repeat in groups (so that IDs break ties), some lie in
// the years 1200 and 2500 (beyond what a nanosecond count can hold), some
// carry microseconds, and the SLA scenarios are spread over the records.
// What population draws besides the record does not depend on the
// schema, so every kind gets the same instants, parents and timers.
// Some records are children of others, some of a record of other with an
// ID that also exists in the kind, to tell parents by kind.
func (g *gen) population(n int, other record.Ref) []fixture {
	out := make([]fixture, n)
	for i := range n {
		rec := g.record(i)
		r := g.rng(i + n) // independent of the record's own draws
		grp := i / 3
		shift := func(t time.Time) time.Time {
			switch grp % 13 {
			case 4:
				return t.AddDate(1200-2026, 0, 0)
			case 9:
				return t.AddDate(2500-2026, 0, 0)
			}
			return t
		}
		rec.OpenedAt = shift(t0.Add(time.Duration(grp*97%1000)*time.Minute + time.Duration(grp%7)*time.Microsecond))
		rec.UpdatedAt = rec.OpenedAt.Add(time.Hour)
		// Resolved and closed instants do not follow the state here, so
		// that every kind gets enough of them whatever its states.
		rec.ResolvedAt, rec.ClosedAt = time.Time{}, time.Time{}
		if r.IntN(5) < 3 {
			rec.ResolvedAt = shift(t0.Add(time.Duration(30+i*11%20) * time.Hour))
		}
		if r.IntN(5) < 2 {
			rec.ClosedAt = shift(t0.Add(time.Duration(60+i*7%15) * time.Hour))
		}
		switch {
		case i%6 == 5:
			rec.Parent = g.ref(i / 6)
		case i%10 == 7:
			rec.Parent = other
		default:
			rec.Parent = record.Ref{}
		}
		out[i] = fixture{rec: rec, timers: scenarioTimers(rec.Ref(), r.IntN(numScenarios), r.IntN(6), tNow)}
	}
	return out
}
