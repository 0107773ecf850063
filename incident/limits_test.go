package incident_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/itsmkit/itsmkit/incident"
	"github.com/itsmkit/itsmkit/itsm"
	"github.com/itsmkit/itsmkit/record"
	"github.com/itsmkit/itsmkit/storage/memory"
)

func init() {
	serviceTests["LimitsOfText"] = testLimitsOfText
	serviceTests["LimitsOfJournal"] = testLimitsOfJournal
	serviceTests["LimitsOfBody"] = testLimitsOfBody
	serviceTests["LimitsOfTimerCycles"] = testLimitsOfTimerCycles
}

// requireLimit requires err to be an *itsm.LimitError for field with
// limit and size, matching itsm.ErrTooLarge and itsm.ErrValidation; an
// empty field or a negative size is not compared.
func requireLimit(t *testing.T, err error, field string, limit, size int) *itsm.LimitError {
	t.Helper()
	require.ErrorIs(t, err, itsm.ErrTooLarge)
	require.ErrorIs(t, err, itsm.ErrValidation)
	var le *itsm.LimitError
	require.True(t, errors.As(err, &le), "%T is not an *itsm.LimitError: %v", err, err)
	if field != "" {
		require.Equal(t, field, le.Field, "field of %v", err)
	}
	require.Equal(t, limit, le.Limit, "limit of %v", err)
	if size >= 0 {
		require.Equal(t, size, le.Size, "size of %v", err)
	}
	return le
}

// requireUnchanged requires the stored incident to be want, by version
// and journal length.
func (f *fixture) requireUnchanged(t *testing.T, want *incident.Incident) {
	t.Helper()
	got, err := f.svc.Get(context.Background(), want.ID)
	require.NoError(t, err)
	require.Equal(t, want.Version, got.Version, "version of %s", want.Number)
	require.Len(t, got.Journal, len(want.Journal), "journal of %s", want.Number)
	require.Equal(t, want.Title, got.Title)
	require.Equal(t, want.Description, got.Description)
}

func testLimitsOfText(t *testing.T, st storeFactory) {
	ctx := context.Background()
	f := newFixture(t, st, func(c *incident.Config) {
		c.Limits = record.Limits{Title: 10, Description: 20, JournalEntry: 16}
	})
	require.Equal(t, 10, f.svc.Schema().Limits().Title, "the declared schema has the service's limits")

	// Exactly at each limit (the title without its surrounding space).
	inc, err := f.svc.Open(ctx, agent, incident.OpenInput{Title: "  0123456789\n", Description: strings.Repeat("ü", 10),
		Impact: itsm.ImpactMedium, Urgency: itsm.UrgencyHigh})
	require.NoError(t, err)
	require.Equal(t, "0123456789", inc.Title)

	_, err = f.svc.Open(ctx, agent, incident.OpenInput{Title: "01234567890", Impact: itsm.ImpactMedium, Urgency: itsm.UrgencyHigh})
	requireLimit(t, err, "title", 10, 11)
	// The limit comes before the other checks: no actor, no impact.
	_, err = f.svc.Open(ctx, itsm.Actor{}, incident.OpenInput{Title: "t", Description: strings.Repeat("d", 21)})
	requireLimit(t, err, "description", 20, 21)
	page, err := f.svc.List(ctx, incident.Query{})
	require.NoError(t, err)
	require.Len(t, page.Incidents, 1, "refused incidents are not stored")

	long, at := strings.Repeat("t", 11), strings.Repeat("t", 10)
	desc := strings.Repeat("d", 21)
	_, err = f.svc.Edit(ctx, agent, inc.ID, incident.EditInput{Title: &long})
	requireLimit(t, err, "title", 10, 11)
	_, err = f.svc.Edit(ctx, agent, inc.ID, incident.EditInput{Description: &desc})
	requireLimit(t, err, "description", 20, 21)
	f.requireUnchanged(t, inc)
	desc = desc[:20]
	inc, err = f.svc.Edit(ctx, agent, inc.ID, incident.EditInput{Title: &at, Description: &desc})
	require.NoError(t, err)
	require.Equal(t, desc, inc.Description)

	_, err = f.svc.AddComment(ctx, agent, inc.ID, strings.Repeat("c", 17))
	requireLimit(t, err, "text", 16, 17)
	_, err = f.svc.AddWorkNote(ctx, agent, inc.ID, " "+strings.Repeat("w", 17))
	requireLimit(t, err, "text", 16, 17)
	f.requireUnchanged(t, inc)
	inc, err = f.svc.AddWorkNote(ctx, agent, inc.ID, " "+strings.Repeat("w", 16)+"\n")
	require.NoError(t, err)
	require.Len(t, inc.Journal, 1)
}

func testLimitsOfJournal(t *testing.T, st storeFactory) {
	ctx := context.Background()
	f := newFixture(t, st, func(c *incident.Config) { c.Limits = record.Limits{JournalEntries: 3} })
	inc := f.open(t, incident.OpenInput{})
	var err error
	for i := range 3 {
		inc, err = f.svc.AddWorkNote(ctx, agent, inc.ID, "note "+strings.Repeat("!", i))
		require.NoError(t, err)
	}
	require.Len(t, inc.Journal, 3)
	_, err = f.svc.AddComment(ctx, caller, inc.ID, "one more")
	requireLimit(t, err, "journal", 3, 4)
	f.requireUnchanged(t, inc)
	// The incident still takes every change that adds no entry.
	_, err = f.svc.Assign(ctx, agent, inc.ID, incident.AssignInput{Assignee: agent.ID})
	require.NoError(t, err)
}

func testLimitsOfBody(t *testing.T, st storeFactory) {
	ctx := context.Background()
	f := newFixture(t, st, func(c *incident.Config) { c.Limits = record.Limits{Body: 200} })
	inc := f.open(t, incident.OpenInput{})
	inc, err := f.svc.Assign(ctx, agent, inc.ID, incident.AssignInput{Assignee: agent.ID})
	require.NoError(t, err)
	_, err = f.svc.Resolve(ctx, agent, inc.ID, incident.ResolveInput{Code: "solved", Notes: strings.Repeat("n", 200)})
	le := requireLimit(t, err, "body", 200, -1)
	require.Greater(t, le.Size, 200)
	f.requireUnchanged(t, inc)
	inc, err = f.svc.Resolve(ctx, agent, inc.ID, incident.ResolveInput{Code: "solved", Notes: "restarted the relay"})
	require.NoError(t, err)
	require.Equal(t, itsm.CategoryResolved, inc.StateCategory)
}

func testLimitsOfTimerCycles(t *testing.T, st storeFactory) {
	ctx := context.Background()
	f := newFixture(t, st, func(c *incident.Config) { c.Limits = record.Limits{TimerEventsPerCycle: 5} })
	inc := f.open(t, incident.OpenInput{})
	inc, err := f.svc.Assign(ctx, agent, inc.ID, incident.AssignInput{Assignee: agent.ID})
	require.NoError(t, err)
	// The resolution timer: started (1), then paused and resumed twice
	// (5 events, the limit).
	for range 2 {
		inc, err = f.svc.Hold(ctx, agent, inc.ID, incident.HoldInput{Reason: incident.AwaitingCaller})
		require.NoError(t, err)
		inc, err = f.svc.Resume(ctx, agent, inc.ID, 0)
		require.NoError(t, err)
	}
	_, err = f.svc.Hold(ctx, agent, inc.ID, incident.HoldInput{Reason: incident.AwaitingCaller})
	le := requireLimit(t, err, "", 5, 6)
	require.True(t, strings.HasSuffix(le.Field, ".timer.events"), "field %q", le.Field)
	f.requireUnchanged(t, inc)
	// Holds that pause no timer are not limited by it.
	_, err = f.svc.Hold(ctx, agent, inc.ID, incident.HoldInput{Reason: incident.AwaitingVendor})
	require.NoError(t, err)
}

func TestConfigLimits(t *testing.T) {
	t.Parallel()
	_, err := incident.NewService(context.Background(), memory.New(), incident.Config{
		Limits: record.Limits{Title: -1, JournalEntries: record.MaxCountLimit + 1},
	})
	var ve *itsm.ValidationError
	require.ErrorAs(t, err, &ve)
	require.True(t, ve.Has("limits.title"), "%v", err)
	require.True(t, ve.Has("limits.journal_entries"), "%v", err)

	svc, err := incident.NewService(context.Background(), memory.New(), incident.Config{})
	require.NoError(t, err)
	require.Equal(t, record.DefaultLimits(), svc.Schema().Limits())
}
