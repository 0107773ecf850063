package outbox_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/itsmkit/itsmkit/itsm"
	"github.com/itsmkit/itsmkit/itsm/itsmtest"
	"github.com/itsmkit/itsmkit/outbox"
	"github.com/itsmkit/itsmkit/record"
	"github.com/itsmkit/itsmkit/storage/memory"
)

// A mailer that works and a webhook whose receiver is gone: the mailer
// gets every message, and the webhook's become its dead letters, which
// are replayed once the receiver is back.
func ExampleDeliverer() {
	ctx := context.Background()
	store := memory.New()
	_ = store.Declare(ctx, record.MustNewSchema(record.SchemaDef{
		Kind: "task", Prefix: "TSK", States: []record.StateDef{{Name: "open", Category: itsm.CategoryActive}},
	}))
	opened := time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)
	err := store.InTx(ctx, func(ctx context.Context, tx record.Tx) error {
		rec := &record.Record{Header: record.Header{Kind: "task", ID: "t-1", Number: "TSK1", State: "open",
			StateCategory: itsm.CategoryActive, OpenedAt: opened, UpdatedAt: opened}}
		if err := tx.Create(ctx, rec); err != nil {
			return err
		}
		carol := itsm.Actor{ID: "carol"}
		return tx.AppendEvents(ctx,
			itsm.Event{Kind: "task", RecordID: "t-1", Actor: carol, At: opened, Action: "open"},
			itsm.Event{Kind: "task", RecordID: "t-1", Actor: carol, At: opened, Action: "assign"})
	})
	if err != nil {
		fmt.Println(err)
		return
	}

	gone := true
	clock := itsmtest.NewClock(opened)
	d := &outbox.Deliverer{
		Store: store,
		Subscribers: map[string]outbox.Handler{
			"mailer": outbox.HandlerFunc(func(ctx context.Context, m record.Message) error {
				fmt.Println("mail:", m.Event.Action)
				return nil
			}),
			"webhook": outbox.HandlerFunc(func(ctx context.Context, m record.Message) error {
				if gone {
					return errors.New("502 Bad Gateway")
				}
				fmt.Println("webhook:", m.Event.Action, "attempt", m.Attempts)
				return nil
			}),
		},
		Clock:       clock,
		MaxAttempts: 2,
		Backoff:     outbox.ExponentialBackoff{Initial: time.Minute, Max: time.Hour},
	}
	for range 2 {
		st, err := d.RunOnce(ctx)
		fmt.Printf("delivered %d, deferred %d, buried %d, error %v\n", st.Delivered, st.Deferred, st.Buried, err)
		clock.Advance(time.Minute)
	}

	dead, _ := d.DeadLetters(ctx, "webhook", 0, 10)
	var ids []int64
	for _, dl := range dead {
		fmt.Printf("dead letter: %s after %d attempts: %s\n", dl.Event.Action, dl.Attempts, dl.LastError)
		ids = append(ids, dl.ID)
	}
	gone = false
	if err := d.Replay(ctx, "webhook", ids...); err != nil {
		fmt.Println(err)
	}
	st, err := d.RunOnce(ctx)
	fmt.Printf("delivered %d, error %v\n", st.Delivered, err)
	// Output:
	// mail: open
	// mail: assign
	// delivered 2, deferred 2, buried 0, error <nil>
	// delivered 0, deferred 0, buried 2, error <nil>
	// dead letter: open after 2 attempts: 502 Bad Gateway
	// dead letter: assign after 2 attempts: 502 Bad Gateway
	// webhook: open attempt 1
	// webhook: assign attempt 1
	// delivered 2, error <nil>
}

// A handler marks an error that retrying cannot fix with Permanent: the
// message becomes a dead letter at once.
func ExamplePermanent() {
	h := outbox.HandlerFunc(func(ctx context.Context, m record.Message) error {
		if m.Event.Action == "" {
			return outbox.Permanent(errors.New("event without an action"))
		}
		return nil
	})
	err := h.Deliver(context.Background(), record.Message{ID: 1})
	fmt.Println(err, errors.Is(err, outbox.ErrPermanent))
	// Output:
	// event without an action true
}
