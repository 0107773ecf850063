package record

import (
	"encoding"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/require"

	"github.com/itsmkit/itsmkit/itsm"
)

var (
	_ encoding.TextMarshaler   = AttrType(0)
	_ encoding.TextUnmarshaler = (*AttrType)(nil)
	_ fmt.Stringer             = AttrType(0)
)

func TestNewSchemaValid(t *testing.T) {
	t.Parallel()
	s, err := NewSchema(ticketDef())
	require.NoError(t, err)
	require.Equal(t, "ticket", s.Kind())
	require.Equal(t, "TKT", s.Prefix())
	require.Empty(t, cmp.Diff(ticketDef(), s.Def()))

	c, ok := s.Category("on_hold")
	require.True(t, ok)
	require.Equal(t, itsm.CategoryPending, c)
	_, ok = s.Category("unknown")
	require.False(t, ok)

	a, ok := s.Attribute("risk")
	require.True(t, ok)
	require.Equal(t, AttrChoice, a.Type)
	require.True(t, a.Filterable)
	_, ok = s.Attribute("colour")
	require.False(t, ok)

	// The limits themselves are accepted.
	def := ticketDef()
	def.Kind = "k" + strings.Repeat("_", 38) + "9"
	def.Prefix = "ABCDEFG8"
	def.States = append(def.States, StateDef{Name: strings.Repeat("ä", MaxIDLen/2), Category: itsm.CategoryActive})
	def.Attributes = append(def.Attributes, Attribute{Name: "a" + strings.Repeat("z", 39), Type: AttrText, Required: true})
	require.Len(t, def.Kind, 40)
	_, err = NewSchema(def)
	require.NoError(t, err)
}

func TestNewSchemaNames(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		kind   string
		prefix string
		fields []string
	}{
		{"ok", "change_request2", "CHG9", nil},
		{"empty kind", "", "INC", []string{"kind"}},
		{"upper-case kind", "Incident", "INC", []string{"kind"}},
		{"kind with a leading digit", "1incident", "INC", []string{"kind"}},
		{"kind with a leading underscore", "_incident", "INC", []string{"kind"}},
		{"kind with a dash", "service-request", "INC", []string{"kind"}},
		{"kind with a space", "service request", "INC", []string{"kind"}},
		{"non-ASCII kind", "störung", "INC", []string{"kind"}},
		{"kind of 41 bytes", "k" + strings.Repeat("x", 40), "INC", []string{"kind"}},
		{"empty prefix", "incident", "", []string{"prefix"}},
		{"lower-case prefix", "incident", "inc", []string{"prefix"}},
		{"prefix with a leading digit", "incident", "1NC", []string{"prefix"}},
		{"prefix with a dash", "incident", "IN-C", []string{"prefix"}},
		{"prefix of 9 bytes", "incident", "INCIDENTS", []string{"prefix"}},
		{"both", "Bad", "bad", []string{"kind", "prefix"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			def := ticketDef()
			def.Kind, def.Prefix = tc.kind, tc.prefix
			s, err := NewSchema(def)
			if tc.fields == nil {
				require.NoError(t, err)
				require.Equal(t, tc.kind, s.Kind())
				require.True(t, ValidKind(tc.kind))
				return
			}
			require.Nil(t, s)
			require.Equal(t, tc.fields, fieldsOf(t, err))
			if tc.fields[0] == "kind" {
				require.False(t, ValidKind(tc.kind))
			}
		})
	}
}

func TestNewSchemaStatesAndAttributes(t *testing.T) {
	t.Parallel()
	st := func(name string, c itsm.StateCategory) StateDef { return StateDef{Name: name, Category: c} }
	tests := []struct {
		name   string
		states []StateDef
		attrs  []Attribute
		fields []string
	}{
		{"no states", nil, nil, []string{"states"}},
		{"empty states", []StateDef{}, nil, []string{"states"}},
		{"empty state name", []StateDef{st("new", 1), st("", 2)}, nil, []string{"states[1].name"}},
		{"duplicate state", []StateDef{st("new", 1), st("new", 2)}, nil, []string{"states[1].name"}},
		{"uncategorised state", []StateDef{st("new", 0)}, nil, []string{"states[0].category"}},
		{"invalid category", []StateDef{st("new", 7)}, nil, []string{"states[0].category"}},
		{"empty and uncategorised", []StateDef{st("", 0)}, nil, []string{"states[0].name", "states[0].category"}},
		{"state with NUL", []StateDef{st("n\x00w", 1)}, nil, []string{"states[0].name"}},
		{"state not UTF-8", []StateDef{st("n\xffw", 1)}, nil, []string{"states[0].name"}},
		{"state too long", []StateDef{st(strings.Repeat("s", MaxIDLen+1), 1)}, nil, []string{"states[0].name"}},
		{"attribute upper-case", nil, []Attribute{{Name: "Risk", Type: AttrText}}, []string{"attributes[0].name"}},
		{"attribute empty name", nil, []Attribute{{Name: "", Type: AttrText}}, []string{"attributes[0].name"}},
		{"attribute leading digit", nil, []Attribute{{Name: "1risk", Type: AttrText}}, []string{"attributes[0].name"}},
		{"attribute of 41 bytes", nil, []Attribute{{Name: strings.Repeat("a", 41), Type: AttrText}}, []string{"attributes[0].name"}},
		{"duplicate attribute", nil, []Attribute{{Name: "risk", Type: AttrText}, {Name: "risk", Type: AttrInt}}, []string{"attributes[1].name"}},
		{"no type", nil, []Attribute{{Name: "risk"}}, []string{"attributes[0].type"}},
		{"invalid type", nil, []Attribute{{Name: "risk", Type: AttrType(42)}}, []string{"attributes[0].type"}},
		{"choice without choices", nil, []Attribute{{Name: "risk", Type: AttrChoice}}, []string{"attributes[0].choices"}},
		{"choice with empty choices", nil, []Attribute{{Name: "risk", Type: AttrChoice, Choices: []string{}}}, []string{"attributes[0].choices"}},
		{"duplicate choice", nil, []Attribute{{Name: "risk", Type: AttrChoice, Choices: []string{"a", "b", "a"}}}, []string{"attributes[0].choices[2]"}},
		{"empty choice", nil, []Attribute{{Name: "risk", Type: AttrChoice, Choices: []string{"a", ""}}}, []string{"attributes[0].choices[1]"}},
		{"choice with NUL", nil, []Attribute{{Name: "risk", Type: AttrChoice, Choices: []string{"a\x00"}}}, []string{"attributes[0].choices[0]"}},
		{"choice not UTF-8", nil, []Attribute{{Name: "risk", Type: AttrChoice, Choices: []string{"\xff"}}}, []string{"attributes[0].choices[0]"}},
		{"choices on text", nil, []Attribute{{Name: "risk", Type: AttrText, Choices: []string{"a"}}}, []string{"attributes[0].choices"}},
		{"choices on integer", nil, []Attribute{{Name: "risk", Type: AttrInt, Choices: []string{"1"}}}, []string{"attributes[0].choices"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			def := ticketDef()
			if tc.states != nil || tc.attrs == nil {
				def.States = tc.states
			}
			def.Attributes = tc.attrs
			_, err := NewSchema(def)
			require.Equal(t, tc.fields, fieldsOf(t, err))
		})
	}
}

func TestNewSchemaReportsEverything(t *testing.T) {
	t.Parallel()
	def := SchemaDef{
		Kind:   "Bad Kind",
		Prefix: "inc",
		States: []StateDef{
			{Name: "", Category: itsm.CategoryNew},
			{Name: "open", Category: itsm.CategoryActive},
			{Name: "open", Category: itsm.CategoryActive},
			{Name: "waiting"},
			{Name: "bad\x00", Category: itsm.CategoryPending},
		},
		Attributes: []Attribute{
			{Name: "Risk", Type: AttrText},
			{Name: "cost", Type: AttrDecimal},
			{Name: "cost", Type: AttrInt},
			{Name: "size", Type: AttrType(42)},
			{Name: "level", Type: AttrChoice},
			{Name: "tier", Type: AttrChoice, Choices: []string{"a", "", "a"}},
			{Name: "note", Type: AttrText, Choices: []string{"x"}},
		},
	}
	s, err := NewSchema(def)
	require.Nil(t, s)
	require.Equal(t, []string{
		"kind", "prefix",
		"states[0].name", "states[2].name", "states[3].category", "states[4].name",
		"attributes[0].name", "attributes[2].name", "attributes[3].type", "attributes[4].choices",
		"attributes[5].choices[1]", "attributes[5].choices[2]", "attributes[6].choices",
	}, fieldsOf(t, err))
	require.Contains(t, err.Error(), "record schema Bad Kind")
	require.Contains(t, err.Error(), `duplicate state "open"`)
	require.Contains(t, err.Error(), `duplicate attribute "cost"`)
}

func TestMustNewSchema(t *testing.T) {
	t.Parallel()
	require.Equal(t, "ticket", MustNewSchema(ticketDef()).Kind())
	require.Panics(t, func() { MustNewSchema(SchemaDef{}) })
}

func TestSchemaAccessorsReturnCopies(t *testing.T) {
	t.Parallel()
	def := ticketDef()
	s, err := NewSchema(def)
	require.NoError(t, err)

	// Changing the definition after NewSchema does not reach the schema.
	def.States[0].Name = "changed"
	def.Attributes[0].Choices[0] = "changed"
	def.Attributes[1].Name = "changed"

	d := s.Def()
	d.Kind = "other"
	d.States[0].Category = itsm.CategoryClosed
	d.Attributes[0].Choices[0] = "changed"
	d.Attributes[0].Required = true

	states := s.States()
	states[1].Name = "changed"
	states[1].Category = 0

	attrs := s.Attributes()
	attrs[0].Choices[1] = "changed"
	attrs[2].Type = AttrBool

	a, ok := s.Attribute("risk")
	require.True(t, ok)
	a.Choices[2] = "changed"
	a.Choices = append(a.Choices, "more")

	require.Empty(t, cmp.Diff(ticketDef(), s.Def()))
	require.Equal(t, ticketDef().States, s.States())
	require.Equal(t, ticketDef().Attributes, s.Attributes())
	a, _ = s.Attribute("risk")
	require.Equal(t, []string{"low", "medium", "high"}, a.Choices)
	c, ok := s.Category("new")
	require.True(t, ok)
	require.Equal(t, itsm.CategoryNew, c)
	require.NoError(t, s.CheckAttrs(map[string]Value{"risk": Text("high")}))
}

func TestSchemaDefJSON(t *testing.T) {
	t.Parallel()
	const doc = `{
		"kind": "change", "prefix": "CHG",
		"states": [{"name": "draft", "category": "new"}, {"name": "done", "category": "Closed"},
		           {"name": "withdrawn", "category": "canceled"}],
		"attributes": [
			{"name": "risk", "type": "choice", "choices": ["low", "high"], "filterable": true},
			{"name": "window_start", "type": "time", "required": true},
			{"name": "cab_votes", "type": "int"}
		]}`
	var def SchemaDef
	require.NoError(t, json.Unmarshal([]byte(doc), &def))
	s, err := NewSchema(def)
	require.NoError(t, err)
	require.Equal(t, []StateDef{
		{Name: "draft", Category: itsm.CategoryNew},
		{Name: "done", Category: itsm.CategoryClosed},
		{Name: "withdrawn", Category: itsm.CategoryCancelled},
	}, s.States())
	a, _ := s.Attribute("cab_votes")
	require.Equal(t, AttrInt, a.Type)

	out, err := json.Marshal(s.Def())
	require.NoError(t, err)
	require.Contains(t, string(out), `"type":"integer"`)
	var back SchemaDef
	require.NoError(t, json.Unmarshal(out, &back))
	require.Empty(t, cmp.Diff(s.Def(), back))

	// An unknown type name is refused while decoding.
	err = json.Unmarshal([]byte(`{"kind":"x","attributes":[{"name":"a","type":"float"}]}`), &def)
	require.ErrorIs(t, err, itsm.ErrValidation)
}

func TestAttrTypeText(t *testing.T) {
	t.Parallel()
	names := map[AttrType]string{
		AttrText: "text", AttrInt: "integer", AttrDecimal: "decimal",
		AttrBool: "bool", AttrTime: "time", AttrChoice: "choice",
	}
	for typ, name := range names {
		require.True(t, typ.Valid())
		require.Equal(t, name, typ.String())
		b, err := typ.MarshalText()
		require.NoError(t, err)
		require.Equal(t, name, string(b))
		var back AttrType
		require.NoError(t, back.UnmarshalText(b))
		require.Equal(t, typ, back)
		require.Equal(t, typ == AttrInt || typ == AttrTime, typ.Ordered(), name)
	}

	var typ AttrType
	require.NoError(t, typ.UnmarshalText([]byte("int")))
	require.Equal(t, AttrInt, typ)

	for _, bad := range []string{"", "Integer", "INT", " text", "float", "AttrType(1)"} {
		typ := AttrBool
		err := typ.UnmarshalText([]byte(bad))
		require.Equal(t, []string{"type"}, fieldsOf(t, err), "%q", bad)
		require.Equal(t, AttrBool, typ, "unchanged on error")
	}

	for _, bad := range []AttrType{0, 7, 255} {
		require.False(t, bad.Valid())
		require.False(t, bad.Ordered())
		require.Equal(t, fmt.Sprintf("AttrType(%d)", bad), bad.String())
		_, err := bad.MarshalText()
		require.Error(t, err)
	}
}

func TestNumberingFormat(t *testing.T) {
	t.Parallel()
	tests := []struct {
		n    Numbering
		seq  int64
		want string
	}{
		{Numbering{Prefix: "INC", Digits: 7, Offset: 1000}, 1, "INC0001001"},
		{Numbering{Prefix: "INC", Digits: 7}, 1, "INC0000001"},
		{Numbering{Prefix: "CHG", Digits: 3}, 12345, "CHG12345"},
		{Numbering{Prefix: "PRB", Digits: 0}, 42, "PRB42"},
		{Numbering{Prefix: "PRB", Digits: -3}, 42, "PRB42"},
		{Numbering{Prefix: "", Digits: 4}, 7, "0007"},
		{Numbering{Prefix: "REQ", Digits: 1, Offset: 9}, 1, "REQ10"},
	}
	for _, tc := range tests {
		require.Equal(t, tc.want, tc.n.Format(tc.seq), "%+v %d", tc.n, tc.seq)
	}
}
