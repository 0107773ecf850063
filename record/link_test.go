package record

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/itsmkit/itsmkit/itsm"
)

func TestLinkTypes(t *testing.T) {
	t.Parallel()
	types := LinkTypes()
	require.Equal(t, []LinkType{DuplicateOf, CausedBy, FixedBy, RelatedTo}, types)
	names := map[string]bool{ChildOf.Name: true}
	for _, lt := range append(types, ChildOf) {
		require.True(t, validName(lt.Name), lt.Name)
		require.True(t, validName(lt.Inverse), lt.Inverse)
		names[lt.Name] = true
	}
	require.Len(t, names, 5, "names are distinct")
	require.Equal(t, CascadeResolve, ChildOf.Cascade)
	require.Equal(t, CascadeResolve, DuplicateOf.Cascade)
	require.Equal(t, CascadeNone, CausedBy.Cascade)
	require.Equal(t, CascadeNone, FixedBy.Cascade)
	require.Equal(t, CascadeNone, RelatedTo.Cascade)
	require.False(t, RelatedTo.Acyclic)
	require.Equal(t, RelatedTo.Name, RelatedTo.Inverse, "related_to reads the same both ways")
	require.True(t, DuplicateOf.Acyclic && CausedBy.Acyclic && FixedBy.Acyclic && ChildOf.Acyclic)

	// The result is the caller's.
	types[0].Name = "changed"
	require.Equal(t, DuplicateOf, LinkTypes()[0])
}

func TestLinkOther(t *testing.T) {
	t.Parallel()
	a, b := Ref{Kind: "incident", ID: "1"}, Ref{Kind: "problem", ID: "1"}
	l := Link{Type: CausedBy.Name, From: a, To: b}
	other, ok := l.Other(a)
	require.True(t, ok)
	require.Equal(t, b, other)
	other, ok = l.Other(b)
	require.True(t, ok)
	require.Equal(t, a, other)
	other, ok = l.Other(Ref{Kind: "incident", ID: "2"})
	require.False(t, ok)
	require.Zero(t, other)
	_, ok = l.Other(Ref{Kind: "change", ID: "1"})
	require.False(t, ok, "same ID, other kind")
	other, ok = Link{From: a, To: a}.Other(a)
	require.True(t, ok)
	require.Equal(t, a, other)
}

func TestCheckLinks(t *testing.T) {
	t.Parallel()
	ok := Link{Type: CausedBy.Name, From: Ref{Kind: "incident", ID: "1"}, To: Ref{Kind: "problem", ID: "1"}, CreatedAt: t0, CreatedBy: "alice"}
	require.NoError(t, CheckLinks(nil))
	for _, lt := range LinkTypes() {
		l := ok
		l.Type = lt.Name
		require.NoError(t, CheckLinks([]Link{l}), lt.Name)
	}
	custom := ok
	custom.Type, custom.From.ID = "blocks", strings.Repeat("i", MaxIDLen)
	require.NoError(t, CheckLinks([]Link{custom}), "a custom type with a long ID")
	sameID := ok
	sameID.To.Kind = "incident"
	sameID.To.ID = "2"
	require.NoError(t, CheckLinks([]Link{sameID}))

	long := strings.Repeat("x", MaxIDLen+1)
	tests := []struct {
		name   string
		mutate func(l *Link)
		fields []string
	}{
		{"child of", func(l *Link) { l.Type = ChildOf.Name }, []string{"[0].type"}},
		{"inverse name", func(l *Link) { l.Type = "Caused-By" }, []string{"[0].type"}},
		{"no type", func(l *Link) { l.Type = "" }, []string{"[0].type"}},
		{"no from kind", func(l *Link) { l.From.Kind = "" }, []string{"[0].from.kind"}},
		{"malformed to kind", func(l *Link) { l.To.Kind = "Problem" }, []string{"[0].to.kind"}},
		{"no from ID", func(l *Link) { l.From.ID = "" }, []string{"[0].from.id"}},
		{"to ID too long", func(l *Link) { l.To.ID = long }, []string{"[0].to.id"}},
		{"to ID with NUL", func(l *Link) { l.To.ID = "a\x00" }, []string{"[0].to.id"}},
		{"from ID not UTF-8", func(l *Link) { l.From.ID = "\xff" }, []string{"[0].from.id"}},
		{"self link", func(l *Link) { l.To = l.From }, []string{"[0].to"}},
		{"no creation time", func(l *Link) { l.CreatedAt = time.Time{} }, []string{"[0].created_at"}},
		{"creation in year 10000", func(l *Link) { l.CreatedAt = time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC) }, []string{"[0].created_at"}},
		{"no creator", func(l *Link) { l.CreatedBy = "" }, []string{"[0].created_by"}},
		{"creator too long", func(l *Link) { l.CreatedBy = long }, []string{"[0].created_by"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			l := ok
			tc.mutate(&l)
			require.Equal(t, tc.fields, fieldsOf(t, CheckLinks([]Link{l})))
		})
	}

	t.Run("every problem at once", func(t *testing.T) {
		t.Parallel()
		err := CheckLinks([]Link{ok, {Type: ChildOf.Name}, ok, {Type: "X", From: Ref{Kind: "a", ID: "1"}, To: Ref{Kind: "a", ID: "1"}}})
		require.Equal(t, []string{
			"[1].type", "[1].from.kind", "[1].from.id", "[1].to.kind", "[1].to.id", "[1].to", "[1].created_at", "[1].created_by",
			"[3].type", "[3].to", "[3].created_at", "[3].created_by",
		}, fieldsOf(t, err))
		require.Contains(t, err.Error(), "invalid links")
	})
}

func TestCheckLinkKeys(t *testing.T) {
	t.Parallel()
	a, b := Ref{Kind: "incident", ID: "1"}, Ref{Kind: "problem", ID: "2"}
	require.NoError(t, CheckLinkKeys([]Link{{Type: CausedBy.Name, From: a, To: b}}), "a removal names no creation")
	require.Error(t, CheckLinks([]Link{{Type: CausedBy.Name, From: a, To: b}}))
	err := CheckLinkKeys([]Link{{Type: "Bad", From: a, To: a}, {Type: ChildOf.Name, From: Ref{}, To: b}})
	var ve *itsm.ValidationError
	require.ErrorAs(t, err, &ve)
	for _, f := range []string{"[0].type", "[0].to", "[1].type", "[1].from.kind", "[1].from.id"} {
		require.True(t, ve.Has(f), f)
	}
	require.False(t, ve.Has("[0].created_at"))
}

func TestCheckLinkTypeNames(t *testing.T) {
	t.Parallel()
	require.NoError(t, CheckLinkTypeNames(nil))
	require.NoError(t, CheckLinkTypeNames([]string{DuplicateOf.Name, "custom_type", DuplicateOf.Name}))
	require.Equal(t, []string{"[1]", "[2]"}, fieldsOf(t, CheckLinkTypeNames([]string{CausedBy.Name, "Caused By", ""})))
}

func TestCascadeText(t *testing.T) {
	t.Parallel()
	for _, c := range []Cascade{CascadeNone, CascadeResolve} {
		b, err := c.MarshalText()
		require.NoError(t, err)
		var got Cascade
		require.NoError(t, got.UnmarshalText(b))
		require.Equal(t, c, got)
	}
	require.Equal(t, "resolve", CascadeResolve.String())
	require.Equal(t, "Cascade(7)", Cascade(7).String())
	_, err := Cascade(7).MarshalText()
	require.Equal(t, []string{"cascade"}, fieldsOf(t, err))
	b, err := json.Marshal(DuplicateOf)
	require.NoError(t, err)
	require.JSONEq(t, `{"name":"duplicate_of","inverse":"duplicated_by","cascade":"resolve","acyclic":true}`, string(b))
	var lt LinkType
	require.NoError(t, json.Unmarshal(b, &lt))
	require.Equal(t, DuplicateOf, lt)
	require.Error(t, json.Unmarshal([]byte(`{"cascade":1}`), &lt), "the cascade is a name")
}
