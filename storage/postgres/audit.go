package postgres

import (
	"bytes"
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/itsmkit/itsmkit/itsm"
	"github.com/itsmkit/itsmkit/storage"
)

// VerifyAuditTrail checks the per-record hash chain of every record's
// audit trail against the events stored and the head recorded for it (see
// storage.VerifyChain), record by record in (kind, record ID) order. It
// returns nil when every chain holds, and otherwise goes on to the end and
// returns the first problem of each broken record as a
// *storage.TamperError (matching itsm.ErrConflict), all joined with
// errors.Join: an edited event, a deleted or inserted one, reordered
// sequences, or newest events deleted (the head remembers them). It cannot
// tell a chain recomputed after an edit, nor newest events deleted with
// their head rewound, nor an event forged with its chain; VerifyAuditLog
// against a signed checkpoint can. It works on every schema version. It
// reads in one REPEATABLE READ, read-only transaction, so events appended
// while it runs cannot make it report a false break. It streams the
// events, so its memory use is bounded by the longest single trail.
func (s *Store) VerifyAuditTrail(ctx context.Context) error {
	tx, err := s.pool.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
	if err != nil {
		return fmt.Errorf("postgres: verify audit trail: %w", mapError(err, "", ""))
	}
	defer func() { _ = tx.Rollback(context.WithoutCancel(ctx)) }()

	type key struct{ kind, id string }
	heads := map[key]storage.AuditHead{}
	var order []key // keys of heads, in key order
	rows, err := tx.Query(ctx, s.q.sql(`SELECT kind, record_id, sequence, hash FROM {s}.audit_heads ORDER BY kind, record_id`))
	if err != nil {
		return fmt.Errorf("postgres: verify audit trail: %w", mapError(err, "", ""))
	}
	for rows.Next() {
		var k key
		var h storage.AuditHead
		if err := rows.Scan(&k.kind, &k.id, &h.Sequence, &h.Hash); err != nil {
			rows.Close()
			return fmt.Errorf("postgres: verify audit trail: %w", mapError(err, "", ""))
		}
		heads[k] = h
		order = append(order, k)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("postgres: verify audit trail: %w", mapError(err, "", ""))
	}

	rows, err = tx.Query(ctx, s.q.sql(`SELECT `+eventColumns+`, prev_hash, hash FROM {s}.audit_events
		ORDER BY kind, record_id, sequence`))
	if err != nil {
		return fmt.Errorf("postgres: verify audit trail: %w", mapError(err, "", ""))
	}
	defer rows.Close()

	// Walk heads and event groups together, both in key order.
	var (
		cur    key
		chain  []storage.AuditRow
		have   bool
		hi     int
		broken []error // the first problem of each broken record
	)
	less := func(a, b key) bool { return a.kind < b.kind || (a.kind == b.kind && a.id < b.id) }
	// headsBefore verifies the records that have a head but no events and
	// sort before k (all remaining ones when k is nil).
	headsBefore := func(k *key) error {
		for ; hi < len(order) && (k == nil || less(order[hi], *k)); hi++ {
			h := order[hi]
			if err := storage.VerifyChain(h.kind, h.id, nil, heads[h]); err != nil {
				broken = append(broken, err)
			}
		}
		return nil
	}
	flush := func() error {
		if !have {
			return nil
		}
		if err := headsBefore(&cur); err != nil {
			return err
		}
		if hi < len(order) && order[hi] == cur {
			hi++
		}
		if err := storage.VerifyChain(cur.kind, cur.id, chain, heads[cur]); err != nil {
			broken = append(broken, err)
		}
		return nil
	}
	for rows.Next() {
		var r storage.AuditRow
		ev, err := scanAuditRow(rows, &r)
		if err != nil {
			return fmt.Errorf("postgres: verify audit trail: %w", mapError(err, "", ""))
		}
		r.Event = ev
		k := key{ev.Kind, ev.RecordID}
		if !have || k != cur {
			if err := flush(); err != nil {
				return err
			}
			cur, chain, have = k, chain[:0], true
		}
		chain = append(chain, r)
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("postgres: verify audit trail: %w", mapError(err, "", ""))
	}
	if err := flush(); err != nil {
		return err
	}
	if err := headsBefore(nil); err != nil {
		return err
	}
	return errors.Join(broken...)
}

// scanAuditRow reads eventColumns plus prev_hash and hash.
func scanAuditRow(rows pgx.Rows, r *storage.AuditRow) (itsm.Event, error) {
	var (
		ev      itsm.Event
		roles   []string
		changes []byte
	)
	err := rows.Scan(&ev.Kind, &ev.RecordID, &ev.Sequence, &ev.Actor.ID, &ev.Actor.Name, &roles, &ev.At, &ev.Action,
		&ev.From, &ev.To, &changes, &ev.Reason, &r.PrevHash, &r.Hash)
	if err != nil {
		return ev, err
	}
	ev.Actor.Roles = toRoles(roles)
	ev.At = ev.At.UTC()
	if err := decodeChanges(changes, &ev); err != nil {
		return ev, err
	}
	return ev, nil
}

// migrationSteps are Go steps of migrations, run after the migration's SQL
// in the same transaction (with the schema as search_path), by version.
var migrationSteps = map[int]func(ctx context.Context, tx pgx.Tx) error{
	6: buildAuditLog,
}

// buildAuditLog puts the events stored before the transparency log into
// it, in their stored order (kind, record ID, sequence), with their tree
// hashes, reading them in one pass and writing the entries with COPY.
func buildAuditLog(ctx context.Context, tx pgx.Tx) error {
	rows, err := tx.Query(ctx, `SELECT `+eventColumns+`, prev_hash, hash FROM audit_events ORDER BY kind, record_id, sequence`)
	if err != nil {
		return err
	}
	var b storage.LogBuilder
	var entries [][]any
	for rows.Next() {
		var r storage.AuditRow
		ev, err := scanAuditRow(rows, &r)
		if err != nil {
			rows.Close()
			return err
		}
		n, hashes := b.Append(storage.LeafHash(ev))
		entries = append(entries, []any{n, ev.Kind, ev.RecordID, ev.Sequence, hashes})
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	if _, err := tx.CopyFrom(ctx, pgx.Identifier{"audit_log"}, []string{"log_index", "kind", "record_id", "sequence", "hashes"},
		pgx.CopyFromRows(entries)); err != nil {
		return err
	}
	_, err = tx.Exec(ctx, "UPDATE audit_log_head SET size = $1 WHERE id = 1", b.Size())
	return err
}

// logEvents remembers events the transaction appended, as stored, for
// the transparency log; the caller holds mu.
func (t *txn) logEvents(events []itsm.Event) {
	for _, e := range events {
		leaf := storage.LeafHash(e)
		t.log.kinds = append(t.log.kinds, e.Kind)
		t.log.ids = append(t.log.ids, e.RecordID)
		t.log.seqs = append(t.log.seqs, e.Sequence)
		t.log.leaves = append(t.log.leaves, leaf[:])
		var seal []byte
		if len(t.s.sealKey) > 0 {
			seal = storage.Seal(t.s.sealKey, leaf)
		}
		t.log.seals = append(t.log.seals, seal)
	}
}

// logEntries are the events a transaction appended, for the log.
type logEntries struct {
	kinds, ids []string
	seqs       []int64
	leaves     [][]byte
	seals      [][]byte // nil elements for none
}

// queueLog queues the transparency-log append of the events the
// transaction appended, to be sent with its COMMIT: audit_log_append
// locks the log head's row then, as late as can be, so that concurrent
// writers hold it only while they commit.
func (t *txn) queueLog() {
	t.mu.Lock()
	defer t.mu.Unlock()
	if len(t.log.leaves) == 0 {
		return
	}
	if t.pending == nil {
		t.pending = &pgx.Batch{}
	}
	t.pending.Queue(t.s.q.sql(`SELECT {s}.audit_log_append($1::text[], $2::text[], $3::bigint[], $4::bytea[], $5::bytea[])`),
		t.log.kinds, t.log.ids, t.log.seqs, t.log.leaves, t.log.seals)
	t.log = logEntries{}
}

// readTx runs fn in a REPEATABLE READ, read-only transaction: one
// snapshot.
func (s *Store) readTx(ctx context.Context, what string, fn func(tx pgx.Tx) error) error {
	tx, err := s.pool.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
	if err != nil {
		return fmt.Errorf("postgres: %s: %w", what, mapError(err, "", ""))
	}
	defer func() { _ = tx.Rollback(context.WithoutCancel(ctx)) }()
	if err := fn(tx); err != nil {
		var te *storage.TamperError
		if errors.As(err, &te) {
			return err
		}
		return fmt.Errorf("postgres: %s: %w", what, mapError(err, "", ""))
	}
	return nil
}

// logSize reads the log head's size.
func (s *Store) logSize(ctx context.Context, db querier) (int64, error) {
	var n int64
	err := db.QueryRow(ctx, s.q.sql("SELECT size FROM {s}.audit_log_head WHERE id = 1")).Scan(&n)
	return n, err
}

// entryReader reads log entries' tree hashes for storage.EntryHashReader,
// all asked for at once in one query.
func (s *Store) entryReader(ctx context.Context, db querier) tlog.HashReader {
	return storage.EntryHashReader(func(entries []int64) (map[int64][]byte, error) {
		rows, err := db.Query(ctx, s.q.sql("SELECT log_index, hashes FROM {s}.audit_log WHERE log_index = ANY($1)"), entries)
		if err != nil {
			return nil, err
		}
		defer rows.Close()
		out := make(map[int64][]byte, len(entries))
		for rows.Next() {
			var n int64
			var hs []byte
			if err := rows.Scan(&n, &hs); err != nil {
				return nil, err
			}
			out[n] = hs
		}
		return out, rows.Err()
	})
}

// AuditTree returns the transparency log's size and root hash, computed
// from the tree hashes it keeps (one query for a few entries per level of
// the tree), on one snapshot. It implements storage.AuditLog. A log whose
// entries are missing is a *storage.TamperError.
func (s *Store) AuditTree(ctx context.Context) (tlog.Tree, error) {
	var tree tlog.Tree
	err := s.readTx(ctx, "audit tree", func(tx pgx.Tx) error {
		n, err := s.logSize(ctx, tx)
		if err != nil {
			return err
		}
		h, err := tlog.TreeHash(n, s.entryReader(ctx, tx))
		tree = tlog.Tree{N: n, Hash: h}
		return err
	})
	return tree, err
}

// ProveAuditTree returns a proof (tlog.ProveTree) that the log's tree of
// size n contains its tree of size old, from the tree hashes it keeps. It
// implements storage.AuditLog. Sizes with old > n, negative ones, or n
// beyond the log's size are an *itsm.ValidationError.
func (s *Store) ProveAuditTree(ctx context.Context, n, old int64) (tlog.TreeProof, error) {
	var proof tlog.TreeProof
	err := s.readTx(ctx, "audit tree proof", func(tx pgx.Tx) error {
		size, err := s.logSize(ctx, tx)
		if err != nil {
			return err
		}
		if old < 0 || old > n || n > size {
			return itsm.NewValidationError("tree proof", "sizes", "need 0 <= old <= n <= %d, have old %d and n %d", size, old, n)
		}
		proof, err = tlog.ProveTree(n, old, s.entryReader(ctx, tx))
		return err
	})
	var ve *itsm.ValidationError
	if errors.As(err, &ve) {
		return nil, ve
	}
	return proof, err
}

// WithAuditSeal makes the store seal every log entry it appends with key
// (storage.Seal), so that an entry appended straight into the database,
// without the key, is found by verification (storage.CheckSeal) even
// before a checkpoint covers it, and storage.Checkpointer refuses to sign
// over it. Keep the key with the application, as the checkpoints' signing
// key, never in the database; every Store writing to one schema needs the
// same key. A key shorter than storage.MinSealKeySize makes Open and New
// fail with an *itsm.ValidationError; nil or empty seals nothing (the
// default).
func WithAuditSeal(key []byte) Option {
	return func(o *options) { o.sealKey = bytes.Clone(key) }
}

// VerifyAuditSeals checks the seals of the log entries from index from up
// to n (excluded) under the store's seal key (WithAuditSeal), as
// storage.AuditLog documents, on one snapshot, streaming them; without a
// key it returns nil at once. It implements storage.AuditLog.
func (s *Store) VerifyAuditSeals(ctx context.Context, from, n int64) error {
	if len(s.sealKey) == 0 {
		return nil
	}
	c := storage.NewSealCheck(s.sealKey, from, n)
	err := s.readTx(ctx, "verify audit seals", func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, s.q.sql(`SELECT log_index, hashes, seal FROM {s}.audit_log
			WHERE log_index >= $1 AND log_index < $2 ORDER BY log_index`), from, n)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var e storage.SealedEntry
			if err := rows.Scan(&e.Index, &e.Hashes, &e.Seal); err != nil {
				return err
			}
			if !c.Entry(e) {
				return nil
			}
		}
		return rows.Err()
	})
	if err != nil {
		return err
	}
	return c.Err()
}

// verifyEventColumns are eventColumns, prev_hash and hash of the events e
// of a LEFT JOIN, after a column telling whether there is one.
const verifyEventColumns = `e.kind IS NOT NULL, coalesce(e.kind, ''), coalesce(e.record_id, ''), coalesce(e.sequence, 0),
	coalesce(e.actor_id, ''), coalesce(e.actor_name, ''), coalesce(e.actor_roles, '{}'), coalesce(e.at, 'epoch'),
	coalesce(e.action, ''), coalesce(e.from_state, ''), coalesce(e.to_state, ''), coalesce(e.changes, '[]'),
	coalesce(e.reason, ''), e.prev_hash, e.hash`

// VerifyAuditLog verifies the whole audit log against cp, the latest
// trusted checkpoint (nil verifies all that needs none), in one REPEATABLE
// READ, read-only transaction (so events appended meanwhile cannot make
// it report a false break), and reports every problem it finds (see
// storage.Check for what each check finds). It implements
// storage.AuditLog. The error is for a failure to read; a log that does
// not verify gives a report with problems and a nil error. It streams the
// log and the records, keeping a little per record in memory.
func (s *Store) VerifyAuditLog(ctx context.Context, cp *storage.Checkpoint) (*storage.AuditReport, error) {
	var report *storage.AuditReport
	err := s.readTx(ctx, "verify audit log", func(tx pgx.Tx) error {
		v := storage.NewAuditVerifier(cp)
		v.CheckSeals(s.sealKey)
		rows, err := tx.Query(ctx, s.q.sql(`SELECT kind, record_id, sequence, hash FROM {s}.audit_heads`))
		if err != nil {
			return err
		}
		var k storage.RecordKey
		var h storage.AuditHead
		_, err = pgx.ForEachRow(rows, []any{&k.Kind, &k.ID, &h.Sequence, &h.Hash}, func() error {
			v.Head(k, h)
			return nil
		})
		if err != nil {
			return err
		}
		if err := s.verifyEntries(ctx, tx, v, `SELECT l.log_index, l.kind, l.record_id, l.sequence, l.hashes, l.seal, `+verifyEventColumns+`
			FROM {s}.audit_log l LEFT JOIN {s}.audit_events e
			  ON e.kind = l.kind AND e.record_id = l.record_id AND e.sequence = l.sequence
			ORDER BY l.log_index`); err != nil {
			return err
		}
		if err := s.verifyEntries(ctx, tx, v, `SELECT -1::bigint, e.kind, e.record_id, e.sequence, NULL::bytea, NULL::bytea, `+verifyEventColumns+`
			FROM {s}.audit_events e WHERE NOT EXISTS (SELECT 1 FROM {s}.audit_log l
				WHERE l.kind = e.kind AND l.record_id = e.record_id AND l.sequence = e.sequence)
			ORDER BY e.kind, e.record_id, e.sequence`); err != nil {
			return err
		}
		// A record is what its document says (what reads return) and
		// what its columns say (what queries filter on); both are
		// compared.
		rows, err = tx.Query(ctx, s.q.sql(`SELECT kind, id, coalesce(doc->>'state', ''), coalesce(doc->>'title', ''),
			coalesce(doc->>'assignment_group', ''), coalesce(doc->>'assignee', ''), state, title, assignment_group, assignee
			FROM {s}.records`))
		if err != nil {
			return err
		}
		var doc, cols storage.RecordRow
		_, err = pgx.ForEachRow(rows, []any{&doc.Kind, &doc.ID, &doc.State, &doc.Title, &doc.AssignmentGroup, &doc.Assignee,
			&cols.State, &cols.Title, &cols.AssignmentGroup, &cols.Assignee}, func() error {
			v.Record(doc)
			if cols.Kind, cols.ID = doc.Kind, doc.ID; cols != doc {
				v.Record(cols)
			}
			return nil
		})
		if err != nil {
			return err
		}
		size, err := s.logSize(ctx, tx)
		if err != nil {
			return err
		}
		report = v.Report(size)
		return nil
	})
	return report, err
}

// verifyEntries streams the rows of query (log entries or events without
// one, followed by verifyEventColumns) to v.
func (s *Store) verifyEntries(ctx context.Context, tx pgx.Tx, v *storage.AuditVerifier, query string) error {
	rows, err := tx.Query(ctx, s.q.sql(query))
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var (
			e       storage.LogEntry
			has     bool
			row     storage.AuditRow
			roles   []string
			changes []byte
		)
		ev := &row.Event
		if err := rows.Scan(&e.Index, &e.Kind, &e.RecordID, &e.Sequence, &e.Hashes, &e.Seal, &has, &ev.Kind, &ev.RecordID, &ev.Sequence,
			&ev.Actor.ID, &ev.Actor.Name, &roles, &ev.At, &ev.Action, &ev.From, &ev.To, &changes, &ev.Reason,
			&row.PrevHash, &row.Hash); err != nil {
			return err
		}
		if has {
			ev.Actor.Roles = toRoles(roles)
			ev.At = ev.At.UTC()
			if err := decodeChanges(changes, ev); err != nil {
				return err
			}
			e.Event = &row
		}
		v.Entry(e)
	}
	return rows.Err()
}
