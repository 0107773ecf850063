package postgres_test

import (
	"context"
	"flag"
	"fmt"
	"os"
	"testing"

	"github.com/jackc/pgx/v5"
)

// benchSchemas are schemas made once per process (see BenchmarkList),
// which TestMain drops when the tests and benchmarks are done.
var benchSchemas []string

// TestMain skips the examples, which need a database, when
// ITSM_TEST_POSTGRES_URL is not set (the tests skip themselves), and drops
// the schemas the benchmarks made once per process.
func TestMain(m *testing.M) {
	flag.Parse()
	url := os.Getenv(envURL)
	if url == "" {
		if skip := flag.Lookup("test.skip"); skip != nil && skip.Value.String() == "" {
			_ = skip.Value.Set("^Example")
			fmt.Fprintln(os.Stderr, envURL+" is not set: the PostgreSQL examples and tests are skipped")
		}
	}
	code := m.Run()
	if listBench.store != nil {
		listBench.store.Close()
	}
	if len(benchSchemas) > 0 {
		ctx := context.Background()
		if conn, err := pgx.Connect(ctx, url); err == nil {
			for _, schema := range benchSchemas {
				if _, err := conn.Exec(ctx, "DROP SCHEMA IF EXISTS "+schema+" CASCADE"); err != nil {
					fmt.Fprintf(os.Stderr, "drop schema %s: %v\n", schema, err)
				}
			}
			_ = conn.Close(ctx)
		}
	}
	os.Exit(code)
}
