package postgres

import (
	"strconv"
	"strings"
	"time"

	"github.com/itsmkit/itsmkit/record"
	"github.com/itsmkit/itsmkit/storage/internal/sqlrec"
)

// dialect is the sqlrec.Dialect of PostgreSQL for one schema.
type dialect struct {
	schema string // quoted
}

var _ sqlrec.Dialect = dialect{}

// Param returns "$n".
func (dialect) Param(n int) string { return "$" + strconv.Itoa(n) }

// Table returns the table name qualified with the quoted schema, so that
// statements work whatever the connection's search_path is.
func (d dialect) Table(name string) string { return d.schema + "." + name }

// Time passes instants as they are; pgx sends them as timestamptz, to the
// microsecond.
func (dialect) Time(t time.Time) any { return t }

// Bool passes booleans as they are.
func (dialect) Bool(b bool) any { return b }

// AttrExpr returns doc->'attrs'->>'<name>', cast to bigint for integers and
// to boolean for booleans. Text, choice, decimal and time values stay text:
// time values are fixed-width UTC text that orders as the instants do.
func (dialect) AttrExpr(doc string, a record.Attribute) string {
	e := "(" + doc + "->'attrs'->>'" + a.Name + "')"
	switch a.Type {
	case record.AttrInt:
		return "(" + e + "::bigint)"
	case record.AttrBool:
		return "(" + e + "::boolean)"
	}
	return e
}

// AttrArg returns v as the type AttrExpr yields: an int64, a bool or a
// string.
func (dialect) AttrArg(a record.Attribute, v record.Value) any {
	switch a.Type {
	case record.AttrInt:
		n, _ := v.Int()
		return n
	case record.AttrBool:
		b, _ := v.Bool()
		return b
	}
	return v.String()
}

// TextFilter returns an ILIKE on number, title and description with the
// LIKE wildcards of text escaped. ILIKE folds case as the database does,
// which for the "C" and UTF-8 collations is Unicode simple lower-casing,
// the rule of record.ContainsFold. When pg_trgm is available a trigram
// index serves it (see the package documentation).
func (dialect) TextFilter(arg func(any) string, text string) string {
	p := arg("%" + escapeLike(text) + "%")
	return "(r.number ILIKE " + p + " OR r.title ILIKE " + p + " OR r.description ILIKE " + p + ")"
}

// Unindexed returns coalesce(col, col), equal to col, NULL included,
// and of its type, but an expression no index of the column serves, so
// that each arm of an SLA filter reads the index it names whatever the
// statistics say of the others.
func (dialect) Unindexed(col string) string { return "coalesce(" + col + ", " + col + ")" }

// TimersByKey returns the schema's sla_timers aliased alias: with every
// other condition of the probe Unindexed, the planner reads its primary
// key.
func (d dialect) TimersByKey(alias string) string { return d.Table("sla_timers") + " " + alias }

// Opaque returns cond as a CASE, which the planner estimates to keep
// half the rows whatever its terms.
func (dialect) Opaque(cond string) string { return "CASE WHEN " + cond + " THEN true ELSE false END" }

// RecordsByWake returns the schema's records aliased alias: the planner
// weighs records_sla_wake_idx by statistics.
func (d dialect) RecordsByWake(alias string) string { return d.Table("records") + " " + alias }

// CursorID compares the cursor's ID in the "C" collation of the ID
// columns.
func (dialect) CursorID(p string) string { return p + `::text COLLATE "C"` }

// escapeLike escapes the LIKE wildcards (and the escape character) in s.
func escapeLike(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}

// fenceTimers keeps PostgreSQL from flattening the condition of
// sqlrec.List on a record's timers (EXISTS (SELECT 1 FROM sla_timers t
// WHERE ...)) into a join: it adds OFFSET 0 to the subquery, which the
// planner then runs as a probe of the timers' primary key per record, in
// List order. Flattened, the planner multiplies the selectivity of that
// condition by the one of the summary columns it repeats (they are about
// the same timers), expects a handful of rows, and drives the query from
// a scan of every timer, which reads all matching timers however early the
// page fills: with many records at risk, hundreds of milliseconds rather
// than one. sql is returned as it is when it has no such condition.
func (d dialect) fenceTimers(sql string) string {
	marker := "EXISTS (SELECT 1 FROM " + d.Table("sla_timers") + " t WHERE "
	i := strings.Index(sql, marker)
	if i < 0 {
		return sql
	}
	depth := 0
	for j := i + len("EXISTS "); j < len(sql); j++ {
		switch sql[j] {
		case '(':
			depth++
		case ')':
			depth--
			if depth == 0 {
				return sql[:j] + " OFFSET 0" + sql[j:]
			}
		}
	}
	return sql
}
