package memory

import (
	"context"
	"encoding/json"
	"slices"
	"time"

	"github.com/itsmkit/itsmkit/record"
	"github.com/itsmkit/itsmkit/storage"
)

// ProcessDueTimers implements storage.TimerProcessor. In one transaction
// (waiting for the writer like InTx, or returning ctx.Err() when ctx is
// done first) it takes up to limit timers whose NextWakeAt is at or
// before now, in the order of TimersDue, decodes each and binds its
// calendar (see WithCalendars). A timer whose calendar the store does not
// know is left as it is and reported in Batch.Skipped. For each other
// timer it records each crossing storage.Crossings reports at now unless
// it is recorded already for the timer's record, timer ID, cycle and
// basis points, appends the crossing's audit event (storage.Crossing.Event)
// as AppendEvents does, with its outbox message, in threshold order, and
// stores the timer's refreshed Stage, AtRiskAt, BreachAt and NextWakeAt
// (record.NewTimerRecord at now), which refreshes its record's SLA
// summary too.
//
// Transactions run one at a time, so concurrent workers never process a
// timer together and a crossing is recorded exactly once. Nothing is
// delivered from inside the transaction: subscribers read the outbox
// after the commit, and may call InTx. When ctx is done before the
// commit nothing of the pass is kept. A limit of 0 or less processes
// nothing.
func (s *Store) ProcessDueTimers(ctx context.Context, now time.Time, limit int) (storage.Batch, error) {
	if err := ctx.Err(); err != nil {
		return storage.Batch{}, err
	}
	if limit <= 0 {
		return storage.Batch{}, nil
	}
	if err := s.acquire(ctx); err != nil {
		return storage.Batch{}, err
	}
	defer s.release()
	t := s.begin()
	defer t.end()
	v := t.v
	due, err := v.timersDue(now, limit)
	if err != nil {
		return storage.Batch{}, err
	}
	b := storage.Batch{Claimed: len(due)}
	rows := make([]*timerRow, 0, len(due))
	for _, rec := range due {
		if err := rec.Timer.Bind(s.cals); err != nil {
			b.Skipped = append(b.Skipped, &storage.UnknownCalendarError{Calendar: rec.Timer.CalendarName(), Record: rec.Record, TimerID: rec.ID})
			continue
		}
		evs := v.newCrossings(storage.Crossings(rec, now))
		v.appendEvents(evs)
		b.Recorded += len(evs)
		fresh := record.NewTimerRecord(rec.Record, rec.ID, rec.PolicyKind, rec.Timer, now)
		fresh.AtRiskAt, fresh.BreachAt, fresh.NextWakeAt = fresh.AtRiskAt.UTC(), fresh.BreachAt.UTC(), fresh.NextWakeAt.UTC()
		row, _ := v.t.timers.Get(&timerRow{rec: fresh})
		sum := fresh.Summary()
		fresh.Timer = nil
		// The timer's history is unchanged, and so is its encoding.
		rows = append(rows, &timerRow{rec: fresh, sum: sum, enc: row.enc})
	}
	if err := ctx.Err(); err != nil {
		return storage.Batch{}, err
	}
	v.putTimers(rows)
	s.commit(t.end())
	b.Processed = len(rows)
	return b, nil
}

// UnknownCalendars implements storage.TimerProcessor: it decodes the
// calendar name of each committed timer that has a wake-up (the due index
// holds exactly those) and collects the names the store's calendars (see
// WithCalendars) do not resolve, in time linear in the number of such
// timers.
func (s *Store) UnknownCalendars(ctx context.Context) ([]string, error) {
	known := map[string]bool{}
	var out []string
	err := s.read(ctx, func(v view) error {
		var err error
		v.t.due.Ascend(func(d dueItem) bool {
			var probe struct {
				Calendar string `json:"calendar"`
			}
			if err = json.Unmarshal(d.row.enc, &probe); err != nil {
				return false
			}
			name := probe.Calendar
			if _, seen := known[name]; seen || name == "" { // a 24×7 timer binds itself
				return true
			}
			ok := false
			if s.cals != nil {
				_, ok = s.cals.Calendar(name)
			}
			known[name] = ok
			if !ok {
				out = append(out, name)
			}
			return true
		})
		return err
	})
	if err != nil {
		return nil, err
	}
	slices.Sort(out)
	return out, nil
}
