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
	s, _ := openTemp(b)
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
	s, _ := openTemp(b)
	insert := floorInsert(b, s)
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
	s, _ := openTemp(b)
	f, _ := openTemp(b)
	svc, clock := newService(b, s)
	in := openInput("Mail relay down")
	open := func(ctx context.Context) error {
		clock.Advance(time.Second)
		_, err := svc.Open(ctx, agent, in)
		return err
	}
	storagetest.BenchmarkAgainstFloor(b, open, floorInsert(b, f))
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
