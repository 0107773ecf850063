package sqlite_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/itsmkit/itsmkit/itsm"
	"github.com/itsmkit/itsmkit/storage"
)

// TestVerifyAuditTrailDetectsTampering plays a DBA who disables the
// append-only triggers and changes the log directly: each change is
// detected, at the right record and sequence.
func TestVerifyAuditTrailDetectsTampering(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		sql  []string
		seq  int64
	}{
		{"edited row", []string{"UPDATE audit_events SET reason = 'covered up' WHERE record_id = ?1 AND sequence = 2"}, 2},
		{"edited actor", []string{"UPDATE audit_events SET actor_id = 'mallory' WHERE record_id = ?1 AND sequence = 1"}, 1},
		{"deleted middle row", []string{"DELETE FROM audit_events WHERE record_id = ?1 AND sequence = 2"}, 2},
		{"deleted last row", []string{"DELETE FROM audit_events WHERE record_id = ?1 AND sequence = 4"}, 4},
		{"deleted every row", []string{"DELETE FROM audit_events WHERE record_id = ?1"}, 1},
		{"deleted head", []string{"DROP TRIGGER audit_heads_no_delete", "DELETE FROM audit_heads WHERE record_id = ?1"}, 5},
		{"swapped rows", []string{
			"UPDATE audit_events SET sequence = 99 WHERE record_id = ?1 AND sequence = 2",
			"UPDATE audit_events SET sequence = 2 WHERE record_id = ?1 AND sequence = 3",
			"UPDATE audit_events SET sequence = 3 WHERE record_id = ?1 AND sequence = 99",
		}, 2},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ctx := t.Context()
			s, _ := openTemp(t)
			target := open(t, s, "Target", testStart)
			bystander := open(t, s, "Bystander", testStart)
			for i, text := range []string{"one", "two", "three"} {
				comment(t, s, target.Ref(), text, testStart.Add(time.Duration(i+1)*time.Minute))
			}
			comment(t, s, bystander.Ref(), "unrelated", testStart.Add(time.Hour))
			require.NoError(t, s.VerifyAuditTrail(ctx))

			tx, err := s.BeginTx(ctx)
			require.NoError(t, err)
			for _, stmt := range append([]string{"DROP TRIGGER audit_events_no_update", "DROP TRIGGER audit_events_no_delete"}, tc.sql...) {
				_, err := tx.ExecContext(ctx, stmt, target.ID)
				require.NoError(t, err, stmt)
			}
			require.NoError(t, tx.Commit())

			err = s.VerifyAuditTrail(ctx)
			require.ErrorIs(t, err, itsm.ErrConflict)
			var te *storage.TamperError
			require.ErrorAs(t, err, &te)
			require.Equal(t, "incident", te.Kind)
			require.Equal(t, target.ID, te.RecordID, te.Error())
			require.Equal(t, tc.seq, te.Sequence, te.Error())
		})
	}
}
