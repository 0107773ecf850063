package sqlrec

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/itsmkit/itsmkit/record"
)

func TestSplitBy(t *testing.T) {
	q := record.Query{Kind: "ticket", States: []string{"new", "open", "new", "held"}, Limit: 7}
	parts := SplitBy(q, q.States, func(p *record.Query, v string) { p.States = []string{v} })
	require.Len(t, parts, 3, "one part per distinct value")
	for i, want := range []string{"new", "open", "held"} {
		require.Equal(t, []string{want}, parts[i].States)
		require.Equal(t, "ticket", parts[i].Kind)
		require.Equal(t, 7, parts[i].Limit)
	}
	require.Equal(t, []string{"new", "open", "new", "held"}, q.States, "the query itself is unchanged")
}
