package record

import (
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/itsmkit/itsmkit/itsm"
)

func schemaOf(t *testing.T, kind string, attrs ...Attribute) *Schema {
	t.Helper()
	def := ticketDef()
	def.Kind, def.Attributes = kind, attrs
	s, err := NewSchema(def)
	require.NoError(t, err)
	return s
}

func TestRegistryZeroValue(t *testing.T) {
	t.Parallel()
	var r Registry
	require.Empty(t, r.Schemas())
	require.NotNil(t, r.Schemas())
	s, err := r.Schema("ticket")
	require.Nil(t, s)
	require.Equal(t, []string{"kind"}, fieldsOf(t, err))
	require.Equal(t, []string{"kind"}, fieldsOf(t, r.CheckRecord(validTicket())))
	require.Equal(t, []string{"kind"}, fieldsOf(t, r.CheckQuery(Query{Kind: "ticket"})))
	require.NoError(t, r.Declare(), "declaring nothing is fine")
	require.Empty(t, r.Schemas())
}

func TestRegistryDeclare(t *testing.T) {
	t.Parallel()
	var r Registry
	ticket := ticketSchema(t)
	problem := schemaOf(t, "problem")

	err := r.Declare(ticket, nil, problem)
	require.Equal(t, []string{"[1]"}, fieldsOf(t, err))
	require.Empty(t, r.Schemas(), "nothing of a refused call is declared")

	require.NoError(t, r.Declare(ticket, problem))
	got, err := r.Schema("ticket")
	require.NoError(t, err)
	require.Same(t, ticket, got)

	// Declaring a kind again replaces its schema.
	ticket2 := schemaOf(t, "ticket", Attribute{Name: "colour", Type: AttrText})
	require.NoError(t, r.Declare(ticket2))
	got, err = r.Schema("ticket")
	require.NoError(t, err)
	require.Same(t, ticket2, got)
	require.Len(t, r.Schemas(), 2)
	rec := validTicket()
	rec.Attrs = map[string]Value{"colour": Text("red")}
	require.NoError(t, r.CheckRecord(rec))

	// Within one call the last schema of a kind wins.
	require.NoError(t, r.Declare(ticket, ticket2, ticket))
	got, _ = r.Schema("ticket")
	require.Same(t, ticket, got)
}

func TestRegistrySchemasSorted(t *testing.T) {
	t.Parallel()
	var r Registry
	for _, k := range []string{"zeta", "alpha", "mid", "alpha_2", "beta"} {
		require.NoError(t, r.Declare(schemaOf(t, k)))
	}
	var kinds []string
	for _, s := range r.Schemas() {
		kinds = append(kinds, s.Kind())
	}
	require.Equal(t, []string{"alpha", "alpha_2", "beta", "mid", "zeta"}, kinds)
	r.Schemas()[0] = nil
	require.NotNil(t, r.Schemas()[0], "the slice is the caller's")
}

func TestRegistryChecks(t *testing.T) {
	t.Parallel()
	var r Registry
	require.NoError(t, r.Declare(ticketSchema(t)))

	require.NoError(t, r.CheckRecord(validTicket()))
	require.Equal(t, []string{"record"}, fieldsOf(t, r.CheckRecord(nil)))

	// CheckKeys runs first and alone.
	rec := validTicket()
	rec.ID, rec.State = "", "gone"
	require.Equal(t, []string{"id"}, fieldsOf(t, r.CheckRecord(rec)))

	// Then the schema of the record's kind.
	rec = validTicket()
	rec.State = "gone"
	rec.Attrs["count"] = Bool(true)
	require.Equal(t, []string{"state", "attrs.count"}, fieldsOf(t, r.CheckRecord(rec)))

	rec = validTicket()
	rec.Kind = "incident"
	require.Equal(t, []string{"kind"}, fieldsOf(t, r.CheckRecord(rec)))

	require.NoError(t, r.CheckQuery(Query{Kind: "ticket", States: []string{"new"}}))
	require.Equal(t, []string{"states[0]"}, fieldsOf(t, r.CheckQuery(Query{Kind: "ticket", States: []string{"in_progress"}})))
	require.Equal(t, []string{"kind"}, fieldsOf(t, r.CheckQuery(Query{Kind: "incident"})))
	require.Equal(t, []string{"kind"}, fieldsOf(t, r.CheckQuery(Query{})))
}

func TestRegistryConcurrent(t *testing.T) {
	t.Parallel()
	var r Registry
	schemas := make([]*Schema, 8)
	for i := range schemas {
		schemas[i] = schemaOf(t, "kind_"+strconv.Itoa(i))
	}
	var wg sync.WaitGroup
	for i := range 16 {
		wg.Go(func() {
			for j := range 200 {
				s := schemas[(i+j)%len(schemas)]
				if i%2 == 0 {
					if err := r.Declare(s); err != nil {
						t.Error(err)
						return
					}
					continue
				}
				if got, err := r.Schema(s.Kind()); err == nil && got.Kind() != s.Kind() {
					t.Errorf("Schema(%q) returned %q", s.Kind(), got.Kind())
				}
				_ = r.Schemas()
				_ = r.CheckQuery(Query{Kind: s.Kind()})
			}
		})
	}
	wg.Wait()
	require.Len(t, r.Schemas(), len(schemas))
	for _, s := range schemas {
		got, err := r.Schema(s.Kind())
		require.NoError(t, err)
		require.Same(t, s, got)
	}
}

func TestCheckRef(t *testing.T) {
	t.Parallel()
	require.NoError(t, CheckRef(Ref{Kind: "ticket", ID: "1"}))
	require.NoError(t, CheckRef(Ref{Kind: "ticket", ID: strings.Repeat("i", MaxIDLen)}))
	require.NoError(t, CheckRef(Ref{Kind: "ticket", ID: "ä/ü: 1"}))
	for _, tc := range []struct {
		ref    Ref
		fields []string
	}{
		{Ref{}, []string{"kind", "id"}},
		{Ref{Kind: "Ticket", ID: "1"}, []string{"kind"}},
		{Ref{Kind: "ticket"}, []string{"id"}},
		{Ref{Kind: "ticket", ID: strings.Repeat("i", MaxIDLen+1)}, []string{"id"}},
		{Ref{Kind: "ticket", ID: "a\x00"}, []string{"id"}},
		{Ref{Kind: "ticket", ID: "\xff"}, []string{"id"}},
		{Ref{Kind: strings.Repeat("k", 41), ID: "1"}, []string{"kind"}},
	} {
		require.Equal(t, tc.fields, fieldsOf(t, CheckRef(tc.ref)), "%+v", tc.ref)
	}
	var v *itsm.ValidationError
	require.ErrorAs(t, CheckRef(Ref{}), &v)
	require.Equal(t, "record", v.Subject)
}
