package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/itsmkit/itsmkit/storage/internal/sqlrec"
)

// recordColumns are the columns of records a write sets, in the order of
// recordArgs; the SLA summary columns are left to the summary refresh.
var recordColumns = []string{"kind", "id", "number", "title", "description", "state", "state_category",
	"impact", "urgency", "priority", "requester_id", "assignment_group", "assignee", "service", "category",
	"parent_kind", "parent_id", "major", "opened_at", "updated_at", "resolved_at", "closed_at", "version", "doc"}

// The statements a Store runs often. Each string is the cache key of its
// prepared statement, so call sites use these exact strings.
var (
	sqlInsertRecord = "INSERT INTO records (" + strings.Join(recordColumns, ", ") + ") VALUES (" +
		placeholders(len(recordColumns)) + ")"
	sqlUpdateRecord = "UPDATE records SET " + strings.Join(recordColumns[2:], " = ?, ") +
		" = ? WHERE kind = ? AND id = ? AND version = ?"
	sqlGetRecord   = "SELECT doc FROM records WHERE kind = ? AND id = ?"
	sqlGetByNumber = "SELECT doc FROM records WHERE kind = ? AND number = ?"
	// sqlRecordBefore reads what Update compares before it writes: the
	// version, and what the config item rows derive from.
	sqlRecordBefore = "SELECT version, opened_at, coalesce(json_extract(doc, '$.config_items'), '[]') FROM records WHERE kind = ? AND id = ?"
	sqlRecordExists = "SELECT EXISTS (SELECT 1 FROM records WHERE kind = ? AND id = ?)"
	sqlSummaryOne   = "SELECT " + sqlrec.SummaryColumns + " FROM sla_timers WHERE kind = ? AND record_id = ? ORDER BY seq"

	// One statement for any number of config items: a JSON array of them.
	sqlInsertConfigItems = "INSERT INTO record_config_items (kind, record_id, config_item, opened_at) " +
		"SELECT ?1, ?2, value, ?3 FROM json_each(?4) WHERE true ON CONFLICT DO NOTHING"
	sqlDeleteConfigItems = "DELETE FROM record_config_items WHERE kind = ? AND record_id = ?"

	sqlJournal = "SELECT entry_kind, author, at, text FROM record_journal WHERE kind = ? AND record_id = ? ORDER BY position"
	// sqlJournalNext tells whether the record exists and the position of
	// its next journal entry.
	sqlJournalNext = "SELECT EXISTS (SELECT 1 FROM records WHERE kind = ?1 AND id = ?2), " +
		"(SELECT coalesce(max(position) + 1, 0) FROM record_journal WHERE kind = ?1 AND record_id = ?2)"
	sqlInsertJournal = "INSERT INTO record_journal (kind, record_id, position, entry_kind, author, at, text) VALUES (?, ?, ?, ?, ?, ?, ?)"

	linkCols = "seq, type, from_kind, from_id, to_kind, to_id, created_at, created_by"
	sqlLinks = "SELECT " + linkCols + " FROM record_links WHERE from_kind = ?1 AND from_id = ?2 UNION ALL " +
		"SELECT " + linkCols + " FROM record_links WHERE to_kind = ?1 AND to_id = ?2 ORDER BY seq"
	// sqlInsertLink inserts nothing unless both ends are stored.
	sqlInsertLink = "INSERT INTO record_links (type, from_kind, from_id, to_kind, to_id, created_at, created_by) " +
		"SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7 WHERE EXISTS (SELECT 1 FROM records WHERE kind = ?2 AND id = ?3) " +
		"AND EXISTS (SELECT 1 FROM records WHERE kind = ?4 AND id = ?5)"
	sqlDeleteLink = "DELETE FROM record_links WHERE type = ? AND from_kind = ? AND from_id = ? AND to_kind = ? AND to_id = ?"

	timerCols    = "kind, record_id, id, timer, policy_kind, stage, at_risk_at, breach_at, next_wake_at"
	timerColsOfT = "t.kind, t.record_id, t.id, t.timer, t.policy_kind, t.stage, t.at_risk_at, t.breach_at, t.next_wake_at"
	sqlTimers    = "SELECT " + timerCols + " FROM sla_timers WHERE kind = ? AND record_id = ? ORDER BY seq"
	// The due timers lie in the records whose earliest wake-up is before
	// ?1; the limit earliest of them lie in the records whose earliest
	// wake-up is at most the limit-th smallest such wake-up (a record past
	// it has at least limit timers of other records due before each of
	// its own). So the query reads about limit records through
	// records_sla_wake, however many are due.
	sqlTimersDue = "SELECT " + timerColsOfT + ` FROM records r JOIN sla_timers t ON t.kind = r.kind AND t.record_id = r.id
		WHERE r.sla_wake_at <= coalesce((SELECT sla_wake_at FROM records WHERE sla_wake_at <= ?1
			ORDER BY sla_wake_at LIMIT 1 OFFSET ?2 - 1), ?1)
		AND t.next_wake_at <= ?1
		ORDER BY t.next_wake_at, t.id, t.kind, t.record_id LIMIT ?2`
	sqlRefreshSummary = sqlrec.RefreshSummary(sq)
	sqlRefreshTimer   = "UPDATE sla_timers SET stage = ?, at_risk_at = ?, breach_at = ?, next_wake_at = ? WHERE kind = ? AND record_id = ? AND id = ?"
	sqlInsertCrossing = `INSERT INTO sla_crossings
		(kind, record_id, timer_id, cycle, basis_points, policy, metric, at, recorded_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`

	eventCols      = "kind, record_id, sequence, actor_id, actor_name, actor_roles, at, action, from_state, to_state, changes, reason, prev_hash, hash"
	sqlHistory     = "SELECT " + eventCols + " FROM audit_events WHERE kind = ? AND record_id = ? ORDER BY sequence"
	sqlAuditHead   = "SELECT last_sequence, last_hash FROM audit_heads WHERE kind = ? AND record_id = ?"
	sqlInsertEvent = "INSERT INTO audit_events (" + eventCols + ") VALUES (" + placeholders(14) + ")"

	sqlInsertOutbox = "INSERT INTO outbox (kind, record_id, sequence, event, appended_at) VALUES (?, ?, ?, ?, ?)"
	sqlReadOutbox   = "SELECT id, event FROM outbox WHERE id > ? ORDER BY id LIMIT ?"
	// sqlClaim takes the consumer's oldest messages that are neither
	// acknowledged, dead nor under a live lease, in one atomic statement:
	// a message claimed before gets a new lease only if its old one ran
	// out and it is neither acknowledged nor dead.
	sqlClaim = `INSERT INTO outbox_claims (consumer, message_id, lease_until, attempts, acked)
		SELECT ?1, o.id, ?3, 1, 0 FROM outbox o
		WHERE NOT EXISTS (SELECT 1 FROM outbox_claims c WHERE c.consumer = ?1 AND c.message_id = o.id
			AND (c.acked = 1 OR c.lease_until > ?2 OR c.dead_at IS NOT NULL))
		ORDER BY o.id LIMIT ?4
		ON CONFLICT (consumer, message_id) DO UPDATE SET lease_until = excluded.lease_until, attempts = attempts + 1
		WHERE NOT acked AND lease_until <= ?2 AND dead_at IS NULL
		RETURNING message_id, attempts`
	sqlClaimedEvents = "SELECT id, event FROM outbox WHERE id IN (SELECT value FROM json_each(?)) ORDER BY id"
	// sqlAck acknowledges a message of the outbox, claimed, dead or not;
	// it changes no row when there is no such message.
	sqlAck = `INSERT INTO outbox_claims (consumer, message_id, lease_until, attempts, acked)
		SELECT ?1, id, 0, 0, 1 FROM outbox WHERE id = ?2
		ON CONFLICT (consumer, message_id) DO UPDATE SET acked = 1, dead_at = NULL`

	sqlNextNumber = `INSERT INTO number_sequences (kind, last) VALUES (?, 1)
		ON CONFLICT (kind) DO UPDATE SET last = last + 1 RETURNING last`
	sqlSavepoint  = "SAVEPOINT itsmkit_write"
	sqlRelease    = "RELEASE itsmkit_write"
	sqlRollbackTo = "ROLLBACK TO itsmkit_write"
)

// maxTimersPerPut is the most timers one statement of PutTimers saves; a
// service saves one or two at a time.
const maxTimersPerPut = 4

// timerPutCols is the number of values of one timer in sqlPutTimers:
// the eleven columns, then the record's kind and ID again for its opening
// instant.
const timerPutCols = 13

// sqlPutTimers[n] saves n timers (1 ≤ n ≤ maxTimersPerPut) in one
// statement: an upsert by record and ID that keeps a replaced timer's
// seq. Each timer takes its record's opening instant (NULL for a record
// that is not stored, which the trigger sla_timers_record_exists refuses
// first).
var sqlPutTimers = func() []string {
	out := make([]string, maxTimersPerPut+1)
	row := "(" + placeholders(timerPutCols-2) + ", (SELECT opened_at FROM records WHERE kind = ? AND id = ?))"
	for n := 1; n <= maxTimersPerPut; n++ {
		out[n] = "INSERT INTO sla_timers (kind, record_id, id, policy, policy_kind, metric, timer, stage, at_risk_at, breach_at, next_wake_at, opened_at) VALUES " +
			strings.Repeat(row+", ", n-1) + row + `
		ON CONFLICT (kind, record_id, id) DO UPDATE SET policy = excluded.policy, policy_kind = excluded.policy_kind,
		metric = excluded.metric, timer = excluded.timer, stage = excluded.stage, at_risk_at = excluded.at_risk_at,
		breach_at = excluded.breach_at, next_wake_at = excluded.next_wake_at, opened_at = excluded.opened_at`
	}
	return out
}()

// readQueries run on both pools; writeQueries on the writer only.
var (
	readQueries = []string{sqlGetRecord, sqlGetByNumber, sqlSummaryOne, sqlJournal, sqlLinks, sqlTimers,
		sqlTimersDue, sqlHistory, sqlAuditHead, sqlReadOutbox}
	writeQueries = []string{sqlInsertRecord, sqlUpdateRecord, sqlRecordBefore, sqlRecordExists,
		sqlInsertConfigItems, sqlDeleteConfigItems, sqlJournalNext, sqlInsertJournal, sqlInsertLink,
		sqlDeleteLink, sqlRefreshSummary, sqlRefreshTimer, sqlInsertCrossing, sqlInsertEvent, sqlInsertOutbox,
		sqlClaim, sqlClaimedEvents, sqlAck, sqlNextNumber, sqlSavepoint, sqlRelease, sqlRollbackTo}
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
				_ = set.close()
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
		_ = w.close()
		return err
	}
	s.rStmts.Store(&r)
	s.wStmts.Store(&w)
	return nil
}

// querier is what reads and writes run on.
type querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// txConn runs statements in a transaction, through a prepared statement
// of its pool when there is one for the query.
type txConn struct {
	tx    *sql.Tx
	stmts stmtSet // may be nil
}

func (c txConn) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	if st := c.stmts[query]; st != nil {
		ctx = unwatched(ctx, query)
		return c.tx.StmtContext(ctx, st).ExecContext(ctx, args...)
	}
	return c.tx.ExecContext(ctx, query, args...)
}

func (c txConn) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	if st := c.stmts[query]; st != nil {
		ctx = unwatched(ctx, query)
		return c.tx.StmtContext(ctx, st).QueryContext(ctx, args...)
	}
	return c.tx.QueryContext(ctx, query, args...)
}

func (c txConn) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	if st := c.stmts[query]; st != nil {
		ctx = unwatched(ctx, query)
		return c.tx.StmtContext(ctx, st).QueryRowContext(ctx, args...)
	}
	return c.tx.QueryRowContext(ctx, query, args...)
}

// scanning holds the prepared statements whose work is not bounded by the
// rows they name or return: Claim's, which looks through the outbox from
// its first message, and TimersDue's.
var scanning = map[string]bool{sqlClaim: true, sqlTimersDue: true}

// unwatched returns the context a prepared statement runs with. The
// driver interrupts a statement whose context ends while it runs, and to
// do so starts a goroutine per statement, which costs a few percent of a
// short write transaction such as opening a record. The prepared
// statements other than those in scanning read or write a few rows by key
// and end soon, so they run without that watch: ctx is checked before
// each starts (a context that has ended is passed on, and the statement
// fails at once with ctx.Err()), and database/sql still rolls the
// transaction back once ctx ends, so that the statement after it fails.
func unwatched(ctx context.Context, query string) context.Context {
	if scanning[query] || ctx.Err() != nil {
		return ctx
	}
	return context.WithoutCancel(ctx)
}

// writerConn returns the txConn for a transaction on the writer.
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
