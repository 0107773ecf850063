package river_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log"
	"os"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	riverqueue "github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/rivermigrate"

	bridgeriver "github.com/itsmkit/itsmkit/bridge/river"
	"github.com/itsmkit/itsmkit/itsm"
	"github.com/itsmkit/itsmkit/outbox"
	"github.com/itsmkit/itsmkit/record"
)

// The job a Forwarder inserts for one outbox message: its kind, and its
// arguments as River stores them.
func ExampleEventArgs() {
	m := record.Message{ID: 42, Event: itsm.Event{
		Kind: "incident", RecordID: "INC0001001", Sequence: 3,
		Actor: itsm.Actor{ID: "alice"}, At: time.Date(2026, 11, 20, 15, 4, 5, 0, time.UTC),
		Action: "resolve", From: "in-progress", To: "resolved",
	}}
	args := bridgeriver.EventArgs{Key: bridgeriver.KeyOf(m.Event), MessageID: m.ID, Event: m.Event}
	b, err := json.Marshal(args)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(args.Kind())
	fmt.Println(args.Key)
	fmt.Println(string(b))
	// Output:
	// itsm_event
	// incident/INC0001001#3
	// {"key":{"kind":"incident","record_id":"INC0001001","sequence":3},"message_id":42,"event":{"kind":"incident","record_id":"INC0001001","sequence":3,"actor":{"id":"alice"},"at":"2026-11-20T15:04:05Z","action":"resolve","from":"in-progress","to":"resolved"}}
}

// Forwarding outbox messages to River on PostgreSQL, and working the jobs.
// It needs a database, so it is compiled but not run.
func ExampleForwarder() {
	ctx := context.Background()
	pool, err := pgxpool.New(ctx, os.Getenv("DATABASE_URL"))
	if err != nil {
		log.Fatal(err)
	}
	defer pool.Close()
	migrator, err := rivermigrate.New(riverpgxv5.New(pool), nil)
	if err != nil {
		log.Fatal(err)
	}
	if _, err := migrator.Migrate(ctx, rivermigrate.DirectionUp, nil); err != nil {
		log.Fatal(err)
	}

	workers := riverqueue.NewWorkers()
	riverqueue.AddWorker(workers, riverqueue.WorkFunc(func(ctx context.Context, job *riverqueue.Job[bridgeriver.EventArgs]) error {
		fmt.Println("worked", job.Args.Event)
		return nil
	}))
	client, err := riverqueue.NewClient(riverpgxv5.New(pool), &riverqueue.Config{
		Queues:  map[string]riverqueue.QueueConfig{"itsm": {MaxWorkers: 10}},
		Workers: workers,
	})
	if err != nil {
		log.Fatal(err)
	}
	if err := client.Start(ctx); err != nil {
		log.Fatal(err)
	}
	defer func() { _ = client.Stop(ctx) }()

	fw, err := bridgeriver.New(client, bridgeriver.Config{
		Queue: "itsm",
		// SLA breaches go first.
		Opts: func(m record.Message) riverqueue.InsertOpts {
			if m.Event.Action == "breach" {
				return riverqueue.InsertOpts{Priority: 1}
			}
			return riverqueue.InsertOpts{Priority: 3}
		},
	})
	if err != nil {
		log.Fatal(err)
	}
	// Hand fw to an outbox deliverer; here one message is delivered by hand.
	var h outbox.Handler = fw
	err = h.Deliver(ctx, record.Message{ID: 1, Event: itsm.Event{
		Kind: "incident", RecordID: "INC0001001", Sequence: 1,
		Actor: itsm.Actor{ID: "alice"}, At: time.Now(), Action: "open", To: "new",
	}})
	if err != nil {
		log.Fatal(err)
	}
}
