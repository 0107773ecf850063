package postgres_test

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/itsmkit/itsmkit/itsm"
	"github.com/itsmkit/itsmkit/record"
	"github.com/itsmkit/itsmkit/sla"
	"github.com/itsmkit/itsmkit/storage/postgres"
	"github.com/itsmkit/itsmkit/storage/storagetest"
)

// opener runs the transaction a practice's service runs to open a record,
// as the incident service opens an incident: NextNumber, Create of the
// record, PutTimers of its two SLA timers and AppendEvents of its audit
// event, in one InTx.
type opener struct {
	s         *postgres.Store
	n         atomic.Int64
	resp, res *sla.Timer
}

func newOpener(b testing.TB, s *postgres.Store) *opener {
	b.Helper()
	mk := func(m sla.Metric, target time.Duration) *sla.Timer {
		tm, err := sla.NewTimer(sla.AlwaysOpen(time.UTC), sla.BusinessTime(target), nil, "gold", m, itsm.PriorityHigh)
		if err != nil {
			b.Fatal(err)
		}
		if err := tm.Start(t0); err != nil {
			b.Fatal(err)
		}
		return tm
	}
	return &opener{s: s, resp: mk(sla.MetricResponse, 30*time.Minute), res: mk(sla.MetricResolution, 8*time.Hour)}
}

// open opens one record in a transaction of its own.
func (o *opener) open(ctx context.Context) error {
	return o.s.InTx(ctx, o.openIn)
}

// openIn opens one record in tx.
func (o *opener) openIn(ctx context.Context, tx record.Tx) error {
	id := "inc-" + strconv.FormatInt(o.n.Add(1), 10)
	n, err := tx.NextNumber(ctx, ticketKind)
	if err != nil {
		return err
	}
	rec := &record.Record{Header: record.Header{
		Kind: ticketKind, ID: id, Number: fmt.Sprintf("TKT%07d", n), Title: "Mail is down",
		Description: "Nobody can send mail", State: "new", StateCategory: itsm.CategoryNew,
		Impact: itsm.ImpactMedium, Urgency: itsm.UrgencyHigh, Priority: itsm.PriorityHigh,
		Requester: agent, Service: "email", OpenedAt: t0, UpdatedAt: t0,
	}, Attrs: map[string]record.Value{"site": record.Text("north")},
		Body: []byte(`{"priority_overridden":false,"hold_reason":"","resolution_code":"","resolution_notes":"","cancel_reason":"","reopen_count":0}`)}
	if err := tx.Create(ctx, rec); err != nil {
		return err
	}
	ref := rec.Ref()
	if err := tx.PutTimers(ctx, record.NewTimerRecord(ref, "gold/response", sla.KindSLA, o.resp, t0),
		record.NewTimerRecord(ref, "gold/resolution", sla.KindSLA, o.res, t0)); err != nil {
		return err
	}
	return tx.AppendEvents(ctx, itsm.Event{Kind: ticketKind, RecordID: id, Actor: agent, At: t0, Action: "open", To: "new",
		Changes: []itsm.Change{{Field: "title", New: "Mail is down"}}})
}

// floorInsert creates a floor table in s's schema and returns a function
// that inserts one row into it in its own transaction: the least a
// durable write costs on the database.
func floorInsert(b testing.TB, s *postgres.Store) func(context.Context) error {
	ctx := context.Background()
	table := s.Schema() + ".floor"
	if _, err := s.Pool().Exec(ctx, "CREATE TABLE "+table+" (id text PRIMARY KEY, title text NOT NULL)"); err != nil {
		b.Fatal(err)
	}
	insert := "INSERT INTO " + table + " (id, title) VALUES ($1, $2)"
	var n atomic.Int64
	return func(ctx context.Context) error {
		tx, err := s.Pool().Begin(ctx)
		if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, insert, strconv.FormatInt(n.Add(1), 10), "Mail is down"); err != nil {
			_ = tx.Rollback(ctx)
			return err
		}
		return tx.Commit(ctx)
	}
}

// warmUp fills s with a few thousand records the way opener opens them,
// and floor's table with as many rows, and then analyzes the schema, so
// that a benchmark measures a database in the steady state autovacuum
// keeps: with statistics that show tables large enough for their unique
// indexes to be read, rather than tables planned while empty or tiny
// (whose cached plans would scan them as they grow).
func warmUp(b testing.TB, s *postgres.Store, o *opener, floor func(context.Context) error) {
	b.Helper()
	ctx := context.Background()
	const records, perTx = 3000, 100
	for range records / perTx {
		err := s.InTx(ctx, func(ctx context.Context, tx record.Tx) error {
			for range perTx {
				if err := o.openIn(ctx, tx); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	for range 200 {
		if err := floor(ctx); err != nil {
			b.Fatal(err)
		}
	}
	if _, err := s.Pool().Exec(ctx, "ANALYZE "+s.Schema()+".records, "+s.Schema()+".sla_timers, "+s.Schema()+".audit_heads, "+
		s.Schema()+".audit_events, "+s.Schema()+".outbox, "+s.Schema()+".floor"); err != nil {
		b.Fatal(err)
	}
}

// BenchmarkOpenVsFloor runs one open and one floor INSERT per iteration
// on the same database and pool, and reports the mean time of each and
// their ratio (see storagetest.BenchmarkAgainstFloor).
func BenchmarkOpenVsFloor(b *testing.B) {
	s := newStore(b)
	o := newOpener(b, s)
	floor := floorInsert(b, s)
	warmUp(b, s, o, floor)
	storagetest.BenchmarkAgainstFloor(b, o.open, floor)
}

// BenchmarkOpenConcurrent measures the throughput of opens with one and
// with eight concurrent writers, each on a connection of its own, against
// that of the floor (concurrent one-row INSERTs, each in its own
// transaction) on the same database: see storagetest.BenchmarkThroughput.
func BenchmarkOpenConcurrent(b *testing.B) {
	for _, writers := range []int{1, 8} {
		b.Run("writers="+strconv.Itoa(writers), func(b *testing.B) {
			s := newStore(b, postgres.WithPoolConfig(func(c *pgxpool.Config) { c.MaxConns = int32(writers + 1) }))
			o := newOpener(b, s)
			floor := floorInsert(b, s)
			warmUp(b, s, o, floor)
			storagetest.BenchmarkThroughput(b, writers, o.open, floor)
		})
	}
}

// benchRecords returns how many records BenchmarkList loads: the
// ITSM_BENCH_RECORDS environment variable, 10 000 when it is unset.
func benchRecords(b *testing.B) int {
	v := os.Getenv("ITSM_BENCH_RECORDS")
	if v == "" {
		return 10_000
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 {
		b.Fatalf("ITSM_BENCH_RECORDS=%q is not a number of records", v)
	}
	return n
}

// listBench is the store BenchmarkList loads once per process, in a
// schema TestMain drops at the end.
var listBench struct {
	once   sync.Once
	store  *postgres.Store
	schema *record.Schema
	now    time.Time
	err    error
}

// loadAnalyzed runs storagetest.LoadRecords of n records and, while it
// loads, analyzes the schema's tables every few seconds: on a server
// without autovacuum the tables would never get statistics, and the plans
// pgx caches per connection would stay those made while the tables were
// nearly empty, which read a kind's index where the primary key serves
// (every Create would then scan the kind's records).
func loadAnalyzed(ctx context.Context, s *postgres.Store, schema *record.Schema, n int) (time.Time, error) {
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		tick := time.NewTicker(3 * time.Second)
		defer tick.Stop()
		for {
			select {
			case <-done:
				return
			case <-tick.C:
				_, _ = s.Pool().Exec(ctx, "ANALYZE "+s.Schema()+".records, "+s.Schema()+".sla_timers, "+s.Schema()+".audit_heads")
			}
		}
	})
	now, err := storagetest.LoadRecords(ctx, s, schema, n, 1)
	close(done)
	wg.Wait()
	return now, err
}

// BenchmarkList runs storagetest.BenchmarkList (every filter, the first
// page and the twentieth) over ITSM_BENCH_RECORDS records of the suite's
// custom kind, loaded with storagetest.LoadRecords into a schema made
// once per process and analyzed.
func BenchmarkList(b *testing.B) {
	url := testURL(b)
	n := benchRecords(b)
	lb := &listBench
	lb.once.Do(func() {
		ctx := context.Background()
		schema := newSchemaName()
		benchSchemas = append(benchSchemas, schema)
		s, err := postgres.Open(ctx, url, postgres.WithSchema(schema))
		if err == nil {
			err = s.Migrate(ctx)
		}
		if err == nil {
			lb.schema = storagetest.CustomKind()
			lb.now, err = loadAnalyzed(ctx, s, lb.schema, n)
		}
		if err == nil {
			_, err = s.Pool().Exec(ctx, "ANALYZE "+schema+".records, "+schema+".sla_timers, "+schema+".record_config_items")
		}
		lb.store, lb.err = s, err
	})
	if lb.err != nil {
		b.Fatal(lb.err)
	}
	storagetest.BenchmarkList(b, lb.store, lb.schema, lb.now)
}
