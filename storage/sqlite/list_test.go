package sqlite_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/itsmkit/itsmkit/incident"
)

// The text filter agrees with incident.Query.Match beyond ASCII, and takes
// LIKE's wildcards literally.
func TestListTextFilterMatchesQueryMatch(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	s, _ := openTemp(t)
	titles := []string{"100% uptime", "under_score", "ÉCRAN noir", "Straße gesperrt", "Ωmega down", "plain", `back\slash`}
	var incs []*incident.Incident
	require.NoError(t, s.InTx(ctx, func(ctx context.Context, tx incident.Tx) error {
		for i, title := range titles {
			at := testStart.Add(time.Duration(i) * time.Minute)
			inc := &incident.Incident{ID: fmt.Sprintf("inc-%d", i), Number: fmt.Sprintf("INC%07d", i), Title: title,
				State: incident.New, OpenedAt: at, UpdatedAt: at}
			if err := tx.Create(ctx, inc); err != nil {
				return err
			}
			incs = append(incs, inc)
		}
		return nil
	}))
	for _, text := range []string{"%", "_", "écran", "ÉCRAN", "straße", "ωMEGA", "\\", "e_s", "100%", "INC000000", "zzz"} {
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
	}
}
