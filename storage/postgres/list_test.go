package postgres_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/itsmkit/itsmkit/incident"
)

// TestListTextIsLiteral checks that List's Text filter treats LIKE
// wildcards and the escape character literally, folds case beyond ASCII,
// and agrees with incident.Query.Match.
func TestListTextIsLiteral(t *testing.T) {
	t.Parallel()
	s := newStore(t)
	ctx := t.Context()
	titles := []string{"Disk 50% full", "Disk 500 GB", "a_b broken", "axb broken", `back\slash`, "Überweisung hängt"}
	var incs []*incident.Incident
	for i, title := range titles {
		inc := testIncident(i + 1)
		inc.Title = title
		incs = append(incs, inc)
	}
	require.NoError(t, s.InTx(ctx, func(ctx context.Context, tx incident.Tx) error {
		for _, inc := range incs {
			if err := tx.Create(ctx, inc); err != nil {
				return err
			}
		}
		return nil
	}))
	for _, text := range []string{"50%", "a_b", `k\s`, "%", "_", "üBERWEISUNG HÄNGT", "disk"} {
		q := incident.Query{Text: text}
		var want []string
		for _, inc := range incs {
			if q.Match(inc, nil) {
				want = append(want, inc.ID)
			}
		}
		page, err := s.List(ctx, q)
		require.NoError(t, err)
		var got []string
		for _, inc := range page.Incidents {
			got = append(got, inc.ID)
		}
		require.Equal(t, want, got, "text %q", text)
		require.NotEmpty(t, got, "text %q", text)
	}
}
