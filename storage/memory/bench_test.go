package memory_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/itsmkit/itsmkit/incident"
	"github.com/itsmkit/itsmkit/itsm"
	"github.com/itsmkit/itsmkit/sla"
	"github.com/itsmkit/itsmkit/storage/memory"
)

// BenchmarkCreateUpdate measures one transaction that opens an incident
// the way a service does (number, create, timer, event) and updates it,
// on a store that grows with every iteration.
func BenchmarkCreateUpdate(b *testing.B) {
	ctx := context.Background()
	s := memory.New()
	actor := itsm.Actor{ID: "bench"}
	b.ReportAllocs()
	for b.Loop() {
		err := s.InTx(ctx, func(ctx context.Context, tx incident.Tx) error {
			n, err := tx.NextNumber(ctx, incident.Kind)
			if err != nil {
				return err
			}
			inc := &incident.Incident{
				ID: fmt.Sprint("inc-", n), Number: fmt.Sprintf("INC%07d", n), Title: "bench",
				State: incident.New, OpenedAt: at.Add(time.Duration(n) * time.Second),
			}
			if err := tx.Create(ctx, inc); err != nil {
				return err
			}
			timer, err := sla.NewTimer(sla.AlwaysOpen(nil), sla.BusinessTime(4*time.Hour), nil, "gold", "resolution", itsm.PriorityHigh)
			if err != nil {
				return err
			}
			if err := timer.Start(inc.OpenedAt); err != nil {
				return err
			}
			if err := tx.PutTimers(ctx, incident.TimerRecord{ID: inc.ID + "/resolution", IncidentID: inc.ID, Timer: timer}); err != nil {
				return err
			}
			inc.State, inc.Assignee = incident.InProgress, "dave"
			if err := tx.Update(ctx, inc); err != nil {
				return err
			}
			return tx.AppendEvents(ctx, itsm.Event{Kind: incident.Kind, RecordID: inc.ID, Actor: actor, At: inc.OpenedAt, Action: "start"})
		})
		if err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkList measures a filtered first page over 10,000 incidents.
func BenchmarkList(b *testing.B) {
	ctx := context.Background()
	s := memory.New()
	err := s.InTx(ctx, func(ctx context.Context, tx incident.Tx) error {
		for i := range 10000 {
			inc := &incident.Incident{
				ID: fmt.Sprint("inc-", i), Number: fmt.Sprintf("INC%07d", i), Title: "bench",
				State: incident.New, OpenedAt: at.Add(time.Duration(i) * time.Second),
			}
			if i%3 == 0 {
				inc.State = incident.InProgress
			}
			if err := tx.Create(ctx, inc); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	q := incident.Query{States: []incident.State{incident.InProgress}, Limit: 50}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.List(ctx, q); err != nil {
			b.Fatal(err)
		}
	}
}
