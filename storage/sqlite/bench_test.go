package sqlite_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/itsmkit/itsmkit/storage/sqlite"
	"github.com/itsmkit/itsmkit/storage/storagetest"
)

// BenchmarkOpen measures the incident service's Open on a durable file
// database (the defaults: WAL, synchronous=FULL): one transaction that
// takes a number and stores the incident, its two SLA timers and its
// audit event. Compare it with BenchmarkInsertFloor, or run
// BenchmarkOpenVsFloor, which interleaves the two.
func BenchmarkOpen(b *testing.B) {
	s := openWarm(b)
	svc, clock := newService(b, s)
	ctx := b.Context()
	in := openInput("Mail relay down")
	b.ReportAllocs()
	for b.Loop() {
		clock.Advance(time.Second)
		if _, err := svc.Open(ctx, agent, in); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkInsertFloor measures the least a durable write costs on the
// same database settings: one single-row INSERT in its own transaction,
// through the store's writer connection.
func BenchmarkInsertFloor(b *testing.B) {
	insert := floorInsert(b, openWarm(b))
	ctx := b.Context()
	b.ReportAllocs()
	for b.Loop() {
		if err := insert(ctx); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkOpenVsFloor runs one Open and one floor INSERT per iteration,
// each on its own database file with the same settings, and reports the
// mean time of each and their ratio (see
// storagetest.BenchmarkAgainstFloor).
func BenchmarkOpenVsFloor(b *testing.B) {
	s, f := openWarm(b), openWarm(b)
	svc, clock := newService(b, s)
	in := openInput("Mail relay down")
	open := func(ctx context.Context) error {
		clock.Advance(time.Second)
		_, err := svc.Open(ctx, agent, in)
		return err
	}
	storagetest.BenchmarkAgainstFloor(b, open, floorInsert(b, f))
}

// openWarm opens a store on a new file, as openTemp does, and brings its
// write-ahead log to full size first: one transaction fills the log past
// the checkpoint size, and a checkpoint then restarts it. Until a log has
// wrapped once, every commit lengthens the file, and syncing a longer file
// costs more (the file system records its size too), which would
// penalize whichever benchmark writes fewer pages per commit. A service
// that has run for a while writes into a log of full size.
func openWarm(b *testing.B) *sqlite.Store {
	s, _ := openTemp(b)
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

// floorInsert creates the floor table in s and returns a function that
// inserts one row into it in its own transaction.
func floorInsert(b *testing.B, s *sqlite.Store) func(context.Context) error {
	ctx := b.Context()
	tx, err := s.BeginTx(ctx)
	require.NoError(b, err)
	_, err = tx.ExecContext(ctx, "CREATE TABLE floor (id INTEGER PRIMARY KEY, title TEXT NOT NULL)")
	require.NoError(b, err)
	require.NoError(b, tx.Commit())
	return func(ctx context.Context) error {
		tx, err := s.BeginTx(ctx)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, "INSERT INTO floor (title) VALUES (?)", "Mail relay down"); err != nil {
			_ = tx.Rollback()
			return err
		}
		return tx.Commit()
	}
}
