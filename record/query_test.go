package record

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/itsmkit/itsmkit/itsm"
	"github.com/itsmkit/itsmkit/sla"
)

func ptr[T any](v T) *T { return &v }

func TestRange(t *testing.T) {
	t.Parallel()
	from, to := t0, t0.Add(time.Hour)
	r := Range{From: from, To: to}
	require.False(t, r.IsZero())
	require.True(t, Range{}.IsZero())
	require.False(t, Range{From: from}.IsZero())
	require.False(t, Range{To: to}.IsZero())

	tests := []struct {
		r    Range
		at   time.Time
		want bool
	}{
		{r, from, true},
		{r, from.Add(-time.Nanosecond), false},
		{r, to.Add(-time.Nanosecond), true},
		{r, to, false},
		{r, from.In(berlin), true},
		{r, to.In(plusOne), false},
		{r, time.Time{}, false},
		{Range{From: from}, to.AddDate(1000, 0, 0), true},
		{Range{From: from}, from.Add(-1), false},
		{Range{To: to}, time.Date(1, 1, 1, 0, 0, 0, 1, time.UTC), true},
		{Range{To: to}, to, false},
		{Range{}, from, true},
		{Range{}, time.Time{}, false},
		{Range{From: from, To: from}, from, false},
	}
	for _, tc := range tests {
		require.Equal(t, tc.want, tc.r.Contains(tc.at), "%v in [%v, %v)", tc.at, tc.r.From, tc.r.To)
	}
}

func TestContainsFold(t *testing.T) {
	t.Parallel()
	tests := []struct {
		s, sub string
		want   bool
	}{
		{"ÄRGER mit dem Drucker", "ärg", true},
		{"ärger", "ÄRG", true},
		{"Printer", "PRINT", true},
		{"Printer", "", true},
		{"", "", true},
		{"", "a", false},
		{"Printer", "scanner", false},
		{"ΣΊΣΥΦΟΣ", "σίσυφοσ", true},
		{"ΣΊΣΥΦΟΣ", "σίσυφος", false}, // final sigma: lower-casing, not folding
		{"İstanbul", "istanbul", true},
		{"STRASSE", "ß", false},
		{"Kelvin", "\u212aELVIN", true},
	}
	for _, tc := range tests {
		require.Equal(t, tc.want, ContainsFold(tc.s, tc.sub), "%q in %q", tc.sub, tc.s)
	}
}

// matchTicket is the record the Match table filters.
func matchTicket() *Record {
	rec := validTicket()
	rec.ClosedAt = time.Time{}
	return rec
}

func TestQueryMatch(t *testing.T) {
	t.Parallel()
	now := t0.Add(35 * time.Hour) // the response timer breached, the resolution timer at risk
	at := func(d time.Duration) time.Time { return t0.Add(d) }
	tests := []struct {
		name string
		q    func(q *Query)
		want bool
	}{
		{"kind only", func(q *Query) {}, true},
		{"other kind", func(q *Query) { q.Kind = "incident" }, false},

		{"state", func(q *Query) { q.States = []string{"active"} }, true},
		{"one of the states", func(q *Query) { q.States = []string{"new", "active"} }, true},
		{"other state", func(q *Query) { q.States = []string{"new", "on_hold"} }, false},
		{"category", func(q *Query) { q.StateCategories = []itsm.StateCategory{itsm.CategoryNew, itsm.CategoryActive} }, true},
		{"other category", func(q *Query) { q.StateCategories = []itsm.StateCategory{itsm.CategoryPending} }, false},
		{"priority", func(q *Query) { q.Priorities = []itsm.Priority{itsm.PriorityHigh} }, true},
		{"other priority", func(q *Query) { q.Priorities = []itsm.Priority{itsm.PriorityCritical, itsm.PriorityLow} }, false},
		{"assignee", func(q *Query) { q.Assignee = "alice" }, true},
		{"other assignee", func(q *Query) { q.Assignee = "Alice" }, false},
		{"group", func(q *Query) { q.AssignmentGroup = "desk" }, true},
		{"other group", func(q *Query) { q.AssignmentGroup = "network" }, false},
		{"service", func(q *Query) { q.Service = "printing" }, true},
		{"other service", func(q *Query) { q.Service = "mail" }, false},
		{"first configuration item", func(q *Query) { q.ConfigItem = "prn-3" }, true},
		{"second configuration item", func(q *Query) { q.ConfigItem = "srv-1" }, true},
		{"other configuration item", func(q *Query) { q.ConfigItem = "srv-2" }, false},
		{"category field", func(q *Query) { q.Category = "hardware" }, true},
		{"other category field", func(q *Query) { q.Category = "software" }, false},
		{"requester", func(q *Query) { q.Requester = "bob" }, true},
		{"requester by name", func(q *Query) { q.Requester = "Bob Builder" }, false},
		{"parent", func(q *Query) { q.Parent = Ref{Kind: "ticket", ID: "PARENT1"} }, true},
		{"other parent ID", func(q *Query) { q.Parent = Ref{Kind: "ticket", ID: "PARENT2"} }, false},
		{"other parent kind", func(q *Query) { q.Parent = Ref{Kind: "problem", ID: "PARENT1"} }, false},
		{"major", func(q *Query) { q.Major = ptr(true) }, true},
		{"not major", func(q *Query) { q.Major = ptr(false) }, false},

		{"opened in range", func(q *Query) { q.Opened = Range{From: t0, To: at(time.Nanosecond)} }, true},
		{"opened at the range's end", func(q *Query) { q.Opened = Range{To: t0} }, false},
		{"opened before the range", func(q *Query) { q.Opened = Range{From: at(time.Nanosecond)} }, false},
		{"resolved in range", func(q *Query) { q.Resolved = Range{From: at(47 * time.Hour), To: at(49 * time.Hour)} }, true},
		{"resolved after the range", func(q *Query) { q.Resolved = Range{To: at(48 * time.Hour)} }, false},
		{"closed range without a closing", func(q *Query) { q.Closed = Range{From: time.Date(1, 1, 1, 0, 0, 0, 1, time.UTC)} }, false},

		{"attribute in", func(q *Query) { q.Attrs = []AttrFilter{{Name: "risk", In: []Value{Text("low"), Text("high")}}} }, true},
		{"attribute not in", func(q *Query) { q.Attrs = []AttrFilter{{Name: "risk", In: []Value{Text("low")}}} }, false},
		{"attribute of another type", func(q *Query) { q.Attrs = []AttrFilter{{Name: "count", In: []Value{Text("5")}}} }, false},
		{"decimal in", func(q *Query) { q.Attrs = []AttrFilter{{Name: "cost", In: []Value{Text("1.5")}}} }, true},
		{"bool in", func(q *Query) { q.Attrs = []AttrFilter{{Name: "urgent", In: []Value{Bool(true)}}} }, true},
		{"bool not in", func(q *Query) { q.Attrs = []AttrFilter{{Name: "urgent", In: []Value{Bool(false)}}} }, false},
		{"integer at min", func(q *Query) { q.Attrs = []AttrFilter{{Name: "count", Min: Int(5)}} }, true},
		{"integer below min", func(q *Query) { q.Attrs = []AttrFilter{{Name: "count", Min: Int(6)}} }, false},
		{"integer at max", func(q *Query) { q.Attrs = []AttrFilter{{Name: "count", Max: Int(5)}} }, true},
		{"integer above max", func(q *Query) { q.Attrs = []AttrFilter{{Name: "count", Max: Int(-5)}} }, false},
		{"integer in range", func(q *Query) { q.Attrs = []AttrFilter{{Name: "count", Min: Int(-10), Max: Int(10)}} }, true},
		{"integer in and range", func(q *Query) {
			q.Attrs = []AttrFilter{{Name: "count", In: []Value{Int(5)}, Min: Int(6)}}
		}, false},
		{"time in range", func(q *Query) {
			q.Attrs = []AttrFilter{{Name: "due", Min: Time(at(24 * time.Hour)), Max: Time(at(25 * time.Hour))}}
		}, true},
		{"time after max", func(q *Query) { q.Attrs = []AttrFilter{{Name: "due", Max: Time(at(time.Hour))}} }, false},
		{"time before min", func(q *Query) { q.Attrs = []AttrFilter{{Name: "due", Min: Time(at(24*time.Hour + time.Microsecond))}} }, false},
		{"two attribute filters", func(q *Query) {
			q.Attrs = []AttrFilter{{Name: "risk", In: []Value{Text("high")}}, {Name: "count", Min: Int(1)}}
		}, true},
		{"two attribute filters, one failing", func(q *Query) {
			q.Attrs = []AttrFilter{{Name: "risk", In: []Value{Text("high")}}, {Name: "count", Min: Int(100)}}
		}, false},
		{"missing attribute", func(q *Query) { q.Attrs = []AttrFilter{{Name: "missing", Min: Int(0)}} }, false},

		{"breached", func(q *Query) { q.SLA.Breached, q.Now = true, now }, true},
		{"not breached yet", func(q *Query) { q.SLA.Breached, q.Now = true, at(time.Hour) }, false},
		{"breached just after", func(q *Query) { q.SLA.Breached, q.Now = true, at(time.Hour+time.Nanosecond) }, true},
		{"breached resolution", func(q *Query) { q.SLA = SLAFilter{Breached: true, Metric: sla.MetricResolution}; q.Now = now }, false},
		{"breached response", func(q *Query) { q.SLA = SLAFilter{Breached: true, Metric: sla.MetricResponse}; q.Now = now }, true},
		{"breached OLA", func(q *Query) {
			q.SLA = SLAFilter{Breached: true, PolicyKinds: []sla.PolicyKind{sla.KindOLA}}
			q.Now = now
		}, false},
		{"breached SLA or UC", func(q *Query) {
			q.SLA = SLAFilter{Breached: true, PolicyKinds: []sla.PolicyKind{sla.KindUC, sla.KindSLA}}
			q.Now = now
		}, true},
		{"at risk", func(q *Query) { q.SLA.AtRisk, q.Now = true, now }, true},
		{"at risk exactly at the warning", func(q *Query) { q.SLA.AtRisk, q.Now = true, at(30*time.Hour) }, true},
		{"not at risk yet", func(q *Query) { q.SLA.AtRisk, q.Now = true, at(30*time.Hour-time.Nanosecond) }, false},
		{"at risk at the breach instant", func(q *Query) { q.SLA.AtRisk, q.Now = true, at(40*time.Hour) }, true},
		{"no longer at risk once breached", func(q *Query) { q.SLA.AtRisk, q.Now = true, at(40*time.Hour+1) }, false},
		{"at risk response", func(q *Query) { q.SLA = SLAFilter{AtRisk: true, Metric: sla.MetricResponse}; q.Now = now }, false},
		{"at risk resolution", func(q *Query) { q.SLA = SLAFilter{AtRisk: true, Metric: sla.MetricResolution}; q.Now = now }, true},
		{"at risk OLA", func(q *Query) {
			q.SLA = SLAFilter{AtRisk: true, PolicyKinds: []sla.PolicyKind{sla.KindOLA}}
			q.Now = now
		}, true},
		{"at risk SLA", func(q *Query) {
			q.SLA = SLAFilter{AtRisk: true, PolicyKinds: []sla.PolicyKind{sla.KindSLA}}
			q.Now = now
		}, false},
		{"has a response timer", func(q *Query) { q.SLA.Metric = sla.MetricResponse }, true},
		{"has no update timer", func(q *Query) { q.SLA.Metric = "update" }, false},
		{"has an OLA timer", func(q *Query) { q.SLA.PolicyKinds = []sla.PolicyKind{sla.KindOLA} }, true},
		{"has no UC timer", func(q *Query) { q.SLA.PolicyKinds = []sla.PolicyKind{sla.KindUC} }, false},
		{"metric and kind on one timer", func(q *Query) {
			q.SLA = SLAFilter{Metric: sla.MetricResolution, PolicyKinds: []sla.PolicyKind{sla.KindOLA}}
		}, true},
		{"metric and kind on different timers", func(q *Query) {
			q.SLA = SLAFilter{Metric: sla.MetricResponse, PolicyKinds: []sla.PolicyKind{sla.KindOLA}}
		}, false},

		{"text in the title", func(q *Query) { q.Text = "ärg" }, true},
		{"text in the title, other case", func(q *Query) { q.Text = "DRUCKER" }, true},
		{"text in the number", func(q *Query) { q.Text = "tkt0001" }, true},
		{"text in the description", func(q *Query) { q.Text = "paper JAM" }, true},
		{"text across fields", func(q *Query) { q.Text = "drucker paper" }, false},
		{"text nowhere", func(q *Query) { q.Text = "toner" }, false},
		{"text in an attribute only", func(q *Query) { q.Text = "toner <low>" }, false},

		{"by resolved", func(q *Query) { q.Order = ByResolved }, true},
		{"by closed without a closing", func(q *Query) { q.Order = ByClosed }, false},
		{"invalid order", func(q *Query) { q.Order = Order(9) }, false},

		{"every filter", func(q *Query) {
			*q = Query{
				Kind: "ticket", States: []string{"active"}, StateCategories: []itsm.StateCategory{itsm.CategoryActive},
				Priorities: []itsm.Priority{2}, Assignee: "alice", AssignmentGroup: "desk", Service: "printing",
				ConfigItem: "srv-1", Category: "hardware", Requester: "bob", Parent: Ref{Kind: "ticket", ID: "PARENT1"},
				Major: ptr(true), Opened: Range{From: t0}, Resolved: Range{From: now},
				Attrs: []AttrFilter{{Name: "risk", In: []Value{Text("high")}}},
				SLA:   SLAFilter{Breached: true, Metric: sla.MetricResponse}, Now: now,
				Text: "drucker", Order: ByResolved, Limit: 1, After: "ignored",
			}
		}, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			q := Query{Kind: "ticket"}
			tc.q(&q)
			require.Equal(t, tc.want, q.Match(matchTicket()))
		})
	}

	t.Run("no timers", func(t *testing.T) {
		t.Parallel()
		rec := matchTicket()
		rec.SLA = nil
		for _, f := range []SLAFilter{{Breached: true}, {AtRisk: true}, {Metric: sla.MetricResponse}, {PolicyKinds: []sla.PolicyKind{sla.KindSLA}}} {
			require.False(t, Query{Kind: "ticket", SLA: f, Now: now}.Match(rec), "%+v", f)
		}
		require.True(t, Query{Kind: "ticket", Now: now}.Match(rec))
	})
	t.Run("no attributes", func(t *testing.T) {
		t.Parallel()
		rec := matchTicket()
		rec.Attrs = nil
		require.False(t, Query{Kind: "ticket", Attrs: []AttrFilter{{Name: "count", Min: Int(0)}}}.Match(rec))
	})
	t.Run("empty header fields never match a filter", func(t *testing.T) {
		t.Parallel()
		rec := matchTicket()
		rec.ConfigItems, rec.Parent = nil, Ref{}
		require.False(t, Query{Kind: "ticket", ConfigItem: "srv-1"}.Match(rec))
		require.False(t, Query{Kind: "ticket", Parent: Ref{Kind: "ticket", ID: "PARENT1"}}.Match(rec))
	})
}

func TestSLAFilterTimer(t *testing.T) {
	t.Parallel()
	ts := TimerSummary{Metric: sla.MetricResponse, PolicyKind: sla.KindUC}
	require.True(t, SLAFilter{}.Timer(ts))
	require.True(t, SLAFilter{Metric: sla.MetricResponse}.Timer(ts))
	require.False(t, SLAFilter{Metric: sla.MetricResolution}.Timer(ts))
	require.True(t, SLAFilter{PolicyKinds: []sla.PolicyKind{sla.KindOLA, sla.KindUC}}.Timer(ts))
	require.False(t, SLAFilter{PolicyKinds: []sla.PolicyKind{sla.KindSLA}}.Timer(ts))
	require.True(t, SLAFilter{}.IsZero())
	for _, f := range []SLAFilter{{Breached: true}, {AtRisk: true}, {Metric: "x"}, {PolicyKinds: []sla.PolicyKind{sla.KindSLA}}} {
		require.False(t, f.IsZero(), "%+v", f)
	}
}

func TestCheckQuery(t *testing.T) {
	t.Parallel()
	s := ticketSchema(t)
	cursor := CursorAt(ByOpened, validTicket()).String()
	resolvedCursor := CursorAt(ByResolved, validTicket()).String()

	valid := []Query{
		{Kind: "ticket"},
		{Kind: "ticket", States: []string{}, Attrs: []AttrFilter{}},
		{
			Kind: "ticket", States: []string{"new", "cancelled"},
			StateCategories: itsm.StateCategories(), Priorities: []itsm.Priority{1, 2, 3, 4, 5},
			Assignee: "a", AssignmentGroup: "g", Service: "s", ConfigItem: "c", Category: "x", Requester: "r",
			Parent: Ref{Kind: "problem", ID: "P1"}, Major: ptr(false),
			Opened:   Range{From: time.Date(1, 1, 1, 0, 0, 0, 1, time.UTC), To: time.Date(9999, 12, 31, 23, 59, 59, 0, time.UTC)},
			Resolved: Range{From: t0}, Closed: Range{To: t0},
			Attrs: []AttrFilter{
				{Name: "risk", In: []Value{Text("low"), Text("high")}},
				{Name: "count", Min: Int(-1), Max: Int(1)},
				{Name: "due", Min: Time(t0)},
				{Name: "cost", In: []Value{Text("0.25")}},
				{Name: "urgent", In: []Value{Bool(true)}},
				{Name: "note", In: []Value{Text("")}},
			},
			SLA:  SLAFilter{Breached: true, Metric: "first-response", PolicyKinds: []sla.PolicyKind{sla.KindSLA, sla.KindOLA, sla.KindUC}},
			Now:  t0,
			Text: strings.Repeat("ä", MaxTextFilter/2), Order: ByOpened, Limit: MaxPageSize + 1, After: cursor,
		},
		{Kind: "ticket", SLA: SLAFilter{AtRisk: true, Metric: "Callback Time"}, Now: t0},
		{Kind: "ticket", SLA: SLAFilter{Metric: sla.MetricResponse}},
		{Kind: "ticket", Order: ByResolved, After: resolvedCursor},
	}
	for i, q := range valid {
		require.NoError(t, s.CheckQuery(q), i)
	}

	year0 := time.Date(0, 6, 1, 0, 0, 0, 0, time.UTC)
	year10000 := time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		name   string
		q      func(q *Query)
		fields []string
	}{
		{"wrong kind", func(q *Query) { q.Kind = "incident" }, []string{"kind"}},
		{"no kind", func(q *Query) { q.Kind = "" }, []string{"kind"}},
		{"unknown state", func(q *Query) { q.States = []string{"new", "in_progress"} }, []string{"states[1]"}},
		{"state in another case", func(q *Query) { q.States = []string{"New"} }, []string{"states[0]"}},
		{"zero category", func(q *Query) { q.StateCategories = []itsm.StateCategory{0} }, []string{"state_categories[0]"}},
		{"invalid category", func(q *Query) { q.StateCategories = []itsm.StateCategory{1, 7} }, []string{"state_categories[1]"}},
		{"zero priority", func(q *Query) { q.Priorities = []itsm.Priority{0} }, []string{"priorities[0]"}},
		{"priority 6", func(q *Query) { q.Priorities = []itsm.Priority{1, 6} }, []string{"priorities[1]"}},
		{"parent kind only", func(q *Query) { q.Parent = Ref{Kind: "ticket"} }, []string{"parent"}},
		{"parent ID only", func(q *Query) { q.Parent = Ref{ID: "P1"} }, []string{"parent"}},
		{"parent malformed kind", func(q *Query) { q.Parent = Ref{Kind: "Ticket", ID: "P1"} }, []string{"parent.kind"}},
		{"opened inverted", func(q *Query) { q.Opened = Range{From: t0, To: t0.Add(-1)} }, []string{"opened"}},
		{"opened empty", func(q *Query) { q.Opened = Range{From: t0, To: t0.In(berlin)} }, []string{"opened"}},
		{"resolved inverted", func(q *Query) { q.Resolved = Range{From: t0.Add(time.Hour), To: t0} }, []string{"resolved"}},
		{"closed inverted", func(q *Query) { q.Closed = Range{From: t0.Add(time.Hour), To: t0} }, []string{"closed"}},
		{"opened from year 0", func(q *Query) { q.Opened = Range{From: year0} }, []string{"opened"}},
		{"resolved to year 10000", func(q *Query) { q.Resolved = Range{To: year10000} }, []string{"resolved"}},
		{"closed both out of range", func(q *Query) { q.Closed = Range{From: year0, To: year10000} }, []string{"closed"}},
		{"opened to UTC year 0", func(q *Query) { q.Opened = Range{To: time.Date(1, 1, 1, 0, 30, 0, 0, plusOne)} }, []string{"opened"}},
		{"unknown attribute", func(q *Query) { q.Attrs = []AttrFilter{{Name: "colour", In: []Value{Text("red")}}} }, []string{"attrs[0].name"}},
		{"attribute without values", func(q *Query) { q.Attrs = []AttrFilter{{Name: "risk"}} }, []string{"attrs[0]"}},
		{"attribute with empty in", func(q *Query) { q.Attrs = []AttrFilter{{Name: "risk", In: []Value{}}} }, []string{"attrs[0]"}},
		{"in of the wrong type", func(q *Query) {
			q.Attrs = []AttrFilter{{Name: "risk", In: []Value{Text("low")}}, {Name: "count", In: []Value{Int(1), Text("2")}}}
		}, []string{"attrs[1].in[1]"}},
		{"in not a choice", func(q *Query) { q.Attrs = []AttrFilter{{Name: "risk", In: []Value{Text("extreme")}}} }, []string{"attrs[0].in[0]"}},
		{"in decimal not canonical", func(q *Query) { q.Attrs = []AttrFilter{{Name: "cost", In: []Value{Text("1.50")}}} }, []string{"attrs[0].in[0]"}},
		{"in zero value", func(q *Query) { q.Attrs = []AttrFilter{{Name: "urgent", In: []Value{{}}}} }, []string{"attrs[0].in[0]"}},
		{"range on a choice", func(q *Query) { q.Attrs = []AttrFilter{{Name: "risk", Min: Text("low")}} }, []string{"attrs[0].min"}},
		{"range on a decimal", func(q *Query) { q.Attrs = []AttrFilter{{Name: "cost", Max: Text("1")}} }, []string{"attrs[0].max"}},
		{"range on text", func(q *Query) { q.Attrs = []AttrFilter{{Name: "note", Min: Text("a"), Max: Text("b")}} }, []string{"attrs[0].min", "attrs[0].max"}},
		{"range on a bool", func(q *Query) { q.Attrs = []AttrFilter{{Name: "urgent", Min: Bool(false)}} }, []string{"attrs[0].min"}},
		{"range of the wrong type", func(q *Query) { q.Attrs = []AttrFilter{{Name: "count", Max: Text("9")}} }, []string{"attrs[0].max"}},
		{"time range not in layout", func(q *Query) { q.Attrs = []AttrFilter{{Name: "due", Min: Text("2026-01-01")}} }, []string{"attrs[0].min"}},
		{"breached without now", func(q *Query) { q.SLA.Breached = true }, []string{"now"}},
		{"at risk without now", func(q *Query) { q.SLA.AtRisk = true }, []string{"now"}},
		{"breached and at risk", func(q *Query) { q.SLA.Breached, q.SLA.AtRisk, q.Now = true, true, t0 }, []string{"sla"}},
		{"invalid policy kind", func(q *Query) { q.SLA.PolicyKinds = []sla.PolicyKind{sla.KindOLA, 3} }, []string{"sla.policy_kinds[1]"}},
		{"metric not UTF-8", func(q *Query) { q.SLA.Metric = "\xff" }, []string{"sla.metric"}},
		{"metric with NUL", func(q *Query) { q.SLA.Metric = "a\x00" }, []string{"sla.metric"}},
		{"metric too long", func(q *Query) { q.SLA.Metric = sla.Metric(strings.Repeat("m", MaxIDLen+1)) }, []string{"sla.metric"}},
		{"text not UTF-8", func(q *Query) { q.Text = "dr\xffcker" }, []string{"text"}},
		{"text too long", func(q *Query) { q.Text = strings.Repeat("a", MaxTextFilter+1) }, []string{"text"}},
		{"text with NUL", func(q *Query) { q.Text = "a\x00" }, []string{"text"}},
		{"invalid order", func(q *Query) { q.Order = 3 }, []string{"order"}},
		{"negative limit", func(q *Query) { q.Limit = -1 }, []string{"limit"}},
		{"malformed cursor", func(q *Query) { q.After = "bogus!" }, []string{"after"}},
		{"cursor of another order", func(q *Query) { q.After = resolvedCursor }, []string{"after"}},
		{"cursor of another order, the other way", func(q *Query) { q.Order, q.After = ByClosed, cursor }, []string{"after"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			q := Query{Kind: "ticket"}
			tc.q(&q)
			err := s.CheckQuery(q)
			require.Equal(t, tc.fields, fieldsOf(t, err))
			require.Contains(t, err.Error(), "invalid ticket query")
		})
	}

	t.Run("every problem at once", func(t *testing.T) {
		t.Parallel()
		q := Query{
			Kind:            "incident",
			States:          []string{"gone"},
			StateCategories: []itsm.StateCategory{9},
			Priorities:      []itsm.Priority{7},
			Parent:          Ref{Kind: "ticket"},
			Opened:          Range{From: t0, To: t0},
			Resolved:        Range{From: year0},
			Attrs: []AttrFilter{
				{Name: "colour", In: []Value{Int(1)}},
				{Name: "risk"},
				{Name: "count", In: []Value{Text("x")}, Min: Bool(true)},
				{Name: "note", Max: Text("z")},
			},
			SLA:   SLAFilter{Breached: true, AtRisk: true, Metric: "\x00", PolicyKinds: []sla.PolicyKind{9}},
			Text:  "\xff",
			Order: 7,
			Limit: -5,
			After: "%%%",
		}
		require.Equal(t, []string{
			"kind", "states[0]", "state_categories[0]", "priorities[0]", "parent", "opened", "resolved",
			"attrs[0].name", "attrs[1]", "attrs[2].in[0]", "attrs[2].min", "attrs[3].max",
			"now", "sla", "sla.policy_kinds[0]", "sla.metric", "text", "order", "limit", "after",
		}, fieldsOf(t, s.CheckQuery(q)))
	})
}

func TestPageSize(t *testing.T) {
	t.Parallel()
	for limit, want := range map[int]int{
		-100: DefaultPageSize, -1: DefaultPageSize, 0: DefaultPageSize, 1: 1, 49: 49,
		MaxPageSize: MaxPageSize, MaxPageSize + 1: MaxPageSize, 1 << 40: MaxPageSize,
	} {
		require.Equal(t, want, Query{Limit: limit}.PageSize(), limit)
	}
}

func TestNewPage(t *testing.T) {
	t.Parallel()
	recs := make([]*Record, 4)
	for i := range recs {
		recs[i] = &Record{Header: Header{Kind: "ticket", ID: string(rune('a' + i)),
			OpenedAt: t0.Add(time.Duration(i) * time.Hour), ResolvedAt: t0.Add(time.Duration(10-i) * time.Hour)}}
	}

	t.Run("full page with a next one", func(t *testing.T) {
		t.Parallel()
		q := Query{Kind: "ticket", Limit: 2}
		page := NewPage(q, recs[:3])
		require.Equal(t, recs[:2], page.Records)
		c, err := ParseCursor(page.Next)
		require.NoError(t, err)
		require.Equal(t, Cursor{Order: ByOpened, At: recs[1].OpenedAt, ID: "b"}, c)
		require.True(t, c.Precedes(recs[2]))
		require.False(t, c.Precedes(recs[1]))
		require.NoError(t, ticketSchema(t).CheckQuery(Query{Kind: "ticket", Limit: 2, After: page.Next}))
	})
	t.Run("the next cursor is of the query's order", func(t *testing.T) {
		t.Parallel()
		page := NewPage(Query{Kind: "ticket", Limit: 1, Order: ByResolved}, recs[2:4])
		c, err := ParseCursor(page.Next)
		require.NoError(t, err)
		require.Equal(t, Cursor{Order: ByResolved, At: recs[2].ResolvedAt, ID: "c"}, c)
	})
	t.Run("last page", func(t *testing.T) {
		t.Parallel()
		page := NewPage(Query{Kind: "ticket", Limit: 2}, recs[:2])
		require.Equal(t, recs[:2], page.Records)
		require.Empty(t, page.Next)
		page = NewPage(Query{Kind: "ticket"}, recs)
		require.Equal(t, recs, page.Records)
		require.Empty(t, page.Next)
	})
	t.Run("empty", func(t *testing.T) {
		t.Parallel()
		page := NewPage(Query{Kind: "ticket"}, nil)
		require.Empty(t, page.Records)
		require.Empty(t, page.Next)
		page = NewPage(Query{Kind: "ticket"}, []*Record{})
		require.NotNil(t, page.Records)
		require.Empty(t, page.Records)
	})
	t.Run("default size", func(t *testing.T) {
		t.Parallel()
		many := make([]*Record, DefaultPageSize+1)
		for i := range many {
			many[i] = recs[0]
		}
		page := NewPage(Query{Kind: "ticket"}, many)
		require.Len(t, page.Records, DefaultPageSize)
		require.NotEmpty(t, page.Next)
	})
}
