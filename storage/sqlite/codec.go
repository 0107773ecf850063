package sqlite

import (
	"database/sql"
	"database/sql/driver"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/itsmkit/itsmkit/itsm"
	"github.com/itsmkit/itsmkit/storage"
)

// ErrTxDone is returned by the methods of an incident.Tx used after the
// InTx call that created it has returned; nothing is read or written.
var ErrTxDone = errors.New("sqlite: transaction has already committed or rolled back")

// containsFoldFunc is the SQL function List's text filter calls: it
// reports whether its first argument contains its second, ignoring case
// the way strings.ToLower does (Unicode, unlike SQLite's lower()).
const containsFoldFunc = "itsmkit_contains_fold"

func init() {
	// Registered with the driver, for every connection it opens from now
	// on. The name is prefixed so that it cannot clash with another
	// package's function.
	sqlite.MustRegisterDeterministicScalarFunction(containsFoldFunc, 2, func(_ *sqlite.FunctionContext, args []driver.Value) (driver.Value, error) {
		s, _ := args[0].(string)
		sub, _ := args[1].(string)
		if strings.Contains(strings.ToLower(s), strings.ToLower(sub)) {
			return int64(1), nil
		}
		return int64(0), nil
	})
}

// mapErr translates driver errors: a busy or locked database matches
// storage.ErrRetryable, a UNIQUE or PRIMARY KEY violation matches
// itsm.ErrConflict; other errors are returned as they are. sql.ErrNoRows
// is translated where the missing record is known.
func mapErr(err error) error {
	var se *sqlite.Error
	if err == nil || !errors.As(err, &se) {
		return err
	}
	switch se.Code() & 0xff {
	case sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED:
		return storage.Retryable(err)
	}
	switch se.Code() {
	case sqlite3.SQLITE_CONSTRAINT_UNIQUE, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY:
		return fmt.Errorf("%w: %w", itsm.ErrConflict, err)
	}
	return err
}

// micro is how instants are stored: microseconds since the Unix epoch.
func micro(t time.Time) int64 { return t.UnixMicro() }

// nullMicro stores an optional instant: NULL for the zero time.
func nullMicro(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UnixMicro()
}

// ceilMicro stores a wake-up instant rounded up to the microsecond, so
// that a timer whose next wake-up lies a few nanoseconds after an instant
// (the breach wakes one nanosecond after the due time) is not due at that
// instant again; NULL for the zero time.
func ceilMicro(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	u := t.UnixMicro()
	if time.UnixMicro(u).Before(t) {
		u++
	}
	return u
}

// fromMicro reads an instant back in UTC.
func fromMicro(n int64) time.Time { return time.UnixMicro(n).UTC() }

// fromNullMicro reads an optional instant back; NULL is the zero time.
func fromNullMicro(n sql.NullInt64) time.Time {
	if !n.Valid {
		return time.Time{}
	}
	return fromMicro(n.Int64)
}

func boolInt(b bool) int64 {
	if b {
		return 1
	}
	return 0
}

// roles encodes actor roles as a JSON array.
func encodeRoles(rs []itsm.Role) (string, error) {
	if len(rs) == 0 {
		return "[]", nil
	}
	b, err := json.Marshal(rs)
	return string(b), err
}

func decodeRoles(s string) ([]itsm.Role, error) {
	if s == "" || s == "[]" {
		return nil, nil
	}
	var rs []itsm.Role
	if err := json.Unmarshal([]byte(s), &rs); err != nil {
		return nil, fmt.Errorf("sqlite: decode roles: %w", err)
	}
	return rs, nil
}

func encodeChanges(cs []itsm.Change) (string, error) {
	if len(cs) == 0 {
		return "[]", nil
	}
	b, err := json.Marshal(cs)
	return string(b), err
}

func decodeChanges(s string) ([]itsm.Change, error) {
	if s == "" || s == "[]" {
		return nil, nil
	}
	var cs []itsm.Change
	if err := json.Unmarshal([]byte(s), &cs); err != nil {
		return nil, fmt.Errorf("sqlite: decode changes: %w", err)
	}
	return cs, nil
}

// placeholders returns "?, ?, ?" for n parameters.
func placeholders(n int) string {
	if n <= 0 {
		return ""
	}
	return strings.Repeat("?, ", n-1) + "?"
}
