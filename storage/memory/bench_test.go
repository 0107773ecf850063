package memory_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/itsmkit/itsmkit/itsm"
	"github.com/itsmkit/itsmkit/record"
	"github.com/itsmkit/itsmkit/sla"
	"github.com/itsmkit/itsmkit/storage/memory"
	"github.com/itsmkit/itsmkit/storage/storagetest"
)

// benchSizes are the store sizes every benchmark runs at, to show that a
// call costs about the same at both.
var benchSizes = []int{1000, 100000}

// loaded holds one store per size, loaded by storagetest.LoadRecords
// with storagetest.CustomKind, for the benchmarks that only read.
var loaded struct {
	sync.Mutex
	stores map[int]*memory.Store
	now    time.Time
}

// loadedStore returns the shared store of n records and the instant its
// data is judged at, loading it on first use.
func loadedStore(b *testing.B, n int) (*memory.Store, time.Time) {
	b.Helper()
	loaded.Lock()
	defer loaded.Unlock()
	if s, ok := loaded.stores[n]; ok {
		return s, loaded.now
	}
	s := memory.New()
	now, err := storagetest.LoadRecords(context.Background(), s, storagetest.CustomKind(), n, 1)
	if err != nil {
		b.Fatal(err)
	}
	if loaded.stores == nil {
		loaded.stores = map[int]*memory.Store{}
	}
	loaded.stores[n], loaded.now = s, now
	return s, now
}

// BenchmarkList runs storagetest.BenchmarkList (every filter, the first
// and the twentieth page) at each size.
func BenchmarkList(b *testing.B) {
	for _, n := range benchSizes {
		b.Run(fmt.Sprint("n=", n), func(b *testing.B) {
			s, now := loadedStore(b, n)
			storagetest.BenchmarkList(b, s, storagetest.CustomKind(), now)
		})
	}
}

// BenchmarkTimersDue reads the first 100 timers due an hour after the
// instant the data is judged at, and a year later, when every open timer
// is due.
func BenchmarkTimersDue(b *testing.B) {
	for _, n := range benchSizes {
		b.Run(fmt.Sprint("n=", n), func(b *testing.B) {
			s, now := loadedStore(b, n)
			for _, at := range []struct {
				name string
				t    time.Time
			}{{"hour", now.Add(time.Hour)}, {"year", now.AddDate(1, 0, 0)}} {
				b.Run(at.name, func(b *testing.B) {
					ctx := b.Context()
					b.ReportAllocs()
					for b.Loop() {
						if _, err := s.TimersDue(ctx, at.t, 100); err != nil {
							b.Fatal(err)
						}
					}
				})
			}
		})
	}
}

// BenchmarkCreate measures one transaction that opens a record the way a
// service does (number, create, two timers, event) on a store of n
// records, which grows with every iteration.
func BenchmarkCreate(b *testing.B) {
	schema := storagetest.CustomKind()
	for _, n := range benchSizes {
		// A store of its own, loaded once, as the benchmark adds to it.
		s := memory.New()
		now, err := storagetest.LoadRecords(b.Context(), s, schema, n, 2)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(fmt.Sprint("n=", n), func(b *testing.B) {
			ctx := b.Context()
			cal := sla.AlwaysOpen(time.UTC)
			actor := itsm.Actor{ID: "bench"}
			numbering := record.Numbering{Prefix: "BENCH", Digits: 9}
			b.ReportAllocs()
			for b.Loop() {
				err := s.InTx(ctx, func(ctx context.Context, tx record.Tx) error {
					seq, err := tx.NextNumber(ctx, schema.Kind())
					if err != nil {
						return err
					}
					rec := &record.Record{
						Header: record.Header{
							Kind: schema.Kind(), ID: fmt.Sprint("bench-", seq), Number: numbering.Format(seq),
							Title: "Badge reader broken", State: "requested", StateCategory: itsm.CategoryNew,
							Priority: itsm.PriorityHigh, Requester: actor, AssignmentGroup: "field-service",
							OpenedAt: now, UpdatedAt: now,
						},
						Attrs: map[string]record.Value{"site": record.Text("north")},
					}
					if err := tx.Create(ctx, rec); err != nil {
						return err
					}
					var timers []record.TimerRecord
					for _, m := range []sla.Metric{sla.MetricResponse, sla.MetricResolution} {
						tm, err := sla.NewTimer(cal, sla.BusinessTime(4*time.Hour), nil, "gold", m, itsm.PriorityHigh)
						if err != nil {
							return err
						}
						if err := tm.Start(now); err != nil {
							return err
						}
						timers = append(timers, record.NewTimerRecord(rec.Ref(), "gold/"+string(m), sla.KindSLA, tm, now))
					}
					if err := tx.PutTimers(ctx, timers...); err != nil {
						return err
					}
					return tx.AppendEvents(ctx, itsm.Event{Kind: rec.Kind, RecordID: rec.ID, Actor: actor, At: now, Action: "open", To: rec.State})
				})
				if err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
