package incident_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/itsmkit/itsmkit/incident"
	"github.com/itsmkit/itsmkit/itsm"
)

func TestCursor(t *testing.T) {
	t.Parallel()
	at := time.Date(2026, 11, 20, 15, 0, 0, 123000, time.UTC)
	inc := &incident.Incident{ID: "b", OpenedAt: at}
	c := incident.CursorAfter(inc)
	back, err := incident.ParseCursor(c.String())
	require.NoError(t, err)
	require.Equal(t, c, back)

	require.False(t, c.Precedes(inc), "a cursor does not precede its own incident")
	require.True(t, c.Precedes(&incident.Incident{ID: "c", OpenedAt: at}), "same instant, later ID")
	require.False(t, c.Precedes(&incident.Incident{ID: "a", OpenedAt: at}))
	require.True(t, c.Precedes(&incident.Incident{ID: "a", OpenedAt: at.Add(time.Microsecond)}))
	require.False(t, c.Precedes(&incident.Incident{ID: "z", OpenedAt: at.Add(-time.Microsecond)}))

	for _, bad := range []string{"", "!!", "bm90LWEtY3Vyc29y", "MTIzOg", "eDph"} {
		_, err := incident.ParseCursor(bad)
		require.ErrorIs(t, err, itsm.ErrValidation, "cursor %q", bad)
	}
}

func TestPageSize(t *testing.T) {
	t.Parallel()
	require.Equal(t, incident.DefaultPageSize, incident.Query{}.PageSize())
	require.Equal(t, incident.DefaultPageSize, incident.Query{Limit: -3}.PageSize())
	require.Equal(t, 7, incident.Query{Limit: 7}.PageSize())
	require.Equal(t, incident.MaxPageSize, incident.Query{Limit: 10_000}.PageSize())
}

func TestNewPage(t *testing.T) {
	t.Parallel()
	at := time.Date(2026, 11, 20, 15, 0, 0, 0, time.UTC)
	var incs []*incident.Incident
	for i := range 3 {
		incs = append(incs, &incident.Incident{ID: string(rune('a' + i)), OpenedAt: at})
	}
	q := incident.Query{Limit: 2}
	page := incident.NewPage(q, incs)
	require.Equal(t, incs[:2], page.Incidents, "the extra incident only says a next page exists")
	require.Equal(t, incident.CursorAfter(incs[1]).String(), page.Next)

	last := incident.NewPage(q, incs[:2])
	require.Equal(t, incs[:2], last.Incidents)
	require.Empty(t, last.Next, "a full last page has no next cursor")
	require.Empty(t, incident.NewPage(q, nil).Incidents)
	require.Empty(t, incident.NewPage(q, nil).Next)
}

func FuzzParseCursor(f *testing.F) {
	f.Add(incident.CursorAfter(&incident.Incident{ID: "x", OpenedAt: time.Unix(1, 0)}).String())
	f.Add("")
	f.Add("LTE6eA")
	f.Fuzz(func(t *testing.T, s string) {
		c, err := incident.ParseCursor(s)
		if err != nil {
			require.ErrorIs(t, err, itsm.ErrValidation)
			return
		}
		require.NotEmpty(t, c.ID)
		again, err := incident.ParseCursor(c.String())
		require.NoError(t, err)
		require.Equal(t, c, again)
	})
}

func TestValidateStoreInput(t *testing.T) {
	t.Parallel()
	var ve *itsm.ValidationError
	require.ErrorAs(t, incident.ValidateKeys(nil), &ve)
	require.ErrorAs(t, incident.ValidateKeys(&incident.Incident{}), &ve)
	require.True(t, ve.Has("id"))
	require.True(t, ve.Has("number"))
	require.NoError(t, incident.ValidateKeys(&incident.Incident{ID: "1", Number: "INC1"}))

	require.NoError(t, incident.ValidateTimerRecords(nil))
	require.ErrorAs(t, incident.ValidateTimerRecords([]incident.TimerRecord{{}}), &ve)
	require.True(t, ve.Has("[0].id"))
	require.True(t, ve.Has("[0].incident_id"))
	require.True(t, ve.Has("[0].timer"))
}
