package sqlrec

import (
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/itsmkit/itsmkit/itsm"
	"github.com/itsmkit/itsmkit/record"
	"github.com/itsmkit/itsmkit/sla"
)

// testDialect numbers its placeholders like PostgreSQL.
type testDialect struct{}

func (testDialect) Param(n int) string                             { return "$" + strconv.Itoa(n) }
func (testDialect) Table(name string) string                       { return "s." + name }
func (testDialect) Time(t time.Time) any                           { return t }
func (testDialect) Bool(b bool) any                                { return b }
func (testDialect) CursorID(p string) string                       { return p }
func (testDialect) Unindexed(col string) string                    { return col }
func (testDialect) TimersByKey(alias string) string                { return "s.sla_timers " + alias }
func (testDialect) Opaque(cond string) string                      { return "(" + cond + ")" }
func (testDialect) RecordsByWake(alias string) string              { return "s.records " + alias }
func (testDialect) AttrArg(_ record.Attribute, v record.Value) any { return v.String() }
func (testDialect) AttrExpr(doc string, a record.Attribute) string {
	return "(" + doc + "->'attrs'->>'" + a.Name + "')"
}
func (testDialect) TextFilter(arg func(any) string, text string) string {
	p := arg("%" + text + "%")
	return "(r.title ILIKE " + p + ")"
}

var schema = record.MustNewSchema(record.SchemaDef{Kind: "work_order", Prefix: "WO",
	States: []record.StateDef{{Name: "open", Category: itsm.CategoryNew}, {Name: "done", Category: itsm.CategoryClosed}},
	Attributes: []record.Attribute{
		{Name: "site", Type: record.AttrChoice, Choices: []string{"hq", "branch"}, Filterable: true},
		{Name: "cost", Type: record.AttrInt, Filterable: true},
	}})

var param = regexp.MustCompile(`\$(\d+)`)

// TestListUsesEveryArgument checks, for every filter alone and all of them
// together, that the statement names each argument exactly as often as it
// was added: no argument is left unused and none is missing.
func TestListUsesEveryArgument(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 20, 15, 0, 0, 0, time.UTC)
	yes := true
	cursor := record.Cursor{Order: record.ByOpened, At: now, ID: "x"}.String()
	queries := map[string]record.Query{
		"none":            {},
		"states":          {States: []string{"open", "done"}},
		"categories":      {StateCategories: []itsm.StateCategory{itsm.CategoryNew}},
		"priorities":      {Priorities: []itsm.Priority{1, 2}},
		"assignee":        {Assignee: "bob", AssignmentGroup: "desk", Service: "mail", Category: "hw", Requester: "carol"},
		"ci":              {ConfigItem: "relay-1"},
		"ci resolved":     {ConfigItem: "relay-1", Order: record.ByResolved},
		"parent":          {Parent: record.Ref{Kind: "work_order", ID: "p"}},
		"major":           {Major: &yes},
		"ranges":          {Opened: record.Range{From: now, To: now.Add(time.Hour)}, Resolved: record.Range{To: now}, Closed: record.Range{From: now}},
		"attrs":           {Attrs: []record.AttrFilter{{Name: "site", In: []record.Value{record.Text("hq"), record.Text("branch")}}, {Name: "cost", Min: record.Int(1), Max: record.Int(9)}}},
		"breached":        {SLA: record.SLAFilter{Breached: true}, Now: now},
		"breached metric": {SLA: record.SLAFilter{Breached: true, Metric: sla.MetricResponse}, Now: now},
		"at risk":         {SLA: record.SLAFilter{AtRisk: true}, Now: now},
		"at risk kinds":   {SLA: record.SLAFilter{AtRisk: true, PolicyKinds: []sla.PolicyKind{sla.KindOLA, sla.KindUC}}, Now: now},
		"metric only":     {SLA: record.SLAFilter{Metric: sla.MetricResolution}, Now: now},
		"text":            {Text: "mail"},
		"cursor":          {After: cursor},
		"ci cursor":       {ConfigItem: "relay-1", After: cursor},
		"everything": {States: []string{"open"}, Priorities: []itsm.Priority{3}, Assignee: "bob", ConfigItem: "ci",
			Parent: record.Ref{Kind: "work_order", ID: "p"}, Major: &yes, Opened: record.Range{From: now},
			Attrs: []record.AttrFilter{{Name: "cost", Max: record.Int(5)}}, SLA: record.SLAFilter{AtRisk: true, Metric: "response"},
			Now: now, Text: "x", After: cursor},
	}
	for name, q := range queries {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			q.Kind = "work_order"
			require.NoError(t, schema.CheckQuery(q))
			sql, args := List(testDialect{}, schema, q, "r.doc")
			seen := map[int]bool{}
			for _, m := range param.FindAllStringSubmatch(sql, -1) {
				n, _ := strconv.Atoi(m[1])
				require.False(t, seen[n], "$%d twice in %s", n, sql)
				seen[n] = true
			}
			require.Len(t, seen, len(args), sql)
			for i := 1; i <= len(args); i++ {
				require.True(t, seen[i], "$%d unused in %s", i, sql)
			}
			require.Contains(t, sql, "r.kind = 'work_order'")
			require.True(t, strings.HasSuffix(sql, "LIMIT 51"), sql)
		})
	}
}

func TestAttrIndexName(t *testing.T) {
	t.Parallel()
	require.Equal(t, "rattr_work_order_site", AttrIndexName("work_order", "site"))
	long := AttrIndexName(strings.Repeat("k", 40), strings.Repeat("a", 40))
	require.LessOrEqual(t, len(long), 63)
	require.NotEqual(t, long, AttrIndexName(strings.Repeat("k", 40), strings.Repeat("b", 40)))
	ddl := AttrIndexes(testDialect{}, schema)
	require.Equal(t, []string{
		"CREATE INDEX IF NOT EXISTS rattr_work_order_site ON s.records (((doc->'attrs'->>'site')), opened_at, id) WHERE kind = 'work_order'",
		"CREATE INDEX IF NOT EXISTS rattr_work_order_cost ON s.records (((doc->'attrs'->>'cost')), opened_at, id) WHERE kind = 'work_order'",
	}, ddl)
}

func TestSummariesAndRefresh(t *testing.T) {
	t.Parallel()
	sql, args := Summaries(testDialect{}, "incident", []string{"a", "b"})
	require.Equal(t, "SELECT "+SummaryColumns+" FROM s.sla_timers WHERE kind = $1 AND record_id IN ($2, $3) ORDER BY record_id, seq", sql)
	require.Equal(t, []any{"incident", "a", "b"}, args)
	require.Contains(t, RefreshSummary(testDialect{}), "WHERE kind = $1 AND id = $2")
}
