package sqlrec

import (
	"strconv"
	"strings"
	"time"

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
// filters read the timers in List order through their phase and metric
// indexes (see timerList), or, in the other orders and with a ConfigItem
// filter, name the records' summary columns before they look at the
// timers.
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
// record's summary columns that every match meets, then, unless the
// summary decides alone, one on the timers themselves, with
// record.TimerSummary's rules.
func slaConditions(b *builder, q record.Query) []string {
	f := q.SLA
	var out []string
	if f.Breached {
		// BreachedBy: a breach instant before now. The summary holds the
		// earliest breach instant of every timer, so it decides alone
		// unless the timers are narrowed.
		out = append(out, "r.sla_breach_at IS NOT NULL", "r.sla_breach_at < "+b.nowAfter(q.Now))
	}
	if f.AtRisk {
		// AtRiskBy: running or paused, the last warning at or before now,
		// and not breached by now. The summary holds the earliest at-risk
		// instant of the running and paused timers.
		out = append(out, "r.sla_at_risk_at IS NOT NULL", "r.sla_at_risk_at < "+b.nowPast(q.Now))
	}
	narrowed := f.Metric != "" || len(f.PolicyKinds) > 0
	if f.Breached && !narrowed {
		return out
	}
	c := col{d: b.d, alias: "t"}
	timer := b.narrow(f, c, false)
	switch {
	case f.Breached:
		timer = append(timer, b.breached(c, q.Now)...)
	case f.AtRisk:
		timer = append(timer, b.atRisk(c, q.Now)...)
	}
	return append(out, "EXISTS (SELECT 1 FROM "+b.d.Table("sla_timers")+" t WHERE t.kind = r.kind AND t.record_id = r.id AND "+
		strings.Join(timer, " AND ")+")")
}

// Instants as the SQL stores keep them: whole microseconds, in UTC.
// Query.Now may have nanoseconds; the conditions on stored instants
// compare with whole microseconds that select the same instants as the
// exact Now (nowAfter, nowPast), so that they do not depend on how a
// dialect's Time rounds.

// nowAfter returns the argument for "x < now" and "x >= now" on a stored
// instant x: now rounded up to the microsecond, which a stored instant
// lies before exactly when it lies before now.
func (b *builder) nowAfter(now time.Time) string { return b.arg(b.d.Time(ceilMicro(now))) }

// nowPast returns the argument for "x <= now" written "x < p" on a stored
// instant x: the microsecond after now's, before which a stored instant
// lies exactly when it is not after now.
func (b *builder) nowPast(now time.Time) string {
	return b.arg(b.d.Time(now.UTC().Truncate(time.Microsecond).Add(time.Microsecond)))
}

// ceilMicro returns t in UTC rounded up to the microsecond.
func ceilMicro(t time.Time) time.Time {
	f := t.UTC().Truncate(time.Microsecond)
	if f.Before(t) {
		f = f.Add(time.Microsecond)
	}
	return f
}

// breached returns the conditions of record.TimerSummary.BreachedBy(now)
// on the timer c: a breach instant before now.
func (b *builder) breached(c col, now time.Time) []string {
	return []string{c.no("breach_at") + " < " + b.nowAfter(now)}
}

// atRisk returns the conditions of record.TimerSummary.AtRiskBy(now) on
// the timer c: running or paused, the last warning at or before now, no
// breach before now.
func (b *builder) atRisk(c col, now time.Time) []string {
	return []string{c.no("stage") + " IN ('running', 'paused')", c.no("at_risk_at") + " < " + b.nowPast(now),
		"(" + c.no("breach_at") + " IS NULL OR " + c.no("breach_at") + " >= " + b.nowAfter(now) + ")"}
}

// narrow returns the Metric and PolicyKinds conditions of f on the timer
// c; ix tells whether the metric's is to choose the index (the policy
// kinds' never do: no index of a flag's arm has them).
func (b *builder) narrow(f record.SLAFilter, c col, ix bool) []string {
	var out []string
	if f.Metric != "" {
		out = append(out, c.of("metric", ix)+" = "+b.arg(string(f.Metric)))
	}
	if len(f.PolicyKinds) > 0 {
		out = append(out, b.in(c.no("policy_kind"), policyKinds(f.PolicyKinds)))
	}
	return out
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
// none). phase 0 is neither.
const (
	phaseAtRisk   = "1" // TimerSummary.AtRiskBy then
	phaseBreached = "2" // TimerSummary.BreachedBy then
)

// FromTimers reports whether List reads q from the SLA timers rather
// than from the records: in opened order, without a ConfigItem filter
// (whose own index reads in that order), for every SLA filter. Such a
// query is one statement whatever its filters on several values:
// adapters that split queries per value do not split it.
func FromTimers(q record.Query) bool {
	return q.Order == record.ByOpened && q.ConfigItem == "" && !q.SLA.IsZero()
}

// timerList is List for a query that FromTimers accepts. The SLA filter
// becomes one or more arms, each a set of conditions that together select
// exactly the records the filter looks for; each arm reads in List order
// through one index, applies the record filters, and stops after a page.
// Several arms are merged with UNION, in List order, and the page's
// records read by key.
//
// Without a flag, one arm reads the timers of the metric's index (or,
// without a metric, one arm per policy kind reads that kind's index). A
// flag's arms rest on the timers' phase (see the migrations): a timer's
// status is its phase from its last save until its next wake-up, so the
// timers of the flag's phase hold the matches at about the present, in an
// index of that phase only. The other matches are
//
//   - stale: of a lower phase (0 for at risk; 0 or 1 for breached) at an
//     instant at or after the next wake-up, which nobody handled yet. The
//     instant that would make such a timer match is a threshold, so
//     next_wake_at lies at or before it (phase 0 at risk: next_wake_at at
//     or before at_risk_at, which is at or before now; phase 0 or 1
//     breached: next_wake_at at most a microsecond after breach_at, which
//     is before now), and so does its record's sla_wake_at, the earliest
//     of its timers': the stale arm reads the records whose sla_wake_at
//     is not after now rounded up to the microsecond (the index TimersDue
//     reads, which the wake-up worker keeps small) and keeps those with a
//     timer that matches, sorted in List order. Without a worker such
//     records pile up, and that arm grows slower, never wrong.
//   - past (at risk only): of phase breached, judged at an instant before
//     the breach (breach_ahead_at, set for phase 2 only).
//
// Each arm applies the exact condition of the filter on the timer, so
// the arms only ever select matches, and every match is in one of them.
// A record appears once per arm (see timerArm).
func (b *builder) timerList(s *record.Schema, q record.Query, columns string) string {
	f := q.SLA
	var arms []func(c col) []string
	// match is the exact filter on a timer, for the arms of a flag; the
	// arms read the timers of their index with it as one Opaque
	// condition.
	var match func(c col) []string
	opaque := func(conds []string) string { return b.d.Opaque(strings.Join(conds, " AND ")) }
	switch {
	case f.AtRisk:
		match = func(c col) []string { return append(b.atRisk(c, q.Now), b.narrow(f, c, false)...) }
		arms = append(arms,
			func(c col) []string { return []string{c.ix("phase") + " = " + phaseAtRisk, opaque(match(c))} },
			func(c col) []string {
				return []string{c.ix("breach_ahead_at") + " >= " + b.nowAfter(q.Now), opaque(match(c))}
			})
	case f.Breached:
		match = func(c col) []string { return append(b.breached(c, q.Now), b.narrow(f, c, false)...) }
		arms = append(arms, func(c col) []string {
			conds := []string{c.ix("phase") + " = " + phaseBreached}
			if f.Metric != "" {
				conds = append(conds, c.ix("metric")+" = "+b.arg(string(f.Metric)))
			}
			nf := f
			nf.Metric = ""
			return append(conds, opaque(append(b.breached(c, q.Now), b.narrow(nf, c, false)...)))
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
		arms = append(arms, func(c col) []string { return b.narrow(f, c, true) })
	}
	limit := " LIMIT " + strconv.Itoa(q.PageSize()+1)
	if match == nil && len(arms) == 1 {
		return b.timerArm(s, q, arms[0], columns, false) + limit
	}
	var parts []string
	for _, arm := range arms {
		parts = append(parts, b.timerArm(s, q, arm, "t.opened_at AS o, t.record_id AS i", true))
	}
	if match != nil {
		parts = append(parts, b.staleArm(s, q, match))
	}
	for i, p := range parts {
		parts[i] = "SELECT o, i FROM (" + p + limit + ") a" + strconv.Itoa(i+1)
	}
	return "SELECT " + columns + " FROM (" + strings.Join(parts, " UNION ") + " ORDER BY o, i" + limit + ") k JOIN " +
		b.d.Table("records") + " r ON r.kind = '" + s.Kind() + "' AND r.id = k.i ORDER BY k.o, k.i" + limit
}

// staleArm returns the stale arm of timerList without its LIMIT: the
// records r whose earliest wake-up is not after q.Now (through the
// records' wake-up index), that meet q's record filters, are after q's
// cursor and have a timer that meets match, as (o, i) in List order.
func (b *builder) staleArm(s *record.Schema, q record.Query, match func(c col) []string) string {
	where := []string{"r.sla_wake_at IS NOT NULL", "r.sla_wake_at <= " + b.nowAfter(q.Now), "r.kind = '" + s.Kind() + "'"}
	where = append(where, b.recordConditions(s, q, true)...)
	if q.Text != "" {
		where = append(where, b.d.TextFilter(b.arg, q.Text))
	}
	if q.After != "" {
		c, _ := record.ParseCursor(q.After)
		where = append(where, "(r.opened_at, r.id) > ("+b.arg(b.d.Time(c.At))+", "+b.d.CursorID(b.arg(c.ID))+")")
	}
	where = append(where, "EXISTS (SELECT 1 FROM "+b.d.TimersByKey("u")+" WHERE u.kind = r.kind AND u.record_id = r.id AND "+
		strings.Join(match(col{d: b.d, alias: "u"}), " AND ")+")")
	return "SELECT r.opened_at AS o, r.id AS i FROM " + b.d.RecordsByWake("r") + " WHERE " + strings.Join(where, " AND ") +
		" ORDER BY r.opened_at, r.id"
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
// LIMIT: the timers t that meet the arm's conditions, joined to their
// records r that meet q's other filters, after q's cursor, in List order,
// one row per record. With distinct, columns are the arm's (o, i), whose
// duplicates (two timers of one record carry its opening instant) lie next
// to each other in the index order and SELECT DISTINCT drops them as it
// reads; otherwise only the first timer of each record that meets the arm
// (by seq, probed through the timers' key) is kept. The records are joined
// with CROSS JOIN, which SQLite reads in the order written (the timers'
// index first) and PostgreSQL plans as any join.
func (b *builder) timerArm(s *record.Schema, q record.Query, arm func(c col) []string, columns string, distinct bool) string {
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
	selectKw := "SELECT DISTINCT "
	if !distinct {
		selectKw = "SELECT "
		where = append(where, "NOT EXISTS (SELECT 1 FROM "+b.d.TimersByKey("u")+" WHERE u.kind = t.kind AND u.record_id = t.record_id AND u.seq < t.seq AND "+
			strings.Join(arm(col{d: b.d, alias: "u"}), " AND ")+")")
	}
	where = append(where, "r.kind = "+kindLit, "r.id = t.record_id")
	where = append(where, b.recordConditions(s, q, false)...)
	if q.Text != "" {
		where = append(where, b.d.TextFilter(b.arg, q.Text))
	}
	return selectKw + columns + " FROM " + timers + " t CROSS JOIN " + b.d.Table("records") + " r WHERE " +
		strings.Join(where, " AND ") + " ORDER BY t.opened_at, t.record_id"
}

func policyKinds(ks []sla.PolicyKind) []any {
	out := make([]any, len(ks))
	for i, k := range ks {
		out[i] = int64(k)
	}
	return out
}
