package storagetest_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/itsmkit/itsmkit/itsm"
	"github.com/itsmkit/itsmkit/record"
	"github.com/itsmkit/itsmkit/storage/memory"
	"github.com/itsmkit/itsmkit/storage/storagetest"
)

// TestLoadRecords checks the mix LoadRecords stores: every record, most
// of them finished, and open ones breached and at risk at the instant it
// returns.
func TestLoadRecords(t *testing.T) {
	t.Parallel()
	const n = 3000
	s := memory.New()
	schema := storagetest.CustomKind()
	now, err := storagetest.LoadRecords(t.Context(), s, schema, n, 7)
	require.NoError(t, err)
	count := func(q record.Query) int {
		q.Kind, q.Limit = schema.Kind(), record.MaxPageSize
		total := 0
		for {
			page, err := s.List(t.Context(), q)
			require.NoError(t, err)
			total += len(page.Records)
			if page.Next == "" {
				return total
			}
			q.After = page.Next
		}
	}
	require.Equal(t, n, count(record.Query{}))
	open := count(record.Query{StateCategories: []itsm.StateCategory{itsm.CategoryNew, itsm.CategoryActive, itsm.CategoryPending}})
	require.InDelta(t, n/5, open, n/20, "about a fifth of the records are open")
	breached := count(record.Query{SLA: record.SLAFilter{Breached: true}, Now: now})
	atRisk := count(record.Query{SLA: record.SLAFilter{AtRisk: true}, Now: now})
	require.InDelta(t, n/10, breached, n/25, "breached: a quarter of the open and 5 %% of all")
	require.InDelta(t, n/20, atRisk, n/40, "at risk: a quarter of the open")
	children := count(record.Query{Parent: record.Ref{Kind: schema.Kind(), ID: "st-000005"}})
	want := 0
	for i := range n {
		if i%97 == 5 && i != 5 {
			want++
		}
	}
	require.Equal(t, want, children, "every 97th record is a child of the sixth")

	again := memory.New()
	_, err = storagetest.LoadRecords(t.Context(), again, schema, 10, 7)
	require.NoError(t, err)
	a, err := s.Get(t.Context(), record.Ref{Kind: schema.Kind(), ID: "st-000003"})
	require.NoError(t, err)
	b, err := again.Get(t.Context(), record.Ref{Kind: schema.Kind(), ID: "st-000003"})
	require.NoError(t, err)
	require.Equal(t, a.Title, b.Title, "a seed gives the same records")
}

// BenchmarkList runs the List benchmarks over the memory store with
// 20,000 records.
func BenchmarkList(b *testing.B) {
	s := memory.New()
	schema := storagetest.CustomKind()
	now, err := storagetest.LoadRecords(b.Context(), s, schema, 20000, 1)
	require.NoError(b, err)
	storagetest.BenchmarkList(b, s, schema, now)
}
