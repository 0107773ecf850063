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

// ErrTxDone is returned by the methods of a record.Tx used after the InTx
// call that created it has returned; nothing is read or written.
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
// storage.ErrRetryable; a full disk or a reached max_page_count
// (SQLITE_FULL) storage.ErrFull; a read-only file, connection or
// directory (SQLITE_READONLY) storage.ErrReadOnly; a damaged file or one
// that is not a database (SQLITE_CORRUPT, SQLITE_NOTADB)
// storage.ErrCorrupt; a UNIQUE or PRIMARY KEY violation matches
// itsm.ErrConflict. Other errors are returned as they are. sql.ErrNoRows
// is translated where the missing record is known.
func mapErr(err error) error {
	var se *sqlite.Error
	if err == nil || !errors.As(err, &se) {
		return err
	}
	switch se.Code() & 0xff {
	case sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED:
		return storage.Retryable(err)
	case sqlite3.SQLITE_FULL:
		return fmt.Errorf("%w: %w", storage.ErrFull, err)
	case sqlite3.SQLITE_READONLY:
		return fmt.Errorf("%w: %w", storage.ErrReadOnly, err)
	case sqlite3.SQLITE_CORRUPT, sqlite3.SQLITE_NOTADB:
		return fmt.Errorf("%w: %w", storage.ErrCorrupt, err)
	}
	switch se.Code() {
	case sqlite3.SQLITE_CONSTRAINT_UNIQUE, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY:
		return fmt.Errorf("%w: %w", itsm.ErrConflict, err)
	}
	return err
}

// isTriggerAbort reports whether err is the refusal of one of the
// schema's triggers whose message contains msg.
func isTriggerAbort(err error, msg string) bool {
	var se *sqlite.Error
	return errors.As(err, &se) && se.Code() == sqlite3.SQLITE_CONSTRAINT_TRIGGER && strings.Contains(se.Error(), msg)
}

// micro is how instants are stored: microseconds since the Unix epoch,
// rounded down.
func micro(t time.Time) int64 { return t.UnixMicro() }

// nullMicro stores an optional instant: NULL for the zero time.
func nullMicro(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UnixMicro()
}

// ceilMicro stores an instant rounded up to the microsecond; NULL for the
// zero time. A timer's next wake-up is stored so, so that a timer whose
// wake-up lies a few nanoseconds after an instant (the breach wakes one
// nanosecond after the due time) is not due at that instant again.
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

// utcMicro returns t as stores keep it: in UTC, rounded down to the
// microsecond; the zero time stays zero.
func utcMicro(t time.Time) time.Time {
	if t.IsZero() {
		return time.Time{}
	}
	return t.UTC().Truncate(time.Microsecond)
}

func boolInt(b bool) int64 {
	if b {
		return 1
	}
	return 0
}

// encodeList encodes a list (roles, changes) as a JSON array, "[]" when
// it is empty.
func encodeList[T any](xs []T) (string, error) {
	if len(xs) == 0 {
		return "[]", nil
	}
	b, err := json.Marshal(xs)
	return string(b), err
}

// decodeList decodes what encodeList made; "[]" is a nil list.
func decodeList[T any](s, what string) ([]T, error) {
	if s == "" || s == "[]" {
		return nil, nil
	}
	var xs []T
	if err := json.Unmarshal([]byte(s), &xs); err != nil {
		return nil, fmt.Errorf("sqlite: decode %s: %w", what, err)
	}
	return xs, nil
}

// placeholders returns "?, ?, ?" for n parameters.
func placeholders(n int) string {
	if n <= 0 {
		return ""
	}
	return strings.Repeat("?, ", n-1) + "?"
}
