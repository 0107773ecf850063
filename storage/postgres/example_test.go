package postgres_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log"
	"os"
	"time"

	"github.com/itsmkit/itsmkit/itsm"
	"github.com/itsmkit/itsmkit/record"
	"github.com/itsmkit/itsmkit/sla"
	"github.com/itsmkit/itsmkit/storage"
	"github.com/itsmkit/itsmkit/storage/postgres"
)

// The examples run against the database ITSM_TEST_POSTGRES_URL names,
// each in a schema of its own that it drops at the end; without the
// variable they are skipped (see TestMain).

// exampleStore opens and migrates a Store on a fresh schema and returns
// it with a function that closes it and drops the schema.
func exampleStore(ctx context.Context, opts ...postgres.Option) (*postgres.Store, func()) {
	var b [4]byte
	_, _ = rand.Read(b[:])
	schema := "itsm_example_" + hex.EncodeToString(b[:])
	store, err := postgres.Open(ctx, os.Getenv("ITSM_TEST_POSTGRES_URL"), append(opts, postgres.WithSchema(schema))...)
	if err != nil {
		log.Fatal(err)
	}
	if err := store.Migrate(ctx); err != nil {
		log.Fatal(err)
	}
	return store, func() {
		if _, err := store.Pool().Exec(ctx, "DROP SCHEMA "+schema+" CASCADE"); err != nil {
			log.Print(err)
		}
		store.Close()
	}
}

// The kind the examples store: requests for equipment, with a filterable
// attribute.
var equipment = record.MustNewSchema(record.SchemaDef{
	Kind: "equipment", Prefix: "EQ",
	States: []record.StateDef{
		{Name: "requested", Category: itsm.CategoryNew},
		{Name: "ordered", Category: itsm.CategoryActive},
		{Name: "delivered", Category: itsm.CategoryClosed},
	},
	Attributes: []record.Attribute{{Name: "item", Type: record.AttrChoice, Choices: []string{"laptop", "phone"}, Filterable: true}},
})

var clerk = itsm.Actor{ID: "clerk", Name: "Clerk"}

// request opens an equipment request for item in tx, as a practice's
// service would: a number, the record, its audit event.
func request(ctx context.Context, tx record.Tx, id, title, item string, at time.Time) (*record.Record, error) {
	n, err := tx.NextNumber(ctx, equipment.Kind())
	if err != nil {
		return nil, err
	}
	rec := &record.Record{Header: record.Header{
		Kind: equipment.Kind(), ID: id, Number: record.Numbering{Prefix: equipment.Prefix(), Digits: 4}.Format(n),
		Title: title, State: "requested", StateCategory: itsm.CategoryNew, Requester: clerk, OpenedAt: at, UpdatedAt: at,
	}, Attrs: map[string]record.Value{"item": record.Text(item)}}
	if err := tx.Create(ctx, rec); err != nil {
		return nil, err
	}
	return rec, tx.AppendEvents(ctx, itsm.Event{Kind: rec.Kind, RecordID: rec.ID, Actor: clerk, At: at, Action: "request", To: rec.State})
}

// Open a store, migrate its schema, declare a kind, store two records in
// one transaction and list those of one attribute value.
func Example() {
	ctx := context.Background()
	store, done := exampleStore(ctx) // postgres.Open(ctx, url, postgres.WithSchema("itsm")) and store.Migrate(ctx)
	defer done()
	if err := store.Declare(ctx, equipment); err != nil {
		log.Fatal(err)
	}
	at := time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)
	err := store.InTx(ctx, func(ctx context.Context, tx record.Tx) error {
		if _, err := request(ctx, tx, "eq-1", "Laptop for Ann", "laptop", at); err != nil {
			return err
		}
		_, err := request(ctx, tx, "eq-2", "Phone for Bob", "phone", at.Add(time.Minute))
		return err
	})
	if err != nil {
		log.Fatal(err)
	}
	page, err := store.List(ctx, record.Query{Kind: equipment.Kind(),
		Attrs: []record.AttrFilter{{Name: "item", In: []record.Value{record.Text("phone")}}}})
	if err != nil {
		log.Fatal(err)
	}
	for _, rec := range page.Records {
		fmt.Println(rec.Number, rec.Title, rec.State, rec.Version)
	}
	// Output:
	// EQ0002 Phone for Bob requested 1
}

// Store a record inside the application's own transaction, so that the
// record and the application's row commit (or roll back) together.
func ExampleStore_Join() {
	ctx := context.Background()
	store, done := exampleStore(ctx)
	defer done()
	if err := store.Declare(ctx, equipment); err != nil { // before joining
		log.Fatal(err)
	}
	table := store.Schema() + ".portal_requests"
	if _, err := store.Pool().Exec(ctx, "CREATE TABLE "+table+" (number text PRIMARY KEY)"); err != nil {
		log.Fatal(err)
	}
	tx, err := store.Pool().Begin(ctx)
	if err != nil {
		log.Fatal(err)
	}
	defer func() { _ = tx.Rollback(ctx) }() // a no-op after Commit
	var rec *record.Record
	err = store.Join(tx).InTx(ctx, func(ctx context.Context, rtx record.Tx) (err error) {
		rec, err = request(ctx, rtx, "eq-1", "Laptop for Ann", "laptop", time.Now())
		return err
	})
	if err != nil {
		log.Fatal(err)
	}
	if _, err := tx.Exec(ctx, "INSERT INTO "+table+" (number) VALUES ($1)", rec.Number); err != nil {
		log.Fatal(err)
	}
	if err := tx.Commit(ctx); err != nil {
		log.Fatal(err)
	}
	got, err := store.Get(ctx, rec.Ref())
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(got.Number, "committed with the portal's row")
	// Output:
	// EQ0001 committed with the portal's row
}

// Run the SLA wake-up worker; several instances may run it against one
// database at once, and each crossing is recorded once, as an audit event
// in the outbox that a deliverer hands to subscribers after the commit.
func ExampleStore_ProcessDueTimers() {
	ctx := context.Background()
	store, done := exampleStore(ctx, postgres.WithCalendars(sla.Calendars{"24x7": sla.AlwaysOpen(time.UTC)}))
	defer done()
	if err := store.Declare(ctx, equipment); err != nil {
		log.Fatal(err)
	}
	start := time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)
	err := store.InTx(ctx, func(ctx context.Context, tx record.Tx) error {
		rec, err := request(ctx, tx, "eq-1", "Laptop for Ann", "laptop", start)
		if err != nil {
			return err
		}
		tm, err := sla.NewTimer(sla.AlwaysOpen(time.UTC), sla.BusinessTime(8*time.Hour), nil, "standard", sla.MetricResolution, itsm.PriorityModerate)
		if err != nil {
			return err
		}
		if err := tm.Start(start); err != nil {
			return err
		}
		return tx.PutTimers(ctx, record.NewTimerRecord(rec.Ref(), "resolution", sla.KindSLA, tm, start))
	})
	if err != nil {
		log.Fatal(err)
	}
	w := &storage.Worker{Processor: store, Clock: itsm.ClockFunc(func() time.Time { return start.Add(7 * time.Hour) })}
	if _, err := w.RunOnce(ctx); err != nil { // w.Run(ctx) runs it every Interval
		log.Fatal(err)
	}
	// Each crossing is in the record's audit trail, and in the outbox.
	hist, err := store.History(ctx, record.Ref{Kind: "equipment", ID: "eq-1"})
	if err != nil {
		log.Fatal(err)
	}
	for _, ev := range hist {
		if c, ok := storage.CrossingFromEvent(ev); ok {
			fmt.Printf("%s of %s crossed %d bp\n", c.Metric, c.Record, c.BasisPoints)
		}
	}
	// Output:
	// resolution of equipment/eq-1 crossed 5000 bp
	// resolution of equipment/eq-1 crossed 7500 bp
}

// Read the outbox from a cursor, as a deliverer does, and check the audit
// trail for tampering.
func ExampleStore_ReadOutbox() {
	ctx := context.Background()
	store, done := exampleStore(ctx)
	defer done()
	if err := store.Declare(ctx, equipment); err != nil {
		log.Fatal(err)
	}
	err := store.InTx(ctx, func(ctx context.Context, tx record.Tx) error {
		_, err := request(ctx, tx, "eq-1", "Laptop for Ann", "laptop", time.Now())
		return err
	})
	if err != nil {
		log.Fatal(err)
	}
	// A message shows once every transaction older than its own has
	// ended: poll.
	var page record.OutboxPage
	for len(page.Messages) == 0 {
		if page, err = store.ReadOutbox(ctx, "", 10); err != nil {
			log.Fatal(err)
		}
		time.Sleep(10 * time.Millisecond)
	}
	for _, m := range page.Messages {
		fmt.Println(m.Event.Action, m.Event.Kind, m.Event.RecordID, m.Event.Sequence)
	}
	var te *storage.TamperError
	switch err := store.VerifyAuditTrail(ctx); {
	case err == nil:
		fmt.Println("audit trail intact")
	case errors.As(err, &te):
		fmt.Printf("%s %s broken at event %d: %s\n", te.Kind, te.RecordID, te.Sequence, te.Problem)
	default:
		log.Fatal(err)
	}
	// Output:
	// request equipment eq-1 1
	// audit trail intact
}
