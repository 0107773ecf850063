package sqlrec

import (
	"crypto/sha256"
	"encoding/hex"
	"time"

	"github.com/itsmkit/itsmkit/record"
)

// Dialect is what differs between the SQL databases in the shared text.
type Dialect interface {
	// Param returns the placeholder of the n-th argument, from 1: "?" or
	// "$n".
	Param(n int) string
	// Table returns the name to use for one of the shared tables, such as
	// "records", qualified with a schema where the adapter keeps one.
	Table(name string) string
	// Time encodes an instant as a statement argument.
	Time(t time.Time) any
	// Bool encodes a boolean as a statement argument.
	Bool(b bool) any
	// AttrExpr returns the SQL expression of attribute a of the record
	// whose document is the column doc (such as "r.doc" or "doc"), typed
	// so that comparisons with AttrArg values order correctly. The
	// attribute's index is built on the same expression with doc = "doc".
	AttrExpr(doc string, a record.Attribute) string
	// AttrArg encodes an attribute value as an argument to compare with
	// AttrExpr.
	AttrArg(a record.Attribute, v record.Value) any
	// TextFilter returns the condition that number, title or description
	// of the record aliased r contains text, ignoring case as
	// record.ContainsFold does, adding its arguments with arg (which
	// returns the placeholder).
	TextFilter(arg func(any) string, text string) string
	// Unindexed returns an expression equal to the column expression col
	// that no index serves, so that a condition on it filters the rows an
	// index found without choosing that index, such as "+col".
	Unindexed(col string) string
	// Opaque returns a condition that holds exactly when cond (a
	// condition of Unindexed columns) holds, and that the planner takes
	// as selecting a fixed share of the rows rather than estimating the
	// product of its terms, such as a CASE. An arm of timerList filters
	// the timers of its index with it: estimated term by term, the
	// share would look so small that PostgreSQL would rather read every
	// timer of the index and sort them than read them in List order and
	// stop after a page.
	Opaque(cond string) string
	// TimersByKey returns the FROM item of sla_timers aliased alias for
	// a probe of one record's timers, read through the timers' key
	// (kind, record_id, id) only: SQLite names the index, PostgreSQL
	// needs no hint.
	TimersByKey(alias string) string
	// RecordsByWake returns the FROM item of records aliased alias for
	// a read of the records with a wake-up at or before an instant,
	// through their index on sla_wake_at: SQLite names the index,
	// PostgreSQL needs no hint.
	RecordsByWake(alias string) string
	// CursorID returns how to compare the cursor's ID argument p with an
	// ID column, such as p itself or a cast to the ID columns' collation.
	CursorID(p string) string
}

// AttrIndexName returns the name of the expression index of attribute
// attr of kind: "rattr_<kind>_<attr>", or a name derived from a hash of
// both when that would exceed 63 bytes (PostgreSQL's limit).
func AttrIndexName(kind, attr string) string {
	name := "rattr_" + kind + "_" + attr
	if len(name) <= 63 {
		return name
	}
	sum := sha256.Sum256([]byte(kind + "\x00" + attr))
	return "rattr_" + hex.EncodeToString(sum[:12])
}

// AttrIndexDDL returns the statement that creates the partial expression
// index of attribute a of the kind, if it does not exist: the attribute's
// expression, then the List order (opened_at, id), for the kind's rows
// only. Kind and attribute names are identifiers that record.NewSchema
// validated, so they are safe in the text.
func AttrIndexDDL(d Dialect, kind string, a record.Attribute) string {
	return "CREATE INDEX IF NOT EXISTS " + AttrIndexName(kind, a.Name) + " ON " + d.Table("records") +
		" ((" + d.AttrExpr("doc", a) + "), opened_at, id) WHERE kind = '" + kind + "'"
}

// AttrIndexes returns the AttrIndexDDL of every filterable attribute of s.
func AttrIndexes(d Dialect, s *record.Schema) []string {
	var out []string
	for _, a := range s.Attributes() {
		if a.Filterable {
			out = append(out, AttrIndexDDL(d, s.Kind(), a))
		}
	}
	return out
}
