package sqlite_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/itsmkit/itsmkit/record"
	"github.com/itsmkit/itsmkit/storage/sqlite"
	"github.com/itsmkit/itsmkit/storage/storagetest"
)

// BenchmarkOpen measures the transaction an incident service runs to open
// an incident, on a durable file database (the defaults: WAL,
// synchronous=FULL): NextNumber, Create, PutTimers of two SLA timers and
// AppendEvents of one audit event (with its outbox message), in one InTx.
func BenchmarkOpen(b *testing.B) {
	open := openOp(b, openWarm(b))
	ctx := b.Context()
	b.ReportAllocs()
	for b.Loop() {
		if err := open(ctx); err != nil {
			b.Fatal(err)
		}
	}
}

// openOp returns the Open transaction of BenchmarkOpen on s, each call
// opening the next record a second later.
func openOp(b *testing.B, s *sqlite.Store) func(context.Context) error {
	// The kind as an incident service declares it: no filterable
	// attribute, whose index would hold every record.
	def := ticketSchema.Def()
	def.Attributes = nil
	require.NoError(b, s.Declare(b.Context(), record.MustNewSchema(def)))
	at := testStart
	return func(ctx context.Context) error {
		at = at.Add(time.Second)
		return s.InTx(ctx, func(ctx context.Context, tx record.Tx) error {
			_, err := openTicket(ctx, b, tx, "Mail relay down", at)
			return err
		})
	}
}

// openWarm opens a store on a new file, as openTemp does, and brings its
// write-ahead log to full size first: one transaction fills the log past
// the checkpoint size, and a checkpoint then restarts it. Until a log has
// wrapped once, every commit lengthens the file, and syncing a longer file
// costs more (the file system records its size too), which would
// penalize whichever benchmark writes fewer pages per commit. A service
// that has run for a while writes into a log of full size.
func openWarm(b *testing.B) *sqlite.Store {
	s, _ := openFresh(b)
	ctx := b.Context()
	tx, err := s.BeginTx(ctx)
	require.NoError(b, err)
	_, err = tx.ExecContext(ctx, "CREATE TABLE warm (b BLOB NOT NULL)")
	require.NoError(b, err)
	_, err = tx.ExecContext(ctx, `WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?)
		INSERT INTO warm SELECT zeroblob(3000) FROM n`, sqlite.DefaultAutoCheckpoint+100)
	require.NoError(b, err)
	_, err = tx.ExecContext(ctx, "DROP TABLE warm")
	require.NoError(b, err)
	require.NoError(b, tx.Commit())
	return s
}

// BenchmarkOpenVsFloor runs one Open (see BenchmarkOpen) and one floor
// INSERT per iteration, each on its own database file with the same
// settings, and reports the mean time of each and their ratio (see
// storagetest.BenchmarkAgainstFloor).
func BenchmarkOpenVsFloor(b *testing.B) {
	s, f := openWarm(b), openWarm(b)
	storagetest.BenchmarkAgainstFloor(b, openOp(b, s), floorInsert(b, f))
}

// BenchmarkInsertFloor measures the least a durable write costs on the
// same database settings: one single-row INSERT in its own transaction,
// through the store's writer connection.
func BenchmarkInsertFloor(b *testing.B) {
	insert := floorInsert(b, openWarm(b))
	ctx := b.Context()
	b.ReportAllocs()
	for b.Loop() {
		if err := insert(ctx); err != nil {
			b.Fatal(err)
		}
	}
}

// floorInsert creates the floor table in s and returns a function that
// inserts one row into it in its own transaction.
func floorInsert(b *testing.B, s *sqlite.Store) func(context.Context) error {
	ctx := b.Context()
	tx, err := s.BeginTx(ctx)
	require.NoError(b, err)
	_, err = tx.ExecContext(ctx, "CREATE TABLE floor (id INTEGER PRIMARY KEY, title TEXT NOT NULL)")
	require.NoError(b, err)
	require.NoError(b, tx.Commit())
	return func(ctx context.Context) error {
		tx, err := s.BeginTx(ctx)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, "INSERT INTO floor (title) VALUES (?)", "Mail relay down"); err != nil {
			_ = tx.Rollback()
			return err
		}
		return tx.Commit()
	}
}

// benchRecordsEnv sets how many records BenchmarkList loads; default
// defaultBenchRecords, so that a one-iteration pass stays fast.
const (
	benchRecordsEnv     = "ITSM_BENCH_RECORDS"
	defaultBenchRecords = 10_000
)

// listDB is the database BenchmarkList reads, loaded once per process
// (the sub-benchmarks and every -count run share it) and removed by
// TestMain.
var listDB struct {
	once  sync.Once
	dir   string
	store *sqlite.Store
	now   time.Time
	err   error
}

// loadListDB loads the database of BenchmarkList.
func loadListDB(b *testing.B) (*sqlite.Store, time.Time) {
	listDB.once.Do(func() {
		n := defaultBenchRecords
		if v := os.Getenv(benchRecordsEnv); v != "" {
			if n, listDB.err = strconv.Atoi(v); listDB.err != nil {
				return
			}
		}
		if listDB.dir, listDB.err = os.MkdirTemp("", "itsmkit-sqlite-bench"); listDB.err != nil {
			return
		}
		// The load need not survive a power loss: sync at checkpoints.
		ctx := context.Background()
		s, err := sqlite.Open(ctx, filepath.Join(listDB.dir, "list.db"), sqlite.WithSync(sqlite.SyncNormal))
		if err != nil {
			listDB.err = err
			return
		}
		began := time.Now()
		listDB.now, listDB.err = storagetest.LoadRecords(ctx, s, storagetest.CustomKind(), n, 1)
		listDB.store = s
		fmt.Fprintf(os.Stderr, "BenchmarkList: loaded %d records in %s\n", n, time.Since(began).Round(time.Millisecond))
	})
	require.NoError(b, listDB.err)
	return listDB.store, listDB.now
}

// BenchmarkList runs storagetest.BenchmarkList over ITSM_BENCH_RECORDS
// records (default 10,000) of storagetest.CustomKind, loaded with
// storagetest.LoadRecords once per process.
func BenchmarkList(b *testing.B) {
	s, now := loadListDB(b)
	storagetest.BenchmarkList(b, s, storagetest.CustomKind(), now)
}

// TestMain removes the database of BenchmarkList after the run.
func TestMain(m *testing.M) {
	code := m.Run()
	if listDB.store != nil {
		_ = listDB.store.Close()
	}
	if listDB.dir != "" {
		_ = os.RemoveAll(listDB.dir)
	}
	os.Exit(code)
}
