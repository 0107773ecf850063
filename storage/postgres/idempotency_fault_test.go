package postgres_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/itsmkit/itsmkit/incident"
	"github.com/itsmkit/itsmkit/itsm"
	"github.com/itsmkit/itsmkit/record"
	"github.com/itsmkit/itsmkit/storage"
	"github.com/itsmkit/itsmkit/storage/postgres"
)

var (
	faultAgent = itsm.Actor{ID: "alice", Roles: []itsm.Role{"service-desk"}}
	// faultRetry retries quickly and often enough to outlast the faults
	// the tests inject.
	faultRetry = storage.RetryPolicy{Attempts: 30, Min: time.Millisecond, Max: 20 * time.Millisecond}
)

// incidentsByTitle lists the incidents svc stores, by title.
func incidentsByTitle(t *testing.T, svc *incident.Service) map[string][]*incident.Incident {
	t.Helper()
	out := map[string][]*incident.Incident{}
	q := incident.Query{Limit: record.MaxPageSize}
	for {
		page, err := svc.List(t.Context(), q)
		require.NoError(t, err)
		for _, inc := range page.Incidents {
			out[inc.Title] = append(out[inc.Title], inc)
		}
		if page.Next == "" {
			return out
		}
		q.After = page.Next
	}
}

// TestFaultRetryWithKeyAfterCommitLost opens incidents and comments on
// them through a proxy that drops the connection right after the server
// answers COMMIT, once per call, and retries each call with
// storage.Retry under its own idempotency key: every call succeeds, and
// nothing is stored twice.
func TestFaultRetryWithKeyAfterCommitLost(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	direct := newStore(t)
	proxy, proxied := newCommitDropper(t, testURL(t))
	s, err := postgres.Open(ctx, proxied, postgres.WithSchema(direct.Schema()),
		postgres.WithPoolConfig(func(c *pgxpool.Config) { c.MaxConns = 2 }))
	require.NoError(t, err)
	defer s.Close()
	svc, err := incident.NewService(ctx, s, incident.Config{})
	require.NoError(t, err)
	check, err := incident.NewService(ctx, direct, incident.Config{})
	require.NoError(t, err)

	const n = 10
	for i := range n {
		title := fmt.Sprint("Outage ", i)
		open := itsm.WithIdempotencyKey(ctx, "open-"+title)
		proxy.armed.Store(true)
		calls := 0
		inc, err := storage.Retry(open, faultRetry, func(ctx context.Context) (*incident.Incident, error) {
			calls++
			return svc.Open(ctx, faultAgent, incident.OpenInput{Title: title, Impact: itsm.ImpactLow, Urgency: itsm.UrgencyLow})
		})
		require.NoError(t, err, "open %d", i)
		require.Equal(t, 2, calls, "the first attempt's outcome was unknown, the second recalled it")

		comment := itsm.WithIdempotencyKey(ctx, "comment-"+title)
		proxy.armed.Store(true)
		calls = 0
		commented, err := storage.Retry(comment, faultRetry, func(ctx context.Context) (*incident.Incident, error) {
			calls++
			return svc.AddComment(ctx, faultAgent, inc.ID, "Looking into it.")
		})
		require.NoError(t, err, "comment %d", i)
		require.Equal(t, 2, calls)
		require.Len(t, commented.Journal, 1)
	}
	require.Equal(t, int32(2*n), proxy.dropped.Load(), "every call lost its first commit's answer")

	got := incidentsByTitle(t, check)
	require.Len(t, got, n)
	for title, incs := range got {
		require.Len(t, incs, 1, "%s is stored once", title)
		full, err := check.Get(ctx, incs[0].ID)
		require.NoError(t, err)
		require.Len(t, full.Journal, 1, "%s has one comment", title)
		hist, err := check.History(ctx, incs[0].ID)
		require.NoError(t, err)
		require.Len(t, hist, 2, "open and comment")
	}
	require.NoError(t, direct.VerifyAuditTrail(ctx))
}

// TestFaultTerminateLoopWithKeys opens incidents from several goroutines,
// each through storage.Retry under its own idempotency key, while another
// goroutine terminates the store's server processes again and again:
// every Open that returned is stored exactly once, and no key yields two
// incidents whatever the outcome of its attempts.
func TestFaultTerminateLoopWithKeys(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	app := "itsm_terminate_keys_" + newSchemaName()
	s := newStore(t, postgres.WithPoolConfig(func(c *pgxpool.Config) {
		c.MaxConns = 4
		c.ConnConfig.RuntimeParams["application_name"] = app
	}))
	svc, err := incident.NewService(ctx, s, incident.Config{})
	require.NoError(t, err)
	// An Open through the service takes several round trips, and a
	// terminated connection a new one: pause long enough for most Opens
	// to get through.
	stop := terminateEvery(t, app, func() time.Duration { return time.Duration(10+rand.IntN(30)) * time.Millisecond })
	const writers, each = 4, 40
	var (
		mu       sync.Mutex
		returned = map[string]string{} // title → ID of what Open returned
		failed   []error
		attempts atomic.Int64
	)
	var ww sync.WaitGroup
	for w := range writers {
		ww.Go(func() {
			for i := range each {
				title := fmt.Sprintf("Outage %d-%d", w, i)
				keyed := itsm.WithIdempotencyKey(ctx, title)
				inc, err := storage.Retry(keyed, faultRetry, func(ctx context.Context) (*incident.Incident, error) {
					attempts.Add(1)
					return svc.Open(ctx, faultAgent, incident.OpenInput{Title: title, Impact: itsm.ImpactLow, Urgency: itsm.UrgencyLow})
				})
				mu.Lock()
				if err == nil {
					returned[title] = inc.ID
				} else {
					failed = append(failed, err)
				}
				mu.Unlock()
			}
		})
	}
	ww.Wait()
	killed := stop()

	check, err := postgres.Open(ctx, testURL(t), postgres.WithSchema(s.Schema()))
	require.NoError(t, err)
	defer check.Close()
	checkSvc, err := incident.NewService(ctx, check, incident.Config{})
	require.NoError(t, err)
	got := incidentsByTitle(t, checkSvc)
	for title, incs := range got {
		require.Len(t, incs, 1, "%s is stored once", title)
	}
	for title, id := range returned {
		require.Len(t, got[title], 1, "what Open returned for %s is stored", title)
		require.Equal(t, id, got[title][0].ID)
	}
	for _, err := range failed {
		require.True(t, storage.IsRetryable(err) || errors.Is(err, storage.ErrUnknownOutcome), "%v", err)
	}
	t.Logf("%d server processes terminated; %d Opens in %d attempts: %d returned, %d gave up; %d stored",
		killed, writers*each, attempts.Load(), len(returned), len(failed), len(got))
	require.Positive(t, killed)
	require.Greater(t, attempts.Load(), int64(writers*each), "some attempts failed and were retried")
	require.NoError(t, check.VerifyAuditTrail(ctx))
}
