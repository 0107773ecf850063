package storage_test

import (
	"context"
	"fmt"

	"github.com/itsmkit/itsmkit/incident"
	"github.com/itsmkit/itsmkit/itsm"
	"github.com/itsmkit/itsmkit/storage"
	"github.com/itsmkit/itsmkit/storage/memory"
)

// A call retried under one idempotency key is made once, even when a
// commit's outcome was lost: the retry returns the first result.
func ExampleRetry() {
	ctx := context.Background()
	svc, err := incident.NewService(ctx, memory.New(), incident.Config{})
	if err != nil {
		panic(err)
	}
	agent := itsm.Actor{ID: "alice"}
	keyed := itsm.WithIdempotencyKey(ctx, "3f0c6a52-open-mail-outage")
	open := func(ctx context.Context) (*incident.Incident, error) {
		return svc.Open(ctx, agent, incident.OpenInput{Title: "Mail is down", Impact: itsm.ImpactHigh, Urgency: itsm.UrgencyHigh})
	}
	first, err := storage.Retry(keyed, storage.RetryPolicy{}, open)
	if err != nil {
		panic(err)
	}
	// The caller never learnt the answer and calls again with the key.
	again, err := storage.Retry(keyed, storage.RetryPolicy{}, open)
	if err != nil {
		panic(err)
	}
	page, err := svc.List(ctx, incident.Query{})
	if err != nil {
		panic(err)
	}
	fmt.Println(first.Number, again.Number, len(page.Incidents))
	// Output: INC0001001 INC0001001 1
}
