package sla_test

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/itsmkit/itsmkit/internal/slagolden"
	"github.com/itsmkit/itsmkit/sla"
)

// The golden timer scenarios of internal/slagolden: one scenario per
// line, each a calendar (or a 24×7 zone), a timer, a history of events
// and queries of the timer's status at given instants with the expected
// Status. storage/storagetest runs the same scenarios through a store.

// checkScenarioQueries checks every query of sc against tm and returns
// the number checked.
func checkScenarioQueries(t *testing.T, label string, sc *slagolden.Scenario, tm *sla.Timer) int {
	t.Helper()
	for qi, q := range sc.Queries {
		cycles := tm.Cycles(q.At)
		got := tm.Status(q.At)
		var prior []sla.Status
		if len(cycles) > 0 {
			prior = cycles[:len(cycles)-1]
			if !reflect.DeepEqual(cycles[len(cycles)-1], got) {
				t.Errorf("%s query %d at %s: the last of Cycles is %+v, Status is %+v", label, qi, q.At.Format(time.RFC3339Nano), cycles[len(cycles)-1], got)
			}
		}
		for _, d := range slagolden.StatusDiffs(q.Want, got, prior) {
			t.Errorf("%s query %d at %s: %s", label, qi, q.At.Format(time.RFC3339Nano), d)
		}
	}
	return len(sc.Queries)
}

func TestTimerScenarios(t *testing.T) {
	t.Parallel()
	scenarios, err := slagolden.Scenarios()
	require.NoError(t, err)
	require.Len(t, scenarios, 200)
	queries := 0
	for i := range scenarios {
		queries += len(scenarios[i].Queries)
	}
	require.Equal(t, 2198, queries)
	for i := range scenarios {
		sc := &scenarios[i]
		t.Run(sc.ID, func(t *testing.T) {
			t.Parallel()
			cal, err := sc.NewCalendar()
			require.NoError(t, err, "calendar")
			tm, err := sc.NewTimer(cal)
			require.NoError(t, err, "no scenario expects an event to be refused")
			checkScenarioQueries(t, "replayed", sc, tm)

			// The timer survives a JSON round trip: same history, same
			// statuses once bound to its calendar.
			b, err := json.Marshal(tm)
			require.NoError(t, err)
			var back sla.Timer
			require.NoError(t, json.Unmarshal(b, &back), "%s", b)
			require.NoError(t, back.Bind(sla.Calendars{cal.Name(): cal}))
			require.Equal(t, tm.Events(), back.Events())
			checkScenarioQueries(t, "after JSON", sc, &back)
			for _, q := range sc.Queries {
				require.Equal(t, tm.Cycles(q.At), back.Cycles(q.At), "cycles at %s after JSON", q.At)
			}
		})
	}
}
