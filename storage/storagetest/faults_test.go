package storagetest_test

import (
	"context"
	"os"
	"os/exec"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/itsmkit/itsmkit/record"
	"github.com/itsmkit/itsmkit/storage/memory"
	"github.com/itsmkit/itsmkit/storage/storagetest"
)

// A fault is a memory store with one bug, and the group of checks that
// must catch it.
type fault struct {
	group string
	wrap  func(*memory.Store) record.Store
}

var faults = map[string]fault{
	"ListIgnoresAssignee": {"List", func(s *memory.Store) record.Store {
		return listFault{Store: s, before: func(q *record.Query) { q.Assignee = "" }}
	}},
	"ListInLocalTime": {"List", func(s *memory.Store) record.Store {
		return listFault{Store: s, after: func(_ record.Query, p *record.Page) {
			for _, r := range p.Records {
				r.OpenedAt = r.OpenedAt.In(time.FixedZone("UTC+1", 3600))
			}
		}}
	}},
	"ListSkipsLastOfPage": {"List", func(s *memory.Store) record.Store {
		return listFault{Store: s, after: func(_ record.Query, p *record.Page) {
			if p.Next != "" && len(p.Records) > 1 {
				p.Records = p.Records[:len(p.Records)-1]
			}
		}}
	}},
	"ListWithoutSLA": {"List", func(s *memory.Store) record.Store {
		return listFault{Store: s, after: func(_ record.Query, p *record.Page) {
			for _, r := range p.Records {
				r.SLA = nil
			}
		}}
	}},
	"ListTextCaseSensitive": {"List", func(s *memory.Store) record.Store {
		return listFault{Store: s, after: func(q record.Query, p *record.Page) {
			if q.Text == "" {
				return
			}
			var keep []*record.Record
			for _, r := range p.Records {
				if strings.Contains(r.Number+"\x00"+r.Title+"\x00"+r.Description, q.Text) {
					keep = append(keep, r)
				}
			}
			p.Records = keep
		}}
	}},
	"JournalNil": {"Journal", func(s *memory.Store) record.Store { return journalFault{s} }},
	"UpdateNeverConflicts": {"Update", func(s *memory.Store) record.Store {
		return txFault{s, func(tx record.Tx) record.Tx { return updateFault{tx} }}
	}},
	"PutTimersPartly": {"Timers", func(s *memory.Store) record.Store {
		return txFault{s, func(tx record.Tx) record.Tx { return timersFault{tx} }}
	}},
	"ClaimIgnoresLeases":    {"Outbox", func(s *memory.Store) record.Store { return &claimFault{Store: s} }},
	"TimersDueIgnoresLimit": {"Timers", func(s *memory.Store) record.Store { return dueFault{s} }},
}

// TestSuiteCatchesFaults runs the suite, in a child process, over memory
// stores with one fault each, and expects the group of checks meant to
// catch the fault to fail: checks that cannot fail prove nothing.
func TestSuiteCatchesFaults(t *testing.T) {
	if name := os.Getenv("STORAGETEST_FAULT"); name != "" {
		f := faults[name]
		storagetest.TestStore(t, func(t *testing.T) record.Store {
			t.Parallel()
			return f.wrap(memory.New())
		})
		return
	}
	if testing.Short() || raceEnabled {
		t.Skip("runs the suite in child processes, too slowly for -short and the race detector")
	}
	t.Parallel()
	for name, f := range faults {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			cmd := exec.CommandContext(t.Context(), os.Args[0], "-test.run=^TestSuiteCatchesFaults$/^"+f.group+"$", "-test.count=1")
			cmd.Env = append(os.Environ(), "STORAGETEST_FAULT="+name)
			out, err := cmd.CombinedOutput()
			require.Error(t, err, "the suite passed a store with fault %s:\n%s", name, out)
			require.Contains(t, string(out), "--- FAIL: TestSuiteCatchesFaults/"+f.group+"/", "fault %s", name)
		})
	}
}

// listFault changes the query before the store lists (before) or the
// page it lists (after).
type listFault struct {
	*memory.Store
	before func(q *record.Query)
	after  func(q record.Query, p *record.Page)
}

func (f listFault) List(ctx context.Context, q record.Query) (record.Page, error) {
	if f.before != nil {
		f.before(&q)
	}
	p, err := f.Store.List(ctx, q)
	if err == nil && f.after != nil {
		f.after(q, &p)
	}
	return p, err
}

// journalFault returns a nil journal for a record without entries.
type journalFault struct{ *memory.Store }

func (f journalFault) Journal(ctx context.Context, ref record.Ref) ([]record.Entry, error) {
	got, err := f.Store.Journal(ctx, ref)
	if len(got) == 0 {
		got = nil
	}
	return got, err
}

// txFault wraps the transactions of the store.
type txFault struct {
	*memory.Store
	wrap func(record.Tx) record.Tx
}

func (f txFault) InTx(ctx context.Context, fn func(ctx context.Context, tx record.Tx) error) error {
	return f.Store.InTx(ctx, func(ctx context.Context, tx record.Tx) error { return fn(ctx, f.wrap(tx)) })
}

// updateFault updates whatever version is stored.
type updateFault struct{ record.Tx }

func (f updateFault) Update(ctx context.Context, rec *record.Record) error {
	if cur, err := f.Tx.Get(ctx, rec.Ref()); err == nil {
		rec.Version = cur.Version
	}
	return f.Tx.Update(ctx, rec)
}

// timersFault saves timers one by one, keeping those before a refused
// one.
type timersFault struct{ record.Tx }

func (f timersFault) PutTimers(ctx context.Context, timers ...record.TimerRecord) error {
	for _, t := range timers {
		if err := f.Tx.PutTimers(ctx, t); err != nil {
			return err
		}
	}
	return nil
}

// claimFault claims as if an hour had passed since its last claim, so
// that leases never hold.
type claimFault struct {
	*memory.Store
	calls atomic.Int64
}

func (f *claimFault) Claim(ctx context.Context, consumer string, now time.Time, lease time.Duration, limit int) ([]record.Message, error) {
	if !now.IsZero() {
		now = now.Add(time.Duration(f.calls.Add(1)) * time.Hour)
	}
	return f.Store.Claim(ctx, consumer, now, lease, limit)
}

// dueFault returns one timer too many.
type dueFault struct{ *memory.Store }

func (f dueFault) TimersDue(ctx context.Context, before time.Time, limit int) ([]record.TimerRecord, error) {
	if limit > 0 {
		limit++
	}
	return f.Store.TimersDue(ctx, before, limit)
}
