package storage_test

import (
	"errors"
	"fmt"
	"time"

	"github.com/itsmkit/itsmkit/itsm"
	"github.com/itsmkit/itsmkit/storage"
)

// Each audit event carries the hash of the one before it, so an edited
// row breaks the chain.
func ExampleVerifyChain() {
	var rows []storage.AuditRow
	var prev []byte
	for i, action := range []string{"open", "assign", "resolve"} {
		ev := itsm.Event{Kind: "incident", RecordID: "42", Sequence: int64(i + 1),
			Actor: itsm.Actor{ID: "alice"}, At: time.Date(2026, 11, 20, 15, i, 0, 0, time.UTC), Action: action}
		h := storage.EventHash(prev, ev)
		rows = append(rows, storage.AuditRow{Event: ev, PrevHash: prev, Hash: h})
		prev = h
	}
	head := storage.AuditHead{Sequence: 3, Hash: prev}
	fmt.Println(storage.VerifyChain("incident", "42", rows, head))

	rows[1].Event.Actor.ID = "mallory"
	err := storage.VerifyChain("incident", "42", rows, head)
	fmt.Println(err)
	fmt.Println(errors.Is(err, itsm.ErrConflict))
	// Output:
	// <nil>
	// storage: audit trail of incident 42 broken at sequence 2 (chain check): hash does not match the event
	// true
}
