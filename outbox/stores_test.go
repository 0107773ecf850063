package outbox_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/itsmkit/itsmkit/itsm"
	"github.com/itsmkit/itsmkit/record"
	"github.com/itsmkit/itsmkit/storage/memory"
	"github.com/itsmkit/itsmkit/storage/postgres"
	"github.com/itsmkit/itsmkit/storage/sqlite"
)

// stores open an empty store with the task kind declared, by name.
var stores = []struct {
	name string
	open func(t *testing.T) record.Store
}{
	{"memory", func(t *testing.T) record.Store { return memory.New() }},
	{"sqlite", sqliteStore},
	{"postgres", postgresStore},
}

// eachStore runs fn as a subtest on each store.
func eachStore(t *testing.T, fn func(t *testing.T, s record.Store)) {
	t.Helper()
	for _, st := range stores {
		t.Run(st.name, func(t *testing.T) {
			s := st.open(t)
			require.NoError(t, s.Declare(context.Background(), taskKind()))
			fn(t, s)
		})
	}
}

func sqliteStore(t *testing.T) record.Store {
	t.Helper()
	s, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "itsm.db"))
	require.NoError(t, err)
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// postgresStore opens a migrated store on a fresh schema of the database
// ITSM_TEST_POSTGRES_URL names, and drops the schema when the test ends;
// it skips the test when the variable is unset.
func postgresStore(t *testing.T) record.Store {
	t.Helper()
	url := os.Getenv("ITSM_TEST_POSTGRES_URL")
	if url == "" {
		t.Skip("ITSM_TEST_POSTGRES_URL is not set; set it to a PostgreSQL URL (such as postgres://postgres@127.0.0.1:5432/test?sslmode=disable) to run the outbox tests on PostgreSQL")
	}
	var b [6]byte
	_, _ = rand.Read(b[:])
	schema := "itsm_outbox_" + hex.EncodeToString(b[:])
	ctx := context.Background()
	s, err := postgres.Open(ctx, url, postgres.WithSchema(schema), postgres.WithPoolConfig(func(c *pgxpool.Config) { c.MaxConns = 4 }))
	require.NoError(t, err)
	t.Cleanup(func() {
		s.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		conn, err := pgx.Connect(ctx, url)
		if err != nil {
			t.Errorf("drop schema %s: %v", schema, err)
			return
		}
		defer conn.Close(ctx)
		if _, err := conn.Exec(ctx, "DROP SCHEMA IF EXISTS "+schema+" CASCADE"); err != nil {
			t.Errorf("drop schema %s: %v", schema, err)
		}
	})
	require.NoError(t, s.Migrate(ctx))
	return s
}

func taskKind() *record.Schema {
	return record.MustNewSchema(record.SchemaDef{
		Kind: "task", Prefix: "TSK", States: []record.StateDef{{Name: "open", Category: itsm.CategoryActive}},
	})
}

var t0 = time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)

// appendMessages creates task ref and appends n events to it, actions
// "a1" to "a<n>", and returns the actions.
func appendMessages(t *testing.T, s record.Store, id string, n int) []string {
	t.Helper()
	var actions []string
	err := s.InTx(context.Background(), func(ctx context.Context, tx record.Tx) error {
		rec := &record.Record{Header: record.Header{Kind: "task", ID: id, Number: "TSK-" + id, State: "open",
			StateCategory: itsm.CategoryActive, OpenedAt: t0, UpdatedAt: t0}}
		if err := tx.Create(ctx, rec); err != nil {
			return err
		}
		var evs []itsm.Event
		for i := range n {
			a := fmt.Sprintf("a%d", i+1)
			actions = append(actions, a)
			evs = append(evs, itsm.Event{Kind: "task", RecordID: id, Actor: itsm.Actor{ID: "carol"}, At: t0, Action: a})
		}
		return tx.AppendEvents(ctx, evs...)
	})
	require.NoError(t, err)
	return actions
}

// recorder is a Handler that records what it is given and fails as fail
// says.
type recorder struct {
	mu    sync.Mutex
	got   []record.Message
	at    []time.Time
	clock itsm.Clock
	fail  func(m record.Message) error
}

func (r *recorder) Deliver(ctx context.Context, m record.Message) error {
	r.mu.Lock()
	r.got = append(r.got, m)
	if r.clock != nil {
		r.at = append(r.at, r.clock.Now())
	}
	fail := r.fail
	r.mu.Unlock()
	if fail != nil {
		return fail(m)
	}
	return nil
}

// actions returns the actions of the events delivered, in order.
func (r *recorder) actions() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := []string{}
	for _, m := range r.got {
		out = append(out, m.Event.Action)
	}
	return out
}
