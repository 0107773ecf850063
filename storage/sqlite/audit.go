package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/itsmkit/itsmkit/storage"
)

// VerifyAuditTrail checks the hash chain of every record's audit events
// against the record's head with storage.VerifyChain, record by record in
// (kind, record ID) order, on one committed snapshot. It returns nil when
// every chain holds, or the first *storage.TamperError (which matches
// itsm.ErrConflict): an edited, deleted, inserted or reordered event, a
// record whose events outlive its head, or a head without its events.
// It reads the whole log, so its cost grows with the number of events.
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
		for _, k := range keys {
			chain, head, err := r.auditChain(ctx, k.kind, k.id)
			if err != nil {
				return err
			}
			if err := storage.VerifyChain(k.kind, k.id, chain, head); err != nil {
				return err
			}
		}
		return nil
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
