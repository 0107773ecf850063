package jetstream_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	natsjs "github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/require"

	"github.com/itsmkit/itsmkit/itsm"
	"github.com/itsmkit/itsmkit/record"
)

// envURL names the variable that points the tests at a NATS server with
// JetStream enabled.
const envURL = "ITSM_TEST_NATS_URL"

// testURL returns the NATS server URL, or skips the test when it is not
// configured.
func testURL(t testing.TB) string {
	t.Helper()
	url := os.Getenv(envURL)
	if url == "" {
		t.Skip(envURL + " is not set; set it to the URL of a NATS server with JetStream (such as nats://127.0.0.1:4222) to run the JetStream tests")
	}
	return url
}

// connect returns a JetStream context on the test server; the connection
// closes when the test ends.
func connect(t *testing.T) (*nats.Conn, natsjs.JetStream) {
	t.Helper()
	nc, err := nats.Connect(testURL(t), nats.Name(t.Name()))
	require.NoError(t, err)
	t.Cleanup(nc.Close)
	js, err := natsjs.New(nc)
	require.NoError(t, err)
	return nc, js
}

// unique returns a name no other test uses, for streams and prefixes.
func unique() string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// newStream creates a stream of its own for the test, storing the subjects
// under a prefix of its own, and deletes it when the test ends.
func newStream(t *testing.T, js natsjs.JetStream) (natsjs.Stream, string) {
	t.Helper()
	id := unique()
	name, prefix := "ITSM_TEST_"+strings.ToUpper(id), "itsmtest_"+id
	s, err := js.CreateStream(t.Context(), natsjs.StreamConfig{Name: name, Subjects: []string{prefix + ".>"}, Storage: natsjs.MemoryStorage})
	require.NoError(t, err)
	t.Cleanup(func() { deleteStream(t, js, name) })
	return s, prefix
}

func deleteStream(t *testing.T, js natsjs.JetStream, name string) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	require.NoError(t, js.DeleteStream(ctx, name))
}

// message returns outbox message id carrying event seq of incident rec.
func message(id int64, rec string, seq int64) record.Message {
	return record.Message{
		ID: id,
		Event: itsm.Event{
			Kind: "incident", RecordID: rec, Sequence: seq,
			Actor:  itsm.Actor{ID: "alice", Name: "Alice", Roles: []itsm.Role{"agent"}},
			At:     time.Date(2026, 11, 20, 15, 4, 5, 123456789, time.UTC),
			Action: "resolve", From: "in-progress", To: "resolved",
			Changes: []itsm.Change{{Field: "state", Old: "in-progress", New: "resolved"}},
			Reason:  "fixed by restart",
		},
		Attempts: 1,
	}
}
