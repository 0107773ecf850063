package postgres_test

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/itsmkit/itsmkit/storage/postgres"
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
// on the same database and pool, and reports the mean time of each
// (open-µs, floor-µs) and their ratio (x-floor). Interleaving them makes
// the ratio hold up on a machine whose speed drifts between runs; ns/op
// is the time of both together.
func BenchmarkOpenVsFloor(b *testing.B) {
	s := newStore(b)
	svc, clock := newService(b, s)
	insert := floorInsert(b, s)
	ctx := context.Background()
	clock.Set(t0)
	var open, floor time.Duration
	for b.Loop() {
		t0 := time.Now()
		if _, err := svc.Open(ctx, agent, openInput); err != nil {
			b.Fatal(err)
		}
		t1 := time.Now()
		if err := insert(ctx); err != nil {
			b.Fatal(err)
		}
		open, floor = open+t1.Sub(t0), floor+time.Since(t1)
	}
	n := float64(b.N)
	b.ReportMetric(float64(open.Microseconds())/n, "open-µs")
	b.ReportMetric(float64(floor.Microseconds())/n, "floor-µs")
	b.ReportMetric(float64(open)/float64(floor), "x-floor")
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
