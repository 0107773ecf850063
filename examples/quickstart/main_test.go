package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/itsmkit/itsmkit/incident"
	"github.com/itsmkit/itsmkit/record"
	"github.com/itsmkit/itsmkit/storage/memory"
)

// expected holds lines the quickstart must print, whatever the store.
var expected = []string{
	"INC0001001 opened: \"Payroll export fails\", impact medium × urgency high → P2",
	"response met 10m/30m  resolution paused 30m/8h",
	"resolution running 30m/8h due Tue 09:30",
	"auto-close job closed 1            closed",
	" 6 Fri 17:00 system  close     resolved    → closed",
}

func runOn(t *testing.T, store record.Store) string {
	t.Helper()
	var out bytes.Buffer
	require.NoError(t, run(context.Background(), &out, store))
	for _, want := range expected {
		require.Contains(t, out.String(), want)
	}
	return out.String()
}

func TestRunOnSQLite(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "q.db")
	store, where, closeStore, err := openStore(context.Background(), path, "")
	require.NoError(t, err)
	defer closeStore()
	require.Equal(t, "the SQLite file "+path, where)
	sqliteOut := runOn(t, store)
	require.Equal(t, sqliteOut, runOn(t, memory.New()), "every store tells the same story")
}

func TestRunOnPostgres(t *testing.T) {
	url := os.Getenv("ITSM_TEST_POSTGRES_URL")
	if url == "" {
		t.Skip("ITSM_TEST_POSTGRES_URL is not set; skipping the PostgreSQL run")
	}
	store, where, closeStore, err := openStore(context.Background(), "", url)
	require.NoError(t, err)
	defer closeStore()
	require.True(t, strings.HasPrefix(where, "PostgreSQL"))
	runOn(t, store)
}

// The README shows the incident lifecycle; this keeps the picture true.
func TestREADMEShowsTheIncidentLifecycle(t *testing.T) {
	t.Parallel()
	readme, err := os.ReadFile("../../README.md")
	require.NoError(t, err)
	m := regexp.MustCompile("(?s)```mermaid\n(.*?)```").FindSubmatch(readme)
	require.NotNil(t, m, "README.md has no mermaid block")
	require.Equal(t, incident.DefaultLifecycle().Mermaid(), string(m[1]))
}
