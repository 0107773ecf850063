package postgres_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/itsmkit/itsmkit/itsm"
	"github.com/itsmkit/itsmkit/record"
	"github.com/itsmkit/itsmkit/storage"
	"github.com/itsmkit/itsmkit/storage/postgres"
)

// auditFixture stores two records' trails: r1 with four events appended
// over three transactions, r2 with two.
func auditFixture(t *testing.T, s *postgres.Store) {
	t.Helper()
	ev := func(id, action string, n int) itsm.Event {
		return itsm.Event{Kind: ticketKind, RecordID: id, Actor: agent,
			At:     t0.Add(time.Duration(n)*time.Minute + 123456789), // nanoseconds the store drops
			Action: action, From: "new", To: "in_progress", Reason: "step",
			Changes: []itsm.Change{{Field: "title", Old: "a", New: "b"}}}
	}
	batches := [][]itsm.Event{
		{ev("r1", "open", 1), ev("r2", "open", 1)},
		{ev("r1", "assign", 2), ev("r1", "start", 3)},
		{ev("r2", "comment", 4), ev("r1", "resolve", 5)},
	}
	for _, b := range batches {
		require.NoError(t, s.InTx(t.Context(), func(ctx context.Context, tx record.Tx) error { return tx.AppendEvents(ctx, b...) }))
	}
	require.NoError(t, s.VerifyAuditTrail(t.Context()))
}

// asDBA runs statements with the append-only trigger disabled, as a
// database administrator could.
func asDBA(t *testing.T, s *postgres.Store, stmts ...string) {
	t.Helper()
	ctx := t.Context()
	conn := connect(t)
	tx, err := conn.Begin(ctx)
	require.NoError(t, err)
	_, err = tx.Exec(ctx, "ALTER TABLE "+s.Schema()+".audit_events DISABLE TRIGGER audit_events_no_update_delete")
	require.NoError(t, err)
	for _, stmt := range stmts {
		tag, err := tx.Exec(ctx, stmt)
		require.NoError(t, err, stmt)
		require.Positive(t, tag.RowsAffected(), stmt)
	}
	_, err = tx.Exec(ctx, "ALTER TABLE "+s.Schema()+".audit_events ENABLE TRIGGER audit_events_no_update_delete")
	require.NoError(t, err)
	require.NoError(t, tx.Commit(ctx))
}

func TestVerifyAuditTrailDetectsTampering(t *testing.T) {
	t.Parallel()
	testURL(t)
	cases := []struct {
		name   string
		stmts  func(schema string) []string
		record string
		seq    int64
	}{
		{"EditedRow", func(s string) []string {
			return []string{"UPDATE " + s + ".audit_events SET reason = 'covered up' WHERE record_id = 'r1' AND sequence = 2"}
		}, "r1", 2},
		{"EditedChanges", func(s string) []string {
			return []string{`UPDATE ` + s + `.audit_events SET changes = '[{"field":"title","old":"a","new":"c"}]' WHERE record_id = 'r2' AND sequence = 2`}
		}, "r2", 2},
		{"EditedTime", func(s string) []string {
			return []string{"UPDATE " + s + ".audit_events SET at = at + interval '1 microsecond' WHERE record_id = 'r1' AND sequence = 3"}
		}, "r1", 3},
		{"DeletedMiddleRow", func(s string) []string {
			return []string{"DELETE FROM " + s + ".audit_events WHERE record_id = 'r1' AND sequence = 2"}
		}, "r1", 2},
		{"DeletedLastRow", func(s string) []string {
			return []string{"DELETE FROM " + s + ".audit_events WHERE record_id = 'r1' AND sequence = 4"}
		}, "r1", 4},
		{"DeletedWholeTrail", func(s string) []string {
			return []string{"DELETE FROM " + s + ".audit_events WHERE record_id = 'r2'"}
		}, "r2", 1},
		{"RenumberedAfterDelete", func(s string) []string {
			return []string{
				"DELETE FROM " + s + ".audit_events WHERE record_id = 'r1' AND sequence = 2",
				"UPDATE " + s + ".audit_events SET sequence = sequence - 1 WHERE record_id = 'r1' AND sequence > 2",
			}
		}, "r1", 2},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := newStore(t)
			auditFixture(t, s)
			asDBA(t, s, tc.stmts(s.Schema())...)
			err := s.VerifyAuditTrail(t.Context())
			require.ErrorIs(t, err, itsm.ErrConflict)
			var te *storage.TamperError
			require.ErrorAs(t, err, &te)
			require.Equal(t, ticketKind, te.Kind)
			require.Equal(t, tc.record, te.RecordID, te.Error())
			require.Equal(t, tc.seq, te.Sequence, te.Error())
		})
	}
}

// TestVerifyAuditTrailOfRecords checks the trail of records opened and
// updated through the store: sequences from 1 per record, and the stored
// hashes are storage.EventHash over the events as read back.
func TestVerifyAuditTrailOfRecords(t *testing.T) {
	t.Parallel()
	s := newStore(t)
	ctx := t.Context()
	recs := []*record.Record{testRecord(1), testRecord(2), testRecord(3)}
	for _, rec := range recs {
		require.NoError(t, openIn(t, s, rec))
	}
	for _, rec := range recs[:2] {
		rec.Assignee = "bob"
		require.NoError(t, s.InTx(ctx, func(ctx context.Context, tx record.Tx) error {
			if err := tx.Update(ctx, rec); err != nil {
				return err
			}
			ev := openEvent(rec.Ref())
			ev.Action = "assign"
			ev.Changes = []itsm.Change{{Field: "assignee", New: "bob"}}
			return tx.AppendEvents(ctx, ev)
		}))
	}
	require.NoError(t, s.VerifyAuditTrail(ctx))
	hist, err := s.History(ctx, recs[0].Ref())
	require.NoError(t, err)
	require.Len(t, hist, 2)
	require.Equal(t, []int64{1, 2}, []int64{hist[0].Sequence, hist[1].Sequence})

	rows, err := s.Pool().Query(ctx, "SELECT prev_hash, hash FROM "+s.Schema()+".audit_events WHERE record_id = $1 ORDER BY sequence", recs[0].ID)
	require.NoError(t, err)
	var prev []byte
	for i := 0; rows.Next(); i++ {
		var p, h []byte
		require.NoError(t, rows.Scan(&p, &h))
		require.Equal(t, prev, p)
		require.Equal(t, storage.EventHash(prev, hist[i]), h)
		prev = h
	}
	require.NoError(t, rows.Err())
	require.False(t, errors.Is(s.VerifyAuditTrail(ctx), itsm.ErrConflict))
}

// TestAuditEventsAreAppendOnly checks the triggers that refuse changing
// and removing audit events.
func TestAuditEventsAreAppendOnly(t *testing.T) {
	t.Parallel()
	s := newStore(t)
	ctx := t.Context()
	require.NoError(t, openIn(t, s, testRecord(1)))
	conn := connect(t)
	for _, stmt := range []string{
		"UPDATE " + s.Schema() + ".audit_events SET reason = 'covered up'",
		"DELETE FROM " + s.Schema() + ".audit_events",
		"TRUNCATE " + s.Schema() + ".audit_events",
	} {
		_, err := conn.Exec(ctx, stmt)
		require.ErrorContains(t, err, "append-only", stmt)
	}
	require.NoError(t, s.VerifyAuditTrail(ctx))
}
