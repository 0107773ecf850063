package sqlite_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// BenchmarkOpen measures the incident service's Open on a durable file
// database (the defaults: WAL, synchronous=FULL): one transaction that
// takes a number and stores the incident, its two SLA timers and its
// audit event. Compare it with BenchmarkInsertFloor.
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
	ctx := b.Context()
	tx, err := s.BeginTx(ctx)
	require.NoError(b, err)
	_, err = tx.ExecContext(ctx, "CREATE TABLE floor (id INTEGER PRIMARY KEY, title TEXT NOT NULL)")
	require.NoError(b, err)
	require.NoError(b, tx.Commit())
	b.ReportAllocs()
	for b.Loop() {
		tx, err := s.BeginTx(ctx)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := tx.ExecContext(ctx, "INSERT INTO floor (title) VALUES (?)", "Mail relay down"); err != nil {
			b.Fatal(err)
		}
		if err := tx.Commit(); err != nil {
			b.Fatal(err)
		}
	}
}
