package postgres_test

import (
	"context"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/itsmkit/itsmkit/incident"
	"github.com/itsmkit/itsmkit/itsm"
)

// TestJoin opens incidents inside a transaction the application holds,
// next to a row of the application's own, and checks that both commit
// together or roll back together.
func TestJoin(t *testing.T) {
	t.Parallel()
	s := newStore(t)
	ctx := t.Context()
	svc, _ := newService(t, s)
	_, err := s.Pool().Exec(ctx, "CREATE TABLE "+s.Schema()+".app_tickets (incident_number text PRIMARY KEY, note text)")
	require.NoError(t, err)

	appRows := func(number string) int {
		var n int
		require.NoError(t, s.Pool().QueryRow(ctx, "SELECT count(*) FROM "+s.Schema()+".app_tickets WHERE incident_number = $1", number).Scan(&n))
		return n
	}
	// openWithApp opens an incident and inserts the application's row in tx.
	openWithApp := func(tx pgx.Tx) *incident.Incident {
		joined := s.Join(tx)
		inc, err := svc.WithStore(joined).Open(ctx, agent, openInput)
		require.NoError(t, err)
		_, err = tx.Exec(ctx, "INSERT INTO "+s.Schema()+".app_tickets VALUES ($1, 'from the portal')", inc.Number)
		require.NoError(t, err)
		// The joined store reads the transaction's own writes; the store's
		// pool does not see them yet.
		got, err := joined.Get(ctx, inc.ID)
		require.NoError(t, err)
		require.Equal(t, inc.Number, got.Number)
		timers, err := joined.Timers(ctx, inc.ID)
		require.NoError(t, err)
		require.Len(t, timers, 2)
		_, err = s.Get(ctx, inc.ID)
		require.ErrorIs(t, err, itsm.ErrNotFound)
		return inc
	}

	t.Run("CommitTogether", func(t *testing.T) {
		tx, err := s.Pool().Begin(ctx)
		require.NoError(t, err)
		inc := openWithApp(tx)
		require.NoError(t, tx.Commit(ctx))
		got, err := s.Get(ctx, inc.ID)
		require.NoError(t, err)
		require.Equal(t, inc.Number, got.Number)
		hist, err := s.History(ctx, inc.ID)
		require.NoError(t, err)
		require.Len(t, hist, 1)
		require.Equal(t, 1, appRows(inc.Number))
	})

	t.Run("RollBackTogether", func(t *testing.T) {
		tx, err := s.Pool().Begin(ctx)
		require.NoError(t, err)
		inc := openWithApp(tx)
		require.NoError(t, tx.Rollback(ctx))
		_, err = s.Get(ctx, inc.ID)
		require.ErrorIs(t, err, itsm.ErrNotFound)
		timers, err := s.Timers(ctx, inc.ID)
		require.NoError(t, err)
		require.Empty(t, timers)
		hist, err := s.History(ctx, inc.ID)
		require.NoError(t, err)
		require.Empty(t, hist)
		require.Zero(t, appRows(inc.Number))
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
		bad := openInput
		bad.ParentID = "inc-missing"
		_, err = svc.WithStore(joined).Open(ctx, agent, bad)
		require.ErrorIs(t, err, itsm.ErrNotFound)
		// A statement the database aborts inside the savepoint (a taken
		// number on update) does not poison the transaction either.
		err = joined.InTx(ctx, func(ctx context.Context, tx incident.Tx) error {
			a, b := testIncident(1), testIncident(2)
			if err := tx.Create(ctx, a); err != nil {
				return err
			}
			if err := tx.Create(ctx, b); err != nil {
				return err
			}
			b.Number = a.Number
			return tx.Update(ctx, b)
		})
		require.ErrorIs(t, err, itsm.ErrConflict)
		inc, err := svc.WithStore(joined).Open(ctx, agent, openInput)
		require.NoError(t, err)
		require.NoError(t, tx.Commit(ctx))
		require.Equal(t, 1, appRows("APP-1"))
		_, err = s.Get(ctx, inc.ID)
		require.NoError(t, err)
		_, err = s.Get(ctx, testIncident(1).ID)
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
		_, err = svc.WithStore(s.Join(tx)).Open(ctx, agent, openInput)
		require.NoError(t, err)
	})
}
