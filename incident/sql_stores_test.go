package incident_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/itsmkit/itsmkit/record"
	"github.com/itsmkit/itsmkit/storage/postgres"
	"github.com/itsmkit/itsmkit/storage/sqlite"
)

func init() {
	stores["sqlite"] = sqliteStore
	stores["postgres"] = postgresStore
}

// sqliteStore opens a store on a new file in the test's directory.
func sqliteStore(t testing.TB) record.Store {
	t.Helper()
	s, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "itsm.db"))
	require.NoError(t, err)
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// postgresStore opens a migrated store on a fresh schema of the database
// ITSM_TEST_POSTGRES_URL names, and drops the schema when the test ends;
// it skips the test when the variable is unset.
func postgresStore(t testing.TB) record.Store { return postgresStoreWith(t) }

// postgresStoreWith is postgresStore with opts applied after its own.
func postgresStoreWith(t testing.TB, opts ...postgres.Option) record.Store {
	t.Helper()
	url := os.Getenv("ITSM_TEST_POSTGRES_URL")
	if url == "" {
		t.Skip("ITSM_TEST_POSTGRES_URL is not set; set it to a PostgreSQL URL (such as postgres://postgres@127.0.0.1:5432/test?sslmode=disable) to run the incident tests on PostgreSQL")
	}
	var b [6]byte
	_, _ = rand.Read(b[:])
	schema := "itsm_incident_" + hex.EncodeToString(b[:])
	ctx := context.Background()
	opts = append([]postgres.Option{postgres.WithSchema(schema), postgres.WithPoolConfig(func(c *pgxpool.Config) { c.MaxConns = 4 })}, opts...)
	s, err := postgres.Open(ctx, url, opts...)
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
