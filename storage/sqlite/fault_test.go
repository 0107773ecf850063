package sqlite_test

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/itsmkit/itsmkit/incident"
	"github.com/itsmkit/itsmkit/itsm"
	"github.com/itsmkit/itsmkit/sla"
	"github.com/itsmkit/itsmkit/storage/sqlite"
)

// faultEnv names the database file TestHelperWriter writes to; the helper
// does nothing unless it is set.
const faultEnv = "ITSMKIT_SQLITE_FAULT_DB"

// TestHelperWriter is the child process of TestFaultKillWriter: it opens
// incidents and comments on them, one transaction each, until it is
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
	pol, err := sla.ParsePolicy([]byte(standardPolicy), nil)
	if err != nil {
		os.Exit(2)
	}
	svc, err := incident.NewService(s, incident.Config{Policies: incident.Policies{List: []*sla.Policy{pol}}})
	if err != nil {
		os.Exit(2)
	}
	for i := 0; ; i++ {
		inc, err := svc.Open(ctx, agent, incident.OpenInput{Title: fmt.Sprint("Crash test ", i), Impact: itsm.ImpactLow, Urgency: itsm.UrgencyLow})
		if err != nil {
			fmt.Fprintln(os.Stderr, "open incident:", err)
			os.Exit(3)
		}
		fmt.Printf("ACK %s %d\n", inc.ID, inc.Version)
		inc, err = svc.AddComment(ctx, agent, inc.ID, "still burning")
		if err != nil {
			fmt.Fprintln(os.Stderr, "comment:", err)
			os.Exit(3)
		}
		fmt.Printf("ACK %s %d\n", inc.ID, inc.Version)
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
	for id, v := range acked {
		inc, err := s.Get(t.Context(), id)
		require.NoError(t, err, "acknowledged incident %s is lost", id)
		require.GreaterOrEqual(t, inc.Version, v, "acknowledged change of %s is lost", id)
		timers, err := s.Timers(t.Context(), id)
		require.NoError(t, err)
		require.Len(t, timers, 2, "incident %s lost its timers", id)
	}
	tx, err := s.BeginTx(t.Context())
	require.NoError(t, err)
	var check string
	require.NoError(t, tx.QueryRowContext(t.Context(), "PRAGMA integrity_check").Scan(&check))
	require.NoError(t, tx.Rollback())
	require.Equal(t, "ok", check)
	require.NoError(t, s.VerifyAuditTrail(t.Context()))
	stored := count(t, s, "SELECT count(*) FROM incidents")
	require.GreaterOrEqual(t, stored, len(acked))
	t.Logf("%d acknowledged commits over %d incidents survived SIGKILL (%d incidents stored); integrity_check: %s",
		n, len(acked), stored, check)
}
