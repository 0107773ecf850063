package sqlite

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"

	"golang.org/x/mod/sumdb/tlog"

	"github.com/itsmkit/itsmkit/itsm"
	"github.com/itsmkit/itsmkit/storage"
)

// VerifyAuditTrail checks the per-record hash chain of every record's
// audit events against the record's head with storage.VerifyChain,
// record by record in (kind, record ID) order, on one committed snapshot.
// It returns nil when every chain holds, and otherwise goes on to the end
// and returns the first problem of each broken record as a
// *storage.TamperError (matching itsm.ErrConflict), all joined with
// errors.Join: an edited, deleted, inserted or reordered event, a record
// whose events outlive its head, or a head without its events. It cannot
// tell a chain recomputed after an edit, nor newest events deleted with
// their head rewound, nor an event forged with its chain; VerifyAuditLog
// against a signed checkpoint can. It works on every schema version, and
// reads the whole log, so its cost grows with the number of events.
func (s *Store) VerifyAuditTrail(ctx context.Context) error {
	return s.read(ctx, func(r reader) error {
		rows, err := r.q.QueryContext(ctx, `SELECT kind, record_id FROM audit_heads
			UNION SELECT kind, record_id FROM audit_events ORDER BY 1, 2`)
		if err != nil {
			return fmt.Errorf("sqlite: verify audit trail: %w", mapErr(err))
		}
		type key struct{ kind, id string }
		var keys []key
		for rows.Next() {
			var k key
			if err := rows.Scan(&k.kind, &k.id); err != nil {
				rows.Close()
				return fmt.Errorf("sqlite: verify audit trail: %w", mapErr(err))
			}
			keys = append(keys, k)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return fmt.Errorf("sqlite: verify audit trail: %w", mapErr(err))
		}
		var broken []error
		for _, k := range keys {
			chain, head, err := r.auditChain(ctx, k.kind, k.id)
			if err != nil {
				return err
			}
			if err := storage.VerifyChain(k.kind, k.id, chain, head); err != nil {
				broken = append(broken, err)
			}
		}
		return errors.Join(broken...)
	})
}

// auditChain reads a record's stored events with their hashes, and its
// head (zero when it has none).
func (r reader) auditChain(ctx context.Context, kind, id string) ([]storage.AuditRow, storage.AuditHead, error) {
	var head storage.AuditHead
	err := r.q.QueryRowContext(ctx, sqlAuditHead, kind, id).Scan(&head.Sequence, &head.Hash)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return nil, head, fmt.Errorf("sqlite: read audit head of %s %s: %w", kind, id, mapErr(err))
	}
	var out []storage.AuditRow
	err = r.each(ctx, "audit events of "+kind+" "+id, sqlHistory, []any{kind, id}, func(sc scanner) error {
		ev, prev, hash, err := scanEvent(sc)
		if err != nil {
			return err
		}
		out = append(out, storage.AuditRow{Event: ev, PrevHash: prev, Hash: hash})
		return nil
	})
	return out, head, err
}

// The transparency log (migrations/0005_transparency.sql).
const (
	sqlLogSize     = "SELECT size FROM audit_log_head WHERE id = 1"
	sqlSetLogSize  = "UPDATE audit_log_head SET size = ? WHERE id = 1"
	sqlInsertEntry = "INSERT INTO audit_log (log_index, kind, record_id, sequence, hashes, seal) VALUES (?, ?, ?, ?, ?, ?)"
)

// migrationSteps are Go steps of migrations, run after the migration's SQL
// in the same transaction, by version.
var migrationSteps = map[int]func(ctx context.Context, q querier) error{
	5: buildAuditLog,
}

// buildAuditLog puts the events stored before the transparency log into
// it, in their stored order (kind, record ID, sequence), with their tree
// hashes.
func buildAuditLog(ctx context.Context, q querier) error {
	var b storage.LogBuilder
	type entry struct {
		kind, id string
		seq      int64
		hashes   []byte
	}
	var entries []entry
	r := reader{q: q}
	err := r.each(ctx, "audit events", "SELECT "+eventCols+" FROM audit_events ORDER BY kind, record_id, sequence", nil, func(sc scanner) error {
		ev, _, _, err := scanEvent(sc)
		if err != nil {
			return err
		}
		_, hashes := b.Append(storage.LeafHash(ev))
		entries = append(entries, entry{ev.Kind, ev.RecordID, ev.Sequence, hashes})
		return nil
	})
	if err != nil {
		return err
	}
	for i, e := range entries {
		if _, err := q.ExecContext(ctx, sqlInsertEntry, i, e.kind, e.id, e.seq, e.hashes, nil); err != nil {
			return fmt.Errorf("sqlite: build the audit log: %w", mapErr(err))
		}
	}
	if _, err := q.ExecContext(ctx, sqlSetLogSize, b.Size()); err != nil {
		return fmt.Errorf("sqlite: build the audit log: %w", mapErr(err))
	}
	return nil
}

// WithAuditSeal makes the store seal every log entry it appends with key
// (storage.Seal), so that an entry appended straight into the database,
// without the key, is found by verification (storage.CheckSeal) even
// before a checkpoint covers it, and storage.Checkpointer refuses to sign
// over it. Keep the key with the application, as the checkpoints' signing
// key, never in the database. A key shorter than storage.MinSealKeySize
// makes Open fail with an *itsm.ValidationError; nil or empty seals
// nothing (the default).
func WithAuditSeal(key []byte) Option {
	return func(c *config) { c.sealKey = bytes.Clone(key) }
}

// appendLog appends the events, as stored, to the transparency log after
// its last entry, and moves the log head. A log missing an earlier entry
// that the new tree hashes need refuses the append with an error matching
// storage.ErrCorrupt.
func (t *tx) appendLog(ctx context.Context, events []itsm.Event) error {
	var size int64
	if err := t.q.QueryRowContext(ctx, sqlLogSize).Scan(&size); err != nil {
		return fmt.Errorf("sqlite: read the audit log head: %w", mapErr(err))
	}
	hr := entryReader(ctx, t.q)
	for i, ev := range events {
		n := size + int64(i)
		leaf := storage.LeafHash(ev)
		hashes, err := storage.EntryHashes(n, leaf, hr)
		if te := (*storage.TamperError)(nil); errors.As(err, &te) {
			// The log lost entries: appending more would build on it.
			return fmt.Errorf("sqlite: append to the audit log: %w: %s", storage.ErrCorrupt, te.Problem)
		}
		if err != nil {
			return fmt.Errorf("sqlite: append to the audit log: %w", err)
		}
		var seal any
		if len(t.sealKey) > 0 {
			seal = storage.Seal(t.sealKey, leaf)
		}
		if _, err := t.q.ExecContext(ctx, sqlInsertEntry, n, ev.Kind, ev.RecordID, ev.Sequence, hashes, seal); err != nil {
			return fmt.Errorf("sqlite: append to the audit log: %w", err)
		}
	}
	if _, err := t.q.ExecContext(ctx, sqlSetLogSize, size+int64(len(events))); err != nil {
		return fmt.Errorf("sqlite: move the audit log head: %w", err)
	}
	return nil
}

// entryReader reads log entries' tree hashes for storage.EntryHashReader.
func entryReader(ctx context.Context, q querier) tlog.HashReader {
	return storage.EntryHashReader(func(entries []int64) (map[int64][]byte, error) {
		out := make(map[int64][]byte, len(entries))
		for _, e := range entries {
			var hs []byte
			err := q.QueryRowContext(ctx, "SELECT hashes FROM audit_log WHERE log_index = ?", e).Scan(&hs)
			if errors.Is(err, sql.ErrNoRows) {
				continue
			}
			if err != nil {
				return nil, fmt.Errorf("sqlite: read the audit log: %w", mapErr(err))
			}
			out[e] = hs
		}
		return out, nil
	})
}

// AuditTree returns the transparency log's size and root hash, computed
// from the tree hashes it keeps (a few entries read per level of the
// tree), on one committed snapshot. It implements storage.AuditLog. A log
// whose entries are missing is a *storage.TamperError.
func (s *Store) AuditTree(ctx context.Context) (tlog.Tree, error) {
	var tree tlog.Tree
	err := s.read(ctx, func(r reader) error {
		if err := r.q.QueryRowContext(ctx, sqlLogSize).Scan(&tree.N); err != nil {
			return fmt.Errorf("sqlite: read the audit log head: %w", mapErr(err))
		}
		h, err := tlog.TreeHash(tree.N, entryReader(ctx, r.q))
		tree.Hash = h
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
	err := s.read(ctx, func(r reader) error {
		var size int64
		if err := r.q.QueryRowContext(ctx, sqlLogSize).Scan(&size); err != nil {
			return fmt.Errorf("sqlite: read the audit log head: %w", mapErr(err))
		}
		if old < 0 || old > n || n > size {
			return itsm.NewValidationError("tree proof", "sizes", "need 0 <= old <= n <= %d, have old %d and n %d", size, old, n)
		}
		p, err := tlog.ProveTree(n, old, entryReader(ctx, r.q))
		proof = p
		return err
	})
	return proof, err
}

// VerifyAuditSeals checks the seals of the log entries from index from up
// to n (excluded) under the store's seal key (WithAuditSeal), as
// storage.AuditLog documents, on one committed snapshot; without a key it
// returns nil at once. It implements storage.AuditLog.
func (s *Store) VerifyAuditSeals(ctx context.Context, from, n int64) error {
	if len(s.cfg.sealKey) == 0 {
		return nil
	}
	c := storage.NewSealCheck(s.cfg.sealKey, from, n)
	err := s.read(ctx, func(r reader) error {
		return r.each(ctx, "audit log", "SELECT log_index, hashes, seal FROM audit_log WHERE log_index >= ? AND log_index < ? ORDER BY log_index",
			[]any{from, n}, func(sc scanner) error {
				var e storage.SealedEntry
				if err := sc.Scan(&e.Index, &e.Hashes, &e.Seal); err != nil {
					return err
				}
				if !c.Entry(e) {
					return errStop
				}
				return nil
			})
	})
	if err != nil && !errors.Is(err, errStop) {
		return err
	}
	return c.Err()
}

// errStop ends a scan early.
var errStop = errors.New("sqlite: stop")

// verifyEventCols are eventCols of the events e of a LEFT JOIN, NULL
// (for an entry whose event is missing) read as zero values.
const verifyEventCols = "e.kind IS NOT NULL, coalesce(e.kind, ''), coalesce(e.record_id, ''), coalesce(e.sequence, 0), " +
	"coalesce(e.actor_id, ''), coalesce(e.actor_name, ''), coalesce(e.actor_roles, '[]'), coalesce(e.at, 0), " +
	"coalesce(e.action, ''), coalesce(e.from_state, ''), coalesce(e.to_state, ''), coalesce(e.changes, '[]'), " +
	"coalesce(e.reason, ''), e.prev_hash, e.hash"

// VerifyAuditLog verifies the whole audit log against cp, the latest
// trusted checkpoint (nil verifies all that needs none), on one committed
// snapshot, and reports every problem it finds (see storage.Check for
// what each check finds). It implements storage.AuditLog. The error is
// for a failure to read; a log that does not verify gives a report with
// problems and a nil error. It reads the whole log and every record, so
// its cost grows with them; it keeps a little per record in memory.
func (s *Store) VerifyAuditLog(ctx context.Context, cp *storage.Checkpoint) (*storage.AuditReport, error) {
	var report *storage.AuditReport
	err := s.read(ctx, func(r reader) error {
		v := storage.NewAuditVerifier(cp)
		v.CheckSeals(s.cfg.sealKey)
		err := r.each(ctx, "audit heads", "SELECT kind, record_id, last_sequence, last_hash FROM audit_heads", nil, func(sc scanner) error {
			var k storage.RecordKey
			var h storage.AuditHead
			if err := sc.Scan(&k.Kind, &k.ID, &h.Sequence, &h.Hash); err != nil {
				return err
			}
			v.Head(k, h)
			return nil
		})
		if err != nil {
			return err
		}
		err = r.each(ctx, "audit log", `SELECT l.log_index, l.kind, l.record_id, l.sequence, l.hashes, l.seal, `+verifyEventCols+`
			FROM audit_log l LEFT JOIN audit_events e ON e.kind = l.kind AND e.record_id = l.record_id AND e.sequence = l.sequence
			ORDER BY l.log_index`, nil, func(sc scanner) error {
			return scanEntry(sc, v, true)
		})
		if err != nil {
			return err
		}
		err = r.each(ctx, "audit events", `SELECT -1, e.kind, e.record_id, e.sequence, NULL, NULL, `+verifyEventCols+`
			FROM audit_events e WHERE NOT EXISTS (SELECT 1 FROM audit_log l
				WHERE l.kind = e.kind AND l.record_id = e.record_id AND l.sequence = e.sequence)
			ORDER BY e.kind, e.record_id, e.sequence`, nil, func(sc scanner) error {
			return scanEntry(sc, v, false)
		})
		if err != nil {
			return err
		}
		// A record is what its document says (what reads return) and what
		// its columns say (what queries filter on); both are compared.
		err = r.each(ctx, "records", `SELECT kind, id, coalesce(json_extract(doc, '$.state'), ''),
			coalesce(json_extract(doc, '$.title'), ''), coalesce(json_extract(doc, '$.assignment_group'), ''),
			coalesce(json_extract(doc, '$.assignee'), ''), state, title, assignment_group, assignee FROM records`, nil, func(sc scanner) error {
			var doc, cols storage.RecordRow
			if err := sc.Scan(&doc.Kind, &doc.ID, &doc.State, &doc.Title, &doc.AssignmentGroup, &doc.Assignee,
				&cols.State, &cols.Title, &cols.AssignmentGroup, &cols.Assignee); err != nil {
				return err
			}
			v.Record(doc)
			if cols.Kind, cols.ID = doc.Kind, doc.ID; cols != doc {
				v.Record(cols)
			}
			return nil
		})
		if err != nil {
			return err
		}
		var size int64
		if err := r.q.QueryRowContext(ctx, sqlLogSize).Scan(&size); err != nil {
			return fmt.Errorf("sqlite: read the audit log head: %w", mapErr(err))
		}
		report = v.Report(size)
		return nil
	})
	return report, err
}

// scanEntry reads a row of a log entry (logged) or of an event without
// one, followed by verifyEventCols, and gives it to v.
func scanEntry(sc scanner, v *storage.AuditVerifier, logged bool) error {
	var (
		e              storage.LogEntry
		has            bool
		roles, changes string
		at             int64
		row            storage.AuditRow
	)
	ev := &row.Event
	err := sc.Scan(&e.Index, &e.Kind, &e.RecordID, &e.Sequence, &e.Hashes, &e.Seal, &has, &ev.Kind, &ev.RecordID, &ev.Sequence,
		&ev.Actor.ID, &ev.Actor.Name, &roles, &at, &ev.Action, &ev.From, &ev.To, &changes, &ev.Reason, &row.PrevHash, &row.Hash)
	if err != nil {
		return err
	}
	if !logged {
		e.Index = -1
	}
	if has {
		ev.At = fromMicro(at)
		if ev.Actor.Roles, err = decodeList[itsm.Role](roles, "roles"); err != nil {
			return err
		}
		if ev.Changes, err = decodeList[itsm.Change](changes, "changes"); err != nil {
			return err
		}
		e.Event = &row
	}
	v.Entry(e)
	return nil
}
