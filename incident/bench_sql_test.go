package incident_test

import (
	"context"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/itsmkit/itsmkit/incident"
	"github.com/itsmkit/itsmkit/itsm"
	"github.com/itsmkit/itsmkit/itsm/itsmtest"
	"github.com/itsmkit/itsmkit/record"
	"github.com/itsmkit/itsmkit/sla"
	"github.com/itsmkit/itsmkit/storage/postgres"
	"github.com/itsmkit/itsmkit/storage/sqlite"
	"github.com/itsmkit/itsmkit/storage/storagetest"
)

// BenchmarkOpenVsFloor runs the service's Open (a number, the incident, its
// two SLA timers, its audit event and outbox message, in one transaction;
// see benchOpen) and the least a durable write costs on the same database
// (one one-row INSERT in its own transaction) alternately, and reports the
// mean time of each and their ratio (see storagetest.BenchmarkAgainstFloor).
// On SQLite each runs on its own file, whose write-ahead log is brought to
// full size first; on PostgreSQL both share the database and pool, and run
// a few thousand times before the tables are analyzed (see warmPostgres).
func BenchmarkOpenVsFloor(b *testing.B) {
	b.Run("store=sqlite", func(b *testing.B) {
		s, fl := warmSQLite(b), warmSQLite(b)
		ctx := b.Context()
		tx, err := fl.BeginTx(ctx)
		require.NoError(b, err)
		_, err = tx.ExecContext(ctx, "CREATE TABLE floor (id INTEGER PRIMARY KEY, title TEXT NOT NULL)")
		require.NoError(b, err)
		require.NoError(b, tx.Commit())
		floor := func(ctx context.Context) error {
			tx, err := fl.BeginTx(ctx)
			if err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, "INSERT INTO floor (title) VALUES (?)", benchInput.Title); err != nil {
				_ = tx.Rollback()
				return err
			}
			return tx.Commit()
		}
		storagetest.BenchmarkAgainstFloor(b, benchOpen(b, s), floor)
	})
	b.Run("store=postgres", func(b *testing.B) {
		s := postgresStore(b).(*postgres.Store)
		open, floor := benchOpen(b, s), postgresFloor(b, s, benchInput.Title)
		warmPostgres(b, s, open, floor)
		storagetest.BenchmarkAgainstFloor(b, open, floor)
	})
}

// BenchmarkOpenConcurrent measures the service's Open (see benchOpen) on
// PostgreSQL with one and with eight concurrent writers, each on a
// connection of its own, against the floor (concurrent one-row INSERTs,
// each in its own transaction) on the same database: see
// storagetest.BenchmarkThroughput.
func BenchmarkOpenConcurrent(b *testing.B) {
	for _, writers := range []int{1, 8} {
		b.Run("store=postgres/writers="+strconv.Itoa(writers), func(b *testing.B) {
			s := postgresStoreWith(b, postgres.WithPoolConfig(func(c *pgxpool.Config) { c.MaxConns = int32(writers + 1) })).(*postgres.Store)
			open, floor := benchOpen(b, s), postgresFloor(b, s, benchInput.Title)
			warmPostgres(b, s, open, floor)
			storagetest.BenchmarkThroughput(b, writers, open, floor)
		})
	}
}

// benchInput is the incident the Open benchmarks open.
var benchInput = incident.OpenInput{Title: "Mail relay down", Service: "mail", Impact: itsm.ImpactMedium, Urgency: itsm.UrgencyHigh}

// benchOpen returns a function, safe for concurrent use, that opens
// benchInput through a service on store, as an application does: under a
// 24×7 policy with response and resolution targets (so that every
// incident gets two SLA timers), each call a second after the last, so
// that the records' List indexes grow at their end as they do in use.
func benchOpen(b testing.TB, store record.Store) func(context.Context) error {
	pol, err := sla.ParsePolicy([]byte(`{"id":"standard","targets":{
		"response":  {"1":"PT15M","2":"PT30M","3":"PT1H","4":"PT4H","5":"PT8H"},
		"resolution":{"1":"PT4H","2":"PT8H","3":"PT24H","4":"PT72H","5":"PT120H"}}}`), nil)
	require.NoError(b, err)
	clock := itsmtest.NewClock(friday)
	cfg := incident.Config{Clock: clock, Policies: incident.Policies{List: []*sla.Policy{pol}}}
	svc, err := incident.NewService(b.Context(), store, cfg)
	require.NoError(b, err)
	return func(ctx context.Context) error {
		clock.Advance(time.Second)
		_, err := svc.Open(ctx, agent, benchInput)
		return err
	}
}

// postgresFloor creates a floor table in s's schema and returns a
// function, safe for concurrent use, that inserts one row into it in its
// own transaction: the least a durable write costs on the database.
func postgresFloor(b *testing.B, s *postgres.Store, title string) func(context.Context) error {
	table := s.Schema() + ".floor"
	_, err := s.Pool().Exec(b.Context(), "CREATE TABLE "+table+" (id text PRIMARY KEY, title text NOT NULL)")
	require.NoError(b, err)
	var n atomic.Int64
	return func(ctx context.Context) error {
		tx, err := s.Pool().Begin(ctx)
		if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, "INSERT INTO "+table+" (id, title) VALUES ($1, $2)", strconv.FormatInt(n.Add(1), 10), title); err != nil {
			_ = tx.Rollback(ctx)
			return err
		}
		return tx.Commit(ctx)
	}
}

// warmPostgres runs open and floor a few thousand times and then analyzes
// the schema's tables, so that the benchmark measures the steady state
// autovacuum keeps (the server the tests run on may have it off): with
// statistics that show tables large enough for their unique indexes to
// be read. Without them, the plans pgx caches while the tables are nearly
// empty scan them as they grow, and each call costs more than the last.
func warmPostgres(b *testing.B, s *postgres.Store, open, floor func(context.Context) error) {
	b.Helper()
	ctx := b.Context()
	for range 3000 {
		require.NoError(b, open(ctx))
		require.NoError(b, floor(ctx))
	}
	_, err := s.Pool().Exec(ctx, "ANALYZE "+s.Schema()+".records, "+s.Schema()+".sla_timers, "+s.Schema()+".audit_heads, "+
		s.Schema()+".audit_events, "+s.Schema()+".outbox, "+s.Schema()+".floor")
	require.NoError(b, err)
}

// warmSQLite opens a store on a new file and brings its write-ahead log
// to full size: until a log has wrapped once, every commit lengthens the
// file and its sync costs more, which would favour whichever side writes
// fewer pages.
func warmSQLite(b *testing.B) *sqlite.Store {
	s := sqliteStore(b).(*sqlite.Store)
	ctx := b.Context()
	tx, err := s.BeginTx(ctx)
	require.NoError(b, err)
	_, err = tx.ExecContext(ctx, "CREATE TABLE warm (b BLOB NOT NULL)")
	require.NoError(b, err)
	_, err = tx.ExecContext(ctx, `WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?)
		INSERT INTO warm SELECT zeroblob(3000) FROM n`, sqlite.DefaultAutoCheckpoint+100)
	require.NoError(b, err)
	_, err = tx.ExecContext(ctx, "DROP TABLE warm")
	require.NoError(b, err)
	require.NoError(b, tx.Commit())
	return s
}
