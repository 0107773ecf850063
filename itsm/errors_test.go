package itsm_test

import (
	"errors"
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/itsmkit/itsmkit/itsm"
)

func TestTypedErrorsMatchSentinels(t *testing.T) {
	t.Parallel()
	sentinels := []error{itsm.ErrNotFound, itsm.ErrConflict, itsm.ErrInvalidTransition, itsm.ErrValidation, itsm.ErrForbidden, itsm.ErrTooLarge}
	cases := []struct {
		name string
		err  error
		want []error
	}{
		{"validation", itsm.NewValidationError("incident", "title", "must not be empty"), []error{itsm.ErrValidation}},
		{"not found", &itsm.NotFoundError{Kind: "incident", ID: "INC1"}, []error{itsm.ErrNotFound}},
		{"conflict", &itsm.ConflictError{Kind: "incident", ID: "INC1", Expected: 2, Actual: 3}, []error{itsm.ErrConflict}},
		{"limit", &itsm.LimitError{Subject: "incident", Field: "title", Limit: 1024, Size: 1025, Unit: "bytes"}, []error{itsm.ErrTooLarge, itsm.ErrValidation}},
		{"forbidden", &itsm.ForbiddenError{ActorID: "bob", Permission: "incident.flag-major"}, []error{itsm.ErrForbidden}},
		{"transition wrong state", &itsm.TransitionError{Kind: "incident", State: "closed", Action: "resolve", WrongState: true}, []error{itsm.ErrInvalidTransition}},
		{"transition roles only", &itsm.TransitionError{State: "new", Action: "cancel", RolesRequired: []string{"manager"}}, []error{itsm.ErrInvalidTransition, itsm.ErrForbidden}},
		{"transition roles and guard", &itsm.TransitionError{State: "new", Action: "cancel", RolesRequired: []string{"manager"},
			Unmet: []itsm.GuardFailure{{Guard: "g", Reason: "r"}}}, []error{itsm.ErrInvalidTransition}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			wrapped := fmt.Errorf("service: %w", tc.err)
			for _, s := range sentinels {
				want := false
				for _, w := range tc.want {
					want = want || w == s
				}
				require.Equal(t, want, errors.Is(wrapped, s), "errors.Is(%v, %v)", tc.err, s)
			}
		})
	}
}

func TestTypedErrorsAs(t *testing.T) {
	t.Parallel()
	wrap := func(err error) error { return fmt.Errorf("outer: %w", err) }

	var ve *itsm.ValidationError
	require.ErrorAs(t, wrap(itsm.NewValidationError("incident", "title", "must not be %s", "empty")), &ve)
	require.Equal(t, []itsm.FieldError{{Field: "title", Message: "must not be empty"}}, ve.Fields)
	require.True(t, ve.Has("title"))
	require.False(t, ve.Has("state"))

	var te *itsm.TransitionError
	require.ErrorAs(t, wrap(&itsm.TransitionError{Kind: "incident", ID: "INC7", State: "new", Action: "resolve", MissingFields: []string{"resolution_code"}}), &te)
	require.Equal(t, "INC7", te.ID)
	require.Equal(t, []string{"resolution_code"}, te.MissingFields)

	var nf *itsm.NotFoundError
	require.ErrorAs(t, wrap(&itsm.NotFoundError{Kind: "incident", ID: "x"}), &nf)
	require.Equal(t, "x", nf.ID)

	var ce *itsm.ConflictError
	require.ErrorAs(t, wrap(&itsm.ConflictError{Kind: "incident", ID: "x", Expected: 1}), &ce)
	require.EqualValues(t, 1, ce.Expected)

	var fe *itsm.ForbiddenError
	require.ErrorAs(t, wrap(&itsm.ForbiddenError{ActorID: "a", Permission: "p"}), &fe)
	require.Equal(t, itsm.Permission("p"), fe.Permission)
}

func TestErrorMessages(t *testing.T) {
	t.Parallel()
	cases := []struct {
		err  error
		want string
	}{
		{&itsm.ValidationError{Fields: []itsm.FieldError{{"a", "bad"}, {"b", "worse"}}}, "itsm: invalid input: a: bad; b: worse"},
		{itsm.NewValidationError("calendar x", "time_zone", "unknown zone %q", "Mars/Base"), `itsm: invalid calendar x: time_zone: unknown zone "Mars/Base"`},
		{&itsm.NotFoundError{Kind: "incident", ID: "INC0001001"}, "itsm: incident INC0001001 not found"},
		{&itsm.ConflictError{Kind: "incident", ID: "7", Expected: 2, Actual: 3}, "itsm: incident 7 is at version 3, not 2"},
		{&itsm.ConflictError{Kind: "incident", ID: "7", Expected: 2}, "itsm: incident 7 changed since version 2"},
		{&itsm.ForbiddenError{ActorID: "bob", Permission: "incident.flag-major"}, `itsm: actor "bob" lacks permission "incident.flag-major"`},
		{&itsm.TransitionError{Action: "close", State: "new", UnknownAction: true}, "itsm: cannot close record in state new: unknown action"},
		{&itsm.TransitionError{Kind: "incident", ID: "INC1", Action: "resolve", State: "new", WrongState: true},
			"itsm: cannot resolve incident INC1 in state new: not permitted from this state"},
		{&itsm.TransitionError{Kind: "incident", Action: "resolve", State: "in-progress",
			RolesRequired: []string{"agent", "manager"}, MissingFields: []string{"code", "notes"},
			Unmet: []itsm.GuardFailure{{Guard: "children-resolved", Reason: "2 children open"}}},
			"itsm: cannot resolve incident in state in-progress: requires one of roles agent, manager; missing code, notes; children-resolved: 2 children open"},
	}
	for _, tc := range cases {
		require.EqualError(t, tc.err, tc.want)
	}
}

func TestValidationErrorErr(t *testing.T) {
	t.Parallel()
	var v itsm.ValidationError
	require.NoError(t, v.Err())
	var nilV *itsm.ValidationError
	require.NoError(t, nilV.Err())
	v.Add("x", "bad %d", 1)
	require.ErrorIs(t, v.Err(), itsm.ErrValidation)
}

func TestLimitError(t *testing.T) {
	t.Parallel()
	err := fmt.Errorf("store: %w", &itsm.LimitError{Subject: "journal entries", Field: "[1].text", Limit: 65536, Size: 70000, Unit: "bytes"})
	require.EqualError(t, err, "store: itsm: journal entries [1].text is 70000 bytes, over the limit of 65536 bytes")
	var le *itsm.LimitError
	require.ErrorAs(t, err, &le)
	require.Equal(t, "[1].text", le.Field)
	var ve *itsm.ValidationError
	require.False(t, errors.As(err, &ve), "a LimitError is not a ValidationError")
	require.EqualError(t, &itsm.LimitError{Field: "journal", Limit: 3, Size: 4, Unit: "entries"},
		"itsm: input journal is 4 entries, over the limit of 3 entries")
}
