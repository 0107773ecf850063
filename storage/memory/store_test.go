package memory_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/itsmkit/itsmkit/incident"
	"github.com/itsmkit/itsmkit/itsm"
	"github.com/itsmkit/itsmkit/sla"
	"github.com/itsmkit/itsmkit/storage/memory"
	"github.com/stretchr/testify/require"
)

var at = time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)

func newIncident(id, number string) *incident.Incident {
	return &incident.Incident{ID: id, Number: number, Title: "Mail down", State: incident.New, OpenedAt: at, UpdatedAt: at}
}

// The behaviour below goes beyond the incident.Store contract, so it is
// checked here rather than in storagetest.

func TestTxUnusableAfterInTx(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	s := memory.New()
	for _, fail := range []bool{false, true} {
		var kept incident.Tx
		_ = s.InTx(ctx, func(_ context.Context, tx incident.Tx) error {
			kept = tx
			if fail {
				return errors.New("roll back")
			}
			return nil
		})
		_, err := kept.Get(ctx, "inc-1")
		require.ErrorIs(t, err, memory.ErrTxDone)
		require.ErrorIs(t, kept.Create(ctx, newIncident("inc-1", "INC1")), memory.ErrTxDone)
		_, err = kept.NextNumber(ctx, incident.Kind)
		require.ErrorIs(t, err, memory.ErrTxDone)
		_, err = s.Get(ctx, "inc-1")
		require.ErrorIs(t, err, itsm.ErrNotFound, "a write through a kept Tx must not land")
	}
}

func TestInTxContext(t *testing.T) {
	t.Parallel()
	s := memory.New()

	t.Run("DoneBeforeStart", func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		called := false
		err := s.InTx(ctx, func(context.Context, incident.Tx) error { called = true; return nil })
		require.ErrorIs(t, err, context.Canceled)
		require.False(t, called)
	})

	t.Run("DoneBeforeCommit", func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		err := s.InTx(ctx, func(ctx context.Context, tx incident.Tx) error {
			require.NoError(t, tx.Create(ctx, newIncident("inc-c", "INC-C")))
			cancel()
			return nil
		})
		require.ErrorIs(t, err, context.Canceled)
		_, err = s.Get(t.Context(), "inc-c")
		require.ErrorIs(t, err, itsm.ErrNotFound)
	})

	t.Run("DoneWhileWaiting", func(t *testing.T) {
		entered, release := make(chan struct{}), make(chan struct{})
		first := make(chan error, 1)
		go func() {
			first <- s.InTx(t.Context(), func(context.Context, incident.Tx) error {
				close(entered)
				<-release
				return nil
			})
		}()
		<-entered
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		err := s.InTx(ctx, func(context.Context, incident.Tx) error { return nil })
		require.ErrorIs(t, err, context.Canceled)
		close(release)
		require.NoError(t, <-first)
	})

	t.Run("ReadsCheckContext", func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		_, err := s.Get(ctx, "inc-c")
		require.ErrorIs(t, err, context.Canceled)
		_, err = s.List(ctx, incident.Query{})
		require.ErrorIs(t, err, context.Canceled)
	})
}

func TestInvalidInput(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	s := memory.New()
	require.ErrorIs(t, s.InTx(ctx, nil), itsm.ErrValidation)

	timer, err := sla.NewTimer(sla.AlwaysOpen(nil), sla.BusinessTime(time.Hour), nil, "", "resolution", 0)
	require.NoError(t, err)
	cases := map[string]func(context.Context, incident.Tx) error{
		"CreateNil":        func(ctx context.Context, tx incident.Tx) error { return tx.Create(ctx, nil) },
		"CreateNoID":       func(ctx context.Context, tx incident.Tx) error { return tx.Create(ctx, newIncident("", "INC1")) },
		"CreateNoNumber":   func(ctx context.Context, tx incident.Tx) error { return tx.Create(ctx, newIncident("inc-1", "")) },
		"UpdateNil":        func(ctx context.Context, tx incident.Tx) error { return tx.Update(ctx, nil) },
		"UpdateNoID":       func(ctx context.Context, tx incident.Tx) error { return tx.Update(ctx, newIncident("", "INC1")) },
		"NextNumberNoKind": func(ctx context.Context, tx incident.Tx) error { _, err := tx.NextNumber(ctx, ""); return err },
		"PutTimerNoTimer": func(ctx context.Context, tx incident.Tx) error {
			return tx.PutTimers(ctx, incident.TimerRecord{ID: "t", IncidentID: "i"})
		},
		"PutTimerNoID": func(ctx context.Context, tx incident.Tx) error {
			return tx.PutTimers(ctx, incident.TimerRecord{IncidentID: "i", Timer: timer})
		},
		"PutTimerNoIncident": func(ctx context.Context, tx incident.Tx) error {
			return tx.PutTimers(ctx, incident.TimerRecord{ID: "t", Timer: timer})
		},
	}
	for name, fn := range cases {
		t.Run(name, func(t *testing.T) {
			var ve *itsm.ValidationError
			require.ErrorAs(t, s.InTx(ctx, fn), &ve)
		})
	}

	// One bad record keeps the good ones of the same call out too.
	err = s.InTx(ctx, func(ctx context.Context, tx incident.Tx) error {
		err := tx.PutTimers(ctx, incident.TimerRecord{ID: "good", IncidentID: "inc-1", Timer: timer}, incident.TimerRecord{ID: "bad"})
		require.ErrorIs(t, err, itsm.ErrValidation)
		got, err := tx.Timers(ctx, "inc-1")
		require.NoError(t, err)
		require.Empty(t, got)
		return nil
	})
	require.NoError(t, err)
}

func TestNonPositiveLimits(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	s := memory.New()
	timer, err := sla.NewTimer(sla.AlwaysOpen(nil), sla.BusinessTime(time.Hour), nil, "", "resolution", 0)
	require.NoError(t, err)
	require.NoError(t, timer.Start(at))
	inc := newIncident("inc-1", "INC1")
	inc.State, inc.ResolvedAt = incident.Resolved, at
	require.NoError(t, s.InTx(ctx, func(ctx context.Context, tx incident.Tx) error {
		if err := tx.Create(ctx, inc); err != nil {
			return err
		}
		return tx.PutTimers(ctx, incident.TimerRecord{ID: "t", IncidentID: inc.ID, Timer: timer, NextWakeAt: at})
	}))
	for _, limit := range []int{0, -1} {
		due, err := s.TimersDue(ctx, at.Add(time.Hour), limit)
		require.NoError(t, err)
		require.NotNil(t, due)
		require.Empty(t, due)
		res, err := s.ResolvedBefore(ctx, at.Add(time.Hour), limit)
		require.NoError(t, err)
		require.NotNil(t, res)
		require.Empty(t, res)
	}
	due, err := s.TimersDue(ctx, at.Add(time.Hour), 1)
	require.NoError(t, err)
	require.Len(t, due, 1)
}

func TestTimerIDsArePerIncident(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	s := memory.New()
	require.NoError(t, s.InTx(ctx, func(ctx context.Context, tx incident.Tx) error {
		return errors.Join(tx.Create(ctx, newIncident("a", "INC-A")), tx.Create(ctx, newIncident("b", "INC-B")))
	}))
	timer, err := sla.NewTimer(sla.AlwaysOpen(nil), sla.BusinessTime(time.Hour), nil, "", "resolution", 0)
	require.NoError(t, err)
	put := func(ids ...string) {
		t.Helper()
		require.NoError(t, s.InTx(ctx, func(ctx context.Context, tx incident.Tx) error {
			for _, id := range ids {
				if err := tx.PutTimers(ctx, incident.TimerRecord{ID: id[2:], IncidentID: id[:1], Timer: timer}); err != nil {
					return err
				}
			}
			return nil
		}))
	}
	timersOf := func(r incident.Reader, inc string) []string {
		t.Helper()
		got, err := r.Timers(ctx, inc)
		require.NoError(t, err)
		var out []string
		for _, r := range got {
			out = append(out, r.ID)
		}
		return out
	}
	put("a/t1", "a/t2", "b/t3")
	put("b/t1", "a/t1") // a new timer of b; a's t1 is replaced in place
	require.Equal(t, []string{"t1", "t2"}, timersOf(s, "a"))
	require.Equal(t, []string{"t3", "t1"}, timersOf(s, "b"))

	// Inside a transaction a new timer shows before the commit, after the
	// committed ones, and only under its own incident.
	require.NoError(t, s.InTx(ctx, func(ctx context.Context, tx incident.Tx) error {
		if err := tx.PutTimers(ctx, incident.TimerRecord{ID: "t3", IncidentID: "a", Timer: timer}); err != nil {
			return err
		}
		require.Equal(t, []string{"t1", "t2", "t3"}, timersOf(tx, "a"))
		require.Equal(t, []string{"t3", "t1"}, timersOf(tx, "b"))
		require.Equal(t, []string{"t1", "t2"}, timersOf(s, "a"), "others see the committed timers")
		return nil
	}))
	require.Equal(t, []string{"t1", "t2", "t3"}, timersOf(s, "a"))
}

func TestNumbersSwappedInOneTx(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	s := memory.New()
	a, b := newIncident("inc-a", "INC-A"), newIncident("inc-b", "INC-B")
	require.NoError(t, s.InTx(ctx, func(ctx context.Context, tx incident.Tx) error {
		return errors.Join(tx.Create(ctx, a), tx.Create(ctx, b))
	}))
	require.NoError(t, s.InTx(ctx, func(ctx context.Context, tx incident.Tx) error {
		a.Number = "INC-TMP"
		if err := tx.Update(ctx, a); err != nil {
			return err
		}
		b.Number = "INC-A"
		if err := tx.Update(ctx, b); err != nil {
			return err
		}
		a.Number = "INC-B"
		return tx.Update(ctx, a)
	}))
	for number, id := range map[string]string{"INC-A": "inc-b", "INC-B": "inc-a"} {
		got, err := s.GetByNumber(ctx, number)
		require.NoError(t, err)
		require.Equal(t, id, got.ID, number)
	}
	_, err := s.GetByNumber(ctx, "INC-TMP")
	require.ErrorIs(t, err, itsm.ErrNotFound)
}

func TestRollbackLeavesNoNumberGap(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	s := memory.New()
	next := func(fail bool) int64 {
		var n int64
		_ = s.InTx(ctx, func(ctx context.Context, tx incident.Tx) (err error) {
			n, err = tx.NextNumber(ctx, incident.Kind)
			require.NoError(t, err)
			if fail {
				return errors.New("roll back")
			}
			return nil
		})
		return n
	}
	require.Equal(t, []int64{1, 2, 2, 3}, []int64{next(false), next(true), next(false), next(false)})
}

func TestTxSeesReplacedTimers(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	s := memory.New()
	timer, err := sla.NewTimer(sla.AlwaysOpen(nil), sla.BusinessTime(time.Hour), nil, "", "resolution", 0)
	require.NoError(t, err)
	rec := incident.TimerRecord{ID: "t1", IncidentID: "inc-1", Timer: timer, NextWakeAt: at}
	require.NoError(t, s.InTx(ctx, func(ctx context.Context, tx incident.Tx) error {
		return errors.Join(tx.Create(ctx, newIncident("inc-1", "INC-1")), tx.PutTimers(ctx, rec))
	}))

	due := func(r incident.Reader) []time.Time {
		t.Helper()
		got, err := r.TimersDue(ctx, at.Add(24*time.Hour), 10)
		require.NoError(t, err)
		var out []time.Time
		for _, g := range got {
			out = append(out, g.NextWakeAt)
		}
		return out
	}
	require.NoError(t, s.InTx(ctx, func(ctx context.Context, tx incident.Tx) error {
		rec.NextWakeAt = at.Add(time.Hour)
		require.NoError(t, tx.PutTimers(ctx, rec))
		require.Equal(t, []time.Time{at.Add(time.Hour)}, due(tx), "the transaction sees its replacement")
		require.Equal(t, []time.Time{at}, due(s), "others see the committed timer")
		got, err := tx.Timers(ctx, "inc-1")
		require.NoError(t, err)
		require.Len(t, got, 1)

		cancelled, cancel := context.WithCancel(ctx)
		cancel()
		_, err = tx.TimersDue(cancelled, at, 10)
		require.ErrorIs(t, err, context.Canceled, "Tx methods check their context")
		return nil
	}))
	require.Equal(t, []time.Time{at.Add(time.Hour)}, due(s))
}
