package itsm_test

import (
	"database/sql"
	"database/sql/driver"
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/itsmkit/itsmkit/itsm"
)

var (
	_ sql.Scanner   = (*itsm.Priority)(nil)
	_ driver.Valuer = itsm.Priority(0)
	_ sql.Scanner   = (*itsm.Impact)(nil)
	_ driver.Valuer = itsm.Impact(0)
	_ sql.Scanner   = (*itsm.Urgency)(nil)
	_ driver.Valuer = itsm.Urgency(0)
)

func TestPriorityNames(t *testing.T) {
	t.Parallel()
	want := map[itsm.Priority]string{1: "critical", 2: "high", 3: "moderate", 4: "low", 5: "planning"}
	for p, name := range want {
		require.True(t, p.Valid())
		require.Equal(t, name, p.String())
		b, err := p.MarshalText()
		require.NoError(t, err)
		require.Equal(t, name, string(b))
	}
	require.Equal(t, "P2", itsm.PriorityHigh.Label())
	require.Equal(t, "priority(0)", itsm.Priority(0).String())
	require.Equal(t, "priority(6)", itsm.Priority(6).String())
	_, err := itsm.Priority(6).MarshalText()
	require.ErrorIs(t, err, itsm.ErrValidation)
	require.ErrorIs(t, itsm.Priority(0).Validate(), itsm.ErrValidation)
}

func TestPriorityUnmarshalText(t *testing.T) {
	t.Parallel()
	cases := []struct {
		in   string
		want itsm.Priority
		ok   bool
	}{
		{"critical", 1, true},
		{"Moderate", 3, true},
		{" planning ", 5, true},
		{"P4", 4, true},
		{"p1", 1, true},
		{"2", 2, true},
		{"0", 0, false},
		{"6", 0, false},
		{"P6", 0, false},
		{"urgent", 0, false},
		{"", 0, false},
		{"-1", 0, false},
	}
	for _, tc := range cases {
		var p itsm.Priority
		err := p.UnmarshalText([]byte(tc.in))
		if !tc.ok {
			require.ErrorIs(t, err, itsm.ErrValidation, "input %q", tc.in)
			require.Zero(t, p, "a failed decode leaves the value alone")
			continue
		}
		require.NoError(t, err, "input %q", tc.in)
		require.Equal(t, tc.want, p, "input %q", tc.in)
	}
}

func TestLevelsText(t *testing.T) {
	t.Parallel()
	require.Equal(t, "high", itsm.ImpactHigh.String())
	require.Equal(t, "low", itsm.UrgencyLow.String())
	require.Equal(t, "4", itsm.Impact(4).String(), "custom scales fall back to the number")

	var i itsm.Impact
	require.NoError(t, i.UnmarshalText([]byte("Medium")))
	require.Equal(t, itsm.ImpactMedium, i)
	require.NoError(t, i.UnmarshalText([]byte("5")))
	require.Equal(t, itsm.Impact(5), i)
	require.ErrorIs(t, i.UnmarshalText([]byte("huge")), itsm.ErrValidation)
	require.ErrorIs(t, i.UnmarshalText([]byte("0")), itsm.ErrValidation)

	var u itsm.Urgency
	require.NoError(t, u.UnmarshalText([]byte("HIGH")))
	require.Equal(t, itsm.UrgencyHigh, u)
	require.ErrorIs(t, u.UnmarshalText([]byte("soon")), itsm.ErrValidation)
}

func TestPriorityJSONRoundTrip(t *testing.T) {
	t.Parallel()
	type rec struct {
		Impact   itsm.Impact   `json:"impact"`
		Urgency  itsm.Urgency  `json:"urgency"`
		Priority itsm.Priority `json:"priority"`
	}
	in := rec{itsm.ImpactMedium, itsm.UrgencyHigh, itsm.PriorityHigh}
	b, err := json.Marshal(in)
	require.NoError(t, err)
	require.JSONEq(t, `{"impact":"medium","urgency":"high","priority":"high"}`, string(b))
	var out rec
	require.NoError(t, json.Unmarshal(b, &out))
	require.Equal(t, in, out)
	require.Error(t, json.Unmarshal([]byte(`{"priority":"P9"}`), &out))
}

func TestPrioritySQL(t *testing.T) {
	t.Parallel()
	v, err := itsm.PriorityCritical.Value()
	require.NoError(t, err)
	require.Equal(t, int64(1), v)
	v, err = itsm.Priority(0).Value()
	require.NoError(t, err)
	require.Nil(t, v)

	var p itsm.Priority
	require.NoError(t, p.Scan(int64(3)))
	require.Equal(t, itsm.PriorityModerate, p)
	require.NoError(t, p.Scan([]byte("2")))
	require.Equal(t, itsm.PriorityHigh, p)
	require.NoError(t, p.Scan(nil))
	require.Zero(t, p)
	require.ErrorIs(t, p.Scan(int64(9)), itsm.ErrValidation)
	require.Error(t, p.Scan(1.5))

	var i itsm.Impact
	require.NoError(t, i.Scan(int64(2)))
	require.Equal(t, itsm.ImpactMedium, i)
	var u itsm.Urgency
	require.NoError(t, u.Scan("3"))
	require.Equal(t, itsm.UrgencyLow, u)
	iv, _ := itsm.ImpactLow.Value()
	require.Equal(t, int64(3), iv)
	uv, _ := itsm.Urgency(0).Value()
	require.Nil(t, uv)
}

func FuzzPriorityUnmarshalText(f *testing.F) {
	for _, s := range []string{"critical", "P1", "3", "", "P", "p0", "99999999999999999999", "Planning"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		var p itsm.Priority
		if err := p.UnmarshalText([]byte(s)); err != nil {
			require.ErrorIs(t, err, itsm.ErrValidation)
			return
		}
		require.True(t, p.Valid())
		b, err := p.MarshalText()
		require.NoError(t, err)
		var q itsm.Priority
		require.NoError(t, q.UnmarshalText(b))
		require.Equal(t, p, q)
	})
}

func FuzzImpactUnmarshalText(f *testing.F) {
	for _, s := range []string{"high", "2", "", "-3", "low ", "x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		var i itsm.Impact
		if err := i.UnmarshalText([]byte(s)); err != nil {
			require.ErrorIs(t, err, itsm.ErrValidation)
			return
		}
		require.Positive(t, int(i))
		b, err := i.MarshalText()
		require.NoError(t, err)
		var j itsm.Impact
		require.NoError(t, j.UnmarshalText(b))
		require.Equal(t, i, j)
	})
}
