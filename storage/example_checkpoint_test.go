package storage_test

import (
	"crypto/rand"
	"errors"
	"fmt"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/itsmkit/itsmkit/storage"
)

// A checkpoint states a log's size and root hash, signed with a key the
// application holds; only the holders of its verifier key trust it.
func ExampleSignCheckpoint() {
	skey, vkey, err := note.GenerateKey(rand.Reader, "audit.example.com")
	if err != nil {
		fmt.Println(err)
		return
	}
	signer, _ := note.NewSigner(skey)
	verifier, _ := note.NewVerifier(vkey)

	var log storage.LogBuilder
	for _, ev := range []string{"open", "assign", "resolve"} {
		log.Append(tlog.RecordHash([]byte(ev)))
	}
	signed, err := storage.SignCheckpoint(storage.Checkpoint{Origin: "audit.example.com/log", Tree: log.Tree()}, signer)
	if err != nil {
		fmt.Println(err)
		return
	}
	cp, err := storage.OpenCheckpoint(signed, "audit.example.com/log", note.VerifierList(verifier))
	fmt.Println(cp.Tree.N, cp.Tree.Hash == log.Tree().Hash, err)

	// Signed by another key of the same name, it is refused.
	otherKey, _, _ := note.GenerateKey(rand.Reader, "audit.example.com")
	other, _ := note.NewSigner(otherKey)
	forged, _ := storage.SignCheckpoint(storage.Checkpoint{Origin: "audit.example.com/log", Tree: log.Tree()}, other)
	_, err = storage.OpenCheckpoint(forged, "audit.example.com/log", note.VerifierList(verifier))
	fmt.Println(errors.Is(err, storage.ErrCheckpoint))
	// Output:
	// 3 true <nil>
	// true
}
