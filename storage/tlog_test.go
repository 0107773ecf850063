package storage_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/require"
	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/itsmkit/itsmkit/itsm"
	"github.com/itsmkit/itsmkit/storage"
)

func sampleEvent() itsm.Event {
	return itsm.Event{Kind: "incident", RecordID: "r1", Sequence: 3,
		Actor: itsm.Actor{ID: "alice", Name: "Alice", Roles: []itsm.Role{"agent", "lead"}},
		At:    time.Date(2026, 11, 20, 15, 4, 5, 123456789, time.UTC), Action: "resolve", From: "in_progress", To: "resolved",
		Changes: []itsm.Change{{Field: "resolution", Old: "", New: "fixed"}}, Reason: "done"}
}

// TestLeafHashCoversEveryField changes each field of an event in turn:
// each change gives another leaf hash; the time counts as stores keep it.
func TestLeafHashCoversEveryField(t *testing.T) {
	t.Parallel()
	base := storage.LeafHash(sampleEvent())
	require.Equal(t, tlog.RecordHash(storage.EventData(sampleEvent())), base)
	ev := sampleEvent()
	ev.At = ev.At.In(time.FixedZone("x", 3600)).Truncate(time.Microsecond)
	require.Equal(t, base, storage.LeafHash(ev), "the same instant, as stored")

	edits := map[string]func(*itsm.Event){
		"kind":      func(e *itsm.Event) { e.Kind = "problem" },
		"record":    func(e *itsm.Event) { e.RecordID = "r2" },
		"sequence":  func(e *itsm.Event) { e.Sequence = 4 },
		"actor":     func(e *itsm.Event) { e.Actor.ID = "mallory" },
		"name":      func(e *itsm.Event) { e.Actor.Name = "Mallory" },
		"roles":     func(e *itsm.Event) { e.Actor.Roles = e.Actor.Roles[:1] },
		"role":      func(e *itsm.Event) { e.Actor.Roles[1] = "admin" },
		"at":        func(e *itsm.Event) { e.At = e.At.Add(time.Microsecond) },
		"action":    func(e *itsm.Event) { e.Action = "close" },
		"from":      func(e *itsm.Event) { e.From = "new" },
		"to":        func(e *itsm.Event) { e.To = "closed" },
		"changes":   func(e *itsm.Event) { e.Changes = nil },
		"change":    func(e *itsm.Event) { e.Changes[0].New = "worked around" },
		"reason":    func(e *itsm.Event) { e.Reason = "covered up" },
		"shift":     func(e *itsm.Event) { e.From, e.To = "in_progressr", "esolved" },
		"changeold": func(e *itsm.Event) { e.Changes[0].Old = "x" },
	}
	seen := map[tlog.Hash]string{base: "base"}
	for name, edit := range edits {
		ev := sampleEvent()
		edit(&ev)
		h := storage.LeafHash(ev)
		other, dup := seen[h]
		require.False(t, dup, "%s gives the hash of %s", name, other)
		seen[h] = name
	}
}

// memHashes keeps a log's EntryHashes in memory.
type memHashes map[int64][]byte

func (m memHashes) read(entries []int64) (map[int64][]byte, error) {
	out := map[int64][]byte{}
	for _, e := range entries {
		if hs, ok := m[e]; ok {
			out[e] = hs
		}
	}
	return out, nil
}

// TestLogBuilderAgreesWithTlog builds logs of every size up to 40 three
// ways (LogBuilder, EntryHashes over the stored entries, tlog's own
// StoredHashes) and finds the same hashes, roots and proofs.
func TestLogBuilderAgreesWithTlog(t *testing.T) {
	t.Parallel()
	var b storage.LogBuilder
	entries := memHashes{}
	var all []tlog.Hash // tlog's stored hashes, by stored index
	reader := tlog.HashReaderFunc(func(ix []int64) ([]tlog.Hash, error) {
		out := make([]tlog.Hash, len(ix))
		for i, x := range ix {
			out[i] = all[x]
		}
		return out, nil
	})
	require.Equal(t, tlog.Tree{N: 0, Hash: mustTreeHash(t, 0, reader)}, b.Tree())
	for n := int64(0); n < 40; n++ {
		data := []byte{byte(n), 'x'}
		leaf := tlog.RecordHash(data)
		want, err := tlog.StoredHashes(n, data, reader)
		require.NoError(t, err)
		all = append(all, want...)

		got, err := storage.EntryHashes(n, leaf, storage.EntryHashReader(entries.read))
		require.NoError(t, err)
		index, built := b.Append(leaf)
		require.Equal(t, n, index)
		require.Equal(t, got, built)
		entries[n] = built
		for i, h := range want {
			x := tlog.StoredHashIndex(0, n) + int64(i)
			e, pos := storage.EntryOf(x)
			require.Equal(t, n, e, "stored hash %d", x)
			require.Equal(t, h[:], built[pos*tlog.HashSize:(pos+1)*tlog.HashSize])
		}

		tree := b.Tree()
		require.Equal(t, n+1, tree.N)
		require.Equal(t, mustTreeHash(t, n+1, reader), tree.Hash)
		root, err := tlog.TreeHash(n+1, storage.EntryHashReader(entries.read))
		require.NoError(t, err)
		require.Equal(t, tree.Hash, root)
		if n > 2 {
			proof, err := tlog.ProveTree(n+1, n/2, storage.EntryHashReader(entries.read))
			require.NoError(t, err)
			require.NoError(t, tlog.CheckTree(proof, n+1, tree.Hash, n/2, mustTreeHash(t, n/2, reader)))
		}
	}
	e, pos := storage.EntryOf(-1)
	require.Equal(t, int64(-1), e)
	require.Equal(t, -1, pos)

	delete(entries, 31)
	_, err := tlog.TreeHash(40, storage.EntryHashReader(entries.read))
	var te *storage.TamperError
	require.ErrorAs(t, err, &te)
	require.Equal(t, storage.CheckLog, te.Check)
	require.Equal(t, int64(31), te.Index)
	entries[31] = entries[31-1][:tlog.HashSize]
	_, err = tlog.TreeHash(40, storage.EntryHashReader(entries.read))
	require.ErrorAs(t, err, &te)
	require.Contains(t, te.Problem, "too few")
}

func mustTreeHash(t *testing.T, n int64, r tlog.HashReader) tlog.Hash {
	t.Helper()
	h, err := tlog.TreeHash(n, r)
	require.NoError(t, err)
	return h
}

func testKeys(t testing.TB, name string) (note.Signer, note.Verifiers) {
	t.Helper()
	skey, vkey, err := note.GenerateKey(nil, name)
	require.NoError(t, err)
	signer, err := note.NewSigner(skey)
	require.NoError(t, err)
	verifier, err := note.NewVerifier(vkey)
	require.NoError(t, err)
	return signer, note.VerifierList(verifier)
}

func TestCheckpoints(t *testing.T) {
	t.Parallel()
	signer, verifiers := testKeys(t, "audit-key")
	var b storage.LogBuilder
	b.Append(tlog.RecordHash([]byte("a")))
	cp := storage.Checkpoint{Origin: "example.com/audit", Tree: b.Tree()}
	signed, err := storage.SignCheckpoint(cp, signer)
	require.NoError(t, err)
	require.True(t, strings.HasPrefix(string(signed), cp.Text()+"\n— audit-key "), string(signed))
	got, err := storage.OpenCheckpoint(signed, cp.Origin, verifiers)
	require.NoError(t, err)
	require.Empty(t, cmp.Diff(&cp, got))

	other, otherVerifiers := testKeys(t, "audit-key")
	byOther, err := storage.SignCheckpoint(cp, other)
	require.NoError(t, err)
	for name, tc := range map[string]struct {
		msg       []byte
		origin    string
		verifiers note.Verifiers
	}{
		"another key":     {byOther, cp.Origin, verifiers},
		"another log":     {signed, "example.com/other", verifiers},
		"no verifiers":    {signed, cp.Origin, nil},
		"unknown signer":  {signed, cp.Origin, otherVerifiers},
		"altered size":    {[]byte(strings.Replace(string(signed), "\n1\n", "\n2\n", 1)), cp.Origin, verifiers},
		"not a note":      {[]byte("hello"), cp.Origin, verifiers},
		"empty":           {nil, cp.Origin, verifiers},
		"extra text line": {mustSign(t, other, "example.com/audit\n1\n"+strings.Repeat("A", 43)+"=\nmore\n"), cp.Origin, otherVerifiers},
		"bad size":        {mustSign(t, other, "example.com/audit\n01\n"+strings.Repeat("A", 43)+"=\n"), cp.Origin, otherVerifiers},
		"bad hash":        {mustSign(t, other, "example.com/audit\n1\nAAAA\n"), cp.Origin, otherVerifiers},
	} {
		_, err := storage.OpenCheckpoint(tc.msg, tc.origin, tc.verifiers)
		require.ErrorIs(t, err, storage.ErrCheckpoint, name)
		var ce *storage.CheckpointError
		require.ErrorAs(t, err, &ce, name)
		require.NotEmpty(t, ce.Reason, name)
	}
	_, err = storage.OpenCheckpoint(byOther, cp.Origin, verifiers)
	var unverified *note.UnverifiedNoteError
	require.ErrorAs(t, err, &unverified, "a signature by another key is note's refusal")

	for _, origin := range []string{"", " padded", "two\nlines", "bad\xffutf8"} {
		_, err := storage.SignCheckpoint(storage.Checkpoint{Origin: origin}, signer)
		require.ErrorIs(t, err, itsm.ErrValidation, "%q", origin)
	}
	_, err = storage.SignCheckpoint(storage.Checkpoint{Origin: "o", Tree: tlog.Tree{N: -1}}, signer)
	require.ErrorIs(t, err, itsm.ErrValidation)
	_, err = storage.SignCheckpoint(storage.Checkpoint{Origin: "o"}, nil)
	require.ErrorIs(t, err, itsm.ErrValidation)
}

func mustSign(t *testing.T, s note.Signer, text string) []byte {
	t.Helper()
	msg, err := note.Sign(&note.Note{Text: text}, s)
	require.NoError(t, err)
	return msg
}

func TestFileSink(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "checkpoints")
	s, err := storage.OpenFileSink(path)
	require.NoError(t, err)
	latest, err := s.Latest(ctx)
	require.NoError(t, err)
	require.Nil(t, latest, "a new file holds none")
	require.NoError(t, s.Put(ctx, []byte("first\n")))
	require.NoError(t, s.Put(ctx, []byte("second\n\nwith a blank line\n")))
	latest, err = s.Latest(ctx)
	require.NoError(t, err)
	require.Equal(t, "second\n\nwith a blank line\n", string(latest))
	require.ErrorIs(t, s.Put(ctx, nil), itsm.ErrValidation)
	require.ErrorIs(t, s.Put(ctx, make([]byte, storage.MaxCheckpointSize+1)), itsm.ErrValidation)
	require.NoError(t, s.Close())
	require.NoError(t, s.Close())
	require.ErrorIs(t, s.Put(ctx, []byte("late")), os.ErrClosed)

	// Reopened, it knows its latest and keeps every checkpoint; a frame
	// cut short by a crash is dropped.
	whole, err := os.ReadFile(path)
	require.NoError(t, err)
	for _, torn := range []string{"checkpoint 10\nabc", "checkp", "checkpoint 1"} {
		require.NoError(t, os.WriteFile(path, append(append([]byte{}, whole...), torn...), 0o600))
		s, err = storage.OpenFileSink(path)
		require.NoError(t, err, torn)
		latest, err = s.Latest(ctx)
		require.NoError(t, err)
		require.Equal(t, "second\n\nwith a blank line\n", string(latest), torn)
		require.NoError(t, s.Put(ctx, []byte("third\n")))
		require.NoError(t, s.Close())
		got, err := os.ReadFile(path)
		require.NoError(t, err)
		require.Equal(t, string(whole)+"checkpoint 6\nthird\n", string(got), torn)
	}

	for _, junk := range []string{"not a checkpoint file\n", "checkpoint x\n", "checkpoint 0\n", "checkpoint 010\n0123456789"} {
		bad := filepath.Join(t.TempDir(), "bad")
		require.NoError(t, os.WriteFile(bad, []byte(junk), 0o600))
		_, err := storage.OpenFileSink(bad)
		require.ErrorIs(t, err, storage.ErrCorrupt, junk)
	}
	_, err = storage.OpenFileSink(filepath.Join(t.TempDir(), "missing", "dir"))
	require.Error(t, err)
}

// fakeLog is an AuditLog over a LogBuilder that grows by one entry at
// every AuditTree call.
type fakeLog struct {
	mu      sync.Mutex
	b       storage.LogBuilder
	entries memHashes
	fail    error
}

func (f *fakeLog) AuditTree(context.Context) (tlog.Tree, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.fail != nil {
		return tlog.Tree{}, f.fail
	}
	if f.entries == nil {
		f.entries = memHashes{}
	}
	n, hs := f.b.Append(tlog.RecordHash([]byte{byte(f.b.Size())}))
	f.entries[n] = hs
	return f.b.Tree(), nil
}

func (f *fakeLog) ProveAuditTree(_ context.Context, n, old int64) (tlog.TreeProof, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return tlog.ProveTree(n, old, storage.EntryHashReader(f.entries.read))
}

func (f *fakeLog) VerifyAuditSeals(context.Context, int64, int64) error { return nil }

func (f *fakeLog) VerifyAuditLog(_ context.Context, cp *storage.Checkpoint) (*storage.AuditReport, error) {
	return &storage.AuditReport{Checkpoint: cp}, nil
}

// chanSink is a CheckpointSink that tells of every Put.
type chanSink struct {
	mu     sync.Mutex
	latest []byte
	puts   chan []byte
}

// Put hands signed to the reader of puts and then keeps it as the
// latest; when ctx ends first, it keeps nothing.
func (s *chanSink) Put(ctx context.Context, signed []byte) error {
	select {
	case s.puts <- signed:
	case <-ctx.Done():
		return ctx.Err()
	}
	s.mu.Lock()
	s.latest = signed
	s.mu.Unlock()
	return nil
}

func (s *chanSink) Latest(context.Context) ([]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.latest, nil
}

func TestCheckpointerRun(t *testing.T) {
	t.Parallel()
	signer, verifiers := testKeys(t, "audit-key")
	log := &fakeLog{}
	sink := &chanSink{puts: make(chan []byte)}
	errs := make(chan error, 1)
	c := &storage.Checkpointer{Log: log, Origin: "example.com/audit", Signer: signer, Verifiers: verifiers, Sink: sink,
		Interval: time.Millisecond, OnError: func(err error) {
			select {
			case errs <- err:
			default:
			}
		}}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error)
	go func() { done <- c.Run(ctx) }()
	last := int64(0)
	next := func(signed []byte) {
		cp, err := storage.OpenCheckpoint(signed, c.Origin, verifiers)
		require.NoError(t, err)
		require.Equal(t, last+1, cp.Tree.N, "each checkpoint extends the last")
		last = cp.Tree.N
	}
	for range 3 {
		next(<-sink.puts)
	}
	log.mu.Lock()
	log.fail = errors.New("database away")
	log.mu.Unlock()
	// A pass may have read the log before it failed: take its checkpoint
	// while waiting for the failure.
	for failed := false; !failed; {
		select {
		case signed := <-sink.puts:
			next(signed)
		case err := <-errs:
			require.ErrorContains(t, err, "database away")
			failed = true
		}
	}
	cancel()
	require.NoError(t, <-done)

	report, err := c.Verify(t.Context())
	require.NoError(t, err)
	require.Equal(t, last, report.Checkpoint.Tree.N)

	bad := *c
	bad.Signer = nil
	require.ErrorIs(t, bad.Run(t.Context()), itsm.ErrValidation)
	_, err = bad.Issue(t.Context())
	require.ErrorIs(t, err, itsm.ErrValidation)
	bad = *c
	bad.Verifiers = note.VerifierList()
	_, err = bad.Issue(t.Context())
	require.ErrorIs(t, err, storage.ErrCheckpoint, "the sink's latest checkpoint must verify")
}

func TestSealCheck(t *testing.T) {
	t.Parallel()
	key := []byte(strings.Repeat("k", storage.MinSealKeySize))
	require.ErrorIs(t, storage.CheckSealKey(key[:5]), itsm.ErrValidation)
	require.NoError(t, storage.CheckSealKey(nil))
	require.NoError(t, storage.CheckSealKey(key))
	var b storage.LogBuilder
	entry := func(sealed bool) storage.SealedEntry {
		leaf := tlog.RecordHash([]byte{byte(b.Size())})
		n, hs := b.Append(leaf)
		e := storage.SealedEntry{Index: n, Hashes: hs}
		if sealed {
			e.Seal = storage.Seal(key, leaf)
		}
		return e
	}
	log := []storage.SealedEntry{entry(false), entry(false), entry(true), entry(true), entry(false)}
	run := func(from, n int64, entries []storage.SealedEntry) error {
		c := storage.NewSealCheck(key, from, n)
		for _, e := range entries {
			if !c.Entry(e) {
				break
			}
		}
		return c.Err()
	}
	require.NoError(t, run(0, 4, log[:4]), "unsealed entries before the first sealed one")
	require.NoError(t, storage.NewSealCheck(nil, 0, 5).Err(), "no key checks nothing")
	var te *storage.TamperError
	require.ErrorAs(t, run(0, 5, log), &te)
	require.Equal(t, storage.CheckSeal, te.Check)
	require.Equal(t, int64(4), te.Index)
	require.ErrorAs(t, run(1, 4, log[1:4]), &te, "from a checkpoint on, every entry is sealed")
	require.Equal(t, int64(1), te.Index)
	forged := log[3]
	forged.Seal = storage.Seal([]byte(strings.Repeat("m", storage.MinSealKeySize)), tlog.Hash{})
	require.ErrorAs(t, run(2, 4, []storage.SealedEntry{log[2], forged}), &te)
	require.Equal(t, storage.CheckSeal, te.Check)
	require.Equal(t, int64(3), te.Index)
	require.ErrorAs(t, run(2, 4, []storage.SealedEntry{log[3]}), &te)
	require.Equal(t, storage.CheckLog, te.Check)
	require.ErrorAs(t, run(2, 4, log[2:3]), &te, "an entry missing at the end")
	require.Equal(t, storage.CheckLog, te.Check)
	require.Equal(t, int64(3), te.Index)
}
