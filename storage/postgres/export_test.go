package postgres

import (
	"context"

	"github.com/itsmkit/itsmkit/record"
)

// BackendPID returns the server process ID of the connection tx (a
// transaction handed to InTx's fn) runs on, for tests that kill it.
func BackendPID(ctx context.Context, tx record.Tx) (uint32, error) {
	t := tx.(*txn)
	var pid uint32
	err := t.use(ctx, func(db querier) error { return db.QueryRow(ctx, "SELECT pg_backend_pid()").Scan(&pid) })
	return pid, err
}

// MapError exposes mapError to the external tests.
var MapError = mapError

// MigrateTo exposes migrateTo: Migrate up to version target only.
func MigrateTo(ctx context.Context, s *Store, target int) error { return s.migrateTo(ctx, target) }

// ListSQL exposes the List statement of q, for EXPLAIN tests, and how
// many parts it merges (see splitQuery).
func ListSQL(s *Store, q record.Query) (sql string, args []any, parts int, err error) {
	sc, err := s.checkQuery(q)
	if err != nil {
		return "", nil, 0, err
	}
	sql, args = s.listSQL(sc, q)
	return sql, args, len(splitQuery(q)), nil
}

// ReaderSQL exposes the statements of TimersDue and the claim of
// ProcessDueTimers, for EXPLAIN tests; both take (before, limit).
func ReaderSQL(s *Store) (timersDue, claimDue string) { return s.q.timersDue, s.q.claimDue }
