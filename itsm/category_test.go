package itsm_test

import (
	"database/sql"
	"database/sql/driver"
	"encoding"
	"encoding/json"
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/itsmkit/itsmkit/itsm"
)

var (
	_ sql.Scanner              = (*itsm.StateCategory)(nil)
	_ driver.Valuer            = itsm.StateCategory(0)
	_ encoding.TextMarshaler   = itsm.StateCategory(0)
	_ encoding.TextUnmarshaler = (*itsm.StateCategory)(nil)
	_ fmt.Stringer             = itsm.StateCategory(0)
)

func TestStateCategories(t *testing.T) {
	t.Parallel()
	require.Equal(t, []itsm.StateCategory{
		itsm.CategoryNew, itsm.CategoryActive, itsm.CategoryPending,
		itsm.CategoryResolved, itsm.CategoryClosed, itsm.CategoryCancelled,
	}, itsm.StateCategories())
	for i, c := range itsm.StateCategories() {
		require.Equal(t, itsm.StateCategory(i+1), c, "categories start at 1")
	}
	// The result is the caller's.
	itsm.StateCategories()[0] = 0
	require.Equal(t, itsm.CategoryNew, itsm.StateCategories()[0])
}

func TestStateCategoryText(t *testing.T) {
	t.Parallel()
	tests := []struct {
		c              itsm.StateCategory
		text           string
		open, terminal bool
	}{
		{itsm.CategoryNew, "new", true, false},
		{itsm.CategoryActive, "active", true, false},
		{itsm.CategoryPending, "pending", true, false},
		{itsm.CategoryResolved, "resolved", false, false},
		{itsm.CategoryClosed, "closed", false, true},
		{itsm.CategoryCancelled, "cancelled", false, true},
	}
	require.Len(t, tests, len(itsm.StateCategories()))
	for _, tc := range tests {
		t.Run(tc.text, func(t *testing.T) {
			t.Parallel()
			require.True(t, tc.c.Valid())
			require.Equal(t, tc.text, tc.c.String())
			require.Equal(t, tc.open, tc.c.Open())
			require.Equal(t, tc.terminal, tc.c.Terminal())

			b, err := tc.c.MarshalText()
			require.NoError(t, err)
			require.Equal(t, tc.text, string(b))
			var back itsm.StateCategory
			require.NoError(t, back.UnmarshalText(b))
			require.Equal(t, tc.c, back)

			p, err := itsm.ParseStateCategory(tc.text)
			require.NoError(t, err)
			require.Equal(t, tc.c, p)
		})
	}
}

func TestStateCategoryInvalid(t *testing.T) {
	t.Parallel()
	for _, c := range []itsm.StateCategory{0, 7, 255} {
		require.False(t, c.Valid(), "%d", c)
		require.False(t, c.Open(), "%d", c)
		require.False(t, c.Terminal(), "%d", c)
		require.Equal(t, fmt.Sprintf("category(%d)", c), c.String())
		_, err := c.MarshalText()
		require.ErrorIs(t, err, itsm.ErrValidation, "%d", c)
		_, err = c.Value()
		require.ErrorIs(t, err, itsm.ErrValidation, "%d", c)
	}
}

func TestParseStateCategory(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		want itsm.StateCategory
		ok   bool
	}{
		{"new", itsm.CategoryNew, true},
		{"NEW", itsm.CategoryNew, true},
		{"Active", itsm.CategoryActive, true},
		{" pending ", itsm.CategoryPending, true},
		{"ReSoLvEd", itsm.CategoryResolved, true},
		{"closed", itsm.CategoryClosed, true},
		{"cancelled", itsm.CategoryCancelled, true},
		{"canceled", itsm.CategoryCancelled, true},
		{"Canceled", itsm.CategoryCancelled, true},
		{"", 0, false},
		{"   ", 0, false},
		{"open", 0, false},
		{"cancel", 0, false},
		{"cancelledd", 0, false},
		{"1", 0, false},
		{"category(1)", 0, false},
		{"on hold", 0, false},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			t.Parallel()
			got, err := itsm.ParseStateCategory(tc.in)
			c := itsm.CategoryActive
			uerr := c.UnmarshalText([]byte(tc.in))
			if !tc.ok {
				require.ErrorIs(t, err, itsm.ErrValidation)
				var ve *itsm.ValidationError
				require.ErrorAs(t, err, &ve)
				require.True(t, ve.Has("category"), "%v", ve.Fields)
				require.Zero(t, got)
				require.ErrorIs(t, uerr, itsm.ErrValidation)
				require.Equal(t, itsm.CategoryActive, c, "a failed decode leaves the value alone")
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.want, got)
			require.NoError(t, uerr)
			require.Equal(t, tc.want, c)
		})
	}
}

func TestStateCategoryJSON(t *testing.T) {
	t.Parallel()
	type rec struct {
		State    string              `json:"state"`
		Category itsm.StateCategory  `json:"category"`
		Previous *itsm.StateCategory `json:"previous,omitempty"`
	}
	pending := itsm.CategoryPending
	for _, c := range itsm.StateCategories() {
		in := rec{State: "s", Category: c, Previous: &pending}
		b, err := json.Marshal(in)
		require.NoError(t, err)
		require.JSONEq(t, fmt.Sprintf(`{"state":"s","category":%q,"previous":"pending"}`, c.String()), string(b))
		var out rec
		require.NoError(t, json.Unmarshal(b, &out))
		require.Equal(t, in, out)
	}

	// As map keys too.
	b, err := json.Marshal(map[itsm.StateCategory]int{itsm.CategoryNew: 2, itsm.CategoryClosed: 5})
	require.NoError(t, err)
	require.JSONEq(t, `{"new":2,"closed":5}`, string(b))
	var counts map[itsm.StateCategory]int
	require.NoError(t, json.Unmarshal(b, &counts))
	require.Equal(t, map[itsm.StateCategory]int{itsm.CategoryNew: 2, itsm.CategoryClosed: 5}, counts)

	var out rec
	require.NoError(t, json.Unmarshal([]byte(`{"category":"Canceled"}`), &out))
	require.Equal(t, itsm.CategoryCancelled, out.Category)
	require.ErrorIs(t, json.Unmarshal([]byte(`{"category":"open"}`), &out), itsm.ErrValidation)
	require.Error(t, json.Unmarshal([]byte(`{"category":3}`), &out), "numbers are not accepted")
	_, err = json.Marshal(rec{})
	require.ErrorIs(t, err, itsm.ErrValidation, "the zero category is never written")
}

func TestStateCategorySQL(t *testing.T) {
	t.Parallel()
	for _, c := range itsm.StateCategories() {
		v, err := c.Value()
		require.NoError(t, err)
		require.Equal(t, c.String(), v)
		require.True(t, driver.IsValue(v))

		var s, b itsm.StateCategory
		require.NoError(t, s.Scan(v))
		require.Equal(t, c, s)
		require.NoError(t, b.Scan([]byte(c.String())))
		require.Equal(t, c, b)
	}

	var c itsm.StateCategory
	require.NoError(t, c.Scan("Canceled"))
	require.Equal(t, itsm.CategoryCancelled, c)
	require.NoError(t, c.Scan([]byte(" RESOLVED ")))
	require.Equal(t, itsm.CategoryResolved, c)

	for _, src := range []any{"open", []byte(""), []byte("closedx")} {
		require.ErrorIs(t, c.Scan(src), itsm.ErrValidation, "%v", src)
		require.Equal(t, itsm.CategoryResolved, c, "a failed scan leaves the value alone")
	}
	for _, src := range []any{nil, int64(2), 1.5, true} {
		err := c.Scan(src)
		require.Error(t, err, "%v", src)
		require.NotErrorIs(t, err, itsm.ErrValidation, "%v", src)
		require.Equal(t, itsm.CategoryResolved, c, "a failed scan leaves the value alone")
	}

	// A nullable column goes through sql.Null.
	var n sql.Null[itsm.StateCategory]
	require.NoError(t, n.Scan(nil))
	require.False(t, n.Valid)
	require.NoError(t, n.Scan("pending"))
	require.Equal(t, sql.Null[itsm.StateCategory]{V: itsm.CategoryPending, Valid: true}, n)
}

func FuzzParseStateCategory(f *testing.F) {
	for _, s := range []string{"new", "Canceled", "cancelled", "", " closed", "category(3)", "\x00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		c, err := itsm.ParseStateCategory(s)
		if err != nil {
			require.ErrorIs(t, err, itsm.ErrValidation)
			require.Zero(t, c)
			return
		}
		require.True(t, c.Valid())
		b, err := c.MarshalText()
		require.NoError(t, err)
		d, err := itsm.ParseStateCategory(string(b))
		require.NoError(t, err)
		require.Equal(t, c, d)
	})
}
