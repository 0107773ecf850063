package memory_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/itsmkit/itsmkit/itsm"
	"github.com/itsmkit/itsmkit/record"
	"github.com/itsmkit/itsmkit/storage/memory"
)

// Declare a kind, create a record of it with its first audit event in one
// transaction, and list it.
func Example() {
	ctx := context.Background()
	store := memory.New()
	orders := record.MustNewSchema(record.SchemaDef{
		Kind:   "work_order",
		Prefix: "WO",
		States: []record.StateDef{
			{Name: "requested", Category: itsm.CategoryNew},
			{Name: "in_progress", Category: itsm.CategoryActive},
			{Name: "done", Category: itsm.CategoryClosed},
		},
		Attributes: []record.Attribute{
			{Name: "site", Type: record.AttrChoice, Choices: []string{"north", "south"}, Filterable: true},
		},
	})
	if err := store.Declare(ctx, orders); err != nil {
		fmt.Println(err)
		return
	}

	opened := time.Date(2026, 11, 2, 9, 30, 0, 0, time.UTC)
	err := store.InTx(ctx, func(ctx context.Context, tx record.Tx) error {
		n, err := tx.NextNumber(ctx, "work_order")
		if err != nil {
			return err
		}
		rec := &record.Record{
			Header: record.Header{
				Kind: "work_order", ID: "wo-1", Number: record.Numbering{Prefix: orders.Prefix(), Digits: 7}.Format(n),
				Title: "Replace the badge reader", State: "requested", StateCategory: itsm.CategoryNew,
				Requester: itsm.Actor{ID: "carol"}, OpenedAt: opened, UpdatedAt: opened,
			},
			Attrs: map[string]record.Value{"site": record.Text("north")},
		}
		if err := tx.Create(ctx, rec); err != nil {
			return err
		}
		return tx.AppendEvents(ctx, itsm.Event{
			Kind: rec.Kind, RecordID: rec.ID, Actor: rec.Requester, At: opened, Action: "open", To: rec.State,
		})
	})
	if err != nil {
		fmt.Println(err)
		return
	}

	page, err := store.List(ctx, record.Query{
		Kind:  "work_order",
		Attrs: []record.AttrFilter{{Name: "site", In: []record.Value{record.Text("north")}}},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, rec := range page.Records {
		fmt.Println(rec.Number, rec.Title, rec.State, "version", rec.Version)
	}
	history, _ := store.History(ctx, record.Ref{Kind: "work_order", ID: "wo-1"})
	fmt.Println(history[0])

	_, err = store.List(ctx, record.Query{Kind: "work_order", States: []string{"lost"}})
	fmt.Println(errors.Is(err, itsm.ErrValidation))
	// Output:
	// WO0000001 Replace the badge reader requested version 1
	// work_order wo-1 #1 2026-11-02T09:30:00Z carol open →requested
	// true
}

// Writes inside a transaction are visible to it at once and to everyone
// else only after the commit; an error discards them.
func ExampleStore_InTx_rollback() {
	ctx := context.Background()
	store := memory.New()
	_ = store.Declare(ctx, record.MustNewSchema(record.SchemaDef{
		Kind: "task", Prefix: "TSK", States: []record.StateDef{{Name: "open", Category: itsm.CategoryActive}},
	}))
	ref := record.Ref{Kind: "task", ID: "t-1"}
	err := store.InTx(ctx, func(ctx context.Context, tx record.Tx) error {
		rec := &record.Record{Header: record.Header{Kind: ref.Kind, ID: ref.ID, Number: "TSK1", State: "open",
			StateCategory: itsm.CategoryActive, OpenedAt: time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)}}
		if err := tx.Create(ctx, rec); err != nil {
			return err
		}
		_, inside := tx.Get(ctx, ref)
		_, outside := store.Get(ctx, ref)
		fmt.Println("inside:", inside)
		fmt.Println("outside:", outside)
		return errors.New("changed my mind")
	})
	fmt.Println("InTx:", err)
	_, err = store.Get(ctx, ref)
	fmt.Println("after:", err)
	// Output:
	// inside: <nil>
	// outside: itsm: task t-1 not found
	// InTx: changed my mind
	// after: itsm: task t-1 not found
}
