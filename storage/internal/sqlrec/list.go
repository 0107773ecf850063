package sqlrec

import (
	"strconv"
	"strings"

	"github.com/itsmkit/itsmkit/record"
	"github.com/itsmkit/itsmkit/sla"
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
	if FromTimers(q) {
		return b.timerList(s, q, columns), b.args
	}
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
	where = append(where, b.recordConditions(s, q, true)...)
	if q.ConfigItem != "" && !byCI {
		where = append(where, "EXISTS (SELECT 1 FROM "+d.Table("record_config_items")+
			" c WHERE c.kind = r.kind AND c.record_id = r.id AND c.config_item = "+b.arg(q.ConfigItem)+")")
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

// recordConditions returns the conditions of q's filters on the record
// aliased r other than the kind, the order, the configuration item, the
// SLA filter, the text and the cursor, and without the Opened range
// unless withOpened (timerArm puts it on the timers' copy, so that SQLite
// finds the record by key rather than through another index with it).
func (b *builder) recordConditions(s *record.Schema, q record.Query, withOpened bool) []string {
	var where []string
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
	if !q.Parent.IsZero() {
		where = append(where, "r.parent_kind = "+b.arg(q.Parent.Kind), "r.parent_id = "+b.arg(q.Parent.ID), "r.parent_id <> ''")
	}
	if q.Major != nil {
		where = append(where, "r.major = "+b.arg(b.d.Bool(*q.Major)))
	}
	for _, r := range []struct {
		col string
		r   record.Range
	}{{"opened_at", q.Opened}, {"resolved_at", q.Resolved}, {"closed_at", q.Closed}} {
		if r.col == "opened_at" && !withOpened {
			continue
		}
		if !r.r.From.IsZero() {
			where = append(where, "r."+r.col+" >= "+b.arg(b.d.Time(r.r.From)))
		}
		if !r.r.To.IsZero() {
			where = append(where, "r."+r.col+" < "+b.arg(b.d.Time(r.r.To)))
		}
	}
	for _, f := range q.Attrs {
		a, _ := s.Attribute(f.Name)
		expr := b.d.AttrExpr("r.doc", a)
		if len(f.In) > 0 {
			vals := make([]any, len(f.In))
			for i, v := range f.In {
				vals[i] = b.d.AttrArg(a, v)
			}
			where = append(where, b.in(expr, vals))
		}
		if !f.Min.IsZero() {
			where = append(where, expr+" >= "+b.arg(b.d.AttrArg(a, f.Min)))
		}
		if !f.Max.IsZero() {
			where = append(where, expr+" <= "+b.arg(b.d.AttrArg(a, f.Max)))
		}
	}
	return where
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

// Timer phases, the sla_timers column phase that the migrations define:
// a timer's status by its stored values just before its next wake-up
// (next_wake_at minus one microsecond, or for ever after when it has
// none).
// phase 0 is neither.
const (
	phaseAtRisk   = "1" // TimerSummary.AtRiskBy then
	phaseBreached = "2" // TimerSummary.BreachedBy then
)

// FromTimers reports whether List reads q from the SLA timers rather
// than from the records: in opened order, without a ConfigItem filter
// (whose own index reads in that order), for the at-risk filter and for
// a filter narrowed by Metric or PolicyKinds. The un-narrowed breached
// filter is decided by the records' summary columns alone. Such a query
// is one statement whatever its filters on several values: adapters
// that split queries per value do not split it.
func FromTimers(q record.Query) bool {
	f := q.SLA
	return q.Order == record.ByOpened && q.ConfigItem == "" &&
		(f.AtRisk || f.Metric != "" || len(f.PolicyKinds) > 0)
}

// timerList is List for a query that FromTimers accepts. The SLA filter
// becomes one or more arms, each a set of conditions on a timer that
// together select exactly the timers the filter looks for; each arm reads
// timers joined to their records in List order (the timers' copy of
// opened_at, then record_id) through an index of sla_timers, applies the
// record filters, and stops after a page. A record appears once per arm:
// a timer is skipped when an earlier timer (seq) of its record meets the
// arm too. Several arms are merged with UNION, in List order, and the
// page's records read by key.
//
// The arms rest on the timers' phase and threshold columns (see the
// migrations): with neither flag, one arm reads the metric's index (or,
// without a metric, one arm per policy kind reads that kind's index). For
// AtRisk (running or paused, at_risk_at at or before now, breach_at unset
// or not before now), the arms are the timers of phase at risk (an index
// in List order of that phase only), the active ones of phase ok whose
// warning passed (risk_passed_at, a wake-up not yet handled) and those of
// phase breached whose breach is not before now (breach_ahead_at, now in
// the past), each with the exact condition. For Breached (breach_at
// before now) narrowed by Metric or PolicyKinds, the arms are the timers
// of phase breached and those of the other phases whose breach passed
// (breach_passed_at). A timer that meets the filter is in an arm whatever
// its phase and now: an active timer with an at_risk_at is of phase at
// risk, or ok with risk_passed_at set, or breached with breach_ahead_at
// set; one with a breach_at is of phase breached, or has
// breach_passed_at set. The phase only makes the last arms small when now
// is about the present.
func (b *builder) timerList(s *record.Schema, q record.Query, columns string) string {
	f := q.SLA
	now := func() string { return b.arg(b.d.Time(q.Now)) }
	// narrow returns the Metric and PolicyKinds conditions; ix tells
	// whether they are to choose the index.
	narrow := func(c col, ix bool) []string {
		var out []string
		if f.Metric != "" {
			out = append(out, c.of("metric", ix)+" = "+b.arg(string(f.Metric)))
		}
		if len(f.PolicyKinds) > 0 {
			out = append(out, b.in(c.of("policy_kind", ix), policyKinds(f.PolicyKinds)))
		}
		return out
	}
	// Each arm names, of its conditions, the columns of the index it is
	// to read (c.ix) and lets the others only filter (c.no), so that
	// SQLite, which has no statistics, reads that index.
	var arms []func(c col) []string
	switch {
	case f.AtRisk:
		exact := func(c col) []string {
			return append([]string{c.no("stage") + " IN ('running', 'paused')", c.no("at_risk_at") + " <= " + now(),
				"(" + c.no("breach_at") + " IS NULL OR " + c.no("breach_at") + " >= " + now() + ")"}, narrow(c, false)...)
		}
		arms = append(arms,
			func(c col) []string { return append([]string{c.ix("phase") + " = " + phaseAtRisk}, exact(c)...) },
			func(c col) []string { return append([]string{c.ix("risk_passed_at") + " <= " + now()}, exact(c)...) },
			func(c col) []string { return append([]string{c.ix("breach_ahead_at") + " >= " + now()}, exact(c)...) })
	case f.Breached:
		arms = append(arms,
			func(c col) []string {
				return append([]string{c.ix("phase") + " = " + phaseBreached, c.no("breach_at") + " < " + now()}, narrow(c, true)...)
			},
			func(c col) []string {
				return append([]string{c.ix("breach_passed_at") + " < " + now()}, narrow(c, false)...)
			})
	case f.Metric == "":
		// One arm per policy kind, each in the order of its index.
		seen := map[sla.PolicyKind]bool{}
		for _, k := range f.PolicyKinds {
			if !seen[k] {
				seen[k] = true
				arms = append(arms, func(c col) []string { return []string{c.ix("policy_kind") + " = " + b.arg(int64(k))} })
			}
		}
	default:
		arms = append(arms, func(c col) []string { return narrow(c, true) })
	}
	limit := " LIMIT " + strconv.Itoa(q.PageSize()+1)
	if len(arms) == 1 {
		return b.timerArm(s, q, arms[0], columns) + limit
	}
	parts := make([]string, len(arms))
	for i, arm := range arms {
		parts[i] = "SELECT o, i FROM (" + b.timerArm(s, q, arm, "t.opened_at AS o, t.record_id AS i") + limit + ") a" + strconv.Itoa(i+1)
	}
	return "SELECT " + columns + " FROM (" + strings.Join(parts, " UNION ") + " ORDER BY o, i" + limit + ") k JOIN " +
		b.d.Table("records") + " r ON r.kind = '" + s.Kind() + "' AND r.id = k.i ORDER BY k.o, k.i" + limit
}

// col names the columns of one alias of sla_timers in the conditions of
// a timerList arm.
type col struct {
	d     Dialect
	alias string
	// index is false for the alias of the NOT EXISTS probe, which is to
	// read the timers of one record by key and no other index.
	index bool
}

// ix returns the column name for a condition that may choose an index.
func (c col) ix(name string) string { return c.of(name, true) }

// no returns the column for a condition that only filters.
func (c col) no(name string) string { return c.of(name, false) }

// of is ix when ix is true and no otherwise.
func (c col) of(name string, ix bool) string {
	if ix && c.index {
		return c.alias + "." + name
	}
	return c.d.Unindexed(c.alias + "." + name)
}

// timerArm returns the statement of one arm of timerList without its
// LIMIT: the timers t that meet the arm's conditions and are the first
// of their record to (seq, probed through the timers' key), joined to their records r that meet q's other filters,
// after q's cursor, in List order. The records are joined with CROSS
// JOIN, which SQLite reads in the order written (the timers' index first)
// and PostgreSQL plans as any join.
func (b *builder) timerArm(s *record.Schema, q record.Query, arm func(c col) []string, columns string) string {
	kindLit := "'" + s.Kind() + "'"
	timers := b.d.Table("sla_timers")
	where := append([]string{"t.kind = " + kindLit}, arm(col{d: b.d, alias: "t", index: true})...)
	if !q.Opened.From.IsZero() {
		where = append(where, "t.opened_at >= "+b.arg(b.d.Time(q.Opened.From)))
	}
	if !q.Opened.To.IsZero() {
		where = append(where, "t.opened_at < "+b.arg(b.d.Time(q.Opened.To)))
	}
	if q.After != "" {
		c, _ := record.ParseCursor(q.After)
		where = append(where, "(t.opened_at, t.record_id) > ("+b.arg(b.d.Time(c.At))+", "+b.d.CursorID(b.arg(c.ID))+")")
	}
	where = append(where, "NOT EXISTS (SELECT 1 FROM "+b.d.TimersByKey("u")+" WHERE u.kind = t.kind AND u.record_id = t.record_id AND u.seq < t.seq AND "+
		strings.Join(arm(col{d: b.d, alias: "u"}), " AND ")+")")
	where = append(where, "r.kind = "+kindLit, "r.id = t.record_id")
	where = append(where, b.recordConditions(s, q, false)...)
	if q.Text != "" {
		where = append(where, b.d.TextFilter(b.arg, q.Text))
	}
	return "SELECT " + columns + " FROM " + timers + " t CROSS JOIN " + b.d.Table("records") + " r WHERE " +
		strings.Join(where, " AND ") + " ORDER BY t.opened_at, t.record_id"
}

func policyKinds(ks []sla.PolicyKind) []any {
	out := make([]any, len(ks))
	for i, k := range ks {
		out[i] = int64(k)
	}
	return out
}
