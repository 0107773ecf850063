package storagetest

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/require"

	"github.com/itsmkit/itsmkit/itsm"
	"github.com/itsmkit/itsmkit/record"
	"github.com/itsmkit/itsmkit/storage"
)

// claimAll claims every message appended by appendEach for consumer and
// returns them, failing unless there are n, each with attempts.
func (e *env) claimAll(consumer string, now time.Time, n, attempts int) []record.Message {
	e.t.Helper()
	msgs := e.claim(consumer, now, lease, 100)
	require.Len(e.t, msgs, n, "messages claimed by %s", consumer)
	for _, m := range msgs {
		require.Equal(e.t, attempts, m.Attempts, "Attempts of message %d", m.ID)
	}
	return msgs
}

// deadLetters reads every dead letter of consumer, limit at a time, and
// checks the pages' order.
func (e *env) deadLetters(consumer string, limit int) []record.DeadLetter {
	e.t.Helper()
	all := []record.DeadLetter{}
	var after int64
	for i := 0; ; i++ {
		require.Less(e.t, i, 100000, "DeadLetters does not come to an end")
		page, err := e.store.DeadLetters(e.ctx, consumer, after, limit)
		require.NoError(e.t, err)
		require.NotNil(e.t, page, "DeadLetters returns a non-nil slice")
		require.LessOrEqual(e.t, len(page), limit, "DeadLetters returned more than its limit")
		if len(page) == 0 {
			return all
		}
		for _, d := range page {
			require.Greater(e.t, d.ID, after, "dead letters come by message ID")
			requireUTC(e.t, "DeadAt", d.DeadAt)
			after = d.ID
		}
		all = append(all, page...)
	}
}

// requireDead fails unless consumer's dead letters are want, in order.
func (e *env) requireDead(consumer string, want ...record.DeadLetter) {
	e.t.Helper()
	if want == nil {
		want = []record.DeadLetter{}
	}
	got := e.deadLetters(consumer, 2)
	if diff := cmp.Diff(want, got, cmpOpts); diff != "" {
		e.t.Fatalf("dead letters of %s mismatch (-want +got):\n%s", consumer, diff)
	}
}

// dead returns the dead letter m becomes when buried at at for reason
// after attempts claims.
func dead(m record.Message, attempts int, at time.Time, reason string) record.DeadLetter {
	m.Attempts = attempts
	return record.DeadLetter{Message: m, DeadAt: at.UTC().Truncate(time.Microsecond), LastError: reason}
}

var deadLetterChecks = []check{
	{"Defer", func(e *env) {
		want := e.appendEach(3)
		msgs := e.claimAll("mailer", tNow, 3, 1)
		// Deferring sooner than the lease ends frees the message at
		// until, not before, and it keeps its attempts.
		require.NoError(e.t, e.store.Defer(e.ctx, "mailer", msgs[0].ID, tNow.Add(10*time.Second), "timeout"))
		require.Empty(e.t, e.claim("mailer", tNow.Add(10*time.Second-time.Microsecond), lease, 10))
		e.requireClaimed(e.claim("mailer", tNow.Add(10*time.Second), lease, 10), 2, want[0])
		require.NoError(e.t, e.store.Ack(e.ctx, "mailer", msgs[0].ID))
		// Deferring beyond the lease holds the message longer.
		require.NoError(e.t, e.store.Defer(e.ctx, "mailer", msgs[1].ID, tNow.Add(3*lease), "busy"))
		e.requireClaimed(e.claim("mailer", tNow.Add(lease), lease, 10), 2, want[2])
		require.NoError(e.t, e.store.Ack(e.ctx, "mailer", msgs[2].ID))
		require.Empty(e.t, e.claim("mailer", tNow.Add(3*lease-time.Microsecond), lease, 10))
		e.requireClaimed(e.claim("mailer", tNow.Add(3*lease), lease, 10), 2, want[1])
		// A message not claimed yet gets a claim with no attempts; other
		// consumers are not affected.
		require.NoError(e.t, e.store.Defer(e.ctx, "indexer", msgs[1].ID, tNow.Add(time.Hour), "later"))
		e.requireClaimed(e.claim("indexer", tNow, lease, 10), 1, want[0], want[2])
		require.NoError(e.t, e.store.Ack(e.ctx, "indexer", msgs[0].ID, msgs[2].ID))
		require.Empty(e.t, e.claim("indexer", tNow.Add(time.Hour-time.Microsecond), lease, 10))
		e.requireClaimed(e.claim("indexer", tNow.Add(time.Hour), lease, 10), 1, want[1])
		e.requireClaimed(e.claim("webhook", tNow, lease, 10), 1, want...)
		e.requireDead("mailer")
	}},
	{"Defer/SettledMessages", func(e *env) {
		// Ack and Bury win over a late Defer, which is not an error.
		want := e.appendEach(3)
		msgs := e.claimAll("mailer", tNow, 3, 1)
		require.NoError(e.t, e.store.Ack(e.ctx, "mailer", msgs[0].ID))
		require.NoError(e.t, e.store.Defer(e.ctx, "mailer", msgs[0].ID, tNow, "late"))
		require.NoError(e.t, e.store.Bury(e.ctx, "mailer", msgs[1].ID, tNow, "broken"))
		require.NoError(e.t, e.store.Defer(e.ctx, "mailer", msgs[1].ID, tNow, "late"))
		e.requireClaimed(e.claim("mailer", tNow.Add(2*lease), lease, 10), 2, want[2])
		e.requireDead("mailer", dead(msgs[1], 1, tNow, "broken"))
	}},
	{"Bury", func(e *env) {
		want := e.appendEach(4)
		e.claimAll("mailer", tNow, 4, 1)
		later := tNow.Add(lease)
		msgs := e.claimAll("mailer", later, 4, 2)
		buried := later.Add(time.Second + 123456789*time.Nanosecond).In(time.FixedZone("UTC+2", 2*3600))
		require.NoError(e.t, e.store.Bury(e.ctx, "mailer", msgs[1].ID, buried, "410 Gone"))
		// A dead letter is never claimed again, whatever the time, and
		// burying it again keeps its first burial.
		require.NoError(e.t, e.store.Bury(e.ctx, "mailer", msgs[1].ID, buried.Add(time.Hour), "again"))
		e.requireClaimed(e.claim("mailer", later.Add(lease), lease, 10), 3, want[0], want[2], want[3])
		// A message not claimed yet is buried with no attempts; the
		// reason of a Defer before gives way to the burial's.
		require.NoError(e.t, e.store.Defer(e.ctx, "mailer", msgs[3].ID, later.Add(200*lease), "slow"))
		require.NoError(e.t, e.store.Bury(e.ctx, "mailer", msgs[3].ID, buried, "refused"))
		require.NoError(e.t, e.store.Bury(e.ctx, "webhook", msgs[0].ID, buried, ""))
		e.requireDead("mailer", dead(msgs[1], 2, buried, "410 Gone"), dead(msgs[3], 3, buried, "refused"))
		e.requireDead("webhook", dead(msgs[0], 0, buried, ""))
		// Other consumers see every message but their own dead letters.
		e.requireClaimed(e.claim("indexer", tNow, lease, 10), 1, want...)
		e.requireClaimed(e.claim("webhook", tNow, lease, 10), 1, want[1:]...)
		e.requireDead("indexer")
		// Acknowledging a dead letter settles it.
		require.NoError(e.t, e.store.Ack(e.ctx, "mailer", msgs[1].ID))
		e.requireDead("mailer", dead(msgs[3], 3, buried, "refused"))
		requireNotFound(e.t, e.store.Replay(e.ctx, "mailer", msgs[1].ID), "dead letter", strconv.FormatInt(msgs[1].ID, 10))
		e.requireClaimed(e.claim("mailer", later.Add(300*lease), lease, 10), 4, want[0], want[2])
	}},
	{"List", func(e *env) {
		e.appendEach(7)
		msgs := e.claimAll("mailer", tNow, 7, 1)
		var want []record.DeadLetter
		for i, m := range msgs {
			if i == 1 || i == 4 {
				continue
			}
			at := tNow.Add(time.Duration(i) * time.Minute)
			reason := fmt.Sprint("failure ", i)
			require.NoError(e.t, e.store.Bury(e.ctx, "mailer", m.ID, at, reason))
			want = append(want, dead(m, 1, at, reason))
		}
		for _, limit := range []int{1, 2, 3, 100} {
			got := e.deadLetters("mailer", limit)
			if diff := cmp.Diff(want, got, cmpOpts); diff != "" {
				e.t.Fatalf("dead letters read %d at a time (-want +got):\n%s", limit, diff)
			}
		}
		// after need not be a dead letter's ID.
		page, err := e.store.DeadLetters(e.ctx, "mailer", msgs[1].ID, 2)
		require.NoError(e.t, err)
		if diff := cmp.Diff(want[1:3], page, cmpOpts); diff != "" {
			e.t.Fatalf("dead letters after message %d (-want +got):\n%s", msgs[1].ID, diff)
		}
		page, err = e.store.DeadLetters(e.ctx, "mailer", slices.Max(msgIDs(msgs))+1000, 10)
		require.NoError(e.t, err)
		require.NotNil(e.t, page)
		require.Empty(e.t, page)
		page, err = e.store.DeadLetters(e.ctx, "never-seen", 0, 10)
		require.NoError(e.t, err)
		require.NotNil(e.t, page)
		require.Empty(e.t, page)
	}},
	{"Replay", func(e *env) {
		want := e.appendEach(4)
		e.claimAll("mailer", tNow, 4, 1)
		msgs := e.claimAll("mailer", tNow.Add(lease), 4, 2)
		for _, m := range msgs[:3] {
			require.NoError(e.t, e.store.Bury(e.ctx, "mailer", m.ID, tNow, "down"))
		}
		require.NoError(e.t, e.store.Bury(e.ctx, "indexer", msgs[0].ID, tNow, "down"))
		require.NoError(e.t, e.store.Replay(e.ctx, "mailer"), "replaying nothing is not an error")
		// Replayed dead letters are claimable at once, with their attempts
		// counted afresh; naming one twice is not an error.
		require.NoError(e.t, e.store.Replay(e.ctx, "mailer", msgs[2].ID, msgs[0].ID, msgs[2].ID))
		e.requireClaimed(e.claim("mailer", tNow.Add(lease), lease, 10), 1, want[0], want[2])
		e.requireDead("mailer", dead(msgs[1], 2, tNow, "down"))
		e.requireDead("indexer", dead(msgs[0], 0, tNow, "down"))
		// An ID that is not a dead letter of the consumer refuses the
		// whole call.
		unknown := slices.Max(msgIDs(msgs)) + 1000
		for _, id := range []int64{msgs[0].ID, msgs[3].ID, unknown, 0, -1} {
			err := e.store.Replay(e.ctx, "mailer", msgs[1].ID, id)
			requireNotFound(e.t, err, "dead letter", strconv.FormatInt(id, 10))
		}
		requireNotFound(e.t, e.store.Replay(e.ctx, "webhook", msgs[1].ID), "dead letter", strconv.FormatInt(msgs[1].ID, 10))
		e.requireDead("mailer", dead(msgs[1], 2, tNow, "down"))
		e.requireDead("indexer", dead(msgs[0], 0, tNow, "down"))
		// A replayed dead letter fails and is buried again like any
		// message.
		require.NoError(e.t, e.store.Replay(e.ctx, "mailer", msgs[1].ID))
		e.requireDead("mailer")
		e.requireClaimed(e.claim("mailer", tNow.Add(lease), lease, 10), 1, want[1])
		require.NoError(e.t, e.store.Bury(e.ctx, "mailer", msgs[1].ID, tNow.Add(lease), "still down"))
		e.requireDead("mailer", dead(msgs[1], 1, tNow.Add(lease), "still down"))
	}},
	{"Reasons", func(e *env) {
		e.appendEach(3)
		msgs := e.claimAll("mailer", tNow, 3, 1)
		long := strings.Repeat("é", record.MaxReasonLen) // two bytes a rune
		odd := "x" + long                                // cut inside a rune
		kept := "пожар 火事 🔥 \t\n'\"\\"
		require.NoError(e.t, e.store.Bury(e.ctx, "mailer", msgs[0].ID, tNow, long))
		require.NoError(e.t, e.store.Defer(e.ctx, "mailer", msgs[1].ID, tNow, odd))
		require.NoError(e.t, e.store.Bury(e.ctx, "mailer", msgs[1].ID, tNow, odd))
		require.NoError(e.t, e.store.Bury(e.ctx, "mailer", msgs[2].ID, tNow, kept))
		got := e.deadLetters("mailer", 10)
		require.Len(e.t, got, 3)
		for i, reason := range []string{long, odd, kept} {
			d := got[i]
			require.Equal(e.t, record.TrimReason(reason), d.LastError)
			require.True(e.t, utf8.ValidString(d.LastError))
			require.LessOrEqual(e.t, len(d.LastError), record.MaxReasonLen)
			require.True(e.t, strings.HasPrefix(reason, d.LastError))
		}
		require.Equal(e.t, kept, got[2].LastError)
	}},
	{"Validation", func(e *env) {
		want := e.appendEach(2)
		msgs := e.claimAll("mailer", tNow, 2, 1)
		id := msgs[0].ID
		tooLong := strings.Repeat("c", record.MaxIDLen+1)
		for _, tc := range []struct {
			name     string
			consumer string
			at       time.Time
			reason   string
		}{
			{"no consumer", "", tNow, ""},
			{"long consumer", tooLong, tNow, ""},
			{"invalid UTF-8 consumer", "mail\xff", tNow, ""},
			{"NUL in consumer", "mail\x00er", tNow, ""},
			{"no time", "mailer", time.Time{}, ""},
			{"year 0", "mailer", time.Date(0, 12, 31, 23, 0, 0, 0, time.UTC), ""},
			{"year 10000", "mailer", time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC), ""},
			{"invalid UTF-8 reason", "mailer", tNow, "caf\xe9"},
			{"invalid UTF-8 past the cut", "mailer", tNow, strings.Repeat("a", record.MaxReasonLen+10) + "\xff"},
			{"NUL in reason", "mailer", tNow, "bad\x00"},
		} {
			require.Error(e.t, record.CheckDefer(tc.consumer, tc.at, tc.reason), "storagetest: fixture %s passes CheckDefer", tc.name)
			require.Error(e.t, record.CheckBury(tc.consumer, tc.at, tc.reason), "storagetest: fixture %s passes CheckBury", tc.name)
			requireValidation(e.t, e.store.Defer(e.ctx, tc.consumer, id, tc.at, tc.reason), "Defer: %s", tc.name)
			requireValidation(e.t, e.store.Bury(e.ctx, tc.consumer, id, tc.at, tc.reason), "Bury: %s", tc.name)
		}
		for _, tc := range []struct {
			name     string
			consumer string
			after    int64
			limit    int
		}{
			{"no consumer", "", 0, 10},
			{"long consumer", tooLong, 0, 10},
			{"negative after", "mailer", -1, 10},
			{"no limit", "mailer", 0, 0},
			{"negative limit", "mailer", 0, -1},
		} {
			require.Error(e.t, record.CheckDeadLetters(tc.consumer, tc.after, tc.limit), "storagetest: fixture %s passes CheckDeadLetters", tc.name)
			got, err := e.store.DeadLetters(e.ctx, tc.consumer, tc.after, tc.limit)
			requireValidation(e.t, err, "DeadLetters: %s", tc.name)
			require.Empty(e.t, got)
		}
		for _, c := range []string{"", tooLong, "mail\xff"} {
			requireValidation(e.t, e.store.Replay(e.ctx, c, id), "Replay by %q", c)
		}
		// An ID that is not in the outbox is not found.
		unknown := slices.Max(msgIDs(msgs)) + 1000
		for _, bad := range []int64{unknown, 0, -1} {
			requireNotFound(e.t, e.store.Defer(e.ctx, "mailer", bad, tNow, "x"), "outbox message", strconv.FormatInt(bad, 10))
			requireNotFound(e.t, e.store.Bury(e.ctx, "mailer", bad, tNow, "x"), "outbox message", strconv.FormatInt(bad, 10))
		}
		// Nothing of a refused call changed anything.
		e.requireDead("mailer")
		e.requireClaimed(e.claim("mailer", tNow.Add(lease), lease, 10), 2, want...)
	}},
	{"Concurrent", func(e *env) {
		// Two instances of one consumer settle the messages they claim
		// at once: each message is claimed by one of them, the ones they
		// bury are dead letters, the others never come back, and a
		// replay of the same dead letters by both at once succeeds once.
		rec := e.fixture(1)
		e.create(rec)
		const n = 40
		e.appendTo(rec.Ref(), 1, n)
		all, _ := e.readOutbox(e.store, "", 100, n)
		bury := func(i int) bool { return i%3 == 0 }
		index := map[int64]int{}
		for i, m := range all {
			index[m.ID] = i
		}
		var (
			mu   sync.Mutex
			got  = map[int64]int{}
			errs []error
			wg   sync.WaitGroup
		)
		retry := func(fn func() error) error {
			for {
				if err := fn(); !storage.IsRetryable(err) {
					return err
				}
			}
		}
		for w := range 2 {
			wg.Go(func() {
				for tries := 0; tries < 1000; tries++ {
					var msgs []record.Message
					err := retry(func() (err error) { msgs, err = e.store.Claim(e.ctx, "mailer", tNow, time.Hour, 3); return err })
					if err == nil && len(msgs) == 0 {
						return
					}
					for _, m := range msgs {
						if bury(index[m.ID]) {
							err = retry(func() error { return e.store.Bury(e.ctx, "mailer", m.ID, tNow, fmt.Sprint("instance ", w)) })
						} else {
							// Deferred beyond every claim of the check,
							// so that no other instance takes it.
							err = retry(func() error { return e.store.Defer(e.ctx, "mailer", m.ID, tNow.Add(3*time.Hour), "") })
							if err == nil {
								err = retry(func() error { return e.store.Ack(e.ctx, "mailer", m.ID) })
							}
						}
						if err != nil {
							break
						}
					}
					mu.Lock()
					if err != nil {
						errs = append(errs, err)
					}
					for _, m := range msgs {
						got[m.ID]++
					}
					mu.Unlock()
					if err != nil {
						return
					}
				}
			})
		}
		wg.Wait()
		require.Empty(e.t, errs)
		require.Len(e.t, got, n, "every message was claimed")
		var wantDead []int64
		for _, m := range all {
			require.Equal(e.t, 1, got[m.ID], "claims of message %d", m.ID)
			if bury(index[m.ID]) {
				wantDead = append(wantDead, m.ID)
			}
		}
		deadIDs := func() []int64 {
			var ids []int64
			for _, d := range e.deadLetters("mailer", 7) {
				require.Equal(e.t, 1, d.Attempts)
				ids = append(ids, d.ID)
			}
			return ids
		}
		require.Equal(e.t, wantDead, deadIDs())
		require.Empty(e.t, e.claim("mailer", tNow.Add(2*time.Hour), lease, 100))
		results := make([]error, 2)
		for w := range results {
			wg.Go(func() {
				results[w] = retry(func() error { return e.store.Replay(e.ctx, "mailer", wantDead...) })
			})
		}
		wg.Wait()
		ok := 0
		for _, err := range results {
			if err == nil {
				ok++
				continue
			}
			require.ErrorIs(e.t, err, itsm.ErrNotFound)
		}
		require.Equal(e.t, 1, ok, "one of two replays of the same dead letters succeeds")
		require.Empty(e.t, deadIDs())
		require.Equal(e.t, wantDead, msgIDs(e.claim("mailer", tNow.Add(2*time.Hour), lease, 100)))
	}},
}
