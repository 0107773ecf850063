package postgres_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"os"

	"github.com/itsmkit/itsmkit/incident"
	"github.com/itsmkit/itsmkit/itsm"
	"github.com/itsmkit/itsmkit/storage"
	"github.com/itsmkit/itsmkit/storage/postgres"
)

// The examples need a PostgreSQL server, so they are compiled but not run
// (they have no Output comment); the tests run the same calls against the
// database named by ITSM_TEST_POSTGRES_URL.

// Open a store, migrate its schema and run the incident service on it.
func Example() {
	ctx := context.Background()
	store, err := postgres.Open(ctx, os.Getenv("DATABASE_URL"), postgres.WithSchema("itsm"))
	if err != nil {
		log.Fatal(err)
	}
	defer store.Close()
	if err := store.Migrate(ctx); err != nil {
		log.Fatal(err)
	}
	svc, err := incident.NewService(store, incident.Config{})
	if err != nil {
		log.Fatal(err)
	}
	alice := itsm.Actor{ID: "alice", Name: "Alice"}
	inc, err := svc.Open(ctx, alice, incident.OpenInput{Title: "Mail is down", Impact: itsm.ImpactHigh, Urgency: itsm.UrgencyHigh})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(inc.Number, inc.State, inc.Priority.Label())
}

// Open an incident inside the application's own transaction, so that the
// incident and the application's row commit (or roll back) together.
func ExampleStore_Join() {
	ctx := context.Background()
	store, err := postgres.Open(ctx, os.Getenv("DATABASE_URL"))
	if err != nil {
		log.Fatal(err)
	}
	defer store.Close()
	svc, err := incident.NewService(store, incident.Config{})
	if err != nil {
		log.Fatal(err)
	}
	tx, err := store.Pool().Begin(ctx)
	if err != nil {
		log.Fatal(err)
	}
	defer func() { _ = tx.Rollback(ctx) }() // a no-op after Commit
	inc, err := svc.WithStore(store.Join(tx)).Open(ctx, itsm.Actor{ID: "portal"},
		incident.OpenInput{Title: "Laptop stolen", Impact: itsm.ImpactLow, Urgency: itsm.UrgencyHigh})
	if err != nil {
		log.Fatal(err)
	}
	if _, err := tx.Exec(ctx, "INSERT INTO portal_requests (incident_number) VALUES ($1)", inc.Number); err != nil {
		log.Fatal(err)
	}
	if err := tx.Commit(ctx); err != nil {
		log.Fatal(err)
	}
}

// Run the SLA wake-up worker; several instances may run it against one
// database at once, and each crossing is recorded once.
func ExampleStore_ProcessDueTimers() {
	ctx := context.Background()
	store, err := postgres.Open(ctx, os.Getenv("DATABASE_URL"))
	if err != nil {
		log.Fatal(err)
	}
	defer store.Close()
	w := &storage.Worker{Processor: store, Hook: func(_ context.Context, c storage.Crossing) error {
		fmt.Printf("%s of incident %s crossed %d bp\n", c.Metric, c.IncidentID, c.BasisPoints)
		return nil
	}}
	_ = w.Run(ctx) // until ctx is done
}

// Check the audit trail for tampering.
func ExampleStore_VerifyAuditTrail() {
	ctx := context.Background()
	store, err := postgres.Open(ctx, os.Getenv("DATABASE_URL"))
	if err != nil {
		log.Fatal(err)
	}
	defer store.Close()
	var te *storage.TamperError
	switch err := store.VerifyAuditTrail(ctx); {
	case err == nil:
		fmt.Println("audit trail intact")
	case errors.As(err, &te):
		fmt.Printf("%s %s broken at event %d: %s\n", te.Kind, te.RecordID, te.Sequence, te.Problem)
	default:
		log.Fatal(err)
	}
}
