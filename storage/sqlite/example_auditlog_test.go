package sqlite_test

import (
	"context"
	"crypto/rand"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"golang.org/x/mod/sumdb/note"

	"github.com/itsmkit/itsmkit/itsm"
	"github.com/itsmkit/itsmkit/record"
	"github.com/itsmkit/itsmkit/storage"
	"github.com/itsmkit/itsmkit/storage/sqlite"
)

// Keep signed checkpoints of the audit log outside the database, and
// verify the log against the latest one.
func Example_auditLog() {
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "itsmkit-example")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer os.RemoveAll(dir)

	// The application holds the keys; the database never sees them.
	skey, vkey, _ := note.GenerateKey(rand.Reader, "itsm.example.com")
	signer, _ := note.NewSigner(skey)
	verifier, _ := note.NewVerifier(vkey)
	seal := make([]byte, storage.MinSealKeySize)
	_, _ = rand.Read(seal)

	store, err := sqlite.Open(ctx, filepath.Join(dir, "itsm.db"), sqlite.WithAuditSeal(seal))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer store.Close()
	sink, err := storage.OpenFileSink(filepath.Join(dir, "checkpoints"))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer sink.Close()
	checkpoints := &storage.Checkpointer{Log: store, Origin: "itsm.example.com/audit", Signer: signer,
		Verifiers: note.VerifierList(verifier), Sink: sink, Interval: time.Minute}
	// In an application: go checkpoints.Run(ctx)

	at := time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC)
	err = store.InTx(ctx, func(ctx context.Context, tx record.Tx) error {
		return tx.AppendEvents(ctx,
			itsm.Event{Kind: "incident", RecordID: "inc-1", Actor: itsm.Actor{ID: "alice"}, At: at, Action: "open", To: "new"},
			itsm.Event{Kind: "incident", RecordID: "inc-1", Actor: itsm.Actor{ID: "alice"}, At: at, Action: "comment"})
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	if _, err := checkpoints.Issue(ctx); err != nil {
		fmt.Println(err)
		return
	}
	report, err := checkpoints.Verify(ctx)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("entries:", report.Size, "covered:", report.Covered, "problems:", len(report.Problems))
	// Output:
	// entries: 2 covered: 2 problems: 0
}
