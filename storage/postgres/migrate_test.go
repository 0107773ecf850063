package postgres_test

import (
	"context"
	"errors"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/itsmkit/itsmkit/itsm"
	"github.com/itsmkit/itsmkit/record"
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
	var recorded int
	require.NoError(t, conn.QueryRow(ctx, "SELECT count(*) FROM "+s.Schema()+".schema_migrations").Scan(&recorded))
	require.Equal(t, latest, recorded, "each migration is recorded once")
	// Every table is in the store's schema.
	rows, err := conn.Query(ctx, `SELECT tablename::text FROM pg_tables WHERE schemaname = $1 ORDER BY tablename`, s.Schema())
	require.NoError(t, err)
	tables, err := pgx.CollectRows(rows, pgx.RowTo[string])
	require.NoError(t, err)
	require.Equal(t, []string{"audit_events", "audit_heads", "audit_log", "audit_log_head", "idempotency_keys", "outbox", "outbox_claims", "record_config_items", "record_journal",
		"record_links", "records", "schema_migrations", "sla_crossings", "sla_timers"}, tables)
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
	// The schema works for all of them, and they declare a kind at once.
	for i, s := range stores {
		wg.Go(func() { errs[i] = s.Declare(t.Context(), ticketSchema()) })
	}
	wg.Wait()
	for i, s := range stores {
		require.NoError(t, errs[i], "store %d", i)
		_, err := s.List(t.Context(), record.Query{Kind: ticketKind})
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
	_, err := s.Get(context.Background(), record.Ref{Kind: ticketKind, ID: "tkt-1"})
	require.ErrorContains(t, err, "Migrate")
	require.ErrorContains(t, s.Declare(context.Background(), ticketSchema()), "Migrate")
}

// TestDeclareCreatesIndexes checks that Declare creates the number
// sequence and the indexes and statistics objects of filterable
// attributes once, and those of attributes added later.
func TestDeclareCreatesIndexes(t *testing.T) {
	t.Parallel()
	s := newStore(t)
	ctx := t.Context()
	objects := func() []string {
		rows, err := s.Pool().Query(ctx, `SELECT c.relname::text FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
			WHERE n.nspname = $1 AND (c.relname LIKE 'rattr%' OR c.relname LIKE 'records_number%')
			UNION ALL SELECT x.stxname::text FROM pg_statistic_ext x JOIN pg_namespace n ON n.oid = x.stxnamespace
			WHERE n.nspname = $1 ORDER BY 1`, s.Schema())
		require.NoError(t, err)
		names, err := pgx.CollectRows(rows, pgx.RowTo[string])
		require.NoError(t, err)
		return names
	}
	require.Equal(t, []string{"rattr_ticket_cost", "rattr_ticket_site", "records_number_ticket", "rstat_ticket_cost", "rstat_ticket_site"}, objects())
	require.NoError(t, s.Declare(ctx, ticketSchema()), "declaring again")
	def := ticketSchema().Def()
	def.Attributes = append(def.Attributes, record.Attribute{Name: "due", Type: record.AttrTime, Filterable: true},
		record.Attribute{Name: "vip", Type: record.AttrBool, Filterable: true})
	require.NoError(t, s.Declare(ctx, record.MustNewSchema(def)))
	require.Equal(t, []string{"rattr_ticket_cost", "rattr_ticket_due", "rattr_ticket_site", "rattr_ticket_vip", "records_number_ticket",
		"rstat_ticket_cost", "rstat_ticket_due", "rstat_ticket_site", "rstat_ticket_vip"}, objects())
	rec := testRecord(1)
	rec.Attrs["vip"], rec.Attrs["due"], rec.Attrs["cost"] = record.Bool(true), record.Time(t0), record.Int(7)
	create(t, s, rec)
	for _, f := range []record.AttrFilter{{Name: "vip", In: []record.Value{record.Bool(true)}},
		{Name: "due", Min: record.Time(t0), Max: record.Time(t0)}, {Name: "cost", Min: record.Int(-3), Max: record.Int(7)}} {
		page, err := s.List(ctx, record.Query{Kind: ticketKind, Attrs: []record.AttrFilter{f}})
		require.NoError(t, err)
		require.Len(t, page.Records, 1, f.Name)
	}
	require.ErrorIs(t, s.Declare(ctx, nil), itsm.ErrValidation)
}
