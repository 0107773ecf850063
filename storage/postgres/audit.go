package postgres

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/itsmkit/itsmkit/itsm"
	"github.com/itsmkit/itsmkit/storage"
)

// VerifyAuditTrail checks the hash chain of every record's audit trail
// against the events stored and the head recorded for it (see
// storage.VerifyChain), record by record in (kind, record ID) order, and
// returns the first problem as a *storage.TamperError (which matches
// itsm.ErrConflict): an edited event, a deleted or inserted one, reordered
// sequences, or newest events deleted (the head remembers them). It reads
// in one REPEATABLE READ, read-only transaction, so events appended while
// it runs cannot make it report a false break. It streams the events, so
// its memory use is bounded by the longest single trail.
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
		cur   key
		chain []storage.AuditRow
		have  bool
		hi    int
	)
	less := func(a, b key) bool { return a.kind < b.kind || (a.kind == b.kind && a.id < b.id) }
	// headsBefore verifies the records that have a head but no events and
	// sort before k (all remaining ones when k is nil).
	headsBefore := func(k *key) error {
		for ; hi < len(order) && (k == nil || less(order[hi], *k)); hi++ {
			h := order[hi]
			if err := storage.VerifyChain(h.kind, h.id, nil, heads[h]); err != nil {
				return err
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
		return storage.VerifyChain(cur.kind, cur.id, chain, heads[cur])
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
	return headsBefore(nil)
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
