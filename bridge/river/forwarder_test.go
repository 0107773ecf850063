package river_test

import (
	"context"
	"encoding/json"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	riverqueue "github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/rivertype"
	"github.com/stretchr/testify/require"

	bridgeriver "github.com/itsmkit/itsmkit/bridge/river"
	"github.com/itsmkit/itsmkit/itsm"
	"github.com/itsmkit/itsmkit/outbox"
	"github.com/itsmkit/itsmkit/record"
)

func TestPostgres(t *testing.T) {
	t.Parallel()
	exercise(t, postgresClients)
}

func TestSQLite(t *testing.T) {
	t.Parallel()
	exercise(t, sqliteClients)
}

// exercise runs the forwarder's behaviour on one River driver; each
// subtest gets a database of its own from open.
func exercise[TTx any](t *testing.T, open func(t *testing.T) newClientFunc[TTx]) {
	var _ outbox.Handler = (*bridgeriver.Forwarder[TTx])(nil)

	t.Run("OneJobPerMessage", func(t *testing.T) {
		t.Parallel()
		client := open(t)(t, nil)
		fw, err := bridgeriver.New(client, bridgeriver.Config{Queue: "itsm-events", Priority: 2})
		require.NoError(t, err)
		ctx := t.Context()
		want := []record.Message{message(1, "INC1", 1), message(2, "INC1", 2), message(3, "INC2", 1)}
		for _, m := range want {
			require.NoError(t, fw.Deliver(ctx, m))
		}
		jobs := listJobs(t, client)
		require.Len(t, jobs, len(want))
		for i, job := range jobs {
			require.Equal(t, bridgeriver.Kind, job.Kind)
			require.Equal(t, "itsm-events", job.Queue)
			require.Equal(t, 2, job.Priority)
			require.Equal(t, rivertype.JobStateAvailable, job.State)
			args := decodeArgs(t, job)
			require.Empty(t, cmp.Diff(bridgeriver.EventArgs{
				Key:       bridgeriver.KeyOf(want[i].Event),
				MessageID: want[i].ID,
				Event:     want[i].Event,
			}, args))
		}
	})

	t.Run("RepeatsInsertNothing", func(t *testing.T) {
		t.Parallel()
		client := open(t)(t, nil)
		fw, err := bridgeriver.New(client, bridgeriver.Config{})
		require.NoError(t, err)
		ctx := t.Context()
		m := message(7, "INC7", 3)
		first, err := fw.Forward(ctx, m)
		require.NoError(t, err)
		require.False(t, first.UniqueSkippedAsDuplicate)
		again, err := fw.Forward(ctx, m)
		require.NoError(t, err)
		require.True(t, again.UniqueSkippedAsDuplicate)
		require.Equal(t, first.Job.ID, again.Job.ID)

		// The same event from another outbox message (another store's
		// copy, a replayed dead letter) is the same event.
		other := m
		other.ID, other.Attempts = 99, 5
		require.NoError(t, fw.Deliver(ctx, other))

		// A job River no longer works still counts: a repeat after
		// cancellation inserts nothing either.
		_, err = client.JobCancel(ctx, first.Job.ID)
		require.NoError(t, err)
		again, err = fw.Forward(ctx, m)
		require.NoError(t, err)
		require.True(t, again.UniqueSkippedAsDuplicate)

		jobs := listJobs(t, client)
		require.Len(t, jobs, 1)
		require.Equal(t, m.ID, decodeArgs(t, jobs[0]).MessageID, "the first delivery's job stays as it was")
	})

	t.Run("ConcurrentRepeatsInsertOne", func(t *testing.T) {
		t.Parallel()
		client := open(t)(t, nil)
		fw, err := bridgeriver.New(client, bridgeriver.Config{})
		require.NoError(t, err)
		const n = 8
		m := message(11, "INC11", 1)
		var wg sync.WaitGroup
		inserted := make(chan bool, n)
		errs := make(chan error, n)
		for range n {
			wg.Go(func() {
				res, err := fw.Forward(context.Background(), m)
				errs <- err
				if err == nil {
					inserted <- !res.UniqueSkippedAsDuplicate
				}
			})
		}
		wg.Wait()
		close(errs)
		close(inserted)
		for err := range errs {
			require.NoError(t, err)
		}
		fresh := 0
		for ins := range inserted {
			if ins {
				fresh++
			}
		}
		require.Equal(t, 1, fresh, "exactly one delivery inserts the job")
		require.Len(t, listJobs(t, client), 1)
	})

	t.Run("WorkerReceivesEvent", func(t *testing.T) {
		t.Parallel()
		newClient := open(t)
		got := make(chan *riverqueue.Job[bridgeriver.EventArgs], 1)
		workers := riverqueue.NewWorkers()
		riverqueue.AddWorker(workers, riverqueue.WorkFunc(func(ctx context.Context, job *riverqueue.Job[bridgeriver.EventArgs]) error {
			got <- job
			return nil
		}))
		client := newClient(t, &riverqueue.Config{
			Queues:            map[string]riverqueue.QueueConfig{"itsm": {MaxWorkers: 1}},
			Workers:           workers,
			FetchPollInterval: 200 * time.Millisecond,
		})
		ctx := context.Background()
		require.NoError(t, client.Start(ctx))
		t.Cleanup(func() {
			stopCtx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			require.NoError(t, client.Stop(stopCtx))
		})
		// An insert-only client forwards; the working client works.
		fw, err := bridgeriver.New(newClient(t, nil), bridgeriver.Config{Queue: "itsm"})
		require.NoError(t, err)
		m := message(21, "INC21", 4)
		require.NoError(t, fw.Deliver(ctx, m))
		var job *riverqueue.Job[bridgeriver.EventArgs]
		select {
		case job = <-got:
		case <-time.After(60 * time.Second):
			t.Fatal("the worker was not given the job")
		}
		require.Empty(t, cmp.Diff(m.Event, job.Args.Event))
		require.Equal(t, bridgeriver.KeyOf(m.Event), job.Args.Key)
		require.Equal(t, m.ID, job.Args.MessageID)
		require.Equal(t, 1, job.Attempt)
	})

	t.Run("PerMessageOpts", func(t *testing.T) {
		t.Parallel()
		client := open(t)(t, nil)
		later := time.Date(2100, 1, 2, 3, 4, 5, 0, time.UTC)
		fw, err := bridgeriver.New(client, bridgeriver.Config{
			Queue:    "itsm",
			Priority: 3,
			Opts: func(m record.Message) riverqueue.InsertOpts {
				if m.Event.Action != "breach" {
					return riverqueue.InsertOpts{Tags: []string{"routine"}}
				}
				return riverqueue.InsertOpts{
					Queue: "urgent", Priority: 1, MaxAttempts: 3,
					Tags: []string{"sla", "breach"}, Metadata: []byte(`{"team":"noc"}`),
					ScheduledAt: later,
					// Replaced: uniqueness stays by event identity.
					UniqueOpts: riverqueue.UniqueOpts{ByQueue: true},
				}
			},
		})
		require.NoError(t, err)
		ctx := t.Context()
		routine := message(1, "INC1", 1)
		breach := message(2, "INC1", 2)
		breach.Event.Action = "breach"
		another := message(3, "INC1", 3)
		another.Event.Action = "breach"
		require.NoError(t, fw.Deliver(ctx, routine))
		require.NoError(t, fw.Deliver(ctx, breach))
		require.NoError(t, fw.Deliver(ctx, breach))
		require.NoError(t, fw.Deliver(ctx, another))
		jobs := listJobs(t, client)
		require.Len(t, jobs, 3, "one job per event, whatever UniqueOpts Opts returned")
		require.Equal(t, "itsm", jobs[0].Queue)
		require.Equal(t, 3, jobs[0].Priority)
		require.Equal(t, []string{"routine"}, jobs[0].Tags)
		require.Equal(t, "urgent", jobs[1].Queue)
		require.Equal(t, 1, jobs[1].Priority)
		require.Equal(t, 3, jobs[1].MaxAttempts)
		require.Equal(t, []string{"sla", "breach"}, jobs[1].Tags)
		require.Equal(t, rivertype.JobStateScheduled, jobs[1].State)
		require.True(t, later.Equal(jobs[1].ScheduledAt), "scheduled at %v", jobs[1].ScheduledAt)
		var meta map[string]any
		require.NoError(t, json.Unmarshal(jobs[1].Metadata, &meta))
		require.Equal(t, "noc", meta["team"])
	})

	t.Run("RefusedInputIsPermanent", func(t *testing.T) {
		t.Parallel()
		client := open(t)(t, nil)
		ctx := t.Context()
		fw, err := bridgeriver.New(client, bridgeriver.Config{})
		require.NoError(t, err)
		bad := message(1, "", 0)
		bad.Event.Action = ""
		err = fw.Deliver(ctx, bad)
		requirePermanentValidation(t, err, "record_id", "action", "sequence")

		fw, err = bridgeriver.New(client, bridgeriver.Config{Opts: func(record.Message) riverqueue.InsertOpts {
			return riverqueue.InsertOpts{Queue: "Not A Queue", Priority: 9, MaxAttempts: -1, Tags: []string{"x"}, Metadata: []byte(`[1]`)}
		}})
		require.NoError(t, err)
		err = fw.Deliver(ctx, message(2, "INC2", 1))
		requirePermanentValidation(t, err, "queue", "priority", "max_attempts", "tags[0]", "metadata")
		require.Empty(t, listJobs(t, client), "nothing refused was inserted")
	})
}

func listJobs[TTx any](t *testing.T, client *riverqueue.Client[TTx]) []*rivertype.JobRow {
	t.Helper()
	res, err := client.JobList(context.Background(), riverqueue.NewJobListParams().Kinds(bridgeriver.Kind).First(1000))
	require.NoError(t, err)
	return res.Jobs
}

func decodeArgs(t *testing.T, job *rivertype.JobRow) bridgeriver.EventArgs {
	t.Helper()
	var args bridgeriver.EventArgs
	require.NoError(t, json.Unmarshal(job.EncodedArgs, &args))
	return args
}

func requirePermanentValidation(t *testing.T, err error, fields ...string) {
	t.Helper()
	require.ErrorIs(t, err, outbox.ErrPermanent)
	require.ErrorIs(t, err, itsm.ErrValidation)
	var v *itsm.ValidationError
	require.ErrorAs(t, err, &v)
	for _, f := range fields {
		require.True(t, v.Has(f), "%v names %s", err, f)
	}
}

func TestNewRefusesBadConfig(t *testing.T) {
	t.Parallel()
	_, err := bridgeriver.New[pgx.Tx](nil, bridgeriver.Config{Queue: "a b", Priority: 5})
	requireValidation(t, err, "client", "queue", "priority")
	client, err := riverqueue.NewClient(riverpgxv5.New(nil), &riverqueue.Config{})
	require.NoError(t, err)
	for _, q := range []string{"default", "itsm_events", "itsm-events", "a1"} {
		_, err = bridgeriver.New(client, bridgeriver.Config{Queue: q, Priority: 4})
		require.NoError(t, err, q)
	}
	for _, q := range []string{"-x", "x-", "a--b", "UPPER", "a.b", string(make([]byte, 65))} {
		_, err = bridgeriver.New(client, bridgeriver.Config{Queue: q})
		requireValidation(t, err, "queue")
	}
	_, err = bridgeriver.New(client, bridgeriver.Config{Priority: -1})
	requireValidation(t, err, "priority")
}

func requireValidation(t *testing.T, err error, fields ...string) {
	t.Helper()
	require.NotErrorIs(t, err, outbox.ErrPermanent)
	var v *itsm.ValidationError
	require.ErrorAs(t, err, &v)
	require.Len(t, v.Fields, len(fields), "%v", err)
	for _, f := range fields {
		require.True(t, v.Has(f), "%v names %s", err, f)
	}
}

// TestUnreachableDatabaseIsRetryable forwards through a pool whose server
// refuses connections: the error is returned, and it is not permanent, so
// the deliverer tries again later.
func TestUnreachableDatabaseIsRetryable(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	// Port 1 on the loopback interface has no listener here.
	pool, err := pgxpool.New(ctx, "postgres://postgres@127.0.0.1:1/test?sslmode=disable&connect_timeout=5")
	require.NoError(t, err)
	defer pool.Close()
	client, err := riverqueue.NewClient(riverpgxv5.New(pool), &riverqueue.Config{})
	require.NoError(t, err)
	fw, err := bridgeriver.New(client, bridgeriver.Config{})
	require.NoError(t, err)
	err = fw.Deliver(ctx, message(1, "INC1", 1))
	require.Error(t, err)
	require.False(t, errors.Is(err, outbox.ErrPermanent), "%v", err)
	require.False(t, errors.Is(err, itsm.ErrValidation), "%v", err)
	require.Contains(t, err.Error(), "incident/INC1#1")
}
