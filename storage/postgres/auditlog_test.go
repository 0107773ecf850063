package postgres_test

import (
	"context"
	"crypto/rand"
	"fmt"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"
	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/itsmkit/itsmkit/itsm"
	"github.com/itsmkit/itsmkit/record"
	"github.com/itsmkit/itsmkit/storage"
	"github.com/itsmkit/itsmkit/storage/postgres"
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
	s                 *postgres.Store
	target, bystander *record.Record
	cp                *storage.Checkpointer
	latest            *storage.Checkpoint
}

// event appends an event of ref, after updating the record with edit
// (when not nil), in one transaction.
func event(t testing.TB, s record.Store, ref record.Ref, ev itsm.Event, edit func(*record.Record)) {
	t.Helper()
	require.NoError(t, s.InTx(t.Context(), func(ctx context.Context, tx record.Tx) error {
		if edit != nil {
			rec, err := tx.Get(ctx, ref)
			if err != nil {
				return err
			}
			edit(rec)
			if err := tx.Update(ctx, rec); err != nil {
				return err
			}
		}
		ev.Kind, ev.RecordID, ev.Actor = ref.Kind, ref.ID, agent
		return tx.AppendEvents(ctx, ev)
	}))
}

func newLogFixture(t *testing.T, opts ...postgres.Option) *logFixture {
	t.Helper()
	ctx := t.Context()
	s := newStore(t, opts...)
	f := &logFixture{s: s, target: testRecord(1), bystander: testRecord(2)}
	require.NoError(t, openIn(t, s, f.target))
	require.NoError(t, openIn(t, s, f.bystander))
	event(t, s, f.target.Ref(), itsm.Event{At: t0.Add(time.Minute), Action: "comment"}, nil)
	event(t, s, f.target.Ref(), itsm.Event{At: t0.Add(2 * time.Minute), Action: "comment"}, nil)
	event(t, s, f.target.Ref(), itsm.Event{At: t0.Add(3 * time.Minute), Action: "start", From: "new", To: "open",
		Changes: []itsm.Change{{Field: "assignee", New: "bob"}}}, func(r *record.Record) {
		r.State, r.StateCategory, r.Assignee = "open", itsm.CategoryActive, "bob"
	})
	event(t, s, f.bystander.Ref(), itsm.Event{At: t0.Add(time.Hour), Action: "comment"}, nil)

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

// dba runs fn in a transaction with the audit tables' triggers disabled,
// as the owner of the tables could.
func (f *logFixture) dba(t *testing.T, fn func(ctx context.Context, tx pgx.Tx)) {
	t.Helper()
	ctx := t.Context()
	tx, err := connect(t).Begin(ctx)
	require.NoError(t, err)
	tables := []string{"audit_events", "audit_log", "audit_log_head"}
	for _, tbl := range tables {
		_, err := tx.Exec(ctx, "ALTER TABLE "+f.s.Schema()+"."+tbl+" DISABLE TRIGGER USER")
		require.NoError(t, err)
	}
	fn(ctx, tx)
	for _, tbl := range tables {
		_, err := tx.Exec(ctx, "ALTER TABLE "+f.s.Schema()+"."+tbl+" ENABLE TRIGGER USER")
		require.NoError(t, err)
	}
	require.NoError(t, tx.Commit(ctx))
}

// mustExec runs a statement that must change a row; {s} is the schema.
func (f *logFixture) mustExec(t *testing.T, ctx context.Context, tx pgx.Tx, query string, args ...any) {
	t.Helper()
	query = replaceSchema(query, f.s.Schema())
	tag, err := tx.Exec(ctx, query, args...)
	require.NoError(t, err, query)
	require.Positive(t, tag.RowsAffected(), query)
}

func replaceSchema(q, schema string) string {
	out := []byte{}
	for i := 0; i < len(q); i++ {
		if i+3 <= len(q) && q[i:i+3] == "{s}" {
			out = append(out, schema...)
			i += 2
			continue
		}
		out = append(out, q[i])
	}
	return string(out)
}

// logged returns the stored events in log order.
func (f *logFixture) logged(t *testing.T, ctx context.Context, tx pgx.Tx) []itsm.Event {
	t.Helper()
	hist := map[string][]itsm.Event{}
	for _, rec := range []*record.Record{f.target, f.bystander} {
		evs, err := f.s.Join(tx).History(ctx, rec.Ref())
		require.NoError(t, err)
		hist[rec.ID] = evs
	}
	rows, err := tx.Query(ctx, "SELECT record_id, sequence FROM "+f.s.Schema()+".audit_log ORDER BY log_index")
	require.NoError(t, err)
	var out []itsm.Event
	var id string
	var seq int64
	_, err = pgx.ForEachRow(rows, []any{&id, &seq}, func() error {
		out = append(out, hist[id][seq-1])
		return nil
	})
	require.NoError(t, err)
	return out
}

// rechain stores the per-record chain hashes and head of ref recomputed
// from its events as they are now.
func (f *logFixture) rechain(t *testing.T, ctx context.Context, tx pgx.Tx, ref record.Ref) {
	t.Helper()
	evs, err := f.s.Join(tx).History(ctx, ref)
	require.NoError(t, err)
	var prev []byte
	for _, ev := range evs {
		h := storage.EventHash(prev, ev)
		f.mustExec(t, ctx, tx, "UPDATE {s}.audit_events SET prev_hash = $1, hash = $2 WHERE kind = $3 AND record_id = $4 AND sequence = $5",
			prev, h, ev.Kind, ev.RecordID, ev.Sequence)
		prev = h
	}
	f.mustExec(t, ctx, tx, "UPDATE {s}.audit_heads SET sequence = $1, hash = $2 WHERE kind = $3 AND record_id = $4",
		len(evs), prev, ref.Kind, ref.ID)
}

// TestAuditLogDetectsTampering plays the owner of the tables, who
// disables the audit triggers and changes the log: each tampering is
// found, by the checks named, at the records named.
func TestAuditLogDetectsTampering(t *testing.T) {
	t.Parallel()
	testURL(t)
	type want struct {
		checks []storage.Check
		broken []string // the records named, "T" the target, "B" the bystander
		// refused tells that the stored tree changed, so that the
		// checkpointer refuses to sign over it.
		refused bool
	}
	type tamper = func(t *testing.T, f *logFixture, ctx context.Context, tx pgx.Tx)
	cases := []struct {
		name   string
		tamper tamper
		want   want
	}{
		{"EditEvent", func(t *testing.T, f *logFixture, ctx context.Context, tx pgx.Tx) {
			f.mustExec(t, ctx, tx, "UPDATE {s}.audit_events SET reason = 'covered up' WHERE record_id = $1 AND sequence = 2", f.target.ID)
		}, want{[]storage.Check{storage.CheckChain, storage.CheckLeaf, storage.CheckTree}, []string{"T"}, false}},
		{"EditEventsOfTwoRecords", func(t *testing.T, f *logFixture, ctx context.Context, tx pgx.Tx) {
			f.mustExec(t, ctx, tx, "UPDATE {s}.audit_events SET reason = 'covered up' WHERE record_id = $1 AND sequence = 3", f.target.ID)
			f.mustExec(t, ctx, tx, "UPDATE {s}.audit_events SET actor_id = 'mallory' WHERE record_id = $1 AND sequence = 2", f.bystander.ID)
		}, want{[]storage.Check{storage.CheckChain, storage.CheckLeaf, storage.CheckTree}, []string{"T", "B"}, false}},
		{"DeleteMiddleEvent", func(t *testing.T, f *logFixture, ctx context.Context, tx pgx.Tx) {
			f.mustExec(t, ctx, tx, "DELETE FROM {s}.audit_events WHERE record_id = $1 AND sequence = 3", f.target.ID)
		}, want{[]storage.Check{storage.CheckChain, storage.CheckLog}, []string{"T"}, false}},
		{"DeleteMiddleEventAndEntry", func(t *testing.T, f *logFixture, ctx context.Context, tx pgx.Tx) {
			f.mustExec(t, ctx, tx, "DELETE FROM {s}.audit_events WHERE record_id = $1 AND sequence = 3", f.target.ID)
			f.mustExec(t, ctx, tx, "DELETE FROM {s}.audit_log WHERE log_index = 3")
		}, want{[]storage.Check{storage.CheckChain, storage.CheckLog, storage.CheckTree}, []string{"T"}, true}},
		{"DeleteTailRewindHeads", func(t *testing.T, f *logFixture, ctx context.Context, tx pgx.Tx) {
			var first []byte
			require.NoError(t, tx.QueryRow(ctx, "SELECT hash FROM "+f.s.Schema()+".audit_events WHERE record_id = $1 AND sequence = 1",
				f.bystander.ID).Scan(&first))
			f.mustExec(t, ctx, tx, "DELETE FROM {s}.audit_events WHERE record_id = $1 AND sequence = 2", f.bystander.ID)
			f.mustExec(t, ctx, tx, "DELETE FROM {s}.audit_log WHERE log_index = 5")
			f.mustExec(t, ctx, tx, "UPDATE {s}.audit_heads SET sequence = 1, hash = $1 WHERE record_id = $2", first, f.bystander.ID)
			f.mustExec(t, ctx, tx, "UPDATE {s}.audit_log_head SET size = 5")
		}, want{[]storage.Check{storage.CheckTree}, nil, true}},
		{"TruncateRewindHeads", func(t *testing.T, f *logFixture, ctx context.Context, tx pgx.Tx) {
			f.mustExec(t, ctx, tx, "DELETE FROM {s}.audit_events")
			f.mustExec(t, ctx, tx, "DELETE FROM {s}.audit_log")
			f.mustExec(t, ctx, tx, "DELETE FROM {s}.audit_heads")
			f.mustExec(t, ctx, tx, "UPDATE {s}.audit_log_head SET size = 0")
		}, want{[]storage.Check{storage.CheckTree}, nil, true}},
		{"ReorderEvents", func(t *testing.T, f *logFixture, ctx context.Context, tx pgx.Tx) {
			for _, q := range []string{
				"UPDATE {s}.audit_events SET sequence = 99 WHERE record_id = $1 AND sequence = 2",
				"UPDATE {s}.audit_events SET sequence = 2 WHERE record_id = $1 AND sequence = 3",
				"UPDATE {s}.audit_events SET sequence = 3 WHERE record_id = $1 AND sequence = 99",
			} {
				f.mustExec(t, ctx, tx, q, f.target.ID)
			}
		}, want{[]storage.Check{storage.CheckChain, storage.CheckLeaf, storage.CheckTree}, []string{"T"}, false}},
		{"ReorderLogEntries", func(t *testing.T, f *logFixture, ctx context.Context, tx pgx.Tx) {
			f.mustExec(t, ctx, tx, "UPDATE {s}.audit_log SET log_index = 99 WHERE log_index = 2")
			f.mustExec(t, ctx, tx, "UPDATE {s}.audit_log SET log_index = 2 WHERE log_index = 3")
			f.mustExec(t, ctx, tx, "UPDATE {s}.audit_log SET log_index = 3 WHERE log_index = 99")
		}, want{[]storage.Check{storage.CheckChain, storage.CheckLog, storage.CheckTree}, []string{"T"}, true}},
		{"RecomputeChainAndTreeAfterEdit", func(t *testing.T, f *logFixture, ctx context.Context, tx pgx.Tx) {
			f.mustExec(t, ctx, tx, "UPDATE {s}.audit_events SET reason = 'covered up' WHERE record_id = $1 AND sequence = 2", f.target.ID)
			f.rechain(t, ctx, tx, f.target.Ref())
			var b storage.LogBuilder
			for _, ev := range f.logged(t, ctx, tx) {
				n, hashes := b.Append(storage.LeafHash(ev))
				f.mustExec(t, ctx, tx, "UPDATE {s}.audit_log SET hashes = $1 WHERE log_index = $2", hashes, n)
			}
		}, want{[]storage.Check{storage.CheckTree}, nil, true}},
		{"EditRecordRow", func(t *testing.T, f *logFixture, ctx context.Context, tx pgx.Tx) {
			f.mustExec(t, ctx, tx, `UPDATE {s}.records SET state = 'closed', doc = jsonb_set(doc, '{state}', '"closed"') WHERE id = $1`, f.target.ID)
		}, want{[]storage.Check{storage.CheckRecord}, []string{"T"}, false}},
		{"EditRecordColumn", func(t *testing.T, f *logFixture, ctx context.Context, tx pgx.Tx) {
			f.mustExec(t, ctx, tx, `UPDATE {s}.records SET assignee = 'mallory' WHERE id = $1`, f.target.ID)
		}, want{[]storage.Check{storage.CheckRecord}, []string{"T"}, false}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := newLogFixture(t)
			ctx := t.Context()
			f.dba(t, func(ctx context.Context, tx pgx.Tx) { tc.tamper(t, f, ctx, tx) })

			report, err := f.cp.Verify(ctx)
			require.NoError(t, err)
			require.Equal(t, tc.want.checks, report.Checks(), "%v", report.Err())
			var broken []string
			for _, k := range report.Broken() {
				require.Equal(t, ticketKind, k.Kind)
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
				var te *storage.TamperError
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

// TestAuditLogConcurrentWriters appends from several writers at once, to
// one record and to records of their own: the log's indexes follow commit
// order without gaps, so the log verifies and holds every event.
func TestAuditLogConcurrentWriters(t *testing.T) {
	t.Parallel()
	s := newStore(t)
	ctx := t.Context()
	shared := testRecord(1)
	require.NoError(t, openIn(t, s, shared))
	const writers, each = 6, 5
	var wg sync.WaitGroup
	errs := make([]error, writers)
	for w := range writers {
		wg.Go(func() {
			own := testRecord(10 + w)
			if errs[w] = openIn(t, s, own); errs[w] != nil {
				return
			}
			for i := range each {
				ref := own.Ref()
				if i%2 == 0 {
					ref = shared.Ref()
				}
				errs[w] = s.InTx(ctx, func(ctx context.Context, tx record.Tx) error {
					return tx.AppendEvents(ctx, itsm.Event{Kind: ref.Kind, RecordID: ref.ID, Actor: agent, At: t0,
						Action: fmt.Sprint("note-", w, "-", i)})
				})
				if errs[w] != nil {
					return
				}
			}
		})
	}
	wg.Wait()
	for _, err := range errs {
		require.NoError(t, err)
	}
	report, err := s.VerifyAuditLog(ctx, nil)
	require.NoError(t, err)
	require.Empty(t, report.Problems, "%v", report.Err())
	require.Equal(t, int64(1+writers*(1+each)), report.Size)
	tree, err := s.AuditTree(ctx)
	require.NoError(t, err)
	require.Equal(t, report.Size, tree.N)
}

// forge appends, as the owner of the tables without the application's
// keys, a closing event of the target with its chain hash, its log entry
// with correct tree hashes and the given seal, moves the heads, and closes
// the record row to match.
func (f *logFixture) forge(t *testing.T, seal []byte) {
	f.dba(t, func(ctx context.Context, tx pgx.Tx) {
		sc := f.s.Schema()
		var head []byte
		var seq, size int64
		require.NoError(t, tx.QueryRow(ctx, "SELECT sequence, hash FROM "+sc+".audit_heads WHERE record_id = $1", f.target.ID).Scan(&seq, &head))
		require.NoError(t, tx.QueryRow(ctx, "SELECT size FROM "+sc+".audit_log_head").Scan(&size))
		ev := itsm.Event{Kind: ticketKind, RecordID: f.target.ID, Sequence: seq + 1, Actor: agent, At: t0.Add(2 * time.Hour),
			Action: "close", From: "open", To: "closed"}
		f.mustExec(t, ctx, tx, `INSERT INTO {s}.audit_events (kind, record_id, sequence, actor_id, actor_name, actor_roles, at,
			action, from_state, to_state, changes, reason, prev_hash, hash) VALUES ($1, $2, $3, $4, $5, '{agent}', $6, $7, $8, $9, '[]', '', $10, $11)`,
			ev.Kind, ev.RecordID, ev.Sequence, agent.ID, agent.Name, ev.At, ev.Action, ev.From, ev.To, head, storage.EventHash(head, ev))
		f.mustExec(t, ctx, tx, "UPDATE {s}.audit_heads SET sequence = $1, hash = $2 WHERE record_id = $3", ev.Sequence, storage.EventHash(head, ev), f.target.ID)
		read := storage.EntryHashReader(func(entries []int64) (map[int64][]byte, error) {
			out := map[int64][]byte{}
			for _, e := range entries {
				var hs []byte
				require.NoError(t, tx.QueryRow(ctx, "SELECT hashes FROM "+sc+".audit_log WHERE log_index = $1", e).Scan(&hs))
				out[e] = hs
			}
			return out, nil
		})
		hashes, err := storage.EntryHashes(size, storage.LeafHash(ev), read)
		require.NoError(t, err)
		f.mustExec(t, ctx, tx, "INSERT INTO {s}.audit_log (log_index, kind, record_id, sequence, hashes, seal) VALUES ($1, $2, $3, $4, $5, $6)",
			size, ev.Kind, ev.RecordID, ev.Sequence, hashes, seal)
		f.mustExec(t, ctx, tx, "UPDATE {s}.audit_log_head SET size = $1", size+1)
		f.mustExec(t, ctx, tx, `UPDATE {s}.records SET state = 'closed', state_category = 'closed',
			doc = jsonb_set(jsonb_set(doc, '{state}', '"closed"'), '{state_category}', '"closed"') WHERE id = $1`, f.target.ID)
	})
}

// TestAuditLogForgedAppend appends a forged event, consistent in every
// way a database can check, after the latest checkpoint.
func TestAuditLogForgedAppend(t *testing.T) {
	t.Parallel()
	testURL(t)
	ctx := t.Context()
	key := make([]byte, storage.MinSealKeySize)
	_, err := rand.Read(key)
	require.NoError(t, err)

	t.Run("Sealed", func(t *testing.T) {
		t.Parallel()
		f := newLogFixture(t, postgres.WithAuditSeal(key))
		f.forge(t, nil)
		report, err := f.cp.Verify(ctx)
		require.NoError(t, err)
		require.Equal(t, []storage.Check{storage.CheckSeal}, report.Checks(), "%v", report.Err())
		require.Equal(t, []storage.RecordKey{{Kind: ticketKind, ID: f.target.ID}}, report.Broken())
		require.Equal(t, int64(6), report.Problems[0].Index)
		_, err = f.cp.Issue(ctx)
		var te *storage.TamperError
		require.ErrorAs(t, err, &te, "no checkpoint is signed over the forged entry")
		require.Equal(t, storage.CheckSeal, te.Check)
		require.Equal(t, int64(6), te.Index)
	})
	t.Run("MadeUpSeal", func(t *testing.T) {
		t.Parallel()
		f := newLogFixture(t, postgres.WithAuditSeal(key))
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

// TestAuditLogSealedStore checks the seals of an honest sealing store,
// next to a store without the key on the same schema: a store without
// the key checks no seal, and one with it finds the unsealed entry the
// other appended after sealed ones.
func TestAuditLogSealedStore(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	key := make([]byte, storage.MinSealKeySize)
	_, err := rand.Read(key)
	require.NoError(t, err)
	_, err = postgres.New(nil, postgres.WithAuditSeal(key[:8]))
	require.ErrorIs(t, err, itsm.ErrValidation)

	f := newLogFixture(t, postgres.WithAuditSeal(key))
	var sealed int
	require.NoError(t, f.s.Pool().QueryRow(ctx, "SELECT count(*) FROM "+f.s.Schema()+".audit_log WHERE seal IS NOT NULL").Scan(&sealed))
	require.Equal(t, 6, sealed)
	plain, err := postgres.New(f.s.Pool(), postgres.WithSchema(f.s.Schema()))
	require.NoError(t, err)
	require.NoError(t, plain.Declare(ctx, ticketSchema()))
	event(t, plain, f.target.Ref(), itsm.Event{At: t0.Add(4 * time.Hour), Action: "comment"}, nil)

	report, err := plain.VerifyAuditLog(ctx, nil)
	require.NoError(t, err)
	require.Empty(t, report.Problems, "a store without the key checks no seal")
	report, err = f.s.VerifyAuditLog(ctx, nil)
	require.NoError(t, err)
	require.Equal(t, []storage.Check{storage.CheckSeal}, report.Checks())
	require.Equal(t, int64(6), report.Problems[0].Index)
}

// TestAuditLogRefusesAppendsOverMissingEntries deletes a log entry that
// a later entry's tree hashes need: the transaction whose append needs it
// fails, matching storage.ErrCorrupt, and keeps nothing.
func TestAuditLogRefusesAppendsOverMissingEntries(t *testing.T) {
	t.Parallel()
	f := newLogFixture(t)
	ctx := t.Context()
	f.dba(t, func(ctx context.Context, tx pgx.Tx) {
		f.mustExec(t, ctx, tx, "DELETE FROM {s}.audit_log WHERE log_index = 3")
	})
	ev := itsm.Event{Kind: ticketKind, RecordID: f.target.ID, Actor: agent, At: t0.Add(5 * time.Hour), Action: "comment"}
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
	event(t, f.s, f.target.Ref(), itsm.Event{At: t0.Add(5 * time.Hour), Action: "comment"}, nil)
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
