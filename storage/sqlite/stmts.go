package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
)

// The statements a Store runs often. Each string is the cache key of its
// prepared statement, so call sites use these exact strings.
var (
	sqlGetByID      = "SELECT " + incidentCols + " FROM incidents WHERE id = ?"
	sqlGetByNumber  = "SELECT " + incidentCols + " FROM incidents WHERE number = ?"
	sqlJournalOne   = "SELECT incident_id, kind, author, at, text FROM incident_journal WHERE incident_id = ? ORDER BY incident_id, position"
	sqlJournalMany  = "SELECT incident_id, kind, author, at, text FROM incident_journal WHERE incident_id IN (SELECT value FROM json_each(?)) ORDER BY incident_id, position"
	sqlProblemsOne  = "SELECT incident_id, problem_id FROM incident_problems WHERE incident_id = ? ORDER BY incident_id, position"
	sqlProblemsMany = "SELECT incident_id, problem_id FROM incident_problems WHERE incident_id IN (SELECT value FROM json_each(?)) ORDER BY incident_id, position"
	sqlChangesOne   = "SELECT incident_id, change_id FROM incident_changes WHERE incident_id = ? ORDER BY incident_id, position"
	sqlChangesMany  = "SELECT incident_id, change_id FROM incident_changes WHERE incident_id IN (SELECT value FROM json_each(?)) ORDER BY incident_id, position"
	sqlChildren     = "SELECT " + incidentCols + " FROM incidents WHERE parent_id = ? ORDER BY opened_at, id"
	// The first three terms repeat the condition of the partial index
	// incidents_resolved_open.
	sqlResolvedBefore = "SELECT " + incidentCols + ` FROM incidents
		WHERE resolved_at IS NOT NULL AND closed_at IS NULL AND major = 0 AND resolved_at < ?
		ORDER BY resolved_at, id LIMIT ?`
	sqlTimers = "SELECT " + timerCols + " FROM sla_timers WHERE incident_id = ? ORDER BY seq"
	// The due timers lie in the incidents whose earliest wake-up is
	// before ?1; the limit earliest of them lie in the incidents whose
	// earliest wake-up is at most the limit-th smallest such wake-up (an
	// incident past it has at least limit timers of other incidents due
	// before each of its own). So the query reads about limit incidents
	// through incidents_sla_wake, however many are due.
	sqlTimersDue = "SELECT " + timerColsOfT + ` FROM incidents i JOIN sla_timers t ON t.incident_id = i.id
		WHERE i.sla_wake_at <= coalesce((SELECT sla_wake_at FROM incidents WHERE sla_wake_at <= ?1
			ORDER BY sla_wake_at LIMIT 1 OFFSET ?2 - 1), ?1)
		AND t.next_wake_at <= ?1
		ORDER BY t.next_wake_at, t.id, t.incident_id LIMIT ?2`
	sqlHistory   = "SELECT " + eventCols + " FROM audit_events WHERE kind = ? AND record_id = ? ORDER BY sequence"
	sqlAuditHead = "SELECT last_sequence, last_hash FROM audit_heads WHERE kind = ? AND record_id = ?"

	sqlNextNumber = `INSERT INTO number_sequences (kind, last) VALUES (?, 1)
		ON CONFLICT (kind) DO UPDATE SET last = last + 1 RETURNING last`
	sqlVersion        = "SELECT version FROM incidents WHERE id = ?"
	sqlDeleteJournal  = "DELETE FROM incident_journal WHERE incident_id = ?"
	sqlDeleteProblems = "DELETE FROM incident_problems WHERE incident_id = ?"
	sqlDeleteChanges  = "DELETE FROM incident_changes WHERE incident_id = ?"
	sqlInsertJournal  = "INSERT INTO incident_journal (incident_id, position, kind, author, at, text) VALUES (?, ?, ?, ?, ?, ?)"
	sqlInsertProblem  = "INSERT INTO incident_problems (incident_id, position, problem_id) VALUES (?, ?, ?)"
	sqlInsertChange   = "INSERT INTO incident_changes (incident_id, position, change_id) VALUES (?, ?, ?)"
	sqlInsertEvent    = "INSERT INTO audit_events (" + eventCols + ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
	sqlInsertCrossing = `INSERT INTO sla_crossings
		(timer_id, cycle, basis_points, incident_id, policy, metric, at, recorded_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`
	sqlRefreshTimer = "UPDATE sla_timers SET stage = ?, at_risk_at = ?, breach_at = ?, next_wake_at = ? WHERE incident_id = ? AND id = ?"
	// sqlIncidentExists runs only after a refused PutTimers, so it is not
	// prepared ahead.
	sqlIncidentExists = "SELECT EXISTS (SELECT 1 FROM incidents WHERE id = ?)"
	sqlSavepoint      = "SAVEPOINT itsmkit_write"
	sqlRelease        = "RELEASE itsmkit_write"
	sqlRollbackTo     = "ROLLBACK TO itsmkit_write"
)

// maxTimersPerPut is the most timers one statement of PutTimers saves; a
// service saves one or two at a time.
const maxTimersPerPut = 4

// sqlPutTimers[n] saves n timers (1 ≤ n ≤ maxTimersPerPut) in one
// statement: an upsert by incident and ID that keeps a replaced timer's
// seq.
var sqlPutTimers = func() []string {
	out := make([]string, maxTimersPerPut+1)
	for n := 1; n <= maxTimersPerPut; n++ {
		out[n] = "INSERT INTO sla_timers (id, incident_id, policy, metric, timer, stage, at_risk_at, breach_at, next_wake_at) VALUES " +
			strings.Repeat("(?, ?, ?, ?, ?, ?, ?, ?, ?), ", n-1) + "(?, ?, ?, ?, ?, ?, ?, ?, ?)" + `
		ON CONFLICT (incident_id, id) DO UPDATE SET policy = excluded.policy,
		metric = excluded.metric, timer = excluded.timer, stage = excluded.stage, at_risk_at = excluded.at_risk_at,
		breach_at = excluded.breach_at, next_wake_at = excluded.next_wake_at`
	}
	return out
}()

// readQueries run on both pools; writeQueries on the writer only.
var (
	readQueries = []string{sqlGetByID, sqlGetByNumber, sqlJournalOne, sqlJournalMany, sqlProblemsOne,
		sqlProblemsMany, sqlChangesOne, sqlChangesMany, sqlChildren, sqlResolvedBefore, sqlTimers,
		sqlTimersDue, sqlHistory, sqlAuditHead}
	writeQueries = []string{sqlNextNumber, incidentInsert, incidentUpdate, sqlVersion, sqlDeleteJournal,
		sqlDeleteProblems, sqlDeleteChanges, sqlInsertJournal, sqlInsertProblem, sqlInsertChange,
		sqlInsertEvent, sqlInsertCrossing, sqlRefreshTimer, sqlSavepoint, sqlRelease, sqlRollbackTo}
)

// stmtSet is a set of statements prepared on one pool, by query text.
type stmtSet map[string]*sql.Stmt

// prepareSet prepares queries on db. It must be called while no
// transaction holds db's connections (the writer has only one).
func prepareSet(ctx context.Context, db *sql.DB, queries ...[]string) (stmtSet, error) {
	set := stmtSet{}
	for _, qs := range queries {
		for _, q := range qs {
			st, err := db.PrepareContext(ctx, q)
			if err != nil {
				set.close()
				return nil, fmt.Errorf("sqlite: prepare: %w", mapErr(err))
			}
			set[q] = st
		}
	}
	return set, nil
}

func (set stmtSet) close() error {
	var errs []error
	for _, st := range set {
		errs = append(errs, st.Close())
	}
	return errors.Join(errs...)
}

// prepareStatements prepares the statements the store runs often, once the
// schema exists: a transaction then runs them without parsing them again
// (Tx.StmtContext reuses a statement prepared on the transaction's
// connection). Until it succeeds, statements are parsed on every call.
func (s *Store) prepareStatements(ctx context.Context) error {
	s.prepMu.Lock()
	defer s.prepMu.Unlock()
	if s.wStmts.Load() != nil {
		return nil
	}
	w, err := prepareSet(ctx, s.w, readQueries, writeQueries, sqlPutTimers[1:])
	if err != nil {
		return err
	}
	r, err := prepareSet(ctx, s.r, readQueries)
	if err != nil {
		w.close()
		return err
	}
	s.rStmts.Store(&r)
	s.wStmts.Store(&w)
	return nil
}

// txConn runs statements in a transaction, through a prepared statement
// of its pool when there is one for the query.
type txConn struct {
	tx    *sql.Tx
	stmts stmtSet // may be nil
}

func (c txConn) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	if st := c.stmts[query]; st != nil {
		return c.tx.StmtContext(ctx, st).ExecContext(ctx, args...)
	}
	return c.tx.ExecContext(ctx, query, args...)
}

func (c txConn) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	if st := c.stmts[query]; st != nil {
		return c.tx.StmtContext(ctx, st).QueryContext(ctx, args...)
	}
	return c.tx.QueryContext(ctx, query, args...)
}

func (c txConn) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	if st := c.stmts[query]; st != nil {
		return c.tx.StmtContext(ctx, st).QueryRowContext(ctx, args...)
	}
	return c.tx.QueryRowContext(ctx, query, args...)
}

// writerConn returns the txConn for a transaction on the writer (or one
// the application holds, see Join).
func (s *Store) writerConn(tx *sql.Tx) txConn {
	c := txConn{tx: tx}
	if p := s.wStmts.Load(); p != nil {
		c.stmts = *p
	}
	return c
}

// readerConn returns the txConn for a read transaction on the readers.
func (s *Store) readerConn(tx *sql.Tx) txConn {
	c := txConn{tx: tx}
	if p := s.rStmts.Load(); p != nil {
		c.stmts = *p
	}
	return c
}

// prepareIn returns query as a statement of c's transaction: the store's
// prepared statement when there is one, or a new one that the transaction
// closes when it ends.
func prepareIn(ctx context.Context, c txConn, query string) (*sql.Stmt, error) {
	if st := c.stmts[query]; st != nil {
		return c.tx.StmtContext(ctx, st), nil
	}
	st, err := c.tx.PrepareContext(ctx, query)
	if err != nil {
		return nil, fmt.Errorf("sqlite: prepare: %w", mapErr(err))
	}
	return st, nil
}
