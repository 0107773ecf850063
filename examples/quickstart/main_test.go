package main

import (
	"bytes"
	"context"
	"os"
	"regexp"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/itsmkit/itsmkit/incident"
)

func TestRun(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	require.NoError(t, run(context.Background(), &out))
	for _, want := range []string{
		"INC0001001 opened: \"Payroll export fails\", impact medium × urgency high → P2",
		"response met 10m/30m  resolution paused 30m/8h",
		"resolution running 30m/8h due Tue 09:30",
		"auto-close job closed 1            closed",
		" 6 Fri 17:00 system  close     resolved    → closed",
	} {
		require.Contains(t, out.String(), want)
	}
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
