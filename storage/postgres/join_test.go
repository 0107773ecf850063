package postgres_test

import (
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/itsmkit/itsmkit/itsm"
	"github.com/itsmkit/itsmkit/record"
	"github.com/itsmkit/itsmkit/sla"
)

// openIn opens rec through store as a practice's service does: a number,
// the record, its timer and its event in one InTx.
func openIn(t *testing.T, store record.Store, rec *record.Record) error {
	t.Helper()
	return store.InTx(t.Context(), func(ctx context.Context, tx record.Tx) error {
		if _, err := tx.NextNumber(ctx, rec.Kind); err != nil {
			return err
		}
		if err := tx.Create(ctx, rec); err != nil {
			return err
		}
		if err := tx.PutTimers(ctx, record.NewTimerRecord(rec.Ref(), "resolution", sla.KindSLA, mustTimer(t), t0)); err != nil {
			return err
		}
		return tx.AppendEvents(ctx, openEvent(rec.Ref()))
	})
}

// TestJoin opens records inside a transaction the application holds,
// next to a row of the application's own, and checks that both commit
// together or roll back together.
func TestJoin(t *testing.T) {
	t.Parallel()
	s := newStore(t)
	ctx := t.Context()
	_, err := s.Pool().Exec(ctx, "CREATE TABLE "+s.Schema()+".app_tickets (number text PRIMARY KEY, note text)")
	require.NoError(t, err)

	appRows := func(number string) int {
		var n int
		require.NoError(t, s.Pool().QueryRow(ctx, "SELECT count(*) FROM "+s.Schema()+".app_tickets WHERE number = $1", number).Scan(&n))
		return n
	}
	// openWithApp opens rec and inserts the application's row in tx.
	openWithApp := func(tx pgx.Tx, rec *record.Record) {
		joined := s.Join(tx)
		require.NoError(t, openIn(t, joined, rec))
		_, err := tx.Exec(ctx, "INSERT INTO "+s.Schema()+".app_tickets VALUES ($1, 'from the portal')", rec.Number)
		require.NoError(t, err)
		// The joined store reads the transaction's own writes; the store's
		// pool does not see them yet.
		got, err := joined.Get(ctx, rec.Ref())
		require.NoError(t, err)
		require.Equal(t, rec.Number, got.Number)
		require.Len(t, got.SLA, 1)
		page, err := joined.List(ctx, record.Query{Kind: ticketKind})
		require.NoError(t, err)
		require.NotEmpty(t, page.Records)
		_, err = s.Get(ctx, rec.Ref())
		require.ErrorIs(t, err, itsm.ErrNotFound)
	}

	t.Run("CommitTogether", func(t *testing.T) {
		tx, err := s.Pool().Begin(ctx)
		require.NoError(t, err)
		rec := testRecord(1)
		openWithApp(tx, rec)
		require.NoError(t, tx.Commit(ctx))
		got, err := s.Get(ctx, rec.Ref())
		require.NoError(t, err)
		require.Equal(t, rec.Number, got.Number)
		hist, err := s.History(ctx, rec.Ref())
		require.NoError(t, err)
		require.Len(t, hist, 1)
		require.Equal(t, 1, appRows(rec.Number))
	})

	t.Run("RollBackTogether", func(t *testing.T) {
		tx, err := s.Pool().Begin(ctx)
		require.NoError(t, err)
		rec := testRecord(2)
		openWithApp(tx, rec)
		require.NoError(t, tx.Rollback(ctx))
		_, err = s.Get(ctx, rec.Ref())
		require.ErrorIs(t, err, itsm.ErrNotFound)
		timers, err := s.Timers(ctx, rec.Ref())
		require.NoError(t, err)
		require.Empty(t, timers)
		hist, err := s.History(ctx, rec.Ref())
		require.NoError(t, err)
		require.Empty(t, hist)
		require.Zero(t, appRows(rec.Number))
	})

	t.Run("FailedOperationKeepsTheTransaction", func(t *testing.T) {
		// A failing operation rolls back to its savepoint only: the
		// application's transaction stays usable and keeps its writes.
		tx, err := s.Pool().Begin(ctx)
		require.NoError(t, err)
		defer func() { _ = tx.Rollback(ctx) }()
		_, err = tx.Exec(ctx, "INSERT INTO "+s.Schema()+".app_tickets VALUES ('APP-1', 'kept')")
		require.NoError(t, err)
		joined := s.Join(tx)
		err = joined.InTx(ctx, func(ctx context.Context, tx record.Tx) error {
			if err := tx.Create(ctx, testRecord(3)); err != nil {
				return err
			}
			return tx.AddLinks(ctx, record.Link{Type: record.RelatedTo.Name, From: testRecord(3).Ref(),
				To: testRecord(99).Ref(), CreatedAt: t0, CreatedBy: "bob"})
		})
		require.ErrorIs(t, err, itsm.ErrNotFound)
		rec := testRecord(4)
		require.NoError(t, openIn(t, joined, rec))
		// Claims and acknowledgements commit with the transaction; inside
		// it, Claim sees its own messages.
		msgs, err := joined.Claim(ctx, "portal", t0, time.Minute, 10)
		require.NoError(t, err)
		require.Equal(t, []string{testRecord(1).ID, rec.ID}, []string{msgs[0].Event.RecordID, msgs[1].Event.RecordID})
		require.NoError(t, joined.Ack(ctx, "portal", msgs[0].ID, msgs[1].ID))
		require.NoError(t, tx.Commit(ctx))
		left, err := s.Claim(ctx, "portal", t0.Add(time.Hour), time.Minute, 10)
		require.NoError(t, err)
		require.Empty(t, left, "the acknowledgements committed")
		require.Equal(t, 1, appRows("APP-1"))
		_, err = s.Get(ctx, rec.Ref())
		require.NoError(t, err)
		_, err = s.Get(ctx, testRecord(3).Ref())
		require.ErrorIs(t, err, itsm.ErrNotFound, "the failed operation left nothing")
	})

	t.Run("OtherSearchPath", func(t *testing.T) {
		// The joined store names its tables with its schema, whatever the
		// application's connection uses.
		tx, err := s.Pool().Begin(ctx)
		require.NoError(t, err)
		defer func() { _ = tx.Rollback(ctx) }()
		_, err = tx.Exec(ctx, "SET LOCAL search_path TO pg_catalog")
		require.NoError(t, err)
		require.NoError(t, openIn(t, s.Join(tx), testRecord(5)))
		require.NoError(t, s.Join(tx).Declare(ctx, ticketSchema()))
	})
}

// TestListKeepsPlanSetting checks that List, which plans its statement
// for each call, leaves the plan_cache_mode of an application's
// transaction as it found it, whether the application set it for the
// transaction or for its session.
func TestListKeepsPlanSetting(t *testing.T) {
	t.Parallel()
	s := newStore(t)
	ctx := t.Context()
	require.NoError(t, openIn(t, s, testRecord(1)))
	conn, err := s.Pool().Acquire(ctx)
	require.NoError(t, err)
	defer conn.Release()
	setting := func(q interface {
		QueryRow(context.Context, string, ...any) pgx.Row
	}) string {
		var v string
		require.NoError(t, q.QueryRow(ctx, "SHOW plan_cache_mode").Scan(&v))
		return v
	}
	_, err = conn.Exec(ctx, "SET plan_cache_mode = force_generic_plan")
	require.NoError(t, err)
	defer func() { _, _ = conn.Exec(context.Background(), "RESET plan_cache_mode") }()
	tx, err := conn.Begin(ctx)
	require.NoError(t, err)
	defer func() { _ = tx.Rollback(context.Background()) }()
	page, err := s.Join(tx).List(ctx, record.Query{Kind: ticketKind})
	require.NoError(t, err)
	require.Len(t, page.Records, 1)
	require.Equal(t, "force_generic_plan", setting(tx), "the session's setting is back")
	_, err = tx.Exec(ctx, "SET LOCAL plan_cache_mode = auto")
	require.NoError(t, err)
	_, err = s.Join(tx).List(ctx, record.Query{Kind: ticketKind})
	require.NoError(t, err)
	require.Equal(t, "auto", setting(tx), "the transaction's setting is back")
	require.NoError(t, tx.Commit(ctx))
	require.Equal(t, "force_generic_plan", setting(conn))
}
