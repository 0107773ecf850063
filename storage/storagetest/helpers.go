package storagetest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/stretchr/testify/require"

	"github.com/itsmkit/itsmkit/itsm"
	"github.com/itsmkit/itsmkit/record"
	"github.com/itsmkit/itsmkit/sla"
)

// cmpOpts compare what stores return the way every adapter can honour:
// times by Equal (cmp calls Equal methods, so attribute values compare by
// record.Value.Equal too), empty and nil slices and maps alike, and SLA
// targets by value.
var cmpOpts = cmp.Options{
	cmpopts.EquateEmpty(),
	cmp.Comparer(func(a, b sla.Target) bool { return a == b }),
}

// errRollback is what checks return from InTx to roll a transaction back.
var errRollback = errors.New("storagetest: roll back")

// create stores recs in one transaction, setting their versions, and
// fails the test on error.
func (e *env) create(recs ...*record.Record) {
	e.t.Helper()
	e.tx(func(ctx context.Context, tx record.Tx) {
		for _, rec := range recs {
			require.NoError(e.t, tx.Create(ctx, rec), "Create %s", rec.Ref())
		}
	})
}

// put stores the records of fs and then their timers in one transaction.
func (e *env) put(fs ...fixture) {
	e.t.Helper()
	e.tx(func(ctx context.Context, tx record.Tx) {
		var timers []record.TimerRecord
		for _, f := range fs {
			require.NoError(e.t, tx.Create(ctx, f.rec), "Create %s", f.rec.Ref())
			timers = append(timers, f.timers...)
		}
		if len(timers) > 0 {
			require.NoError(e.t, tx.PutTimers(ctx, timers...))
		}
	})
}

// tx runs fn in a transaction and fails the test on error.
func (e *env) tx(fn func(ctx context.Context, tx record.Tx)) {
	e.t.Helper()
	err := e.store.InTx(e.ctx, func(ctx context.Context, tx record.Tx) error {
		fn(ctx, tx)
		return nil
	})
	require.NoError(e.t, err)
}

// get reads the committed record ref names and fails the test on error.
func (e *env) get(ref record.Ref) *record.Record {
	e.t.Helper()
	rec, err := e.store.Get(e.ctx, ref)
	require.NoError(e.t, err, "Get %s", ref)
	return rec
}

// fixture returns the i-th generated record of the kind under test,
// without timers.
func (e *env) fixture(i int) *record.Record { return e.gen.record(i) }

// requireRecord fails the test unless got equals want field by field:
// times by Equal and in UTC, bodies as JSON values, attributes by value,
// and the SLA summary.
func requireRecord(t testing.TB, want, got *record.Record) {
	t.Helper()
	require.NotNil(t, got, "no record where %s was expected", want.Ref())
	w, g := *want, *got
	w.Body, g.Body = nil, nil
	if diff := cmp.Diff(&w, &g, cmpOpts); diff != "" {
		t.Fatalf("record %s mismatch (-want +got):\n%s", want.Ref(), diff)
	}
	requireJSON(t, want.Body, got.Body, "body of "+want.Ref().String())
	requireUTC(t, "record "+got.Ref().String(), got.OpenedAt, got.UpdatedAt, got.ResolvedAt, got.ClosedAt)
	for _, s := range got.SLA {
		requireUTC(t, "SLA summary of "+got.Ref().String(), s.AtRiskAt, s.BreachAt, s.NextWakeAt)
	}
}

// requireRecords fails unless got holds records equal to want, in order.
func requireRecords(t testing.TB, want, got []*record.Record) {
	t.Helper()
	require.Equal(t, refs(want), refs(got))
	for i := range want {
		requireRecord(t, want[i], got[i])
	}
}

// requireJSON fails unless want and got are the same JSON value; empty
// and null both mean none.
func requireJSON(t testing.TB, want, got []byte, what string) {
	t.Helper()
	decode := func(b []byte) any {
		if len(bytes.TrimSpace(b)) == 0 {
			return nil
		}
		var v any
		require.NoError(t, json.Unmarshal(b, &v), "%s is not JSON: %q", what, b)
		return v
	}
	if diff := cmp.Diff(decode(want), decode(got)); diff != "" {
		t.Fatalf("%s mismatch (-want +got):\n%s", what, diff)
	}
}

// requireUTC fails unless every set instant is in UTC.
func requireUTC(t testing.TB, what string, times ...time.Time) {
	t.Helper()
	for _, at := range times {
		if !at.IsZero() && at.Location() != time.UTC {
			t.Fatalf("%s: instant %s is not in UTC", what, at)
		}
	}
}

// refs returns the refs of recs, in order.
func refs(recs []*record.Record) []record.Ref {
	out := make([]record.Ref, len(recs))
	for i, r := range recs {
		out[i] = r.Ref()
	}
	return out
}

// requireNotFound fails the test unless err is an *itsm.NotFoundError for
// kind and id.
func requireNotFound(t testing.TB, err error, kind, id string) {
	t.Helper()
	require.ErrorIs(t, err, itsm.ErrNotFound)
	var nf *itsm.NotFoundError
	require.ErrorAs(t, err, &nf)
	require.Equal(t, kind, nf.Kind, "NotFoundError.Kind")
	require.Equal(t, id, nf.ID, "NotFoundError.ID")
}

// requireValidation fails the test unless err is an
// *itsm.ValidationError.
func requireValidation(t testing.TB, err error, msgAndArgs ...any) {
	t.Helper()
	require.ErrorIs(t, err, itsm.ErrValidation, msgAndArgs...)
	var ve *itsm.ValidationError
	require.ErrorAs(t, err, &ve, msgAndArgs...)
}

// requireTimers fails the test unless got holds the same timer records as
// want, in order, with timers whose identity and history are equal and
// instants in UTC.
func requireTimers(t testing.TB, want, got []record.TimerRecord) {
	t.Helper()
	type flat struct {
		Rec      record.TimerRecord
		Policy   string
		Kind     sla.PolicyKind
		Metric   sla.Metric
		Priority itsm.Priority
		Target   sla.Target
		Calendar string
		Events   []sla.TimerEvent
	}
	flatten := func(rs []record.TimerRecord) []flat {
		out := make([]flat, len(rs))
		for i, r := range rs {
			out[i].Rec = r
			out[i].Rec.Timer = nil
			if r.Timer != nil {
				out[i].Policy, out[i].Kind, out[i].Metric, out[i].Priority = r.Timer.Policy(), r.Timer.Kind(), r.Timer.Metric(), r.Timer.Priority()
				out[i].Target, out[i].Calendar, out[i].Events = r.Timer.Target(), r.Timer.CalendarName(), r.Timer.Events()
			}
		}
		return out
	}
	require.Len(t, got, len(want), "timer records")
	for i, r := range got {
		require.NotNilf(t, r.Timer, "timer record %d (%s of %s) has no timer", i, r.ID, r.Record)
		requireUTC(t, "timer "+r.ID, r.AtRiskAt, r.BreachAt, r.NextWakeAt)
	}
	if diff := cmp.Diff(flatten(want), flatten(got), cmpOpts); diff != "" {
		t.Fatalf("timer records mismatch (-want +got):\n%s", diff)
	}
}

// event returns a valid audit event for ref.
func event(ref record.Ref, action string, at time.Time) itsm.Event {
	return itsm.Event{
		Kind: ref.Kind, RecordID: ref.ID,
		Actor:   itsm.Actor{ID: "dave", Name: "Dave", Roles: []itsm.Role{"agent"}},
		At:      at,
		Action:  action,
		From:    "new",
		To:      "in_progress",
		Changes: []itsm.Change{{Field: "state", Old: "new", New: "in_progress"}},
		Reason:  "picked up",
	}
}

// numbered returns events with their Sequence set to from, from+1, ...
func numbered(from int64, events ...itsm.Event) []itsm.Event {
	out := make([]itsm.Event, len(events))
	for i, ev := range events {
		ev.Sequence = from + int64(i)
		out[i] = ev
	}
	return out
}

// requireEvents fails unless got equals want, instants in UTC.
func requireEvents(t testing.TB, want, got []itsm.Event, what string) {
	t.Helper()
	if diff := cmp.Diff(want, got, cmpOpts); diff != "" {
		t.Fatalf("%s mismatch (-want +got):\n%s", what, diff)
	}
	for _, ev := range got {
		requireUTC(t, what, ev.At)
	}
}

// requireHistory fails unless the committed history of ref equals want,
// numbered from 1.
func (e *env) requireHistory(ref record.Ref, want ...itsm.Event) {
	e.t.Helper()
	got, err := e.store.History(e.ctx, ref)
	require.NoError(e.t, err)
	require.NotNil(e.t, got, "History returns a non-nil slice")
	requireEvents(e.t, numbered(1, want...), got, "history of "+ref.String())
}

// entry returns a valid journal entry.
func entry(kind record.EntryKind, author string, at time.Time, text string) record.Entry {
	return record.Entry{Kind: kind, Author: author, At: at, Text: text}
}

// link returns a valid link of type typ from → to.
func link(typ string, from, to record.Ref) record.Link {
	return record.Link{Type: typ, From: from, To: to, CreatedAt: t0.Add(time.Minute), CreatedBy: "dave"}
}

// requireLinks fails unless got equals want, in order, instants in UTC.
func requireLinks(t testing.TB, want, got []record.Link, what string) {
	t.Helper()
	if diff := cmp.Diff(want, got, cmpOpts); diff != "" {
		t.Fatalf("links of %s mismatch (-want +got):\n%s", what, diff)
	}
	for _, l := range got {
		requireUTC(t, "link", l.CreatedAt)
	}
}

// outboxWait bounds how long readOutbox waits for committed messages to
// become readable.
const outboxWait = 30 * time.Second

// readOutbox reads the committed outbox through r from after, limit
// messages a page, until it has read n messages, and then checks that
// nothing follows them. It returns the messages and the last cursor.
//
// ReadOutbox returns up to limit messages, and a store may hold back
// messages of a committed transaction for a while, so that none lands
// before a cursor it handed out (PostgreSQL, for one, shows messages only
// once every older transaction has ended, in any schema). readOutbox
// therefore polls while a page comes back empty before n messages are
// read, for up to outboxWait; a store must make committed messages
// readable eventually. It makes no assertion on how long that takes.
func (e *env) readOutbox(r record.Reader, after string, limit, n int) ([]record.Message, string) {
	e.t.Helper()
	var all []record.Message
	deadline := time.Now().Add(outboxWait)
	for i := 0; ; i++ {
		require.Less(e.t, i, 1000000, "ReadOutbox does not come to an end")
		page, err := r.ReadOutbox(e.ctx, after, limit)
		require.NoError(e.t, err)
		require.LessOrEqual(e.t, len(page.Messages), limit, "ReadOutbox returned more than its limit")
		if len(page.Messages) == 0 {
			require.Equal(e.t, after, page.Next, "an empty page returns the cursor it was given")
			if len(all) >= n {
				require.Len(e.t, all, n, "messages in the outbox")
				return all, after
			}
			if time.Now().After(deadline) {
				e.t.Fatalf("ReadOutbox returned %d of %d committed messages in %s", len(all), n, outboxWait)
			}
			time.Sleep(5 * time.Millisecond)
			continue
		}
		require.NotEmpty(e.t, page.Next)
		all = append(all, page.Messages...)
		after = page.Next
	}
}

// nextPage polls ReadOutbox through r from after until it returns a
// page with messages, for up to outboxWait (see readOutbox).
func (e *env) nextPage(r record.Reader, after string, limit int) record.OutboxPage {
	e.t.Helper()
	deadline := time.Now().Add(outboxWait)
	for {
		page, err := r.ReadOutbox(e.ctx, after, limit)
		require.NoError(e.t, err)
		if len(page.Messages) > 0 {
			return page
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("ReadOutbox returned no committed message in %s", outboxWait)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// outboxEvents returns the events of msgs, in order.
func outboxEvents(msgs []record.Message) []itsm.Event {
	out := make([]itsm.Event, len(msgs))
	for i, m := range msgs {
		out[i] = m.Event
	}
	return out
}
