package record

import (
	"fmt"
	"slices"
	"strconv"

	"github.com/itsmkit/itsmkit/itsm"
)

// AttrType is the type of a custom attribute.
type AttrType uint8

// The attribute types. Text, choice, decimal and time values are kept as
// JSON strings, integers as JSON numbers and booleans as JSON booleans, so
// that the stored document stays readable and the SQL stores can index
// them with plain expressions.
const (
	// AttrText is free text.
	AttrText AttrType = iota + 1
	// AttrInt is a 64-bit signed integer.
	AttrInt
	// AttrDecimal is an exact decimal number (shopspring/decimal), kept
	// in its canonical text form (see Decimal); it can be filtered by
	// equality only, since its text does not sort like its numbers.
	AttrDecimal
	// AttrBool is true or false.
	AttrBool
	// AttrTime is an instant of the years 1 to 9999, kept in UTC to the
	// microsecond in a fixed-width text form (TimeLayout) that sorts like
	// the instants it names.
	AttrTime
	// AttrChoice is one of the attribute's declared Choices.
	AttrChoice
)

var attrTypeNames = [...]string{"", "text", "integer", "decimal", "bool", "time", "choice"}

// String returns the type's name, such as "integer", or "AttrType(N)" for
// an invalid type.
func (t AttrType) String() string {
	if int(t) < len(attrTypeNames) && t != 0 {
		return attrTypeNames[t]
	}
	return "AttrType(" + strconv.Itoa(int(t)) + ")"
}

// Valid reports whether t is one of the declared types.
func (t AttrType) Valid() bool { return t >= AttrText && t <= AttrChoice }

// Ordered reports whether values of t can be filtered by range (Min and
// Max of an AttrFilter): integers and times.
func (t AttrType) Ordered() bool { return t == AttrInt || t == AttrTime }

// MarshalText returns the type's name; an invalid type is an error, so
// nothing unreadable is written.
func (t AttrType) MarshalText() ([]byte, error) {
	if !t.Valid() {
		return nil, fmt.Errorf("record: invalid attribute type %d", t)
	}
	return []byte(t.String()), nil
}

// UnmarshalText accepts a type's name exactly as String writes it, such
// as "integer", and "int" as an alias of "integer". Anything else is an
// *itsm.ValidationError and leaves t unchanged.
func (t *AttrType) UnmarshalText(b []byte) error {
	s := string(b)
	if s == "int" {
		s = "integer"
	}
	for i, n := range attrTypeNames {
		if i > 0 && n == s {
			*t = AttrType(i)
			return nil
		}
	}
	return itsm.NewValidationError("attribute", "type", "%q is not an attribute type", s)
}

// Attribute declares a custom attribute of a kind.
type Attribute struct {
	// Name is the attribute's key, such as "risk": lower-case letters,
	// digits and underscores, starting with a letter, at most 40 bytes.
	Name string `json:"name"`
	// Type is the type of the attribute's values; in JSON its name, such
	// as "integer".
	Type AttrType `json:"type"`
	// Choices lists the values an AttrChoice attribute may take: distinct,
	// non-empty, valid UTF-8 without NUL bytes and at most MaxTextLen
	// bytes each. It must be set for choices and empty otherwise.
	Choices []string `json:"choices,omitempty"`
	// Required makes the attribute mandatory on every record of the kind.
	Required bool `json:"required,omitempty"`
	// Filterable asks the SQL stores for an index on the attribute (a
	// partial expression index for the kind), so that filters on it read
	// an index rather than scanning the kind. Every declared attribute can
	// be filtered; Filterable only makes it fast.
	Filterable bool `json:"filterable,omitempty"`
}

// StateDef is one state of a kind with its category.
type StateDef struct {
	// Name is the state as records carry it in Header.State: 1 to
	// MaxIDLen bytes of valid UTF-8 without NUL bytes.
	Name     string             `json:"name"`
	Category itsm.StateCategory `json:"category"`
}

// SchemaDef is the declarative form of a Schema.
type SchemaDef struct {
	// Kind names the record kind, such as "incident": lower-case letters,
	// digits and underscores, starting with a letter, at most 40 bytes.
	Kind string `json:"kind"`
	// Prefix starts the kind's numbers, such as "INC": upper-case letters
	// and digits, starting with a letter, at most 8 bytes.
	Prefix string `json:"prefix"`
	// States lists every state of the kind's lifecycle with its category;
	// a query naming another state is refused.
	States []StateDef `json:"states"`
	// Attributes lists the custom attributes an application adds.
	Attributes []Attribute `json:"attributes,omitempty"`
	// Limits bounds the sizes of the kind's records (title, description,
	// body, journal, timer cycles); zero fields take their defaults (see
	// Limits and DefaultLimits).
	Limits Limits `json:"limits,omitzero"`
}

// Schema is a validated, immutable SchemaDef: what a store needs to know
// about a kind. It is safe for concurrent use.
type Schema struct {
	def    SchemaDef
	states map[string]itsm.StateCategory
	attrs  map[string]int
}

// NewSchema validates def and returns its Schema. Every problem is
// reported at once in an *itsm.ValidationError whose Subject is "record
// schema <kind>" and whose fields follow the JSON: "kind" and "prefix"
// (empty or malformed), "states" (none), "states[i].name" (empty, not
// valid text of at most MaxIDLen bytes, or a duplicate),
// "states[i].category" (missing or invalid), "attributes[i].name"
// (malformed or a duplicate), "attributes[i].type" (not a type),
// "attributes[i].choices" (missing on a choice attribute, or given to
// another type) and "attributes[i].choices[j]" (empty, not valid text, or
// a duplicate), and "limits.<name>" (negative or above its ceiling, see
// Limits.Validate). The Schema keeps a copy of def, so later changes to
// def's slices do not affect it.
func NewSchema(def SchemaDef) (*Schema, error) {
	v := &itsm.ValidationError{Subject: "record schema " + def.Kind}
	if !validName(def.Kind) {
		v.Add("kind", "%q must be lower-case letters, digits and underscores, starting with a letter, at most 40 bytes", def.Kind)
	}
	if !validPrefix(def.Prefix) {
		v.Add("prefix", "%q must be upper-case letters and digits, starting with a letter, at most 8 bytes", def.Prefix)
	}
	s := &Schema{states: map[string]itsm.StateCategory{}, attrs: map[string]int{}}
	if len(def.States) == 0 {
		v.Add("states", "must not be empty")
	}
	for i, st := range def.States {
		at := "states[" + strconv.Itoa(i) + "]"
		switch _, dup := s.states[st.Name]; {
		case st.Name == "":
			v.Add(at+".name", "must not be empty")
		case textProblem(st.Name, MaxIDLen) != "":
			v.Add(at+".name", "%s", textProblem(st.Name, MaxIDLen))
		case dup:
			v.Add(at+".name", "duplicate state %q", st.Name)
		}
		if !st.Category.Valid() {
			v.Add(at+".category", "state %q needs a category", st.Name)
		}
		if st.Name != "" {
			s.states[st.Name] = st.Category
		}
	}
	for i, a := range def.Attributes {
		at := "attributes[" + strconv.Itoa(i) + "]"
		if _, dup := s.attrs[a.Name]; dup {
			v.Add(at+".name", "duplicate attribute %q", a.Name)
		} else if !validName(a.Name) {
			v.Add(at+".name", "%q must be lower-case letters, digits and underscores, starting with a letter, at most 40 bytes", a.Name)
		}
		s.attrs[a.Name] = i
		if !a.Type.Valid() {
			v.Add(at+".type", "must be one of text, integer, decimal, bool, time, choice")
		}
		switch {
		case a.Type == AttrChoice && len(a.Choices) == 0:
			v.Add(at+".choices", "a choice attribute needs choices")
		case a.Type != AttrChoice && len(a.Choices) > 0:
			v.Add(at+".choices", "only a choice attribute takes choices")
		}
		for j, c := range a.Choices {
			switch {
			case c == "":
				v.Add(at+".choices["+strconv.Itoa(j)+"]", "must not be empty")
			case textProblem(c, MaxTextLen) != "":
				v.Add(at+".choices["+strconv.Itoa(j)+"]", "%s", textProblem(c, MaxTextLen))
			case slices.Index(a.Choices, c) != j:
				v.Add(at+".choices["+strconv.Itoa(j)+"]", "duplicate choice %q", c)
			}
		}
	}
	def.Limits.validate(v, "limits.")
	if err := v.Err(); err != nil {
		return nil, err
	}
	s.def = cloneDef(def)
	return s, nil
}

// MustNewSchema is NewSchema for schemas fixed in code; it panics on an
// invalid definition.
func MustNewSchema(def SchemaDef) *Schema {
	s, err := NewSchema(def)
	if err != nil {
		panic(err)
	}
	return s
}

func cloneDef(d SchemaDef) SchemaDef {
	d.States = slices.Clone(d.States)
	d.Attributes = slices.Clone(d.Attributes)
	for i := range d.Attributes {
		d.Attributes[i].Choices = slices.Clone(d.Attributes[i].Choices)
	}
	return d
}

// Kind returns the kind's name.
func (s *Schema) Kind() string { return s.def.Kind }

// Prefix returns the kind's number prefix.
func (s *Schema) Prefix() string { return s.def.Prefix }

// Def returns a copy of the definition the schema was built from.
func (s *Schema) Def() SchemaDef { return cloneDef(s.def) }

// Limits returns the kind's limits with every default filled in.
func (s *Schema) Limits() Limits { return s.def.Limits.WithDefaults() }

// States returns a copy of the kind's states in definition order.
func (s *Schema) States() []StateDef { return slices.Clone(s.def.States) }

// Category returns the category of state, and false for a state the kind
// does not have.
func (s *Schema) Category(state string) (itsm.StateCategory, bool) {
	c, ok := s.states[state]
	return c, ok
}

// Attributes returns a copy of the declared attributes in definition
// order; changing it, or its Choices, does not change the schema.
func (s *Schema) Attributes() []Attribute { return cloneDef(s.def).Attributes }

// Attribute returns a copy of the attribute named name, and false when
// the kind declares none.
func (s *Schema) Attribute(name string) (Attribute, bool) {
	i, ok := s.attrs[name]
	if !ok {
		return Attribute{}, false
	}
	a := s.def.Attributes[i]
	a.Choices = slices.Clone(a.Choices)
	return a, true
}

// validName reports whether s is a lower-case identifier of at most 40
// bytes: safe to splice into SQL and index names.
func validName(s string) bool {
	if len(s) == 0 || len(s) > 40 || s[0] < 'a' || s[0] > 'z' {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_') {
			return false
		}
	}
	return true
}

func validPrefix(s string) bool {
	if len(s) == 0 || len(s) > 8 || s[0] < 'A' || s[0] > 'Z' {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}

// ValidKind reports whether kind is a well-formed kind name (see
// SchemaDef.Kind). Stores splice only such names into SQL text.
func ValidKind(kind string) bool { return validName(kind) }

// Numbering formats the human numbers of a kind: Prefix, then the store's
// sequence value plus Offset in decimal, zero-padded to at least Digits
// digits, such as "INC0001001" (Digits 7, Offset 1000, value 1). A number
// with more digits than Digits is written in full; Digits of 0 or less
// means no padding.
type Numbering struct {
	Prefix string `json:"prefix"`
	Digits int    `json:"digits"`
	Offset int64  `json:"offset"`
}

// Format returns the number for sequence value seq. It does not check
// that the sum stays positive or fits in int64.
func (n Numbering) Format(seq int64) string {
	// A negative width would make fmt pad with spaces on the right.
	return fmt.Sprintf("%s%0*d", n.Prefix, max(n.Digits, 0), seq+n.Offset)
}
