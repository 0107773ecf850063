package main

import (
	"bytes"
	"os"
	"regexp"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestRun(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	require.NoError(t, run(&out))
	require.Contains(t, out.String(), "A high-impact, medium-urgency outage is P2 (high).")
	require.Contains(t, out.String(), "refused: itsm: cannot start ticket in state new: missing assignee")
	require.Contains(t, out.String(), `"closed" is terminal: true`)
}

// The README shows the quickstart's lifecycle; this keeps the picture true.
func TestREADMEShowsTheLifecycle(t *testing.T) {
	t.Parallel()
	readme, err := os.ReadFile("../../README.md")
	require.NoError(t, err)
	m := regexp.MustCompile("(?s)```mermaid\n(.*?)```").FindSubmatch(readme)
	require.NotNil(t, m, "README.md has no mermaid block")
	lc, err := ticketLifecycle()
	require.NoError(t, err)
	require.Equal(t, lc.Mermaid(), string(m[1]))
}
