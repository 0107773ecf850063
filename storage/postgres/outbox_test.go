package postgres_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/itsmkit/itsmkit/itsm"
	"github.com/itsmkit/itsmkit/record"
)

// TestOutboxCommitOrder checks that the messages of a transaction that
// began first and commits last are not skipped. Two connections write.
// When the first writer's message is in the outbox before the second's
// ("AppendedFirst", a smaller message ID), a reader does not hand out a
// cursor past the second's committed message while the first is open, and
// once it commits the reader gets both, the first writer's first. When the
// first writer's writes travel with its COMMIT ("AppendedAtCommit": it has
// written nothing before), it holds nothing back: the reader gets the
// second's message at once and the first's, committed later, after that
// cursor.
func TestOutboxCommitOrder(t *testing.T) {
	t.Parallel()
	for _, early := range []bool{true, false} {
		name := map[bool]string{true: "AppendedFirst", false: "AppendedAtCommit"}[early]
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			s := newStore(t)
			ctx := t.Context()
			first, second := testRecord(1), testRecord(2)
			began, release, done := make(chan struct{}), make(chan struct{}), make(chan error, 1)
			go func() {
				done <- s.InTx(ctx, func(ctx context.Context, tx record.Tx) error {
					if err := tx.Create(ctx, first); err != nil {
						return err
					}
					if err := tx.AppendEvents(ctx, openEvent(first.Ref())); err != nil {
						return err
					}
					if early {
						// Send the writes now: the message is in the
						// outbox, uncommitted.
						if _, err := tx.History(ctx, first.Ref()); err != nil {
							return err
						}
					}
					close(began)
					<-release
					return nil
				})
			}()
			<-began
			defer func() {
				// Let the first writer end however the test does.
				select {
				case <-release:
				default:
					close(release)
				}
			}()
			require.NoError(t, s.InTx(ctx, func(ctx context.Context, tx record.Tx) error {
				if err := tx.Create(ctx, second); err != nil {
					return err
				}
				return tx.AppendEvents(ctx, openEvent(second.Ref()))
			}))
			var page record.OutboxPage
			if early {
				var err error
				page, err = s.ReadOutbox(ctx, "", 10)
				require.NoError(t, err)
				require.Empty(t, page.Messages, "the later message waits for the open transaction")
				require.Empty(t, page.Next)
			} else {
				// It shows once no transaction that wrote earlier is open
				// (tests in other schemas write too).
				page.Messages, page.Next = readOutbox(t, s, "", 1)
				require.Equal(t, second.ID, page.Messages[0].Event.RecordID, "a transaction that has written nothing holds nothing back")
			}

			close(release)
			require.NoError(t, <-done)
			want := []string{first.ID, second.ID}
			if !early {
				want = want[:1]
			}
			msgs, next := readOutbox(t, s, page.Next, len(want))
			if early {
				require.Less(t, msgs[0].ID, msgs[1].ID, "message IDs follow the appending, not the order")
			} else {
				require.Greater(t, msgs[0].ID, page.Messages[0].ID, "the first writer appended at its COMMIT")
			}
			got := make([]string, len(msgs))
			for i, m := range msgs {
				got[i] = m.Event.RecordID
			}
			require.Equal(t, want, got)
			rest, err := s.ReadOutbox(ctx, next, 10)
			require.NoError(t, err)
			require.Empty(t, rest.Messages)
		})
	}
}

// TestClaimConcurrently has several instances of one consumer claim and
// acknowledge messages at once: each message is handed out once, and every
// message is handed out.
func TestClaimConcurrently(t *testing.T) {
	t.Parallel()
	s := newStore(t)
	ctx := t.Context()
	const records, events = 20, 10
	for i := range records {
		rec := testRecord(i)
		require.NoError(t, s.InTx(ctx, func(ctx context.Context, tx record.Tx) error {
			if err := tx.Create(ctx, rec); err != nil {
				return err
			}
			evs := make([]itsm.Event, events)
			for j := range evs {
				evs[j] = openEvent(rec.Ref())
				evs[j].Action = fmt.Sprint("step-", j)
			}
			return tx.AppendEvents(ctx, evs...)
		}))
	}
	var (
		mu   sync.Mutex
		seen = map[int64]int{}
		wg   sync.WaitGroup
	)
	for range 4 {
		wg.Go(func() {
			for {
				msgs, err := s.Claim(ctx, "indexer", t0, time.Hour, 7)
				require.NoError(t, err)
				if len(msgs) == 0 {
					return
				}
				ids := make([]int64, len(msgs))
				mu.Lock()
				for i, m := range msgs {
					seen[m.ID]++
					ids[i] = m.ID
					require.Equal(t, 1, m.Attempts)
				}
				mu.Unlock()
				require.NoError(t, s.Ack(ctx, "indexer", ids...))
			}
		})
	}
	wg.Wait()
	require.Len(t, seen, records*events)
	for id, n := range seen {
		require.Equal(t, 1, n, "message %d", id)
	}
	// Another consumer sees every message.
	other, err := s.Claim(ctx, "auditor", t0, time.Hour, 2*records*events)
	require.NoError(t, err)
	require.Len(t, other, records*events)
}

// TestClaimLeaseAndAck checks leases, attempts and acknowledgements.
func TestClaimLeaseAndAck(t *testing.T) {
	t.Parallel()
	s := newStore(t)
	ctx := t.Context()
	rec := testRecord(1)
	require.NoError(t, s.InTx(ctx, func(ctx context.Context, tx record.Tx) error {
		if err := tx.Create(ctx, rec); err != nil {
			return err
		}
		return tx.AppendEvents(ctx, openEvent(rec.Ref()), openEvent(rec.Ref()))
	}))
	msgs, err := s.Claim(ctx, "mailer", t0, time.Minute, 10)
	require.NoError(t, err)
	require.Len(t, msgs, 2)
	require.Equal(t, []int64{1, 2}, []int64{msgs[0].Event.Sequence, msgs[1].Event.Sequence})
	require.Equal(t, time.UTC, msgs[0].Event.At.Location())
	held, err := s.Claim(ctx, "mailer", t0.Add(time.Minute-time.Microsecond), time.Minute, 10)
	require.NoError(t, err)
	require.Empty(t, held, "both leases are live")

	require.ErrorIs(t, s.Ack(ctx, "mailer", msgs[0].ID, msgs[1].ID+1000), itsm.ErrNotFound)
	require.NoError(t, s.Ack(ctx, "mailer", msgs[0].ID, msgs[0].ID))
	require.NoError(t, s.Ack(ctx, "mailer", msgs[0].ID), "acknowledging twice is no error")
	require.NoError(t, s.Ack(ctx, "mailer"))
	require.ErrorIs(t, s.Ack(ctx, "", msgs[0].ID), itsm.ErrValidation)

	again, err := s.Claim(ctx, "mailer", t0.Add(time.Minute), time.Minute, 10)
	require.NoError(t, err)
	require.Len(t, again, 1, "the lease ran out; the acknowledged message stays acknowledged")
	require.Equal(t, msgs[1].ID, again[0].ID)
	require.Equal(t, 2, again[0].Attempts)

	// Acknowledging a message never claimed keeps Claim from handing it out.
	require.NoError(t, s.Ack(ctx, "auditor", msgs[0].ID))
	fresh, err := s.Claim(ctx, "auditor", t0, time.Minute, 10)
	require.NoError(t, err)
	require.Len(t, fresh, 1)
	require.Equal(t, msgs[1].ID, fresh[0].ID)

	for _, tc := range []struct {
		consumer string
		now      time.Time
		lease    time.Duration
		limit    int
	}{{"", t0, time.Minute, 1}, {"x", time.Time{}, time.Minute, 1}, {"x", t0, 0, 1}, {"x", t0, time.Minute, 0}} {
		_, err := s.Claim(ctx, tc.consumer, tc.now, tc.lease, tc.limit)
		require.ErrorIs(t, err, itsm.ErrValidation)
	}
	_, err = s.ReadOutbox(ctx, "not a cursor", 10)
	require.ErrorIs(t, err, itsm.ErrValidation)
}
