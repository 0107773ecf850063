package memory_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/itsmkit/itsmkit/incident"
	"github.com/itsmkit/itsmkit/itsm"
	"github.com/itsmkit/itsmkit/storage/memory"
)

// Open a store, create an incident with its first audit event in one
// transaction, and read both back.
func Example() {
	ctx := context.Background()
	store := memory.New()
	opened := time.Date(2026, 11, 2, 9, 30, 0, 0, time.UTC)
	caller := itsm.Actor{ID: "carol", Name: "Carol"}

	var id string
	err := store.InTx(ctx, func(ctx context.Context, tx incident.Tx) error {
		n, err := tx.NextNumber(ctx, incident.Kind)
		if err != nil {
			return err
		}
		inc := &incident.Incident{
			ID:       "inc-1",
			Number:   fmt.Sprintf("INC%07d", n),
			Title:    "Mail relay down",
			Caller:   caller,
			Priority: itsm.PriorityHigh,
			State:    incident.New,
			OpenedAt: opened,
		}
		if err := tx.Create(ctx, inc); err != nil {
			return err
		}
		id = inc.ID
		return tx.AppendEvents(ctx, itsm.Event{
			Kind: incident.Kind, RecordID: inc.ID, Actor: caller, At: opened,
			Action: "open", To: string(incident.New),
		})
	})
	if err != nil {
		fmt.Println(err)
		return
	}

	inc, err := store.GetByNumber(ctx, "INC0000001")
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(inc.ID == id, inc.Number, inc.Title, "version", inc.Version)
	history, _ := store.History(ctx, inc.ID)
	for _, ev := range history {
		fmt.Println(ev)
	}
	// Output:
	// true INC0000001 Mail relay down version 1
	// incident inc-1 #1 2026-11-02T09:30:00Z carol open →new
}

// An update based on a stale read fails with itsm.ErrConflict and changes
// nothing; the caller reloads and retries.
func ExampleStore_InTx_conflict() {
	ctx := context.Background()
	store := memory.New()
	inc := &incident.Incident{ID: "inc-1", Number: "INC0000001", Title: "VPN drops", State: incident.New}
	_ = store.InTx(ctx, func(ctx context.Context, tx incident.Tx) error { return tx.Create(ctx, inc) })

	alice, _ := store.Get(ctx, "inc-1")
	bob, _ := store.Get(ctx, "inc-1")
	alice.Assignee = "alice"
	bob.Assignee = "bob"
	update := func(inc *incident.Incident) error {
		return store.InTx(ctx, func(ctx context.Context, tx incident.Tx) error { return tx.Update(ctx, inc) })
	}
	fmt.Println("alice:", update(alice))
	err := update(bob)
	fmt.Println("bob:", err, errors.Is(err, itsm.ErrConflict))

	stored, _ := store.Get(ctx, "inc-1")
	fmt.Println(stored.Assignee, stored.Version)
	// Output:
	// alice: <nil>
	// bob: itsm: incident inc-1 is at version 2, not 1 true
	// alice 2
}

// Writes inside a transaction are visible to it at once and to everyone
// else only after the commit; an error discards them.
func ExampleStore_InTx_rollback() {
	ctx := context.Background()
	store := memory.New()
	err := store.InTx(ctx, func(ctx context.Context, tx incident.Tx) error {
		if err := tx.Create(ctx, &incident.Incident{ID: "inc-1", Number: "INC0000001"}); err != nil {
			return err
		}
		_, inside := tx.Get(ctx, "inc-1")
		_, outside := store.Get(ctx, "inc-1")
		fmt.Println("inside:", inside)
		fmt.Println("outside:", outside)
		return errors.New("changed my mind")
	})
	fmt.Println("InTx:", err)
	_, err = store.Get(ctx, "inc-1")
	fmt.Println("after:", err)
	// Output:
	// inside: <nil>
	// outside: itsm: incident inc-1 not found
	// InTx: changed my mind
	// after: itsm: incident inc-1 not found
}
