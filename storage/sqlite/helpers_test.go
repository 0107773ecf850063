package sqlite_test

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/itsmkit/itsmkit/itsm"
	"github.com/itsmkit/itsmkit/record"
	"github.com/itsmkit/itsmkit/sla"
	"github.com/itsmkit/itsmkit/storage/sqlite"
)

// ticketSchema is the kind most tests store: the states of the incident
// lifecycle of schema 0001 (so that migrated incidents fit it too) and
// two attributes, one filterable.
var ticketSchema = record.MustNewSchema(record.SchemaDef{
	Kind:   "incident",
	Prefix: "INC",
	States: []record.StateDef{
		{Name: "new", Category: itsm.CategoryNew},
		{Name: "in_progress", Category: itsm.CategoryActive},
		{Name: "on_hold", Category: itsm.CategoryPending},
		{Name: "resolved", Category: itsm.CategoryResolved},
		{Name: "closed", Category: itsm.CategoryClosed},
		{Name: "canceled", Category: itsm.CategoryCancelled},
	},
	Attributes: []record.Attribute{
		{Name: "channel", Type: record.AttrChoice, Choices: []string{"phone", "mail", "portal"}, Filterable: true},
		{Name: "effort", Type: record.AttrInt},
	},
})

// numbering formats the tickets' numbers.
var numbering = record.Numbering{Prefix: "INC", Digits: 7, Offset: 1000}

// testStart is the instant the tests' records open at.
var testStart = time.Date(2026, 11, 20, 15, 0, 0, 0, time.UTC)

var agent = itsm.Actor{ID: "alice", Name: "Alice", Roles: []itsm.Role{"agent"}}

// openTemp opens a fresh store on a new file in t's temporary directory,
// declares ticketSchema and closes the store when t ends.
func openTemp(t testing.TB, opts ...sqlite.Option) (*sqlite.Store, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "itsm.db")
	s, err := sqlite.Open(t.Context(), path, opts...)
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, s.Close()) })
	require.NoError(t, s.Declare(t.Context(), ticketSchema))
	return s, path
}

// count runs a query that returns one integer, on the writer.
func count(t testing.TB, s *sqlite.Store, query string, args ...any) int {
	t.Helper()
	tx, err := s.BeginTx(t.Context())
	require.NoError(t, err)
	defer func() { require.NoError(t, tx.Rollback()) }()
	var n int
	require.NoError(t, tx.QueryRowContext(t.Context(), query, args...).Scan(&n))
	return n
}

// newTicket returns a new ticket with number seq, opened at.
func newTicket(seq int64, title string, at time.Time) *record.Record {
	return &record.Record{
		Header: record.Header{
			Kind: "incident", ID: fmt.Sprintf("inc-%06d", seq), Number: numbering.Format(seq), Title: title,
			State: "new", StateCategory: itsm.CategoryNew,
			Impact: itsm.ImpactMedium, Urgency: itsm.UrgencyHigh, Priority: itsm.PriorityHigh,
			Requester: itsm.Actor{ID: "carol", Name: "Carol"}, Service: "mail",
			OpenedAt: at, UpdatedAt: at,
		},
		Body: []byte(`{"priority_overridden":false,"reopen_count":0}`),
	}
}

// newTimers returns a response and a resolution timer of ref, started at.
func newTimers(t testing.TB, ref record.Ref, at time.Time) []record.TimerRecord {
	t.Helper()
	var out []record.TimerRecord
	for _, m := range []struct {
		metric sla.Metric
		target time.Duration
	}{{sla.MetricResponse, 30 * time.Minute}, {sla.MetricResolution, 8 * time.Hour}} {
		tm, err := sla.NewTimer(sla.AlwaysOpen(time.UTC), sla.BusinessTime(m.target), nil, "standard", m.metric, itsm.PriorityHigh)
		require.NoError(t, err)
		require.NoError(t, tm.Start(at))
		out = append(out, record.NewTimerRecord(ref, "standard/"+string(m.metric), sla.KindSLA, tm, at))
	}
	return out
}

// openTicket is what a service's Open runs in its transaction: it takes a
// number, creates the ticket, saves its two timers and appends its audit
// event.
func openTicket(ctx context.Context, t testing.TB, tx record.Tx, title string, at time.Time) (*record.Record, error) {
	seq, err := tx.NextNumber(ctx, "incident")
	if err != nil {
		return nil, err
	}
	rec := newTicket(seq, title, at)
	if err := tx.Create(ctx, rec); err != nil {
		return nil, err
	}
	if err := tx.PutTimers(ctx, newTimers(t, rec.Ref(), at)...); err != nil {
		return nil, err
	}
	ev := itsm.Event{Kind: rec.Kind, RecordID: rec.ID, Actor: agent, At: at, Action: "open", To: rec.State}
	return rec, tx.AppendEvents(ctx, ev)
}

// open runs openTicket in its own transaction of s.
func open(t testing.TB, s record.Store, title string, at time.Time) *record.Record {
	t.Helper()
	var rec *record.Record
	require.NoError(t, s.InTx(t.Context(), func(ctx context.Context, tx record.Tx) (err error) {
		rec, err = openTicket(ctx, t, tx, title, at)
		return err
	}))
	return rec
}

// comment adds a comment to rec and updates it, with its audit event, in
// one transaction, and returns the updated record.
func comment(t testing.TB, s record.Store, ref record.Ref, text string, at time.Time) *record.Record {
	t.Helper()
	var out *record.Record
	require.NoError(t, s.InTx(t.Context(), func(ctx context.Context, tx record.Tx) error {
		rec, err := tx.Get(ctx, ref)
		if err != nil {
			return err
		}
		rec.UpdatedAt = at
		if err := tx.Update(ctx, rec); err != nil {
			return err
		}
		if err := tx.AppendJournal(ctx, ref, record.Entry{Kind: record.Comment, Author: agent.ID, At: at, Text: text}); err != nil {
			return err
		}
		out = rec
		return tx.AppendEvents(ctx, itsm.Event{Kind: ref.Kind, RecordID: ref.ID, Actor: agent, At: at, Action: "comment"})
	}))
	return out
}
