package sqlite_test

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/itsmkit/itsmkit/itsm"
	"github.com/itsmkit/itsmkit/record"
	"github.com/itsmkit/itsmkit/storage/sqlite"
)

// faultEnv names the database file TestHelperWriter writes to; the helper
// does nothing unless it is set.
const faultEnv = "ITSMKIT_SQLITE_FAULT_DB"

// TestHelperWriter is the child process of TestFaultKillWriter: it opens
// tickets and comments on them, one transaction each, until it is
// killed, and prints "ACK <id> <version>" after each commit returns.
func TestHelperWriter(t *testing.T) {
	path := os.Getenv(faultEnv)
	if path == "" {
		t.Skip("helper process of TestFaultKillWriter")
	}
	ctx := t.Context()
	s, err := sqlite.Open(ctx, path)
	if err != nil {
		fmt.Fprintln(os.Stderr, "open:", err)
		os.Exit(2)
	}
	if err := s.Declare(ctx, ticketSchema); err != nil {
		fmt.Fprintln(os.Stderr, "declare:", err)
		os.Exit(2)
	}
	for i := 0; ; i++ {
		at := testStart.Add(time.Duration(i) * time.Second)
		var rec *record.Record
		err := s.InTx(ctx, func(ctx context.Context, tx record.Tx) (err error) {
			rec, err = openTicket(ctx, t, tx, fmt.Sprint("Crash test ", i), at)
			return err
		})
		if err != nil {
			fmt.Fprintln(os.Stderr, "open ticket:", err)
			os.Exit(3)
		}
		fmt.Printf("ACK %s %d\n", rec.ID, rec.Version)
		err = s.InTx(ctx, func(ctx context.Context, tx record.Tx) error {
			rec.UpdatedAt = at.Add(time.Millisecond)
			if err := tx.Update(ctx, rec); err != nil {
				return err
			}
			if err := tx.AppendJournal(ctx, rec.Ref(), record.Entry{Kind: record.Comment, Author: agent.ID, At: rec.UpdatedAt, Text: "still burning"}); err != nil {
				return err
			}
			return tx.AppendEvents(ctx, itsm.Event{Kind: rec.Kind, RecordID: rec.ID, Actor: agent, At: rec.UpdatedAt, Action: "comment"})
		})
		if err != nil {
			fmt.Fprintln(os.Stderr, "comment:", err)
			os.Exit(3)
		}
		fmt.Printf("ACK %s %d\n", rec.ID, rec.Version)
	}
}

// TestFaultKillWriter kills a writing process with SIGKILL and checks that
// every commit it acknowledged survived, and that the database is intact.
func TestFaultKillWriter(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a child process")
	}
	t.Parallel()
	const wantAcks = 300
	path := filepath.Join(t.TempDir(), "fault.db")
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperWriter$", "-test.count=1")
	cmd.Env = append(os.Environ(), faultEnv+"="+path)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())

	acked := make(map[string]int64)
	n := 0
	sc := bufio.NewScanner(out)
	for n < wantAcks && sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) != 3 || f[0] != "ACK" {
			continue
		}
		v, err := strconv.ParseInt(f[2], 10, 64)
		require.NoError(t, err)
		acked[f[1]] = max(acked[f[1]], v)
		n++
	}
	require.NoError(t, cmd.Process.Signal(syscall.SIGKILL))
	err = cmd.Wait()
	require.Equalf(t, wantAcks, n, "the writer stopped early: %v\n%s", err, stderr.String())
	var ee *exec.ExitError
	require.ErrorAs(t, err, &ee)
	ws, ok := ee.Sys().(syscall.WaitStatus)
	require.True(t, ok)
	require.True(t, ws.Signaled(), "the writer must die of the signal: %v", err)
	require.Equal(t, syscall.SIGKILL, ws.Signal())

	s, err := sqlite.Open(t.Context(), path)
	require.NoError(t, err)
	defer s.Close()
	require.NoError(t, s.Declare(t.Context(), ticketSchema))
	for id, v := range acked {
		ref := record.Ref{Kind: "incident", ID: id}
		rec, err := s.Get(t.Context(), ref)
		require.NoError(t, err, "acknowledged record %s is lost", id)
		require.GreaterOrEqual(t, rec.Version, v, "acknowledged change of %s is lost", id)
		require.Len(t, rec.SLA, 2, "record %s lost its SLA summary", id)
		timers, err := s.Timers(t.Context(), ref)
		require.NoError(t, err)
		require.Len(t, timers, 2, "record %s lost its timers", id)
	}
	tx, err := s.BeginTx(t.Context())
	require.NoError(t, err)
	var check string
	require.NoError(t, tx.QueryRowContext(t.Context(), "PRAGMA integrity_check").Scan(&check))
	require.NoError(t, tx.Rollback())
	require.Equal(t, "ok", check)
	require.NoError(t, s.VerifyAuditTrail(t.Context()))
	stored := count(t, s, "SELECT count(*) FROM records")
	require.GreaterOrEqual(t, stored, len(acked))
	events := count(t, s, "SELECT count(*) FROM audit_events")
	require.Equal(t, events, count(t, s, "SELECT count(*) FROM outbox"), "every event has its outbox message")
	t.Logf("%d acknowledged commits over %d records survived SIGKILL (%d records stored); integrity_check: %s",
		n, len(acked), stored, check)
}
