package postgres_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/itsmkit/itsmkit/storage/postgres"
)

// envURL names the variable that points the tests at a database.
const envURL = "ITSM_TEST_POSTGRES_URL"

// testURL returns the test database URL, or skips the test when it is not
// configured.
func testURL(t testing.TB) string {
	t.Helper()
	url := os.Getenv(envURL)
	if url == "" {
		t.Skip(envURL + " is not set; set it to a PostgreSQL URL (such as postgres://postgres@127.0.0.1:5432/test?sslmode=disable) to run the PostgreSQL adapter tests")
	}
	return url
}

// newSchemaName returns a fresh schema name for one test.
func newSchemaName() string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return "itsm_test_" + hex.EncodeToString(b[:])
}

// smallPool keeps each test's pool small, so parallel tests stay well under
// the server's connection limit.
func smallPool(c *pgxpool.Config) {
	c.MaxConns = 4
}

// openStore opens a Store on a fresh schema without migrating it, and
// drops the schema when the test ends.
func openStore(t testing.TB, opts ...postgres.Option) *postgres.Store {
	t.Helper()
	url := testURL(t)
	schema := newSchemaName()
	ctx := context.Background()
	opts = append([]postgres.Option{postgres.WithSchema(schema), postgres.WithPoolConfig(smallPool)}, opts...)
	s, err := postgres.Open(ctx, url, opts...)
	require.NoError(t, err)
	t.Cleanup(func() {
		s.Close()
		dropSchema(t, url, schema)
	})
	return s
}

// migrated returns a migrated Store on a fresh schema that knows no kind.
func migrated(t testing.TB, opts ...postgres.Option) *postgres.Store {
	t.Helper()
	s := openStore(t, opts...)
	require.NoError(t, s.Migrate(context.Background()))
	return s
}

// newStore returns a migrated Store on a fresh schema with tickets
// declared.
func newStore(t testing.TB, opts ...postgres.Option) *postgres.Store {
	t.Helper()
	s := openStore(t, opts...)
	require.NoError(t, s.Migrate(context.Background()))
	require.NoError(t, s.Declare(context.Background(), ticketSchema()))
	return s
}

func dropSchema(t testing.TB, url, schema string) {
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
}

// connect opens a plain connection for a test's own SQL.
func connect(t testing.TB) *pgx.Conn {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, testURL(t))
	require.NoError(t, err)
	t.Cleanup(func() { _ = conn.Close(context.Background()) })
	return conn
}
