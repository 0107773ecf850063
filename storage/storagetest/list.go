package storagetest

import (
	"cmp"
	"context"
	"encoding/base64"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/require"

	"github.com/itsmkit/itsmkit/itsm"
	"github.com/itsmkit/itsmkit/record"
	"github.com/itsmkit/itsmkit/sla"
)

// popSize is the number of records of the List population.
const popSize = 150

// pageLimit is the page size of the paged List checks: small, so that a
// population spans many pages, and prime, so that pages end anywhere.
const pageLimit = 7

var orders = []record.Order{record.ByOpened, record.ByResolved, record.ByClosed}

// pop is the List population of one check, as stored.
type pop struct {
	e *env
	// want holds the records a store returns, with their SLA summaries.
	want []*record.Record
	// other names a record of the second kind with the ID of a record of
	// the kind under test; some records have it as their parent.
	other record.Ref
}

// population stores the List population: popSize generated records
// with timers, created in an order unlike List order, and a few records
// of the second kind with the same IDs, which no query of the kind may
// return.
func (e *env) population() *pop {
	e.t.Helper()
	p := &pop{e: e, other: record.Ref{Kind: e.other.Kind(), ID: e.gen.id(1)}}
	fs := e.gen.population(popSize, p.other)
	var theirs []*record.Record
	for i := range 10 {
		rec := e.og.record(i)
		rec.OpenedAt = fs[i].rec.OpenedAt
		theirs = append(theirs, rec)
	}
	e.create(theirs...)
	// Create in a permuted order (7 is prime to popSize), in a few
	// transactions.
	for first := 0; first < popSize; first += 50 {
		var batch []fixture
		for i := first; i < min(first+50, popSize); i++ {
			batch = append(batch, fs[i*7%popSize])
		}
		e.put(batch...)
	}
	for _, f := range fs {
		p.want = append(p.want, f.want())
	}
	p.requireTies()
	return p
}

// requireTies checks that the population has ties on each order's
// instant, so that the tie breaking by ID is put to the test.
func (p *pop) requireTies() {
	for _, o := range orders {
		seen := make(map[time.Time]bool)
		tie := false
		for _, r := range p.want {
			if at, ok := o.Key(r); ok {
				tie = tie || seen[at]
				seen[at] = true
			}
		}
		require.Truef(p.e.t, tie, "storagetest: the population has no tie in the %s order", o)
	}
}

// listOrder compares a and b in the List order o, both having o's
// instant.
func listOrder(o record.Order) func(a, b *record.Record) int {
	return func(a, b *record.Record) int {
		x, _ := o.Key(a)
		y, _ := o.Key(b)
		if c := x.Compare(y); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	}
}

// matching returns the records of recs that q matches, in q's order:
// what List must return over all its pages.
func matching(q record.Query, recs []*record.Record) []*record.Record {
	var out []*record.Record
	for _, r := range recs {
		if q.Match(r) {
			out = append(out, r)
		}
	}
	slices.SortFunc(out, listOrder(q.Order))
	return out
}

// filterCase is one query of a List filter check. The check fails when
// Query.Match selects nothing for it from the population (unless empty
// is set) or everything (unless all is set), so that a store ignoring
// the filter cannot pass.
type filterCase struct {
	name  string
	q     record.Query
	empty bool
	all   bool
}

// requireQueries runs each case in every order against the population:
// one page of MaxPageSize and pages of pageLimit must both list exactly
// what Query.Match selects, in order, each record whole with its SLA
// summary; and List inside a transaction agrees.
func (p *pop) requireQueries(cases []filterCase) {
	e := p.e
	e.t.Helper()
	require.NotEmpty(e.t, cases, "storagetest: no filter case")
	for _, c := range cases {
		q := c.q
		q.Kind = e.gen.kind()
		sel := matching(q, p.want)
		switch {
		case c.empty:
			require.Emptyf(e.t, sel, "storagetest: fixture selects records for %s", c.name)
		case len(sel) == 0:
			e.t.Fatalf("storagetest: fixture selects no record for %s", c.name)
		case !c.all && len(sel) == len(p.want):
			e.t.Fatalf("storagetest: fixture selects every record for %s", c.name)
		}
		for _, o := range orders {
			q.Order = o
			p.requireList(c.name, q)
		}
	}
}

// requireList checks List with q over the population.
func (p *pop) requireList(name string, q record.Query) {
	e := p.e
	e.t.Helper()
	want := matching(q, p.want)
	what := fmt.Sprintf("%s in the %s order", name, q.Order)

	one := q
	one.Limit = record.MaxPageSize
	page, err := e.store.List(e.ctx, one)
	require.NoError(e.t, err, what)
	require.Equal(e.t, refs(want), refs(page.Records), what)
	require.Empty(e.t, page.Next, "%s: a single page has no Next cursor", what)
	requireRecords(e.t, want, page.Records)

	paged := q
	paged.Limit = pageLimit
	got, pages := e.collect(e.store, paged, nil)
	require.Equal(e.t, refs(want), refs(got), "%s, in pages of %d", what, pageLimit)
	require.Equal(e.t, max(1, (len(want)+pageLimit-1)/pageLimit), pages, "%s: number of pages", what)

	if q.Order == record.ByOpened {
		e.tx(func(ctx context.Context, tx record.Tx) {
			page, err := tx.List(ctx, one)
			require.NoError(e.t, err, what)
			require.Equal(e.t, refs(want), refs(page.Records), "%s, inside a transaction", what)
		})
	}
}

// collect pages through List with q on r and returns every record seen
// and the number of pages; between pages it calls between with the page
// index.
func (e *env) collect(r record.Reader, q record.Query, between func(i int)) ([]*record.Record, int) {
	e.t.Helper()
	var all []*record.Record
	for i := 0; ; i++ {
		require.Less(e.t, i, 10000, "List does not come to an end")
		page, err := r.List(e.ctx, q)
		require.NoError(e.t, err)
		require.LessOrEqual(e.t, len(page.Records), q.PageSize(), "List returned more than its limit")
		all = append(all, page.Records...)
		if page.Next == "" {
			return all, i + 1
		}
		require.Len(e.t, page.Records, q.PageSize(), "a page with a Next cursor must be full")
		q.After = page.Next
		if between != nil {
			between(i)
		}
	}
}

// values returns the distinct values of field among recs, most frequent
// first (ties in order of first appearance), leaving out zero values.
func values[T comparable](recs []*record.Record, field func(*record.Record) []T) []T {
	var zero T
	count := make(map[T]int)
	var order []T
	for _, r := range recs {
		for _, v := range field(r) {
			if v == zero {
				continue
			}
			if count[v] == 0 {
				order = append(order, v)
			}
			count[v]++
		}
	}
	slices.SortStableFunc(order, func(a, b T) int { return cmp.Compare(count[b], count[a]) })
	return order
}

// instants returns the distinct set instants of the order o among recs,
// sorted.
func instants(recs []*record.Record, o record.Order) []time.Time {
	var out []time.Time
	for _, r := range recs {
		if at, ok := o.Key(r); ok {
			out = append(out, at)
		}
	}
	slices.SortFunc(out, time.Time.Compare)
	return slices.CompactFunc(out, time.Time.Equal)
}

// filterGroups are the List filter checks, each a function of the
// population.
var filterGroups = []struct {
	name  string
	cases func(p *pop) []filterCase
}{
	{"None", func(p *pop) []filterCase { return []filterCase{{name: "none", all: true}} }},
	{"State", func(p *pop) []filterCase {
		var cs []filterCase
		states := p.e.gen.states
		for _, st := range states {
			cs = append(cs, filterCase{name: st.Name, q: record.Query{States: []string{st.Name}}, all: len(states) == 1})
		}
		if len(states) > 2 {
			cs = append(cs, filterCase{name: "several", q: record.Query{States: []string{states[2].Name, states[0].Name}}})
		}
		return cs
	}},
	{"StateCategory", func(p *pop) []filterCase {
		var cs []filterCase
		var have []itsm.StateCategory
		for _, st := range p.e.gen.states {
			if !slices.Contains(have, st.Category) {
				have = append(have, st.Category)
			}
		}
		for _, c := range itsm.StateCategories() {
			q := record.Query{StateCategories: []itsm.StateCategory{c}}
			cs = append(cs, filterCase{name: c.String(), q: q, empty: !slices.Contains(have, c), all: len(have) == 1})
		}
		cs = append(cs, filterCase{name: "open", q: record.Query{StateCategories: []itsm.StateCategory{itsm.CategoryPending, itsm.CategoryNew, itsm.CategoryActive}},
			empty: !slices.ContainsFunc(have, itsm.StateCategory.Open), all: !slices.ContainsFunc(have, func(c itsm.StateCategory) bool { return !c.Open() })})
		return cs
	}},
	{"Priority", func(p *pop) []filterCase {
		var cs []filterCase
		for pr := itsm.PriorityCritical; pr <= itsm.PriorityPlanning; pr++ {
			cs = append(cs, filterCase{name: fmt.Sprint(int(pr)), q: record.Query{Priorities: []itsm.Priority{pr}}})
		}
		return append(cs, filterCase{name: "several", q: record.Query{Priorities: []itsm.Priority{itsm.PriorityPlanning, itsm.PriorityCritical}}})
	}},
	{"Assignee", func(p *pop) []filterCase {
		return []filterCase{
			{name: "dave", q: record.Query{Assignee: "dave"}},
			{name: "erin", q: record.Query{Assignee: "erin"}},
			{name: "nobody", q: record.Query{Assignee: "nobody"}, empty: true},
		}
	}},
	{"AssignmentGroup", func(p *pop) []filterCase {
		return []filterCase{
			{name: "network-ops", q: record.Query{AssignmentGroup: "network-ops"}},
			{name: "service-desk", q: record.Query{AssignmentGroup: "service-desk"}},
			{name: "prefix", q: record.Query{AssignmentGroup: "network"}, empty: true},
		}
	}},
	{"Service", func(p *pop) []filterCase {
		return []filterCase{
			{name: "email", q: record.Query{Service: "email"}},
			{name: "vpn", q: record.Query{Service: "vpn"}},
			{name: "case", q: record.Query{Service: "EMAIL"}, empty: true},
		}
	}},
	{"ConfigItem", func(p *pop) []filterCase {
		return []filterCase{
			{name: "mx-01", q: record.Query{ConfigItem: "mx-01"}},
			{name: "db-7", q: record.Query{ConfigItem: "db-7"}},
			{name: "part", q: record.Query{ConfigItem: "mx"}, empty: true},
		}
	}},
	{"Category", func(p *pop) []filterCase {
		return []filterCase{
			{name: "network", q: record.Query{Category: "network"}},
			{name: "access", q: record.Query{Category: "access"}},
		}
	}},
	{"Requester", func(p *pop) []filterCase {
		return []filterCase{
			{name: "ann", q: record.Query{Requester: "ann"}},
			{name: "bob", q: record.Query{Requester: "bob"}},
			{name: "by name", q: record.Query{Requester: "Carol"}, empty: true},
		}
	}},
	{"Parent", func(p *pop) []filterCase {
		g := p.e.gen
		return []filterCase{
			{name: "first", q: record.Query{Parent: g.ref(0)}},
			{name: "fourth", q: record.Query{Parent: g.ref(3)}},
			{name: "same ID", q: record.Query{Parent: g.ref(1)}},
			{name: "other kind", q: record.Query{Parent: p.other}},
			{name: "childless", q: record.Query{Parent: g.ref(popSize - 1)}, empty: true},
		}
	}},
	{"Major", func(p *pop) []filterCase {
		yes, no := true, false
		return []filterCase{
			{name: "true", q: record.Query{Major: &yes}},
			{name: "false", q: record.Query{Major: &no}},
		}
	}},
	{"Opened", func(p *pop) []filterCase { return rangeCases(p, record.ByOpened) }},
	{"Resolved", func(p *pop) []filterCase { return rangeCases(p, record.ByResolved) }},
	{"Closed", func(p *pop) []filterCase { return rangeCases(p, record.ByClosed) }},
	{"SLA", func(p *pop) []filterCase {
		early, late := tNow.Add(-90*time.Minute), tNow.Add(150*time.Minute)
		sf := func(f record.SLAFilter, now time.Time) record.Query { return record.Query{SLA: f, Now: now} }
		return []filterCase{
			{name: "breached", q: sf(record.SLAFilter{Breached: true}, tNow)},
			{name: "breached earlier", q: sf(record.SLAFilter{Breached: true}, early)},
			{name: "breached later", q: sf(record.SLAFilter{Breached: true}, late)},
			{name: "at risk", q: sf(record.SLAFilter{AtRisk: true}, tNow)},
			{name: "at risk earlier", q: sf(record.SLAFilter{AtRisk: true}, early)},
			{name: "at risk later", q: sf(record.SLAFilter{AtRisk: true}, late)},
			{name: "metric", q: sf(record.SLAFilter{Metric: sla.MetricResolution}, time.Time{})},
			{name: "other metric", q: sf(record.SLAFilter{Metric: sla.MetricResponse}, time.Time{})},
			{name: "unknown metric", q: sf(record.SLAFilter{Metric: "storagetest_none"}, time.Time{}), empty: true},
			{name: "policy kind", q: sf(record.SLAFilter{PolicyKinds: []sla.PolicyKind{sla.KindOLA}}, time.Time{})},
			{name: "policy kinds", q: sf(record.SLAFilter{PolicyKinds: []sla.PolicyKind{sla.KindUC, sla.KindSLA}}, time.Time{})},
			{name: "breached metric", q: sf(record.SLAFilter{Breached: true, Metric: sla.MetricResponse}, tNow)},
			{name: "breached policy kind", q: sf(record.SLAFilter{Breached: true, PolicyKinds: []sla.PolicyKind{sla.KindSLA}}, tNow)},
			{name: "at risk metric", q: sf(record.SLAFilter{AtRisk: true, Metric: sla.MetricResolution}, tNow)},
			{name: "at risk policy kinds", q: sf(record.SLAFilter{AtRisk: true, PolicyKinds: []sla.PolicyKind{sla.KindOLA, sla.KindUC}}, tNow)},
			{name: "metric and policy kind", q: sf(record.SLAFilter{Metric: sla.MetricResponse, PolicyKinds: []sla.PolicyKind{sla.KindUC}}, time.Time{})},
		}
	}},
	{"Text", func(p *pop) []filterCase {
		g := p.e.gen
		tc := func(text string, empty bool) filterCase {
			return filterCase{name: fmt.Sprintf("%q", text), q: record.Query{Text: text}, empty: empty}
		}
		return []filterCase{
			tc("Printer", false),
			tc("printer", false), // a title and a description
			tc("tunnel", false),  // descriptions only
			tc(g.number(5), false),
			tc(strings.ToLower(g.number(12)), false),
			tc(g.number(15)[len(g.number(15))-4:], false),
			tc("#1", false),
			tc("%", false),
			tc("50%", false),
			tc("_", false),
			tc("a_b", false),
			tc("a%b", true),
			tc("écran", false),
			tc("ÜBERWEISUNG", false),
			tc("straße", false),
			tc("STRASSE", true),
			tc("ωMEGA", false),
			tc("line\nsecond", false),
			{name: "space", q: record.Query{Text: " "}, all: true},
			tc("kernel panic", true),
		}
	}},
	{"Combined", combinedCases},
	{"RepeatedValues", repeatedCases},
}

// repeatedCases returns filters that name a value twice: a record
// matching it is listed once.
func repeatedCases(p *pop) []filterCase {
	st := p.e.gen.states[0]
	cs := []filterCase{
		{name: "states", q: record.Query{States: []string{st.Name, st.Name}}, all: len(p.e.gen.states) == 1},
		{name: "categories", q: record.Query{StateCategories: []itsm.StateCategory{st.Category, st.Category}},
			all: !slices.ContainsFunc(p.e.gen.states, func(s record.StateDef) bool { return s.Category != st.Category })},
		{name: "priorities", q: record.Query{Priorities: []itsm.Priority{itsm.PriorityHigh, itsm.PriorityLow, itsm.PriorityHigh}}},
		{name: "policy kinds", q: record.Query{SLA: record.SLAFilter{PolicyKinds: []sla.PolicyKind{sla.KindOLA, sla.KindOLA}}}},
	}
	for _, a := range p.e.gen.attrs {
		i := slices.IndexFunc(p.want, func(r *record.Record) bool { _, ok := r.Attrs[a.Name]; return ok })
		if i < 0 {
			continue
		}
		v := p.want[i].Attrs[a.Name]
		cs = append(cs, filterCase{name: "attribute " + a.Name, q: record.Query{Attrs: []record.AttrFilter{
			{Name: a.Name, In: []record.Value{v, v}}, {Name: a.Name, In: []record.Value{v}},
		}}, all: !slices.ContainsFunc(p.want, func(r *record.Record) bool { return !r.Attrs[a.Name].Equal(v) })})
	}
	return cs
}

// rangeCases returns range filters on the instant of order o, with ends
// on the population's instants (a record on From is in, one on To is
// out), open ends, a range one microsecond wide, and ranges far before
// and after today.
func rangeCases(p *pop, o record.Order) []filterCase {
	ts := instants(p.want, o)
	require.Greater(p.e.t, len(ts), 12, "storagetest: too few %s instants", o)
	q := func(r record.Range) record.Query {
		switch o {
		case record.ByResolved:
			return record.Query{Resolved: r}
		case record.ByClosed:
			return record.Query{Closed: r}
		}
		return record.Query{Opened: r}
	}
	far := func(y int) time.Time { return time.Date(y, 1, 1, 0, 0, 0, 0, time.UTC) }
	n := len(ts)
	first := time.Date(1, 1, 1, 0, 0, 0, 1000, time.UTC)
	return []filterCase{
		{name: "from to", q: q(record.Range{From: ts[n/4], To: ts[3*n/4]})},
		{name: "from", q: q(record.Range{From: ts[n/2]})},
		{name: "to", q: q(record.Range{To: ts[n/3]})},
		{name: "one microsecond", q: q(record.Range{From: ts[n/2], To: ts[n/2].Add(time.Microsecond)})},
		{name: "just before", q: q(record.Range{From: ts[n/2].Add(-time.Microsecond), To: ts[n/2]}), empty: true},
		{name: "from the first instant", q: q(record.Range{From: first}), all: o == record.ByOpened},
		{name: "to the last instant", q: q(record.Range{To: time.Date(9999, 12, 31, 23, 59, 59, 999999000, time.UTC)}), all: o == record.ByOpened},
		{name: "year 2500", q: q(record.Range{From: far(2300)})},
		{name: "year 1200", q: q(record.Range{To: far(1500)})},
		{name: "middle ages to today", q: q(record.Range{From: far(1100), To: far(2100)})},
		{name: "none after 2600", q: q(record.Range{From: far(2600)}), empty: true},
	}
}

// combinedCases returns queries that combine filters, ending with one
// that sets every filter at once, built from a record that has most
// fields set.
func combinedCases(p *pop) []filterCase {
	g := p.e.gen
	yes := true
	cs := []filterCase{
		{name: "state and group", q: record.Query{States: []string{g.states[0].Name, g.states[len(g.states)-1].Name}, AssignmentGroup: "network-ops"}},
		{name: "service and assignee", q: record.Query{Service: "vpn", Assignee: "erin"}},
		{name: "breached and service", q: record.Query{SLA: record.SLAFilter{Breached: true}, Now: tNow, Service: "email"}},
		{name: "at risk and assignee", q: record.Query{SLA: record.SLAFilter{AtRisk: true}, Now: tNow, Assignee: "dave"}},
		{name: "text and category", q: record.Query{Text: "o", StateCategories: []itsm.StateCategory{g.states[0].Category}}},
		{name: "priorities and breached", q: record.Query{Priorities: []itsm.Priority{itsm.PriorityHigh, itsm.PriorityLow}, SLA: record.SLAFilter{Breached: true}, Now: tNow}},
		{name: "major and config item", q: record.Query{Major: &yes, ConfigItem: "mx-02"}},
		{name: "opened and requester", q: record.Query{Opened: record.Range{From: t0}, Requester: "carol"}},
		{name: "nothing in common", q: record.Query{Assignee: "dave", Requester: "carol", Service: "hr", Category: "access", Major: &yes}, empty: true},
	}
	// Attribute filters combined with others take their values from one
	// record, so that they match at least that one.
	for _, a := range g.attrs {
		i := slices.IndexFunc(p.want, func(r *record.Record) bool { _, ok := r.Attrs[a.Name]; return ok && r.Service != "" })
		if i < 0 {
			continue
		}
		r := p.want[i]
		cs = append(cs, filterCase{name: "attribute " + a.Name + " and service", q: record.Query{
			Attrs: []record.AttrFilter{{Name: a.Name, In: []record.Value{r.Attrs[a.Name]}}}, Service: r.Service}})
	}
	if len(g.attrs) > 1 {
		a, b := g.attrs[0], g.attrs[1]
		i := slices.IndexFunc(p.want, func(r *record.Record) bool {
			_, okA := r.Attrs[a.Name]
			_, okB := r.Attrs[b.Name]
			return okA && okB
		})
		if i >= 0 {
			r := p.want[i]
			cs = append(cs, filterCase{name: "two attributes", q: record.Query{Attrs: []record.AttrFilter{
				{Name: a.Name, In: []record.Value{r.Attrs[a.Name]}},
				{Name: b.Name, In: []record.Value{r.Attrs[b.Name]}},
			}}})
		}
	}
	return append(cs, filterCase{name: "every filter", q: everyFilter(p)})
}

// everyFilter returns a query that sets every filter, each to a value of
// the population record that has the most fields set, so that it matches
// that record at least.
func everyFilter(p *pop) record.Query {
	score := func(r *record.Record) int {
		n := len(r.Attrs) + len(r.SLA)
		for _, set := range []bool{r.Assignee != "", r.AssignmentGroup != "", r.Service != "", len(r.ConfigItems) > 0,
			r.Category != "", !r.Parent.IsZero(), r.Major, !r.ResolvedAt.IsZero(), !r.ClosedAt.IsZero()} {
			if set {
				n += 2
			}
		}
		return n
	}
	best := p.want[0]
	for _, r := range p.want {
		if score(r) > score(best) {
			best = r
		}
	}
	span := func(at time.Time) record.Range {
		if at.IsZero() {
			return record.Range{}
		}
		return record.Range{From: at, To: at.Add(time.Microsecond)}
	}
	q := record.Query{
		States:          []string{best.State},
		StateCategories: []itsm.StateCategory{best.StateCategory},
		Priorities:      []itsm.Priority{best.Priority},
		Assignee:        best.Assignee,
		AssignmentGroup: best.AssignmentGroup,
		Service:         best.Service,
		Category:        best.Category,
		Requester:       best.Requester.ID,
		Parent:          best.Parent,
		Major:           &best.Major,
		Opened:          span(best.OpenedAt),
		Resolved:        span(best.ResolvedAt),
		Closed:          span(best.ClosedAt),
		Text:            best.Title[strings.LastIndexByte(best.Title, '#'):],
	}
	if len(best.ConfigItems) > 0 {
		q.ConfigItem = best.ConfigItems[len(best.ConfigItems)-1]
	}
	for _, a := range p.e.gen.attrs {
		if v, ok := best.Attrs[a.Name]; ok {
			f := record.AttrFilter{Name: a.Name, In: []record.Value{v}}
			if a.Type.Ordered() {
				f.Min, f.Max = v, v
			}
			q.Attrs = append(q.Attrs, f)
		}
	}
	if len(best.SLA) > 0 {
		t := best.SLA[0]
		q.SLA = record.SLAFilter{Metric: t.Metric, PolicyKinds: []sla.PolicyKind{t.PolicyKind}}
		q.Now = tNow
		switch {
		case t.BreachedBy(tNow):
			q.SLA.Breached = true
		case t.AtRiskBy(tNow):
			q.SLA.AtRisk = true
		}
	}
	return q
}

// attrCases returns the filters on attribute a: values of it in the
// population, alone and together, and for ordered types ranges with
// inclusive ends.
func attrCases(p *pop, a record.Attribute) []filterCase {
	vals := values(p.want, func(r *record.Record) []record.Value {
		v, ok := r.Attrs[a.Name]
		if !ok {
			return nil
		}
		return []record.Value{v}
	})
	require.NotEmpty(p.e.t, vals, "storagetest: no record has attribute %s", a.Name)
	f := func(af record.AttrFilter) record.Query {
		af.Name = a.Name
		return record.Query{Attrs: []record.AttrFilter{af}}
	}
	// A set attribute holding the zero-like value ("", 0, false) must
	// match like any other.
	all := !slices.ContainsFunc(p.want, func(r *record.Record) bool { _, ok := r.Attrs[a.Name]; return !ok })
	cs := []filterCase{
		{name: "most common", q: f(record.AttrFilter{In: vals[:1]}), all: all && len(vals) == 1},
		{name: "least common", q: f(record.AttrFilter{In: vals[len(vals)-1:]}), all: all && len(vals) == 1},
		{name: "several", q: f(record.AttrFilter{In: vals[:min(3, len(vals))]}), all: all && len(vals) <= 3},
	}
	if a.Type == record.AttrChoice {
		for _, c := range a.Choices {
			if !slices.Contains(vals, record.Text(c)) {
				cs = append(cs, filterCase{name: "unused choice", q: f(record.AttrFilter{In: []record.Value{record.Text(c)}}), empty: true})
				break
			}
		}
	}
	if !a.Type.Ordered() {
		return cs
	}
	sorted := slices.Clone(vals)
	slices.SortFunc(sorted, record.Value.Compare)
	lo, mid, hi := sorted[0], sorted[len(sorted)/2], sorted[len(sorted)-1]
	return append(cs,
		filterCase{name: "min", q: f(record.AttrFilter{Min: mid}), all: all && mid == lo},
		filterCase{name: "max", q: f(record.AttrFilter{Max: mid}), all: all && mid == hi},
		filterCase{name: "min max", q: f(record.AttrFilter{Min: lo, Max: mid}), all: all && mid == hi},
		filterCase{name: "min equals max", q: f(record.AttrFilter{Min: mid, Max: mid}), all: all && len(vals) == 1},
		filterCase{name: "below the lowest", q: f(record.AttrFilter{Max: below(a, lo)}), empty: true},
		filterCase{name: "in and range", q: f(record.AttrFilter{In: []record.Value{lo, mid, hi}, Min: mid}), all: all && len(vals) <= 2},
	)
}

// below returns a value of a's ordered type just below v.
func below(a record.Attribute, v record.Value) record.Value {
	if n, ok := v.Int(); ok {
		return record.Int(n - 1)
	}
	t, err := v.Time()
	if err != nil {
		panic(err)
	}
	return record.Time(t.Add(-time.Microsecond))
}

// listChecks returns the List checks: one per filter group, one per
// declared attribute, and those of order, paging, text and validation.
func listChecks() []check {
	var cs []check
	for _, fg := range filterGroups {
		cs = append(cs, check{"Filter/" + fg.name, func(e *env) {
			p := e.population()
			p.requireQueries(fg.cases(p))
		}})
	}
	cs = append(cs, check{"Filter/Attr", func(e *env) {
		if len(e.gen.attrs) == 0 {
			e.t.Skipf("kind %s declares no attribute", e.gen.kind())
		}
		p := e.population()
		for _, a := range e.gen.attrs {
			cases := attrCases(p, a)
			for i := range cases {
				cases[i].name = a.Name + ": " + cases[i].name
			}
			p.requireQueries(cases)
		}
	}})
	return append(append(cs, pagingChecks...), slaListChecks...)
}

var pagingChecks = []check{
	{"Order/Ties", func(e *env) {
		// Records on one instant list by ID, whatever the order they
		// were created in.
		recs := make([]*record.Record, 6)
		for i := range recs {
			recs[i] = e.fixture(i)
			at := t0.Add(time.Duration(i%2) * time.Hour)
			recs[i].OpenedAt = at
			recs[i].ResolvedAt, recs[i].ClosedAt = at, at
		}
		slices.Reverse(recs)
		e.create(recs...)
		for _, o := range orders {
			page, err := e.store.List(e.ctx, record.Query{Kind: e.gen.kind(), Order: o})
			require.NoError(e.t, err)
			want := []string{e.gen.id(0), e.gen.id(2), e.gen.id(4), e.gen.id(1), e.gen.id(3), e.gen.id(5)}
			var got []string
			for _, r := range page.Records {
				got = append(got, r.ID)
			}
			require.Equal(e.t, want, got, "order %s", o)
		}
	}},
	{"Paging/FarInstants", func(e *env) {
		// Cursors work for any instant a record may carry, far beyond
		// what a count of nanoseconds since 1970 holds (1678 to 2262).
		ats := []time.Time{
			time.Date(1, 1, 1, 0, 0, 0, 1000, time.UTC),
			time.Date(1, 1, 1, 0, 0, 1, 0, time.UTC),
			time.Date(1200, 6, 1, 12, 0, 0, 0, time.UTC),
			time.Date(1677, 9, 21, 0, 12, 43, 145224000, time.UTC),
			t0,
			time.Date(2262, 4, 11, 23, 47, 16, 854776000, time.UTC),
			time.Date(2500, 1, 1, 0, 0, 0, 0, time.UTC),
			time.Date(9999, 12, 31, 23, 59, 59, 999999000, time.UTC),
		}
		var want []*record.Record
		var recs []*record.Record
		for i := range 2 * len(ats) {
			rec := e.fixture(i)
			at := ats[i%len(ats)] // each instant twice
			rec.OpenedAt, rec.UpdatedAt = at, at
			rec.ResolvedAt, rec.ClosedAt = ats[(i+3)%len(ats)], ats[(i+5)%len(ats)]
			recs = append(recs, rec)
			w := rec.Clone()
			w.Version = 1
			want = append(want, w)
		}
		slices.Reverse(recs)
		e.create(recs...)
		p := &pop{e: e, want: want}
		for _, limit := range []int{1, 2, 3} {
			for _, o := range orders {
				q := record.Query{Kind: e.gen.kind(), Order: o, Limit: limit}
				got, _ := e.collect(e.store, q, nil)
				require.Equal(e.t, refs(matching(q, want)), refs(got), "order %s, limit %d", o, limit)
			}
		}
		p.requireQueries([]filterCase{
			{name: "from the first microsecond", q: record.Query{Opened: record.Range{From: ats[0]}}, all: true},
			{name: "after the first microsecond", q: record.Query{Opened: record.Range{From: ats[0].Add(time.Microsecond)}}},
			{name: "to the last microsecond", q: record.Query{Opened: record.Range{To: ats[len(ats)-1]}}},
			{name: "before 1678", q: record.Query{Resolved: record.Range{To: ats[4]}}},
			{name: "after 2262", q: record.Query{Closed: record.Range{From: ats[5].Add(time.Microsecond)}}},
			{name: "around 1970", q: record.Query{Opened: record.Range{From: ats[3], To: ats[6]}}},
		})
	}},
	{"Paging/StableWhileAdding", func(e *env) {
		recs := make([]*record.Record, 20)
		for i := range recs {
			recs[i] = e.fixture(i)
			recs[i].OpenedAt = t0.Add(time.Duration(i/3) * time.Minute)
		}
		e.create(recs...)
		var late, early []*record.Record
		got, _ := e.collect(e.store, record.Query{Kind: e.gen.kind(), Limit: 4}, func(i int) {
			// One record sorting after every other, which the pages to
			// come must include, and one sorting before the current
			// position, which they must not.
			l := e.fixture(100 + i)
			l.OpenedAt = t0.Add(time.Duration(24+i) * time.Hour)
			b := e.fixture(200 + i)
			b.OpenedAt = t0.Add(-time.Duration(i+1) * time.Hour)
			e.create(l, b)
			late, early = append(late, l), append(early, b)
		})
		want := append(slices.Clone(recs), late...)
		slices.SortFunc(want, listOrder(record.ByOpened))
		require.Equal(e.t, refs(want), refs(got))
		require.NotEmpty(e.t, early)
	}},
	{"Paging/LastPageFull", func(e *env) {
		recs := make([]*record.Record, 10)
		for i := range recs {
			recs[i] = e.fixture(i)
		}
		e.create(recs...)
		got, pages := e.collect(e.store, record.Query{Kind: e.gen.kind(), Limit: 5}, nil)
		require.Len(e.t, got, 10)
		require.Equal(e.t, 2, pages, "a full last page has no Next cursor")
		got, pages = e.collect(e.store, record.Query{Kind: e.gen.kind(), Limit: 10}, nil)
		require.Len(e.t, got, 10)
		require.Equal(e.t, 1, pages)
	}},
	{"Paging/Limits", func(e *env) {
		recs := make([]*record.Record, record.MaxPageSize+1)
		for i := range recs {
			recs[i] = e.fixture(i)
		}
		e.create(recs...)
		kind := e.gen.kind()
		for _, tc := range []struct {
			limit, want int
		}{{0, record.DefaultPageSize}, {1, 1}, {record.MaxPageSize, record.MaxPageSize}, {record.MaxPageSize + 1, record.MaxPageSize}, {1 << 30, record.MaxPageSize}} {
			page, err := e.store.List(e.ctx, record.Query{Kind: kind, Limit: tc.limit})
			require.NoError(e.t, err)
			require.Len(e.t, page.Records, tc.want, "limit %d", tc.limit)
			require.NotEmpty(e.t, page.Next, "limit %d", tc.limit)
		}
		page, err := e.store.List(e.ctx, record.Query{Kind: kind})
		require.NoError(e.t, err)
		for range record.MaxPageSize/record.DefaultPageSize - 1 {
			page, err = e.store.List(e.ctx, record.Query{Kind: kind, After: page.Next})
			require.NoError(e.t, err)
		}
		page, err = e.store.List(e.ctx, record.Query{Kind: kind, After: page.Next})
		require.NoError(e.t, err)
		require.Equal(e.t, []record.Ref{e.gen.ref(record.MaxPageSize)}, refs(page.Records))
		require.Empty(e.t, page.Next)
	}},
	{"Empty", func(e *env) {
		e.create(e.og.record(1))
		for _, o := range orders {
			page, err := e.store.List(e.ctx, record.Query{Kind: e.gen.kind(), Order: o})
			require.NoError(e.t, err)
			require.Empty(e.t, page.Records)
			require.Empty(e.t, page.Next)
		}
	}},
	{"Text/AgreesWithMatch", func(e *env) {
		// The text filter agrees with Query.Match beyond ASCII, and takes
		// LIKE's wildcards and escape characters literally.
		titles := []string{"Disk 50% full", "Disk 500 GB", "a_b broken", "axb broken", `back\slash`, "[x] brackets", "^caret$",
			"ÉCRAN noir", "Straße gesperrt", "Überweisung hängt", "Ωmega down", "Ошибка сервера", "ﬁle ligature", "İstanbul"}
		var want []*record.Record
		var recs []*record.Record
		for i, title := range titles {
			rec := e.fixture(i)
			rec.Title, rec.Description = title, ""
			rec.Number = fmt.Sprintf("%sT%04d", e.schema.Prefix(), i)
			recs = append(recs, rec)
			w := rec.Clone()
			w.Version = 1
			want = append(want, w)
		}
		e.create(recs...)
		texts := []string{"%", "50%", "_", "a_b", `\`, `\s`, "[x]", "^", "$", "écran", "ÉCRAN", "straße", "ÜBERWEISUNG", "ωMEGA",
			"ошибка", "СЕРВЕРА", "ﬁle", "t0001", "zzz"}
		for _, text := range texts {
			q := record.Query{Kind: e.gen.kind(), Text: text, Limit: record.MaxPageSize}
			page, err := e.store.List(e.ctx, q)
			require.NoError(e.t, err)
			require.Equal(e.t, refs(matching(q, want)), refs(page.Records), "text %q", text)
		}
	}},
	{"Validation", func(e *env) {
		rec := e.fixture(1)
		e.create(rec)
		for _, tc := range invalidQueries(e, rec) {
			q := tc.q
			if q.Kind == e.gen.kind() {
				require.Error(e.t, e.schema.CheckQuery(q), "storagetest: query %s passes CheckQuery", tc.name)
			}
			_, err := e.store.List(e.ctx, q)
			requireValidation(e.t, err, "query %s", tc.name)
			e.tx(func(ctx context.Context, tx record.Tx) {
				_, err := tx.List(ctx, q)
				requireValidation(e.t, err, "query %s inside a transaction", tc.name)
			})
		}
	}},
}

// invalidQueries returns queries that List must refuse with an
// *itsm.ValidationError rather than answer with an empty page. Kind is
// the kind under test unless the case sets it.
func invalidQueries(e *env, rec *record.Record) []filterCase {
	opened := record.CursorAt(record.ByOpened, rec).String()
	garbage := base64.RawURLEncoding.EncodeToString([]byte("1:0:x:y:z"))
	cs := []filterCase{
		{name: "unknown state", q: record.Query{States: []string{e.gen.states[0].Name, "storagetest_no_such_state"}}},
		{name: "zero category", q: record.Query{StateCategories: []itsm.StateCategory{0}}},
		{name: "unknown category", q: record.Query{StateCategories: []itsm.StateCategory{itsm.CategoryCancelled + 1}}},
		{name: "zero priority", q: record.Query{Priorities: []itsm.Priority{0}}},
		{name: "priority 6", q: record.Query{Priorities: []itsm.Priority{6}}},
		{name: "half parent", q: record.Query{Parent: record.Ref{ID: rec.ID}}},
		{name: "malformed parent kind", q: record.Query{Parent: record.Ref{Kind: "Not A Kind", ID: rec.ID}}},
		{name: "empty range", q: record.Query{Opened: record.Range{From: t0, To: t0}}},
		{name: "inverted range", q: record.Query{Resolved: record.Range{From: t0, To: t0.Add(-time.Second)}}},
		{name: "range after 9999", q: record.Query{Closed: record.Range{To: time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)}}},
		{name: "unknown attribute", q: record.Query{Attrs: []record.AttrFilter{{Name: "storagetest_no_such_attr", In: []record.Value{record.Text("x")}}}}},
		{name: "breached without now", q: record.Query{SLA: record.SLAFilter{Breached: true}}},
		{name: "at risk without now", q: record.Query{SLA: record.SLAFilter{AtRisk: true}}},
		{name: "unknown policy kind", q: record.Query{SLA: record.SLAFilter{PolicyKinds: []sla.PolicyKind{sla.KindUC + 1}}}},
		{name: "breached and at risk", q: record.Query{SLA: record.SLAFilter{Breached: true, AtRisk: true}, Now: tNow}},
		{name: "metric not UTF-8", q: record.Query{SLA: record.SLAFilter{Metric: "bad \xff"}}},
		{name: "metric too long", q: record.Query{SLA: record.SLAFilter{Metric: sla.Metric(strings.Repeat("m", record.MaxIDLen+1))}}},
		{name: "text not UTF-8", q: record.Query{Text: "bad \xff"}},
		{name: "text too long", q: record.Query{Text: strings.Repeat("x", record.MaxTextFilter+1)}},
		{name: "text with NUL", q: record.Query{Text: "a\x00b"}},
		{name: "unknown order", q: record.Query{Order: record.ByClosed + 1}},
		{name: "negative limit", q: record.Query{Limit: -1}},
		{name: "malformed cursor", q: record.Query{After: "not a cursor"}},
		{name: "garbage cursor", q: record.Query{After: garbage}},
		{name: "cursor with a tail", q: record.Query{After: opened + "!"}},
		{name: "cursor of another order", q: record.Query{After: opened, Order: record.ByResolved}},
		{name: "undeclared kind", q: record.Query{Kind: "storagetest_undeclared"}},
		{name: "malformed kind", q: record.Query{Kind: "Not A Kind"}},
		{name: "no kind", q: record.Query{}},
	}
	for _, a := range e.gen.attrs {
		af := func(name string, f record.AttrFilter) {
			f.Name = a.Name
			cs = append(cs, filterCase{name: "attribute " + a.Name + ": " + name, q: record.Query{Attrs: []record.AttrFilter{f}}})
		}
		af("no values", record.AttrFilter{})
		switch a.Type {
		case record.AttrInt:
			af("text value", record.AttrFilter{In: []record.Value{record.Text("1")}})
			af("text min", record.AttrFilter{Min: record.Text("1")})
		case record.AttrTime:
			af("integer max", record.AttrFilter{Max: record.Int(1)})
			af("other layout", record.AttrFilter{In: []record.Value{record.Text("2026-11-02T09:00:00Z")}})
		case record.AttrChoice:
			af("unknown choice", record.AttrFilter{In: []record.Value{record.Text("storagetest_no_such_choice")}})
			af("range", record.AttrFilter{Min: record.Text(a.Choices[0])})
		case record.AttrText:
			af("range", record.AttrFilter{Min: record.Text("a"), Max: record.Text("z")})
			af("integer value", record.AttrFilter{In: []record.Value{record.Int(1)}})
		case record.AttrBool:
			af("range", record.AttrFilter{Max: record.Bool(true)})
			af("text value", record.AttrFilter{In: []record.Value{record.Text("true")}})
		case record.AttrDecimal:
			af("range", record.AttrFilter{Min: record.Decimal(decimal.NewFromInt(1))})
			af("not canonical", record.AttrFilter{In: []record.Value{record.Text("1.50")}})
		}
	}
	for i := range cs {
		if cs[i].q.Kind == "" && cs[i].name != "no kind" {
			cs[i].q.Kind = e.gen.kind()
		}
	}
	return cs
}
