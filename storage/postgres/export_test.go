package postgres

import (
	"context"

	"github.com/itsmkit/itsmkit/incident"
)

// BackendPID returns the server process ID of the connection tx (a
// transaction handed to InTx's fn) runs on, for tests that kill it.
func BackendPID(ctx context.Context, tx incident.Tx) (uint32, error) {
	t := tx.(*txn)
	var pid uint32
	err := t.use(ctx, func(db querier) error { return db.QueryRow(ctx, "SELECT pg_backend_pid()").Scan(&pid) })
	return pid, err
}

// MapError exposes mapError to the external tests.
var MapError = mapError

// ListSQL exposes the List statement built for q, for EXPLAIN tests.
func ListSQL(s *Store, q incident.Query) (string, []any, error) { return s.listSQL(q) }

// ReaderSQL exposes the statements of Children, ResolvedBefore, Timers
// and TimersDue and the claim of ProcessDueTimers, for EXPLAIN tests.
func ReaderSQL(s *Store) (children, resolvedBefore, timers, timersDue, claimDue string) {
	return s.q.children, s.q.resolvedBefore, s.q.timers, s.q.timersDue, s.q.claimDue
}
