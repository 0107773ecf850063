package record

import (
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/itsmkit/itsmkit/itsm"
	"github.com/itsmkit/itsmkit/sla"
)

// fieldsOf requires err to be an *itsm.ValidationError matching
// itsm.ErrValidation and returns its field names in order.
func fieldsOf(t *testing.T, err error) []string {
	t.Helper()
	require.Error(t, err)
	require.ErrorIs(t, err, itsm.ErrValidation)
	var v *itsm.ValidationError
	require.True(t, errors.As(err, &v), "%T is not an *itsm.ValidationError", err)
	out := make([]string, len(v.Fields))
	for i, f := range v.Fields {
		out[i] = f.Field
	}
	return out
}

// ticketDef is a kind with every attribute type and one state per
// category.
func ticketDef() SchemaDef {
	return SchemaDef{
		Kind:   "ticket",
		Prefix: "TKT",
		States: []StateDef{
			{Name: "new", Category: itsm.CategoryNew},
			{Name: "active", Category: itsm.CategoryActive},
			{Name: "on_hold", Category: itsm.CategoryPending},
			{Name: "resolved", Category: itsm.CategoryResolved},
			{Name: "closed", Category: itsm.CategoryClosed},
			{Name: "cancelled", Category: itsm.CategoryCancelled},
		},
		Attributes: []Attribute{
			{Name: "risk", Type: AttrChoice, Choices: []string{"low", "medium", "high"}, Filterable: true},
			{Name: "count", Type: AttrInt, Filterable: true},
			{Name: "cost", Type: AttrDecimal},
			{Name: "urgent", Type: AttrBool},
			{Name: "due", Type: AttrTime},
			{Name: "note", Type: AttrText},
		},
	}
}

func ticketSchema(t *testing.T) *Schema {
	t.Helper()
	s, err := NewSchema(ticketDef())
	require.NoError(t, err)
	return s
}

var (
	t0      = time.Date(2026, 1, 10, 9, 0, 0, 0, time.UTC)
	berlin  = mustLoad("Europe/Berlin")
	plusOne = time.FixedZone("UTC+1", 3600)
)

func mustLoad(name string) *time.Location {
	loc, err := time.LoadLocation(name)
	if err != nil {
		panic(err)
	}
	return loc
}

// validTicket returns a ticket that passes CheckKeys and the ticket
// schema's Check, with every header field set.
func validTicket() *Record {
	return &Record{
		Header: Header{
			Kind:            "ticket",
			ID:              "01J8ZQ",
			Number:          "TKT0001001",
			Title:           "ÄRGER mit dem Drucker",
			Description:     "Paper jam on floor 3",
			State:           "active",
			StateCategory:   itsm.CategoryActive,
			Impact:          itsm.Impact(2),
			Urgency:         itsm.Urgency(1),
			Priority:        itsm.PriorityHigh,
			Requester:       itsm.Actor{ID: "bob", Name: "Bob Builder", Roles: []itsm.Role{"caller", "vip"}},
			AssignmentGroup: "desk",
			Assignee:        "alice",
			Watchers:        []string{"carol", "dave"},
			Service:         "printing",
			ConfigItems:     []string{"prn-3", "srv-1"},
			Category:        "hardware",
			Parent:          Ref{Kind: "ticket", ID: "PARENT1"},
			Major:           true,
			OpenedAt:        t0,
			UpdatedAt:       t0.Add(26 * time.Hour).In(berlin),
			ResolvedAt:      t0.Add(48*time.Hour + 123456789).In(plusOne),
			ClosedAt:        t0.Add(72 * time.Hour),
			Version:         3,
		},
		Attrs: map[string]Value{
			"risk":   Text("high"),
			"count":  Int(5),
			"cost":   Text("1.5"),
			"urgent": Bool(true),
			"due":    Time(t0.Add(24 * time.Hour)),
			"note":   Text("toner <low> & paper"),
		},
		Body: []byte(`{"resolution_code":"fixed","tags":["a","b"],"n":1}`),
		SLA: Summary{{
			ID: "response", Policy: "gold", PolicyKind: sla.KindSLA, Metric: sla.MetricResponse,
			Stage: sla.StageBreached, AtRiskAt: t0.Add(45 * time.Minute), BreachAt: t0.Add(time.Hour),
		}, {
			ID: "resolution", Policy: "ops", PolicyKind: sla.KindOLA, Metric: sla.MetricResolution,
			Stage: sla.StageRunning, AtRiskAt: t0.Add(30 * time.Hour), BreachAt: t0.Add(40 * time.Hour),
			NextWakeAt: t0.Add(30 * time.Hour),
		}},
	}
}
