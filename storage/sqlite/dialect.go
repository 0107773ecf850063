package sqlite

import (
	"strconv"
	"time"

	"github.com/itsmkit/itsmkit/record"
	"github.com/itsmkit/itsmkit/storage/internal/sqlrec"
)

// dialect is SQLite's side of the SQL text shared with storage/postgres.
type dialect struct{}

// sq is the dialect every statement built by sqlrec uses.
var sq sqlrec.Dialect = dialect{}

// Param returns the numbered placeholder "?N", so that one argument can
// appear several times in a statement.
func (dialect) Param(n int) string { return "?" + strconv.Itoa(n) }

// Table returns name: the tables live in the database's main schema.
func (dialect) Table(name string) string { return name }

// Time encodes an instant as INTEGER microseconds, rounded up. Stored
// instants are whole microseconds, so rounding up keeps the comparisons
// of record.Query exact for an argument between two microseconds:
// col >= t, col < t and col > t hold for exactly the stored values that
// the same comparison with t itself selects.
func (dialect) Time(t time.Time) any { return ceilMicro(t) }

// Bool encodes a boolean as 0 or 1.
func (dialect) Bool(b bool) any { return boolInt(b) }

// AttrExpr returns json_extract(doc, '$.attrs.<name>'): TEXT for text,
// choice, decimal and time attributes (time values sort as text), INTEGER
// for integers, and 1 or 0 for booleans. Names are identifiers that
// record.NewSchema checked.
func (dialect) AttrExpr(doc string, a record.Attribute) string {
	return "json_extract(" + doc + ", '$.attrs." + a.Name + "')"
}

// AttrArg encodes v the way AttrExpr reads it: strings as TEXT, integers
// as INTEGER and booleans as 1 or 0.
func (dialect) AttrArg(_ record.Attribute, v record.Value) any {
	if n, ok := v.Int(); ok {
		return n
	}
	if b, ok := v.Bool(); ok {
		return boolInt(b)
	}
	s, _ := v.Str()
	return s
}

// TextFilter calls itsmkit_contains_fold on number, title and description,
// with one argument used three times.
func (dialect) TextFilter(arg func(any) string, text string) string {
	p := arg(text)
	return "(" + containsFoldFunc + "(r.number, " + p + ") OR " + containsFoldFunc + "(r.title, " + p + ") OR " +
		containsFoldFunc + "(r.description, " + p + "))"
}

// Unindexed returns "+col": SQLite uses no index for a term on an
// expression, and unary plus leaves the value as it is.
func (dialect) Unindexed(col string) string { return "+" + col }

// TimersByKey names the index of sla_timers' UNIQUE (kind, record_id,
// id) constraint (migrations/0002_records.sql): without statistics,
// SQLite may prefer a covering index led by kind alone.
func (dialect) TimersByKey(alias string) string {
	return "sla_timers " + alias + " INDEXED BY sqlite_autoindex_sla_timers_1"
}

// Opaque returns cond in parentheses: SQLite has no statistics to
// estimate it from, and its columns are Unindexed.
func (dialect) Opaque(cond string) string { return "(" + cond + ")" }

// RecordsByWake names the index records_sla_wake
// (migrations/0002_records.sql): without statistics, SQLite would rather
// walk another index of records in List order.
func (dialect) RecordsByWake(alias string) string {
	return "records " + alias + " INDEXED BY records_sla_wake"
}

// CursorID returns p: IDs compare by bytes (SQLite's BINARY collation),
// as record.Cursor does.
func (dialect) CursorID(p string) string { return p }
