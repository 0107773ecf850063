package sqlite_test

import (
	"context"
	"crypto/rand"
	"database/sql"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/itsmkit/itsmkit/itsm"
	"github.com/itsmkit/itsmkit/record"
	"github.com/itsmkit/itsmkit/storage"
	"github.com/itsmkit/itsmkit/storage/sqlite"
)

const logOrigin = "itsmkit.test/audit"

// logKeys returns a new signing key and the verifiers of its public key.
func logKeys(t testing.TB, name string) (note.Signer, note.Verifiers) {
	t.Helper()
	skey, vkey, err := note.GenerateKey(rand.Reader, name)
	require.NoError(t, err)
	signer, err := note.NewSigner(skey)
	require.NoError(t, err)
	verifier, err := note.NewVerifier(vkey)
	require.NoError(t, err)
	return signer, note.VerifierList(verifier)
}

// logFixture is a store whose log holds six entries, 0 T1, 1 B1, 2 T2,
// 3 T3, 4 T4 and 5 B2 (T the target record, B a bystander, the digit the
// sequence), with a signed checkpoint of all six in a file sink.
type logFixture struct {
	s                 *sqlite.Store
	path              string // the database file
	target, bystander *record.Record
	cp                *storage.Checkpointer
	latest            *storage.Checkpoint
}

// start moves rec to in_progress, assigned to bob, with its audit event.
func start(t testing.TB, s record.Store, ref record.Ref, at time.Time) {
	t.Helper()
	require.NoError(t, s.InTx(t.Context(), func(ctx context.Context, tx record.Tx) error {
		rec, err := tx.Get(ctx, ref)
		if err != nil {
			return err
		}
		rec.State, rec.StateCategory, rec.Assignee, rec.UpdatedAt = "in_progress", itsm.CategoryActive, "bob", at
		if err := tx.Update(ctx, rec); err != nil {
			return err
		}
		return tx.AppendEvents(ctx, itsm.Event{Kind: ref.Kind, RecordID: ref.ID, Actor: agent, At: at, Action: "start",
			From: "new", To: "in_progress", Changes: []itsm.Change{{Field: "assignee", New: "bob"}}})
	}))
}

func newLogFixture(t *testing.T, opts ...sqlite.Option) *logFixture {
	t.Helper()
	ctx := t.Context()
	s, path := openTemp(t, opts...)
	f := &logFixture{s: s, path: path}
	f.target = open(t, s, "Target", testStart)
	f.bystander = open(t, s, "Bystander", testStart)
	comment(t, s, f.target.Ref(), "one", testStart.Add(time.Minute))
	comment(t, s, f.target.Ref(), "two", testStart.Add(2*time.Minute))
	start(t, s, f.target.Ref(), testStart.Add(3*time.Minute))
	comment(t, s, f.bystander.Ref(), "unrelated", testStart.Add(time.Hour))

	sink, err := storage.OpenFileSink(filepath.Join(t.TempDir(), "checkpoints"))
	require.NoError(t, err)
	t.Cleanup(func() { _ = sink.Close() })
	signer, verifiers := logKeys(t, "itsm-test")
	f.cp = &storage.Checkpointer{Log: s, Origin: logOrigin, Signer: signer, Verifiers: verifiers, Sink: sink}
	_, err = f.cp.Issue(ctx)
	require.NoError(t, err)
	f.latest, err = f.cp.Latest(ctx)
	require.NoError(t, err)
	require.Equal(t, int64(6), f.latest.Tree.N)

	report, err := f.cp.Verify(ctx)
	require.NoError(t, err)
	require.Empty(t, report.Problems, "the honest log verifies")
	require.Equal(t, int64(6), report.Size)
	require.Equal(t, int64(6), report.Covered)
	return f
}

// dba runs fn in a write transaction with every audit trigger dropped,
// as someone with write access to the file could.
func (f *logFixture) dba(t *testing.T, fn func(ctx context.Context, tx *sql.Tx)) {
	t.Helper()
	ctx := t.Context()
	tx, err := f.s.BeginTx(ctx)
	require.NoError(t, err)
	for _, trig := range []string{"audit_events_no_update", "audit_events_no_delete", "audit_events_in_order",
		"audit_heads_forward_only", "audit_heads_no_delete", "audit_log_no_update", "audit_log_no_delete",
		"audit_log_in_order", "audit_log_head_forward_only", "audit_log_head_no_delete"} {
		_, err := tx.ExecContext(ctx, "DROP TRIGGER "+trig)
		require.NoError(t, err, trig)
	}
	fn(ctx, tx)
	require.NoError(t, tx.Commit())
}

func mustExec(t *testing.T, ctx context.Context, tx *sql.Tx, query string, args ...any) {
	t.Helper()
	res, err := tx.ExecContext(ctx, query, args...)
	require.NoError(t, err, query)
	n, err := res.RowsAffected()
	require.NoError(t, err)
	require.Positive(t, n, query)
}

// logged returns the stored events in log order.
func (f *logFixture) logged(t *testing.T, ctx context.Context, tx *sql.Tx) []itsm.Event {
	t.Helper()
	hist := map[string][]itsm.Event{}
	for _, rec := range []*record.Record{f.target, f.bystander} {
		evs, err := f.s.Join(tx).History(ctx, rec.Ref())
		require.NoError(t, err)
		hist[rec.ID] = evs
	}
	rows, err := tx.QueryContext(ctx, "SELECT record_id, sequence FROM audit_log ORDER BY log_index")
	require.NoError(t, err)
	defer rows.Close()
	var out []itsm.Event
	for rows.Next() {
		var id string
		var seq int64
		require.NoError(t, rows.Scan(&id, &seq))
		out = append(out, hist[id][seq-1])
	}
	require.NoError(t, rows.Err())
	return out
}

// rechain stores the per-record chain hashes and head of rec recomputed
// from its events as they are now.
func rechain(t *testing.T, ctx context.Context, s *sqlite.Store, tx *sql.Tx, ref record.Ref) {
	t.Helper()
	evs, err := s.Join(tx).History(ctx, ref)
	require.NoError(t, err)
	var prev []byte
	for _, ev := range evs {
		h := storage.EventHash(prev, ev)
		var p any
		if prev != nil {
			p = prev
		}
		mustExec(t, ctx, tx, "UPDATE audit_events SET prev_hash = ?, hash = ? WHERE kind = ? AND record_id = ? AND sequence = ?",
			p, h, ev.Kind, ev.RecordID, ev.Sequence)
		prev = h
	}
	mustExec(t, ctx, tx, "UPDATE audit_heads SET last_sequence = ?, last_hash = ? WHERE kind = ? AND record_id = ?",
		len(evs), prev, ref.Kind, ref.ID)
}

// TestAuditLogDetectsTampering plays someone with write access to the
// database file who drops the audit triggers and changes the log: each
// tampering is found, by the checks named, at the records named.
func TestAuditLogDetectsTampering(t *testing.T) {
	t.Parallel()
	type want struct {
		checks []storage.Check
		broken []string // the records named, "T" the target, "B" the bystander
		// refused tells that the stored tree changed, so that the
		// checkpointer refuses to sign over it.
		refused bool
	}
	cases := []struct {
		name   string
		tamper func(t *testing.T, f *logFixture, ctx context.Context, tx *sql.Tx)
		want   want
	}{
		{"EditEvent", func(t *testing.T, f *logFixture, ctx context.Context, tx *sql.Tx) {
			mustExec(t, ctx, tx, "UPDATE audit_events SET reason = 'covered up' WHERE record_id = ? AND sequence = 2", f.target.ID)
		}, want{[]storage.Check{storage.CheckChain, storage.CheckLeaf, storage.CheckTree}, []string{"T"}, false}},
		{"EditEventsOfTwoRecords", func(t *testing.T, f *logFixture, ctx context.Context, tx *sql.Tx) {
			mustExec(t, ctx, tx, "UPDATE audit_events SET reason = 'covered up' WHERE record_id = ? AND sequence = 3", f.target.ID)
			mustExec(t, ctx, tx, "UPDATE audit_events SET actor_id = 'mallory' WHERE record_id = ? AND sequence = 2", f.bystander.ID)
		}, want{[]storage.Check{storage.CheckChain, storage.CheckLeaf, storage.CheckTree}, []string{"T", "B"}, false}},
		{"DeleteMiddleEvent", func(t *testing.T, f *logFixture, ctx context.Context, tx *sql.Tx) {
			mustExec(t, ctx, tx, "DELETE FROM audit_events WHERE record_id = ? AND sequence = 3", f.target.ID)
		}, want{[]storage.Check{storage.CheckChain, storage.CheckLog}, []string{"T"}, false}},
		{"DeleteMiddleEventAndEntry", func(t *testing.T, f *logFixture, ctx context.Context, tx *sql.Tx) {
			mustExec(t, ctx, tx, "DELETE FROM audit_events WHERE record_id = ? AND sequence = 3", f.target.ID)
			mustExec(t, ctx, tx, "DELETE FROM audit_log WHERE log_index = 3")
		}, want{[]storage.Check{storage.CheckChain, storage.CheckLog, storage.CheckTree}, []string{"T"}, true}},
		{"DeleteTailRewindHeads", func(t *testing.T, f *logFixture, ctx context.Context, tx *sql.Tx) {
			var first []byte
			require.NoError(t, tx.QueryRowContext(ctx, "SELECT hash FROM audit_events WHERE record_id = ? AND sequence = 1", f.bystander.ID).Scan(&first))
			mustExec(t, ctx, tx, "DELETE FROM audit_events WHERE record_id = ? AND sequence = 2", f.bystander.ID)
			mustExec(t, ctx, tx, "DELETE FROM audit_log WHERE log_index = 5")
			mustExec(t, ctx, tx, "UPDATE audit_heads SET last_sequence = 1, last_hash = ? WHERE record_id = ?", first, f.bystander.ID)
			mustExec(t, ctx, tx, "UPDATE audit_log_head SET size = 5")
		}, want{[]storage.Check{storage.CheckTree}, nil, true}},
		{"TruncateRewindHeads", func(t *testing.T, f *logFixture, ctx context.Context, tx *sql.Tx) {
			mustExec(t, ctx, tx, "DELETE FROM audit_events")
			mustExec(t, ctx, tx, "DELETE FROM audit_log")
			mustExec(t, ctx, tx, "DELETE FROM audit_heads")
			mustExec(t, ctx, tx, "UPDATE audit_log_head SET size = 0")
		}, want{[]storage.Check{storage.CheckTree}, nil, true}},
		{"ReorderEvents", func(t *testing.T, f *logFixture, ctx context.Context, tx *sql.Tx) {
			for _, q := range []string{
				"UPDATE audit_events SET sequence = 99 WHERE record_id = ? AND sequence = 2",
				"UPDATE audit_events SET sequence = 2 WHERE record_id = ? AND sequence = 3",
				"UPDATE audit_events SET sequence = 3 WHERE record_id = ? AND sequence = 99",
			} {
				mustExec(t, ctx, tx, q, f.target.ID)
			}
		}, want{[]storage.Check{storage.CheckChain, storage.CheckLeaf, storage.CheckTree}, []string{"T"}, false}},
		{"ReorderLogEntries", func(t *testing.T, f *logFixture, ctx context.Context, tx *sql.Tx) {
			mustExec(t, ctx, tx, "UPDATE audit_log SET log_index = 99 WHERE log_index = 2")
			mustExec(t, ctx, tx, "UPDATE audit_log SET log_index = 2 WHERE log_index = 3")
			mustExec(t, ctx, tx, "UPDATE audit_log SET log_index = 3 WHERE log_index = 99")
		}, want{[]storage.Check{storage.CheckChain, storage.CheckLog, storage.CheckTree}, []string{"T"}, true}},
		{"RecomputeChainAndTreeAfterEdit", func(t *testing.T, f *logFixture, ctx context.Context, tx *sql.Tx) {
			mustExec(t, ctx, tx, "UPDATE audit_events SET reason = 'covered up' WHERE record_id = ? AND sequence = 2", f.target.ID)
			rechain(t, ctx, f.s, tx, f.target.Ref())
			var b storage.LogBuilder
			for _, ev := range f.logged(t, ctx, tx) {
				n, hashes := b.Append(storage.LeafHash(ev))
				mustExec(t, ctx, tx, "UPDATE audit_log SET hashes = ? WHERE log_index = ?", hashes, n)
			}
		}, want{[]storage.Check{storage.CheckTree}, nil, true}},
		{"EditRecordRow", func(t *testing.T, f *logFixture, ctx context.Context, tx *sql.Tx) {
			mustExec(t, ctx, tx, `UPDATE records SET state = 'closed', doc = json_set(doc, '$.state', 'closed') WHERE id = ?`, f.target.ID)
		}, want{[]storage.Check{storage.CheckRecord}, []string{"T"}, false}},
		{"EditRecordColumn", func(t *testing.T, f *logFixture, ctx context.Context, tx *sql.Tx) {
			mustExec(t, ctx, tx, `UPDATE records SET assignee = 'mallory' WHERE id = ?`, f.target.ID)
		}, want{[]storage.Check{storage.CheckRecord}, []string{"T"}, false}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := newLogFixture(t)
			ctx := t.Context()
			f.dba(t, func(ctx context.Context, tx *sql.Tx) { tc.tamper(t, f, ctx, tx) })

			report, err := f.cp.Verify(ctx)
			require.NoError(t, err)
			require.Equal(t, tc.want.checks, report.Checks(), "%v", report.Err())
			var broken []string
			for _, k := range report.Broken() {
				require.Equal(t, "incident", k.Kind)
				broken = append(broken, map[string]string{f.target.ID: "T", f.bystander.ID: "B"}[k.ID])
			}
			require.Equal(t, tc.want.broken, broken, "%v", report.Err())
			// The per-record chains alone name every record whose chain
			// broke, not only the first. (Log entries reordered leave the
			// chains, which go by sequence, intact: VerifyAuditLog finds a
			// record's events in the log out of their order.)
			if slices.Contains(tc.want.checks, storage.CheckChain) && tc.name != "ReorderLogEntries" {
				err := f.s.VerifyAuditTrail(ctx)
				for _, id := range broken {
					rec := map[string]*record.Record{"T": f.target, "B": f.bystander}[id]
					require.ErrorContains(t, err, rec.ID)
				}
			}
			require.ErrorIs(t, report.Err(), itsm.ErrConflict)
			var te *storage.TamperError
			require.ErrorAs(t, report.Err(), &te)

			// What only the checkpoint catches passes without it.
			bare, err := f.s.VerifyAuditLog(ctx, nil)
			require.NoError(t, err)
			if slices.Equal(tc.want.checks, []storage.Check{storage.CheckTree}) {
				require.Empty(t, bare.Problems)
			} else {
				require.NotEmpty(t, bare.Problems)
			}

			// A new checkpoint is refused over a tree that lost or
			// rewrote what the latest one covers; over an unchanged tree
			// it is the latest one again.
			signed, err := f.cp.Issue(ctx)
			if tc.want.refused {
				require.ErrorIs(t, err, itsm.ErrConflict)
				require.ErrorAs(t, err, &te)
				require.Contains(t, []storage.Check{storage.CheckLog, storage.CheckTree}, te.Check, te.Error())
				return
			}
			require.NoError(t, err)
			again, err := storage.OpenCheckpoint(signed, logOrigin, f.cp.Verifiers)
			require.NoError(t, err)
			require.Equal(t, f.latest, again)
		})
	}
}

// forge appends, as someone with write access to the file but without
// the application's keys, a closing event of the target with its chain
// hash, its log entry with correct tree hashes and the given seal, moves
// the heads, and closes the record row to match.
func (f *logFixture) forge(t *testing.T, seal []byte) {
	f.dba(t, func(ctx context.Context, tx *sql.Tx) {
		var head []byte
		var seq, size int64
		require.NoError(t, tx.QueryRowContext(ctx, "SELECT last_sequence, last_hash FROM audit_heads WHERE record_id = ?", f.target.ID).Scan(&seq, &head))
		require.NoError(t, tx.QueryRowContext(ctx, "SELECT size FROM audit_log_head").Scan(&size))
		ev := itsm.Event{Kind: "incident", RecordID: f.target.ID, Sequence: seq + 1, Actor: agent, At: testStart.Add(2 * time.Hour),
			Action: "close", From: "in_progress", To: "closed"}
		_, err := tx.ExecContext(ctx, `INSERT INTO audit_events (kind, record_id, sequence, actor_id, actor_name, actor_roles, at,
			action, from_state, to_state, changes, reason, prev_hash, hash) VALUES (?, ?, ?, ?, ?, '["agent"]', ?, ?, ?, ?, '[]', '', ?, ?)`,
			ev.Kind, ev.RecordID, ev.Sequence, agent.ID, agent.Name, ev.At.UnixMicro(), ev.Action, ev.From, ev.To, head, storage.EventHash(head, ev))
		require.NoError(t, err)
		read := storage.EntryHashReader(func(entries []int64) (map[int64][]byte, error) {
			out := map[int64][]byte{}
			for _, e := range entries {
				var hs []byte
				require.NoError(t, tx.QueryRowContext(ctx, "SELECT hashes FROM audit_log WHERE log_index = ?", e).Scan(&hs))
				out[e] = hs
			}
			return out, nil
		})
		hashes, err := storage.EntryHashes(size, storage.LeafHash(ev), read)
		require.NoError(t, err)
		mustExec(t, ctx, tx, "INSERT INTO audit_log (log_index, kind, record_id, sequence, hashes, seal) VALUES (?, ?, ?, ?, ?, ?)",
			size, ev.Kind, ev.RecordID, ev.Sequence, hashes, seal)
		mustExec(t, ctx, tx, "UPDATE audit_log_head SET size = ?", size+1)
		mustExec(t, ctx, tx, `UPDATE records SET state = 'closed', state_category = 'closed',
			doc = json_set(doc, '$.state', 'closed', '$.state_category', 'closed') WHERE id = ?`, f.target.ID)
	})
}

// TestAuditLogForgedAppend appends a forged event, consistent in every
// way a database can check, after the latest checkpoint.
func TestAuditLogForgedAppend(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	key := make([]byte, storage.MinSealKeySize)
	_, err := rand.Read(key)
	require.NoError(t, err)

	t.Run("Sealed", func(t *testing.T) {
		t.Parallel()
		f := newLogFixture(t, sqlite.WithAuditSeal(key))
		f.forge(t, nil)
		report, err := f.cp.Verify(ctx)
		require.NoError(t, err)
		require.Equal(t, []storage.Check{storage.CheckSeal}, report.Checks(), "%v", report.Err())
		require.Equal(t, []storage.RecordKey{{Kind: "incident", ID: f.target.ID}}, report.Broken())
		require.Equal(t, int64(6), report.Problems[0].Index)
		_, err = f.cp.Issue(ctx)
		var te *storage.TamperError
		require.ErrorAs(t, err, &te, "no checkpoint is signed over the forged entry")
		require.Equal(t, storage.CheckSeal, te.Check)
		require.Equal(t, int64(6), te.Index)
	})
	t.Run("MadeUpSeal", func(t *testing.T) {
		t.Parallel()
		f := newLogFixture(t, sqlite.WithAuditSeal(key))
		f.forge(t, make([]byte, 32))
		report, err := f.cp.Verify(ctx)
		require.NoError(t, err)
		require.Equal(t, []storage.Check{storage.CheckSeal}, report.Checks(), "%v", report.Err())
		_, err = f.cp.Issue(ctx)
		require.ErrorIs(t, err, itsm.ErrConflict)
	})
	t.Run("Unsealed", func(t *testing.T) {
		// Without a seal key, the forged entry passes every check but
		// one: the latest checkpoint does not cover it, and only the
		// application can tell that it appended nothing since.
		t.Parallel()
		f := newLogFixture(t)
		f.forge(t, nil)
		report, err := f.cp.Verify(ctx)
		require.NoError(t, err)
		require.Empty(t, report.Problems)
		require.Equal(t, int64(7), report.Size)
		require.Equal(t, int64(6), report.Covered)
	})
	t.Run("ForgedCheckpoint", func(t *testing.T) {
		// Nor can the forger vouch for it with a checkpoint of his own.
		t.Parallel()
		f := newLogFixture(t)
		f.forge(t, nil)
		tree, err := f.s.AuditTree(ctx)
		require.NoError(t, err)
		mallory, _ := logKeys(t, "itsm-test") // the same key name, another key
		forged, err := storage.SignCheckpoint(storage.Checkpoint{Origin: logOrigin, Tree: tree}, mallory)
		require.NoError(t, err)
		_, err = storage.OpenCheckpoint(forged, logOrigin, f.cp.Verifiers)
		require.ErrorIs(t, err, storage.ErrCheckpoint)
		var unverified *note.UnverifiedNoteError
		require.ErrorAs(t, err, &unverified)
	})
}

// TestAuditLogSealedStore checks the seals of an honest store: entries
// appended before the store had its key verify once a checkpoint covers
// them, and a store opened without the key ignores seals.
func TestAuditLogSealedStore(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	key := make([]byte, storage.MinSealKeySize)
	_, err := rand.Read(key)
	require.NoError(t, err)
	_, err = sqlite.Open(ctx, filepath.Join(t.TempDir(), "short.db"), sqlite.WithAuditSeal(key[:8]))
	require.ErrorIs(t, err, itsm.ErrValidation)

	f := newLogFixture(t) // six unsealed entries, covered by the latest checkpoint
	sealed, err := sqlite.Open(ctx, f.path, sqlite.WithAuditSeal(key))
	require.NoError(t, err)
	defer sealed.Close()
	require.NoError(t, sealed.Declare(ctx, ticketSchema))
	comment(t, sealed, f.target.Ref(), "sealed", testStart.Add(3*time.Hour))
	cp := *f.cp
	cp.Log = sealed
	report, err := cp.Verify(ctx)
	require.NoError(t, err)
	require.Empty(t, report.Problems, "%v", report.Err())
	require.Equal(t, int64(7), report.Size)
	_, err = cp.Issue(ctx)
	require.NoError(t, err)
	require.Equal(t, 1, count(t, sealed, "SELECT count(*) FROM audit_log WHERE seal IS NOT NULL"))

	// Without a checkpoint, an unsealed entry after a sealed one is
	// found.
	report, err = sealed.VerifyAuditLog(ctx, nil)
	require.NoError(t, err)
	require.Empty(t, report.Problems)
	comment(t, f.s, f.target.Ref(), "unsealed", testStart.Add(4*time.Hour)) // the store without the key
	report, err = sealed.VerifyAuditLog(ctx, nil)
	require.NoError(t, err)
	require.Equal(t, []storage.Check{storage.CheckSeal}, report.Checks())
	report, err = f.s.VerifyAuditLog(ctx, nil)
	require.NoError(t, err)
	require.Empty(t, report.Problems, "a store without the key checks no seal")
}

// TestAuditLogRefusesAppendsOverMissingEntries deletes a log entry that
// a later entry's tree hashes need: the append that needs it fails,
// matching storage.ErrCorrupt, and keeps nothing.
func TestAuditLogRefusesAppendsOverMissingEntries(t *testing.T) {
	t.Parallel()
	f := newLogFixture(t)
	ctx := t.Context()
	f.dba(t, func(ctx context.Context, tx *sql.Tx) {
		mustExec(t, ctx, tx, "DELETE FROM audit_log WHERE log_index = 3")
	})
	ev := itsm.Event{Kind: "incident", RecordID: f.target.ID, Actor: agent, At: testStart.Add(5 * time.Hour), Action: "comment"}
	err := f.s.InTx(ctx, func(ctx context.Context, tx record.Tx) error { return tx.AppendEvents(ctx, ev, ev) }) // indexes 6 and 7
	require.ErrorIs(t, err, storage.ErrCorrupt)
	hist, err := f.s.History(ctx, f.target.Ref())
	require.NoError(t, err)
	require.Len(t, hist, 4)
}

func TestProveAuditTree(t *testing.T) {
	t.Parallel()
	f := newLogFixture(t)
	ctx := t.Context()
	tree, err := f.s.AuditTree(ctx)
	require.NoError(t, err)
	require.Equal(t, f.latest.Tree, tree)
	comment(t, f.s, f.target.Ref(), "more", testStart.Add(5*time.Hour))
	grown, err := f.s.AuditTree(ctx)
	require.NoError(t, err)
	proof, err := f.s.ProveAuditTree(ctx, grown.N, tree.N)
	require.NoError(t, err)
	require.NoError(t, tlog.CheckTree(proof, grown.N, grown.Hash, tree.N, tree.Hash))
	for _, sizes := range [][2]int64{{grown.N + 1, 1}, {3, 4}, {3, -1}} {
		_, err := f.s.ProveAuditTree(ctx, sizes[0], sizes[1])
		require.ErrorIs(t, err, itsm.ErrValidation, "%v", sizes)
	}
}
