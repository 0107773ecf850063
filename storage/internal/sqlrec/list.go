package sqlrec

import (
	"strconv"
	"strings"

	"github.com/itsmkit/itsmkit/record"
)

// builder collects the arguments of one statement.
type builder struct {
	d    Dialect
	args []any
}

// arg adds v and returns its placeholder.
func (b *builder) arg(v any) string {
	b.args = append(b.args, v)
	return b.d.Param(len(b.args))
}

// in returns "col = p" for one value and "col IN (p1, p2, ...)" for more.
func (b *builder) in(col string, vals []any) string {
	if len(vals) == 1 {
		return col + " = " + b.arg(vals[0])
	}
	ps := make([]string, len(vals))
	for i, v := range vals {
		ps[i] = b.arg(v)
	}
	return col + " IN (" + strings.Join(ps, ", ") + ")"
}

// orderColumn is the records column of each record.Order.
var orderColumn = [...]string{record.ByOpened: "opened_at", record.ByResolved: "resolved_at", record.ByClosed: "closed_at"}

// List returns the statement and arguments that select one page of q, of
// at most q.PageSize()+1 rows, in q's order, from the records table
// aliased r, selecting columns (such as "r.doc"). q must have passed
// s.CheckQuery; List does not check it again.
//
// Every condition is written so that the indexes of the shared schema
// serve it: the kind is spliced in as a literal (so that the per-kind
// partial indexes of attributes match), equality filters on text columns
// repeat "<> ”" (their indexes leave out the empty value), and the SLA
// filters name the summary columns (their partial indexes hold only the
// records with such an instant) before they look at the timers.
func List(d Dialect, s *record.Schema, q record.Query, columns string) (string, []any) {
	b := &builder{d: d}
	ord := orderColumn[q.Order]
	byCI := q.ConfigItem != "" && q.Order == record.ByOpened
	var where []string
	kindLit := "'" + s.Kind() + "'"
	from := d.Table("records") + " r"
	if byCI {
		// Read the configuration item's index in List order and join the
		// records, so that a page stops after its rows.
		from = d.Table("record_config_items") + " c JOIN " + d.Table("records") + " r ON r.kind = c.kind AND r.id = c.record_id"
		where = append(where, "c.kind = "+kindLit, "c.config_item = "+b.arg(q.ConfigItem))
	}
	where = append(where, "r.kind = "+kindLit)
	if q.Order != record.ByOpened {
		where = append(where, "r."+ord+" IS NOT NULL")
	}
	if len(q.States) > 0 {
		where = append(where, b.in("r.state", anys(q.States)))
	}
	if len(q.StateCategories) > 0 {
		cats := make([]any, len(q.StateCategories))
		for i, c := range q.StateCategories {
			cats[i] = c.String()
		}
		where = append(where, b.in("r.state_category", cats))
	}
	if len(q.Priorities) > 0 {
		ps := make([]any, len(q.Priorities))
		for i, p := range q.Priorities {
			ps[i] = int64(p)
		}
		where = append(where, b.in("r.priority", ps))
	}
	for _, f := range []struct{ col, val string }{
		{"assignee", q.Assignee}, {"assignment_group", q.AssignmentGroup}, {"service", q.Service},
		{"category", q.Category}, {"requester_id", q.Requester},
	} {
		if f.val != "" {
			where = append(where, "r."+f.col+" = "+b.arg(f.val), "r."+f.col+" <> ''")
		}
	}
	if q.ConfigItem != "" && !byCI {
		where = append(where, "EXISTS (SELECT 1 FROM "+d.Table("record_config_items")+
			" c WHERE c.kind = r.kind AND c.record_id = r.id AND c.config_item = "+b.arg(q.ConfigItem)+")")
	}
	if !q.Parent.IsZero() {
		where = append(where, "r.parent_kind = "+b.arg(q.Parent.Kind), "r.parent_id = "+b.arg(q.Parent.ID), "r.parent_id <> ''")
	}
	if q.Major != nil {
		where = append(where, "r.major = "+b.arg(d.Bool(*q.Major)))
	}
	for _, r := range []struct {
		col string
		r   record.Range
	}{{"opened_at", q.Opened}, {"resolved_at", q.Resolved}, {"closed_at", q.Closed}} {
		if !r.r.From.IsZero() {
			where = append(where, "r."+r.col+" >= "+b.arg(d.Time(r.r.From)))
		}
		if !r.r.To.IsZero() {
			where = append(where, "r."+r.col+" < "+b.arg(d.Time(r.r.To)))
		}
	}
	for _, f := range q.Attrs {
		a, _ := s.Attribute(f.Name)
		expr := d.AttrExpr("r.doc", a)
		if len(f.In) > 0 {
			vals := make([]any, len(f.In))
			for i, v := range f.In {
				vals[i] = d.AttrArg(a, v)
			}
			where = append(where, b.in(expr, vals))
		}
		if !f.Min.IsZero() {
			where = append(where, expr+" >= "+b.arg(d.AttrArg(a, f.Min)))
		}
		if !f.Max.IsZero() {
			where = append(where, expr+" <= "+b.arg(d.AttrArg(a, f.Max)))
		}
	}
	if !q.SLA.IsZero() {
		where = append(where, slaConditions(b, q)...)
	}
	if q.Text != "" {
		where = append(where, d.TextFilter(b.arg, q.Text))
	}
	orderBy := "r." + ord + ", r.id"
	if byCI {
		orderBy = "c.opened_at, c.record_id"
	}
	if q.After != "" {
		c, _ := record.ParseCursor(q.After)
		// The cursor keeps nanoseconds; stored instants have microseconds,
		// and a row at the cursor's own instant is compared by ID.
		cols := "r." + ord + ", r.id"
		if byCI {
			cols = "c.opened_at, c.record_id"
		}
		where = append(where, "("+cols+") > ("+b.arg(d.Time(c.At))+", "+d.CursorID(b.arg(c.ID))+")")
	}
	sql := "SELECT " + columns + " FROM " + from + " WHERE " + strings.Join(where, " AND ") +
		" ORDER BY " + orderBy + " LIMIT " + strconv.Itoa(q.PageSize()+1)
	return sql, b.args
}

// slaConditions returns the conditions of q.SLA: first a condition on the
// record's summary columns that every match meets (so that the partial
// summary indexes serve it), then, unless the summary decides alone, one
// on the timers themselves, with record.TimerSummary's rules.
func slaConditions(b *builder, q record.Query) []string {
	f := q.SLA
	d := b.d
	var out []string
	if f.Breached {
		// BreachedBy: a breach instant before now. The summary holds the
		// earliest breach instant of every timer, so it decides alone
		// unless the timers are narrowed.
		out = append(out, "r.sla_breach_at IS NOT NULL", "r.sla_breach_at < "+b.arg(d.Time(q.Now)))
	}
	if f.AtRisk {
		// AtRiskBy: running or paused, the last warning at or before now,
		// and not breached by now. The summary holds the earliest at-risk
		// instant of the running and paused timers.
		out = append(out, "r.sla_at_risk_at IS NOT NULL", "r.sla_at_risk_at <= "+b.arg(d.Time(q.Now)))
	}
	narrowed := f.Metric != "" || len(f.PolicyKinds) > 0
	if f.Breached && !narrowed {
		return out
	}
	var timer []string
	if f.Metric != "" {
		timer = append(timer, "t.metric = "+b.arg(string(f.Metric)))
	}
	if len(f.PolicyKinds) > 0 {
		ks := make([]any, len(f.PolicyKinds))
		for i, k := range f.PolicyKinds {
			ks[i] = int64(k)
		}
		timer = append(timer, b.in("t.policy_kind", ks))
	}
	if f.Breached {
		timer = append(timer, "t.breach_at < "+b.arg(d.Time(q.Now)))
	}
	if f.AtRisk {
		timer = append(timer, "t.stage IN ('running', 'paused')", "t.at_risk_at <= "+b.arg(d.Time(q.Now)),
			"(t.breach_at IS NULL OR t.breach_at >= "+b.arg(d.Time(q.Now))+")")
	}
	return append(out, "EXISTS (SELECT 1 FROM "+d.Table("sla_timers")+" t WHERE t.kind = r.kind AND t.record_id = r.id AND "+
		strings.Join(timer, " AND ")+")")
}

func anys[T ~string](xs []T) []any {
	out := make([]any, len(xs))
	for i, x := range xs {
		out[i] = string(x)
	}
	return out
}

// SummaryColumns lists the sla_timers columns Summaries reads, in the order
// an adapter scans them: kind, record_id, id, policy, policy_kind, metric,
// stage, at_risk_at, breach_at, next_wake_at.
const SummaryColumns = "kind, record_id, id, policy, policy_kind, metric, stage, at_risk_at, breach_at, next_wake_at"

// Summaries returns the statement that reads the SLA summaries of the
// records of kind with the given IDs (at least one), in record and
// first-save order: one statement for a whole page.
func Summaries(d Dialect, kind string, ids []string) (string, []any) {
	b := &builder{d: d}
	k := b.arg(kind)
	return "SELECT " + SummaryColumns + " FROM " + d.Table("sla_timers") + " WHERE kind = " + k +
		" AND " + b.in("record_id", anys(ids)) + " ORDER BY record_id, seq", b.args
}

// RefreshSummary returns the statement that brings the SLA summary
// columns of one record up to date from its timers (two arguments: kind
// and ID): the earliest next wake-up, the earliest breach, and the
// earliest at-risk instant of a running or paused timer.
func RefreshSummary(d Dialect) string {
	return "UPDATE " + d.Table("records") + " SET (sla_wake_at, sla_breach_at, sla_at_risk_at) = " +
		"(SELECT min(t.next_wake_at), min(t.breach_at), min(CASE WHEN t.stage IN ('running', 'paused') THEN t.at_risk_at END) " +
		"FROM " + d.Table("sla_timers") + " t WHERE t.kind = " + d.Param(1) + " AND t.record_id = " + d.Param(2) + ") " +
		"WHERE kind = " + d.Param(1) + " AND id = " + d.Param(2)
}
