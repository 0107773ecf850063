package sqlite_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/itsmkit/itsmkit/itsm"
	"github.com/itsmkit/itsmkit/record"
	"github.com/itsmkit/itsmkit/sla"
	"github.com/itsmkit/itsmkit/storage/sqlite"
)

// Open a database file, declare a kind of record, create one with an SLA
// timer and its audit event, and list it.
func Example() {
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "itsmkit-example")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer os.RemoveAll(dir)

	// Open migrates by default; Migrate is idempotent.
	store, err := sqlite.Open(ctx, filepath.Join(dir, "itsm.db"))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer store.Close()

	// A kind of the application's own: its states and a filterable
	// attribute, which Declare indexes.
	requests := record.MustNewSchema(record.SchemaDef{
		Kind: "access_request", Prefix: "ACC",
		States: []record.StateDef{
			{Name: "submitted", Category: itsm.CategoryNew},
			{Name: "granted", Category: itsm.CategoryClosed},
			{Name: "refused", Category: itsm.CategoryCancelled},
		},
		Attributes: []record.Attribute{
			{Name: "system", Type: record.AttrChoice, Choices: []string{"erp", "crm"}, Required: true, Filterable: true},
		},
	})
	if err := store.Declare(ctx, requests); err != nil {
		fmt.Println(err)
		return
	}

	opened := time.Date(2026, 11, 20, 15, 0, 0, 0, time.UTC)
	numbers := record.Numbering{Prefix: requests.Prefix(), Digits: 6}
	err = store.InTx(ctx, func(ctx context.Context, tx record.Tx) error {
		seq, err := tx.NextNumber(ctx, requests.Kind())
		if err != nil {
			return err
		}
		rec := &record.Record{
			Header: record.Header{
				Kind: requests.Kind(), ID: "acc-1", Number: numbers.Format(seq), Title: "ERP access for Dana",
				State: "submitted", StateCategory: itsm.CategoryNew, Requester: itsm.Actor{ID: "dana"},
				OpenedAt: opened, UpdatedAt: opened,
			},
			Attrs: map[string]record.Value{"system": record.Text("erp")},
		}
		if err := tx.Create(ctx, rec); err != nil {
			return err
		}
		timer, err := sla.NewTimer(sla.AlwaysOpen(time.UTC), sla.BusinessTime(4*time.Hour), nil, "access", sla.MetricResolution, 0)
		if err != nil {
			return err
		}
		if err := timer.Start(opened); err != nil {
			return err
		}
		if err := tx.PutTimers(ctx, record.NewTimerRecord(rec.Ref(), "access/resolution", sla.KindOLA, timer, opened)); err != nil {
			return err
		}
		return tx.AppendEvents(ctx, itsm.Event{Kind: rec.Kind, RecordID: rec.ID, Actor: itsm.Actor{ID: "dana"},
			At: opened, Action: "submit", To: rec.State})
	})
	if err != nil {
		fmt.Println(err)
		return
	}

	page, err := store.List(ctx, record.Query{
		Kind:  requests.Kind(),
		Attrs: []record.AttrFilter{{Name: "system", In: []record.Value{record.Text("erp")}}},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, rec := range page.Records {
		fmt.Println(rec.Number, rec.Title, rec.State, rec.StateCategory, rec.Version)
		fmt.Println("due", rec.SLA.NextDue(opened), "breached:", rec.SLA.Breached(opened.Add(5*time.Hour)))
	}
	history, _ := store.History(ctx, record.Ref{Kind: requests.Kind(), ID: "acc-1"})
	for _, ev := range history {
		fmt.Println(ev.Sequence, ev.Action, ev.Actor.ID, "→", ev.To)
	}
	outbox, _ := store.ReadOutbox(ctx, "", 10)
	fmt.Println("outbox messages:", len(outbox.Messages))
	fmt.Println("audit trail intact:", store.VerifyAuditTrail(ctx) == nil)
	// Output:
	// ACC000001 ERP access for Dana submitted new 1
	// due 2026-11-20 19:00:00 +0000 UTC breached: true
	// 1 submit dana → submitted
	// outbox messages: 1
	// audit trail intact: true
}
