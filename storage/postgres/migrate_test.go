package postgres_test

import (
	"context"
	"errors"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/itsmkit/itsmkit/itsm"
	"github.com/itsmkit/itsmkit/storage/postgres"
)

func TestMigrations(t *testing.T) {
	t.Parallel()
	ms := postgres.Migrations()
	require.NotEmpty(t, ms)
	for i, m := range ms {
		require.Equal(t, i+1, m.Version)
		require.NotEmpty(t, m.Name)
	}
	require.Equal(t, "init", ms[0].Name)
}

func TestOpenRejectsBadSchemaNames(t *testing.T) {
	t.Parallel()
	for _, name := range []string{"", "Upper", "1starts_with_digit", "has-dash", `quo"te`, "sp ace",
		"a234567890123456789012345678901234567890123456789012345678901234"} {
		_, err := postgres.Open(t.Context(), "postgres://nowhere.invalid/db", postgres.WithSchema(name))
		require.ErrorIs(t, err, itsm.ErrValidation, "schema %q", name)
		_, err = postgres.New(nil, postgres.WithSchema("ok"))
		require.ErrorIs(t, err, itsm.ErrValidation)
	}
}

func TestMigrateIsIdempotent(t *testing.T) {
	t.Parallel()
	s := openStore(t)
	ctx := t.Context()
	v, err := s.SchemaVersion(ctx)
	require.NoError(t, err)
	require.Zero(t, v, "a schema that does not exist is at version 0")
	latest := len(postgres.Migrations())
	for range 3 {
		require.NoError(t, s.Migrate(ctx))
		v, err := s.SchemaVersion(ctx)
		require.NoError(t, err)
		require.Equal(t, latest, v)
	}
	conn := connect(t)
	var rows int
	require.NoError(t, conn.QueryRow(ctx, "SELECT count(*) FROM "+s.Schema()+".schema_migrations").Scan(&rows))
	require.Equal(t, latest, rows, "each migration is recorded once")
	// Every table is in the store's schema.
	var tables int
	require.NoError(t, conn.QueryRow(ctx, `SELECT count(*) FROM pg_tables WHERE schemaname = $1
		AND tablename IN ('incidents', 'incident_journal', 'incident_problems', 'incident_changes', 'sla_timers',
		'sla_crossings', 'number_sequences', 'audit_events', 'audit_heads')`, s.Schema()).Scan(&tables))
	require.Equal(t, 9, tables)
}

func TestMigrateConcurrently(t *testing.T) {
	t.Parallel()
	url := testURL(t)
	schema := newSchemaName()
	t.Cleanup(func() { dropSchema(t, url, schema) })
	const n = 6
	stores := make([]*postgres.Store, n)
	for i := range stores {
		s, err := postgres.Open(t.Context(), url, postgres.WithSchema(schema), postgres.WithPoolConfig(smallPool))
		require.NoError(t, err)
		t.Cleanup(s.Close)
		stores[i] = s
	}
	var wg sync.WaitGroup
	errs := make([]error, n)
	start := make(chan struct{})
	for i, s := range stores {
		wg.Go(func() {
			<-start
			errs[i] = s.Migrate(t.Context())
		})
	}
	close(start)
	wg.Wait()
	for i, err := range errs {
		require.NoError(t, err, "store %d", i)
	}
	var rows, distinct int
	require.NoError(t, connect(t).QueryRow(t.Context(),
		"SELECT count(*), count(DISTINCT version) FROM "+schema+".schema_migrations").Scan(&rows, &distinct))
	require.Equal(t, len(postgres.Migrations()), rows)
	require.Equal(t, rows, distinct)
	// The schema works for all of them.
	for _, s := range stores {
		_, err := s.List(t.Context(), incidentQueryAll)
		require.NoError(t, err)
	}
}

func TestMigrateRefusesNewerSchema(t *testing.T) {
	t.Parallel()
	s := newStore(t)
	ctx := t.Context()
	_, err := connect(t).Exec(ctx, "INSERT INTO "+s.Schema()+".schema_migrations (version, name) VALUES (999, 'from_the_future')")
	require.NoError(t, err)
	err = s.Migrate(ctx)
	require.ErrorIs(t, err, postgres.ErrSchemaTooNew)
	var ve *postgres.SchemaVersionError
	require.ErrorAs(t, err, &ve)
	require.Equal(t, 999, ve.Found)
	require.Equal(t, len(postgres.Migrations()), ve.Known)
	require.Equal(t, s.Schema(), ve.Schema)
	require.False(t, errors.Is(err, itsm.ErrConflict))
}

func TestUnmigratedSchemaSaysSo(t *testing.T) {
	t.Parallel()
	s := openStore(t)
	_, err := s.Get(context.Background(), "inc-1")
	require.ErrorContains(t, err, "Migrate")
}

func TestAuditEventsAreAppendOnly(t *testing.T) {
	t.Parallel()
	s := newStore(t)
	svc, _ := newService(t, s)
	ctx := t.Context()
	_, err := svc.Open(ctx, agent, openInput)
	require.NoError(t, err)
	conn := connect(t)
	for _, stmt := range []string{
		"UPDATE " + s.Schema() + ".audit_events SET reason = 'covered up'",
		"DELETE FROM " + s.Schema() + ".audit_events",
		"TRUNCATE " + s.Schema() + ".audit_events",
	} {
		_, err := conn.Exec(ctx, stmt)
		require.ErrorContains(t, err, "append-only", stmt)
	}
	require.NoError(t, s.VerifyAuditTrail(ctx))
}
