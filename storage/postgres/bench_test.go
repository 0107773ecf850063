package postgres_test

import (
	"context"
	"strconv"
	"testing"
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
	ctx := context.Background()
	table := s.Schema() + ".floor"
	_, err := s.Pool().Exec(ctx, "CREATE TABLE "+table+" (id text PRIMARY KEY, title text NOT NULL)")
	if err != nil {
		b.Fatal(err)
	}
	insert := "INSERT INTO " + table + " (id, title) VALUES ($1, $2)"
	n := 0
	b.ReportAllocs()
	for b.Loop() {
		n++
		tx, err := s.Pool().Begin(ctx)
		if err == nil {
			_, err = tx.Exec(ctx, insert, strconv.Itoa(n), "Mail is down")
		}
		if err == nil {
			err = tx.Commit(ctx)
		}
		if err != nil {
			b.Fatal(err)
		}
	}
}
