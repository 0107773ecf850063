package postgres_test

import (
	"context"
	"strconv"
	"testing"

	"github.com/itsmkit/itsmkit/storage/postgres"
	"github.com/itsmkit/itsmkit/storage/storagetest"
)

// BenchmarkOpen measures the incident service's Open on PostgreSQL: one
// transaction that takes a number and stores the incident, its two SLA
// timers and its audit event.
func BenchmarkOpen(b *testing.B) {
	s := newStore(b)
	svc, clock := newService(b, s)
	ctx := context.Background()
	clock.Set(t0)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := svc.Open(ctx, agent, openInput); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkInsertFloor is the floor BenchmarkOpen is compared with: one
// transaction that inserts one row, on the same database and pool.
func BenchmarkInsertFloor(b *testing.B) {
	s := newStore(b)
	insert := floorInsert(b, s)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if err := insert(ctx); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkOpenVsFloor runs one Open and one floor INSERT per iteration
// on the same database and pool, and reports the mean time of each and
// their ratio (see storagetest.BenchmarkAgainstFloor).
func BenchmarkOpenVsFloor(b *testing.B) {
	s := newStore(b)
	svc, clock := newService(b, s)
	clock.Set(t0)
	open := func(ctx context.Context) error {
		_, err := svc.Open(ctx, agent, openInput)
		return err
	}
	storagetest.BenchmarkAgainstFloor(b, open, floorInsert(b, s))
}

// floorInsert creates a floor table in s's schema and returns a function
// that inserts one row into it in its own transaction.
func floorInsert(b *testing.B, s *postgres.Store) func(context.Context) error {
	ctx := context.Background()
	table := s.Schema() + ".floor"
	if _, err := s.Pool().Exec(ctx, "CREATE TABLE "+table+" (id text PRIMARY KEY, title text NOT NULL)"); err != nil {
		b.Fatal(err)
	}
	insert := "INSERT INTO " + table + " (id, title) VALUES ($1, $2)"
	n := 0
	return func(ctx context.Context) error {
		n++
		tx, err := s.Pool().Begin(ctx)
		if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, insert, strconv.Itoa(n), "Mail is down"); err != nil {
			_ = tx.Rollback(ctx)
			return err
		}
		return tx.Commit(ctx)
	}
}
