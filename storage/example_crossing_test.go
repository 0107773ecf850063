package storage_test

import (
	"context"
	"fmt"
	"log"
	"time"

	"github.com/itsmkit/itsmkit/itsm"
	"github.com/itsmkit/itsmkit/record"
	"github.com/itsmkit/itsmkit/sla"
	"github.com/itsmkit/itsmkit/storage"
	"github.com/itsmkit/itsmkit/storage/memory"
)

// A crossing is recorded as an audit event of its record, which
// CrossingFromEvent decodes again.
func ExampleCrossingFromEvent() {
	c := storage.Crossing{Record: record.Ref{Kind: "incident", ID: "42"}, TimerID: "gold/resolution",
		Policy: "gold", Metric: sla.MetricResolution, Cycle: 1, BasisPoints: 7500,
		At: time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC)}
	ev := c.Event()
	fmt.Println(ev.Action, ev.Actor.ID, ev.Reason)
	back, ok := storage.CrossingFromEvent(ev)
	fmt.Println(ok, back == c)
	_, ok = storage.CrossingFromEvent(itsm.Event{Action: "resolve", Actor: itsm.System})
	fmt.Println(ok)
	// Output:
	// sla-warning system gold resolution: 75% of the target reached
	// true true
	// false
}

// Saving a timer records the crossings it has reached, so a breach is
// recorded even when the timer stops before the wake-up worker runs; the
// worker records the others. Both only record: subscribers read the
// outbox after the commit.
func ExampleWorker() {
	ctx := context.Background()
	store := memory.New()
	schema := record.MustNewSchema(record.SchemaDef{Kind: "ticket", Prefix: "T",
		States: []record.StateDef{{Name: "open", Category: itsm.CategoryNew}}})
	if err := store.Declare(ctx, schema); err != nil {
		log.Fatal(err)
	}
	start := time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)
	timer := func(id string, stopAt time.Duration) record.TimerRecord {
		tm, err := sla.NewTimer(sla.AlwaysOpen(time.UTC), sla.BusinessTime(4*time.Hour), nil, "gold", sla.MetricResolution, itsm.PriorityHigh)
		if err != nil {
			log.Fatal(err)
		}
		if err := tm.Start(start); err != nil {
			log.Fatal(err)
		}
		if stopAt > 0 {
			if err := tm.Stop(start.Add(stopAt), "resolved"); err != nil {
				log.Fatal(err)
			}
		}
		return record.NewTimerRecord(record.Ref{Kind: "ticket", ID: id}, "resolution", sla.KindSLA, tm, start.Add(stopAt))
	}
	err := store.InTx(ctx, func(ctx context.Context, tx record.Tx) error {
		for i, id := range []string{"late", "running"} {
			rec := &record.Record{Header: record.Header{Kind: "ticket", ID: id, Number: fmt.Sprintf("T%d", i+1),
				State: "open", StateCategory: itsm.CategoryNew, OpenedAt: start, UpdatedAt: start}}
			if err := tx.Create(ctx, rec); err != nil {
				return err
			}
		}
		// "late" breached at 13:00 and was stopped at 14:00.
		return tx.PutTimers(ctx, timer("late", 5*time.Hour), timer("running", 0))
	})
	if err != nil {
		log.Fatal(err)
	}
	w := &storage.Worker{Processor: store, Clock: itsm.ClockFunc(func() time.Time { return start.Add(3 * time.Hour) })}
	pass, err := w.RunOnce(ctx)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("the pass recorded", pass.Recorded)
	page, err := store.ReadOutbox(ctx, "", 10)
	if err != nil {
		log.Fatal(err)
	}
	for _, m := range page.Messages {
		if c, ok := storage.CrossingFromEvent(m.Event); ok {
			fmt.Println(c.Record.ID, m.Event.Action, c.BasisPoints, c.At.Format("15:04"))
		}
	}
	// Output:
	// the pass recorded 2
	// late sla-warning 5000 11:00
	// late sla-warning 7500 12:00
	// late sla-breach 10000 13:00
	// running sla-warning 5000 11:00
	// running sla-warning 7500 12:00
}
