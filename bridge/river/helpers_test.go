package river_test

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	riverqueue "github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/riverdriver/riversqlite"
	"github.com/riverqueue/river/rivermigrate"
	"github.com/stretchr/testify/require"
	_ "modernc.org/sqlite"

	"github.com/itsmkit/itsmkit/itsm"
	"github.com/itsmkit/itsmkit/record"
)

// envURL names the variable that points the tests at a PostgreSQL
// database.
const envURL = "ITSM_TEST_POSTGRES_URL"

// testURL returns the test database URL, or skips the test when it is not
// configured.
func testURL(t testing.TB) string {
	t.Helper()
	url := os.Getenv(envURL)
	if url == "" {
		t.Skip(envURL + " is not set; set it to a PostgreSQL URL (such as postgres://postgres@127.0.0.1:5432/test?sslmode=disable) to run the River tests on PostgreSQL")
	}
	return url
}

// newClientFunc returns a River client on a migrated database that the
// test owns; cfg carries queues and workers, or nothing for an insert-only
// client. Every call in one test shares the test's database.
type newClientFunc[TTx any] func(t *testing.T, cfg *riverqueue.Config) *riverqueue.Client[TTx]

// quietLogger logs River's warnings and errors to the test's output.
func quietLogger(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn}))
}

// postgresClients migrates River into a fresh schema of the test database,
// dropped when the test ends, and returns a maker of clients on it.
func postgresClients(t *testing.T) newClientFunc[pgx.Tx] {
	t.Helper()
	url := testURL(t)
	ctx := context.Background()
	var b [6]byte
	_, _ = rand.Read(b[:])
	schema := "itsm_river_" + hex.EncodeToString(b[:])
	cfg, err := pgxpool.ParseConfig(url)
	require.NoError(t, err)
	cfg.MaxConns = 6
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	require.NoError(t, err)
	_, err = pool.Exec(ctx, "CREATE SCHEMA "+schema)
	require.NoError(t, err)
	t.Cleanup(func() {
		_, err := pool.Exec(context.Background(), "DROP SCHEMA "+schema+" CASCADE")
		pool.Close()
		require.NoError(t, err)
	})
	migrator, err := rivermigrate.New(riverpgxv5.New(pool), &rivermigrate.Config{Schema: schema, Logger: quietLogger(t)})
	require.NoError(t, err)
	_, err = migrator.Migrate(ctx, rivermigrate.DirectionUp, nil)
	require.NoError(t, err)
	return func(t *testing.T, c *riverqueue.Config) *riverqueue.Client[pgx.Tx] {
		t.Helper()
		c = withDefaults(t, c)
		c.Schema = schema
		client, err := riverqueue.NewClient(riverpgxv5.New(pool), c)
		require.NoError(t, err)
		return client
	}
}

// sqliteClients migrates River into a new SQLite database file in the
// test's temporary directory, opened with modernc.org/sqlite the way
// riversqlite asks (write-ahead log, one connection), and returns a maker
// of clients on it.
func sqliteClients(t *testing.T) newClientFunc[*sql.Tx] {
	t.Helper()
	path := filepath.Join(t.TempDir(), "river.db")
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=journal_mode(WAL)&_pragma=busy_timeout(10000)&_txlock=immediate")
	require.NoError(t, err)
	db.SetMaxOpenConns(1)
	t.Cleanup(func() { require.NoError(t, db.Close()) })
	migrator, err := rivermigrate.New(riversqlite.New(db), &rivermigrate.Config{Logger: quietLogger(t)})
	require.NoError(t, err)
	_, err = migrator.Migrate(context.Background(), rivermigrate.DirectionUp, nil)
	require.NoError(t, err)
	return func(t *testing.T, c *riverqueue.Config) *riverqueue.Client[*sql.Tx] {
		t.Helper()
		client, err := riverqueue.NewClient(riversqlite.New(db), withDefaults(t, c))
		require.NoError(t, err)
		return client
	}
}

func withDefaults(t *testing.T, c *riverqueue.Config) *riverqueue.Config {
	if c == nil {
		c = &riverqueue.Config{}
	}
	if c.Logger == nil {
		c.Logger = quietLogger(t)
	}
	return c
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
