package itsm_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/itsmkit/itsmkit/itsm"
)

func TestEventRecord(t *testing.T) {
	t.Parallel()
	var e itsm.Event
	at := time.Date(2026, 3, 29, 1, 30, 0, 0, time.FixedZone("CET", 3600))
	require.True(t, e.Record("priority", itsm.PriorityModerate, itsm.PriorityHigh))
	require.False(t, e.Record("assignee", "bob", "bob"), "unchanged fields are not recorded")
	require.True(t, e.Record("assignee", nil, "bob"))
	require.True(t, e.Record("resolved_at", time.Time{}, at))
	require.True(t, e.Record("reopen_count", 0, 1))
	require.Equal(t, []itsm.Change{
		{Field: "priority", Old: "moderate", New: "high"},
		{Field: "assignee", New: "bob"},
		{Field: "resolved_at", New: "2026-03-29T00:30:00Z"},
		{Field: "reopen_count", Old: "0", New: "1"},
	}, e.Changes)
}

func TestEventValidate(t *testing.T) {
	t.Parallel()
	var ve *itsm.ValidationError
	require.ErrorAs(t, itsm.Event{}.Validate(), &ve)
	require.Len(t, ve.Fields, 5)
	for _, f := range []string{"kind", "record_id", "actor.id", "at", "action"} {
		require.True(t, ve.Has(f), f)
	}
	ok := itsm.Event{Kind: "incident", RecordID: "1", Actor: itsm.Actor{ID: "a"}, At: time.Unix(1, 0), Action: "open"}
	require.NoError(t, ok.Validate())
}

func TestEventJSONAndString(t *testing.T) {
	t.Parallel()
	e := itsm.Event{
		Kind: "incident", RecordID: "INC0001001", Sequence: 3,
		Actor: itsm.Actor{ID: "alice", Roles: []itsm.Role{"agent"}},
		At:    time.Date(2026, 11, 20, 15, 4, 5, 0, time.UTC), Action: "hold",
		From: "in-progress", To: "on-hold", Reason: "awaiting caller",
		Changes: []itsm.Change{{Field: "hold_reason", New: "awaiting-caller"}},
	}
	b, err := json.Marshal(e)
	require.NoError(t, err)
	var back itsm.Event
	require.NoError(t, json.Unmarshal(b, &back))
	require.Equal(t, e, back)
	require.Equal(t, "incident INC0001001 #3 2026-11-20T15:04:05Z alice hold in-progress→on-hold (awaiting caller)", e.String())
	e.From, e.To, e.Reason = "", "", ""
	require.Equal(t, "incident INC0001001 #3 2026-11-20T15:04:05Z alice hold", e.String())
}

func TestClocks(t *testing.T) {
	t.Parallel()
	before := time.Now()
	now := itsm.ClockOrSystem(nil).Now()
	require.False(t, now.Before(before))
	fixed := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	c := itsm.ClockOrSystem(itsm.ClockFunc(func() time.Time { return fixed }))
	require.Equal(t, fixed, c.Now())
}

func TestValidateEvents(t *testing.T) {
	t.Parallel()
	ok := itsm.Event{Kind: "incident", RecordID: "1", Actor: itsm.Actor{ID: "a"}, At: time.Unix(1, 0), Action: "open"}
	require.NoError(t, itsm.ValidateEvents(nil))
	require.NoError(t, itsm.ValidateEvents([]itsm.Event{ok, ok}))
	bad := ok
	bad.Action, bad.RecordID = "", ""
	err := itsm.ValidateEvents([]itsm.Event{ok, bad})
	var ve *itsm.ValidationError
	require.ErrorAs(t, err, &ve)
	require.Equal(t, []itsm.FieldError{
		{Field: "[1].record_id", Message: "must not be empty"},
		{Field: "[1].action", Message: "must not be empty"},
	}, ve.Fields)
}
