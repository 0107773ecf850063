package incident_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/require"

	"github.com/itsmkit/itsmkit/incident"
	"github.com/itsmkit/itsmkit/itsm"
	"github.com/itsmkit/itsmkit/record"
)

func init() {
	serviceTests["IdempotentOpen"] = testIdempotentOpen
	serviceTests["IdempotentUpdates"] = testIdempotentUpdates
	serviceTests["IdempotencyKeyReused"] = testIdempotencyKeyReused
	serviceTests["IdempotencyKeyExpires"] = testIdempotencyKeyExpires
	serviceTests["IdempotencyKeyConcurrently"] = testIdempotencyKeyConcurrently
	serviceTests["IdempotencyKeyOfFailedCall"] = testIdempotencyKeyOfFailedCall
}

var p2 = incident.OpenInput{Title: "Mail is down", Impact: itsm.ImpactMedium, Urgency: itsm.UrgencyHigh}

// count returns how many incidents the service lists.
func (f *fixture) count(t *testing.T) int {
	t.Helper()
	n := 0
	q := incident.Query{Limit: record.MaxPageSize}
	for {
		page, err := f.svc.List(context.Background(), q)
		require.NoError(t, err)
		n += len(page.Incidents)
		if page.Next == "" {
			return n
		}
		q.After = page.Next
	}
}

// testIdempotentOpen opens an incident twice with one key: the second
// call returns the first incident and stores nothing.
func testIdempotentOpen(t *testing.T, st storeFactory) {
	f := newFixture(t, st)
	ctx := itsm.WithIdempotencyKey(context.Background(), "open-1")
	first, err := f.svc.Open(ctx, agent, p2)
	require.NoError(t, err)
	f.clock.Advance(time.Minute)
	again, err := f.svc.Open(ctx, agent, p2)
	require.NoError(t, err)
	require.Empty(t, cmp.Diff(first, again), "the retry returns what the first call returned")
	require.Equal(t, 1, f.count(t))
	history, err := f.svc.History(context.Background(), first.ID)
	require.NoError(t, err)
	require.Len(t, history, 1, "one open event")
	// Without a key, or with another, the same input opens another.
	_, err = f.svc.Open(context.Background(), agent, p2)
	require.NoError(t, err)
	_, err = f.svc.Open(itsm.WithIdempotencyKey(ctx, "open-2"), agent, p2)
	require.NoError(t, err)
	require.Equal(t, 3, f.count(t))
}

// testIdempotentUpdates repeats updates with their keys: each is made
// once and its repeat returns the incident as the first call left it.
func testIdempotentUpdates(t *testing.T, st storeFactory) {
	f := newFixture(t, st)
	bg := context.Background()
	inc := f.open(t, p2)
	note := itsm.WithIdempotencyKey(bg, "note-1")
	first, err := f.svc.AddWorkNote(note, agent, inc.ID, "Relay restarted.")
	require.NoError(t, err)
	again, err := f.svc.AddWorkNote(note, agent, inc.ID, "Relay restarted.")
	require.NoError(t, err)
	require.Empty(t, cmp.Diff(first, again))
	start := itsm.WithIdempotencyKey(bg, "start-1")
	started, err := f.svc.StartWork(start, agent, inc.ID, first.Version)
	require.NoError(t, err)
	// The repeat names a version that is stale by now, yet returns the
	// first result instead of a conflict: it is the same call.
	again, err = f.svc.StartWork(start, agent, inc.ID, first.Version)
	require.NoError(t, err)
	require.Empty(t, cmp.Diff(started, again))
	resolve := itsm.WithIdempotencyKey(bg, "resolve-1")
	in := incident.ResolveInput{Version: started.Version, Code: "solved", Notes: "Relay replaced."}
	resolved, err := f.svc.Resolve(resolve, agent, inc.ID, in)
	require.NoError(t, err)
	_, err = f.svc.Resolve(resolve, agent, inc.ID, in)
	require.NoError(t, err)
	got, err := f.svc.Get(bg, inc.ID)
	require.NoError(t, err)
	require.Equal(t, resolved.Version, got.Version, "no write after the first of each key")
	require.Len(t, got.Journal, 1)
	history, err := f.svc.History(bg, inc.ID)
	require.NoError(t, err)
	require.Len(t, history, 4, "open, work note, start, resolve")
}

// testIdempotencyKeyReused gives a key to another request: it is refused
// and nothing is written.
func testIdempotencyKeyReused(t *testing.T, st storeFactory) {
	f := newFixture(t, st)
	ctx := itsm.WithIdempotencyKey(context.Background(), "k-1")
	inc, err := f.svc.Open(ctx, agent, p2)
	require.NoError(t, err)
	other := p2
	other.Title = "Printer is down"
	_, err = f.svc.Open(ctx, agent, other)
	var kr *itsm.KeyReusedError
	require.ErrorAs(t, err, &kr)
	require.ErrorIs(t, err, itsm.ErrValidation)
	require.Equal(t, itsm.KeyReusedError{Key: "k-1", Operation: "incident.open", First: "incident.open"}, *kr)
	_, err = f.svc.Open(ctx, itsm.Actor{ID: "bob"}, p2)
	require.ErrorAs(t, err, &kr, "another actor is another request")
	_, err = f.svc.AddComment(ctx, agent, inc.ID, "Any news?")
	require.ErrorAs(t, err, &kr)
	require.Equal(t, "incident.comment", kr.Operation)
	require.Equal(t, "incident.open", kr.First)
	require.Contains(t, kr.Error(), `"k-1" was used for incident.open, not incident.comment`)
	got, err := f.svc.Get(context.Background(), inc.ID)
	require.NoError(t, err)
	require.Equal(t, inc.Version, got.Version)
	require.Equal(t, 1, f.count(t))
	// A malformed key is the call's own problem.
	for _, key := range []string{strings.Repeat("k", record.MaxIDLen+1), "bad\xff", "nul\x00"} {
		_, err = f.svc.Open(itsm.WithIdempotencyKey(context.Background(), key), agent, p2)
		var ve *itsm.ValidationError
		require.ErrorAs(t, err, &ve)
		require.True(t, ve.Has("idempotency_key"), "%v", err)
	}
	require.Equal(t, 1, f.count(t))
}

// testIdempotencyKeyExpires repeats a call after Config.KeepKeys: it is a
// new call.
func testIdempotencyKeyExpires(t *testing.T, st storeFactory) {
	f := newFixture(t, st, func(c *incident.Config) { c.KeepKeys = time.Hour })
	ctx := itsm.WithIdempotencyKey(context.Background(), "k-1")
	first, err := f.svc.Open(ctx, agent, p2)
	require.NoError(t, err)
	f.clock.Advance(time.Hour - time.Microsecond)
	again, err := f.svc.Open(ctx, agent, p2)
	require.NoError(t, err)
	require.Equal(t, first.ID, again.ID, "still kept")
	f.clock.Advance(time.Microsecond)
	later, err := f.svc.Open(ctx, agent, p2)
	require.NoError(t, err)
	require.NotEqual(t, first.ID, later.ID, "forgotten after KeepKeys")
	require.Equal(t, 2, f.count(t))
	n, err := f.store.ForgetOutcomes(context.Background(), f.clock.Now().Add(2*time.Hour), 10)
	require.NoError(t, err)
	require.Equal(t, 1, n, "the second outcome replaced the first; it expires in turn")

	_, err = incident.NewService(context.Background(), f.store, incident.Config{KeepKeys: -time.Second})
	var ve *itsm.ValidationError
	require.ErrorAs(t, err, &ve)
	require.True(t, ve.Has("keep_keys"))
}

// testIdempotencyKeyConcurrently makes one call with one key from many
// goroutines at once: one incident is opened and every call returns it.
func testIdempotencyKeyConcurrently(t *testing.T, st storeFactory) {
	f := newFixture(t, st)
	ctx := itsm.WithIdempotencyKey(context.Background(), "k-race")
	const n = 8
	got := make([]*incident.Incident, n)
	errs := atOnce(n, func(i int) (err error) { got[i], err = f.svc.Open(ctx, agent, p2); return err })
	for i, err := range errs {
		require.NoError(t, err, "call %d", i)
		require.Empty(t, cmp.Diff(got[0], got[i]), "call %d", i)
	}
	require.Equal(t, 1, f.count(t))
}

// testIdempotencyKeyOfFailedCall checks that a call that fails keeps no
// key: its retry runs again.
func testIdempotencyKeyOfFailedCall(t *testing.T, st storeFactory) {
	f := newFixture(t, st)
	inc := f.open(t, p2)
	ctx := itsm.WithIdempotencyKey(context.Background(), "k-1")
	in := incident.ResolveInput{Version: inc.Version, Code: "solved", Notes: "Fixed."}
	// A stale version fails the call.
	stale := in
	stale.Version = inc.Version + 1
	_, err := f.svc.Resolve(ctx, agent, inc.ID, stale)
	require.ErrorIs(t, err, itsm.ErrConflict)
	err = f.store.InTx(context.Background(), func(ctx context.Context, tx record.Tx) error {
		_, found, err := tx.Recall(ctx, "k-1", f.clock.Now())
		require.False(t, found, "a failed call remembers nothing")
		return err
	})
	require.NoError(t, err)
	_, err = f.svc.Resolve(ctx, agent, inc.ID, stale)
	require.ErrorIs(t, err, itsm.ErrConflict, "the retry ran again")
	_, err = f.svc.AddComment(ctx, agent, inc.ID, "Looking.")
	require.NoError(t, err, "the key is free for the call that succeeds")
}
