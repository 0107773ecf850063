package memory_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/itsmkit/itsmkit/itsm"
	"github.com/itsmkit/itsmkit/record"
	"github.com/itsmkit/itsmkit/sla"
	"github.com/itsmkit/itsmkit/storage/memory"
)

var t0 = time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)

// ticketSchema is the kind the tests of this package store.
var ticketSchema = record.MustNewSchema(record.SchemaDef{
	Kind:   "ticket",
	Prefix: "TKT",
	States: []record.StateDef{
		{Name: "new", Category: itsm.CategoryNew},
		{Name: "open", Category: itsm.CategoryActive},
		{Name: "waiting", Category: itsm.CategoryPending},
		{Name: "done", Category: itsm.CategoryResolved},
		{Name: "closed", Category: itsm.CategoryClosed},
		{Name: "dropped", Category: itsm.CategoryCancelled},
	},
	Attributes: []record.Attribute{
		{Name: "risk", Type: record.AttrChoice, Choices: []string{"low", "medium", "high"}, Filterable: true},
		{Name: "cost", Type: record.AttrInt, Filterable: true},
		{Name: "vip", Type: record.AttrBool},
	},
})

// newStore returns a store with the ticket kind declared.
func newStore(t testing.TB, opts ...memory.Option) *memory.Store {
	t.Helper()
	s := memory.New(opts...)
	require.NoError(t, s.Declare(context.Background(), ticketSchema))
	return s
}

// ticket returns a new ticket record numbered n.
func ticket(n int) *record.Record {
	at := t0.Add(time.Duration(n) * time.Minute)
	return &record.Record{Header: record.Header{
		Kind: "ticket", ID: fmt.Sprintf("t-%06d", n), Number: fmt.Sprintf("TKT%07d", n),
		Title: fmt.Sprintf("Ticket %d", n), State: "new", StateCategory: itsm.CategoryNew,
		Requester: itsm.Actor{ID: "carol"}, OpenedAt: at, UpdatedAt: at,
	}}
}

func ref(n int) record.Ref { return record.Ref{Kind: "ticket", ID: fmt.Sprintf("t-%06d", n)} }

// create stores recs in one transaction.
func create(t testing.TB, s *memory.Store, recs ...*record.Record) {
	t.Helper()
	require.NoError(t, s.InTx(context.Background(), func(ctx context.Context, tx record.Tx) error {
		for _, rec := range recs {
			if err := tx.Create(ctx, rec); err != nil {
				return err
			}
		}
		return nil
	}))
}

// newTimer returns a 24×7 timer with target, started at start.
func newTimer(t testing.TB, target time.Duration, start time.Time) *sla.Timer {
	t.Helper()
	tm, err := sla.NewTimer(sla.AlwaysOpen(time.UTC), sla.BusinessTime(target), nil, "gold", sla.MetricResolution, itsm.PriorityHigh)
	require.NoError(t, err)
	require.NoError(t, tm.Start(start))
	return tm
}

// ids returns the IDs of recs.
func ids(recs []*record.Record) []string {
	out := []string{}
	for _, r := range recs {
		out = append(out, r.ID)
	}
	return out
}
