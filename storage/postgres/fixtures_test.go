package postgres_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/itsmkit/itsmkit/itsm"
	"github.com/itsmkit/itsmkit/record"
	"github.com/itsmkit/itsmkit/sla"
)

// t0 is a Monday morning, whole seconds in UTC.
var t0 = time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)

var agent = itsm.Actor{ID: "alice", Name: "Alice", Roles: []itsm.Role{"agent"}}

// ticketKind is the kind the package's own tests store: a small
// lifecycle with every category and two filterable attributes.
const ticketKind = "ticket"

// ticketSchema returns the schema of tickets.
func ticketSchema() *record.Schema {
	return record.MustNewSchema(record.SchemaDef{
		Kind: ticketKind, Prefix: "TKT",
		States: []record.StateDef{
			{Name: "new", Category: itsm.CategoryNew}, {Name: "open", Category: itsm.CategoryActive},
			{Name: "waiting", Category: itsm.CategoryPending}, {Name: "solved", Category: itsm.CategoryResolved},
			{Name: "closed", Category: itsm.CategoryClosed}, {Name: "dropped", Category: itsm.CategoryCancelled},
		},
		Attributes: []record.Attribute{
			{Name: "site", Type: record.AttrChoice, Choices: []string{"north", "south"}, Filterable: true},
			{Name: "cost", Type: record.AttrInt, Filterable: true},
			{Name: "notes", Type: record.AttrText},
		},
	})
}

// testRecord returns a minimal ticket numbered n, opened n minutes after
// t0.
func testRecord(n int) *record.Record {
	at := t0.Add(time.Duration(n) * time.Minute)
	return &record.Record{Header: record.Header{
		Kind: ticketKind, ID: fmt.Sprintf("tkt-%05d", n), Number: fmt.Sprintf("TKT%07d", n), Title: fmt.Sprintf("Ticket %d", n),
		State: "new", StateCategory: itsm.CategoryNew, Requester: agent, Priority: itsm.PriorityModerate,
		OpenedAt: at, UpdatedAt: at,
	}, Attrs: map[string]record.Value{"site": record.Text("north")}, Body: []byte(`{"note":"x"}`)}
}

// mustTimer returns a running 24×7 resolution timer started at t0 with a
// target of four hours.
func mustTimer(t testing.TB) *sla.Timer {
	t.Helper()
	tm, err := sla.NewTimer(sla.AlwaysOpen(time.UTC), sla.BusinessTime(4*time.Hour), nil, "gold", sla.MetricResolution, itsm.PriorityHigh)
	require.NoError(t, err)
	require.NoError(t, tm.Start(t0))
	return tm
}

// timerOf returns the timer record of a mustTimer for ref, saved at t0.
func timerOf(t testing.TB, ref record.Ref, id string) record.TimerRecord {
	return record.NewTimerRecord(ref, id, sla.KindSLA, mustTimer(t), t0)
}

// openEvent returns an "open" audit event of ref.
func openEvent(ref record.Ref) itsm.Event {
	return itsm.Event{Kind: ref.Kind, RecordID: ref.ID, Actor: agent, At: t0, Action: "open", To: "new"}
}
