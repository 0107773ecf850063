package record

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"github.com/shopspring/decimal"

	"github.com/itsmkit/itsmkit/itsm"
)

// Value is the value of a custom attribute. It holds one JSON scalar: a
// string (text, choice, decimal and time attributes), an integer or a
// boolean. The zero Value is no value and cannot be stored.
//
// Values compare by their stored form (see Equal and Compare): a value
// of one kind never equals one of another (Text("1") is not Int(1)),
// integers compare as numbers, strings by their bytes, and so time values
// as the instants they name (their text form is fixed-width UTC) while
// decimals compare as text, which is why only their canonical form is
// accepted and why they have no ranges.
type Value struct {
	kind valueKind
	s    string
	n    int64
	b    bool
}

type valueKind uint8

const (
	noValue valueKind = iota
	stringValue
	intValue
	boolValue
)

// TimeLayout is the text form of time attribute values: UTC, six
// fractional digits, fixed width, so that the text order is the order of
// the instants for every year from 1 to 9999.
const TimeLayout = "2006-01-02T15:04:05.000000Z"

// Text returns a text (or choice) value. It does not check s: CheckAttrs
// and CheckQuery do, against the attribute's declaration.
func Text(s string) Value { return Value{kind: stringValue, s: s} }

// Int returns an integer value.
func Int(n int64) Value { return Value{kind: intValue, n: n} }

// Bool returns a boolean value.
func Bool(b bool) Value { return Value{kind: boolValue, b: b} }

// Decimal returns a decimal value in its canonical text form,
// decimal.Decimal.String: no exponent, no leading "+", no trailing zeros
// after the point, "0" for zero (so "1.5", never "1.50" or "15e-1").
func Decimal(d decimal.Decimal) Value { return Value{kind: stringValue, s: d.String()} }

// Time returns a time value: t in UTC, truncated to the microsecond
// (towards the past), written in TimeLayout. Instants outside the years 1
// to 9999 (UTC) have no valid text form; CheckAttrs and CheckQuery refuse
// the values they give.
func Time(t time.Time) Value {
	return Value{kind: stringValue, s: t.UTC().Truncate(time.Microsecond).Format(TimeLayout)}
}

// IsZero reports whether v holds no value.
func (v Value) IsZero() bool { return v.kind == noValue }

// String returns the value as text: the string itself, the integer in
// decimal, or "true"/"false"; "" for no value.
func (v Value) String() string {
	switch v.kind {
	case stringValue:
		return v.s
	case intValue:
		return strconv.FormatInt(v.n, 10)
	case boolValue:
		return strconv.FormatBool(v.b)
	}
	return ""
}

// Int returns the integer and true, or 0 and false when v is not an
// integer.
func (v Value) Int() (int64, bool) { return v.n, v.kind == intValue }

// Bool returns the boolean and true, or false and false when v is not a
// boolean.
func (v Value) Bool() (bool, bool) { return v.b, v.kind == boolValue }

// Str returns the string and true, or "" and false when v is not a
// string (text, choice, decimal or time).
func (v Value) Str() (string, bool) { return v.s, v.kind == stringValue }

// Decimal parses a decimal value; it fails when v is not a string or not
// a decimal. It accepts forms that CheckAttrs refuses as not canonical,
// such as "1.50" or "1e3".
func (v Value) Decimal() (decimal.Decimal, error) {
	if v.kind != stringValue {
		return decimal.Decimal{}, fmt.Errorf("record: %s is not a decimal", v)
	}
	return decimal.NewFromString(v.s)
}

// Time parses a time value written in TimeLayout, in UTC; it fails when v
// is not a string in that layout.
func (v Value) Time() (time.Time, error) {
	if v.kind != stringValue {
		return time.Time{}, fmt.Errorf("record: %s is not a time", v)
	}
	return time.Parse(TimeLayout, v.s)
}

// Equal reports whether v and w hold the same value of the same kind; it
// is v == w. Decimals and times are equal when their texts are.
func (v Value) Equal(w Value) bool { return v == w }

// Compare orders v and w of the same kind (-1, 0, +1): integers as
// numbers, strings by bytes (so time values in TimeLayout as instants, and
// decimals as text, not as numbers), false before true. Values of
// different kinds order by kind (no value, string, integer, boolean), so
// that Compare is a total order.
func (v Value) Compare(w Value) int {
	if v.kind != w.kind {
		return cmpInt(int64(v.kind), int64(w.kind))
	}
	switch v.kind {
	case stringValue:
		switch {
		case v.s < w.s:
			return -1
		case v.s > w.s:
			return 1
		}
		return 0
	case intValue:
		return cmpInt(v.n, w.n)
	case boolValue:
		return cmpInt(b2i(v.b), b2i(w.b))
	}
	return 0
}

func cmpInt(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func b2i(b bool) int64 {
	if b {
		return 1
	}
	return 0
}

// MarshalJSON writes the JSON scalar; no value is an error.
func (v Value) MarshalJSON() ([]byte, error) {
	switch v.kind {
	case stringValue:
		return json.Marshal(v.s)
	case intValue:
		return strconv.AppendInt(nil, v.n, 10), nil
	case boolValue:
		return strconv.AppendBool(nil, v.b), nil
	}
	return nil, fmt.Errorf("record: cannot encode an empty attribute value")
}

// UnmarshalJSON reads a JSON string, integer or boolean; surrounding
// white space is ignored. Null, objects, arrays and numbers that are not
// 64-bit integers (fractions such as 1.5, exponents such as 1e3, values
// beyond int64) are refused. Strings decode as encoding/json decodes them
// (invalid UTF-8 becomes U+FFFD). The attribute's type is not known here:
// "5" is a string and 5 an integer, and CheckAttrs tells them apart.
func (v *Value) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	switch {
	case len(b) == 0:
		return fmt.Errorf("record: empty attribute value")
	case b[0] == '"':
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*v = Text(s)
	case string(b) == "true" || string(b) == "false":
		*v = Bool(string(b) == "true")
	case b[0] == '-' || b[0] >= '0' && b[0] <= '9':
		n, err := strconv.ParseInt(string(b), 10, 64)
		if err != nil {
			return fmt.Errorf("record: attribute value %s is not a 64-bit integer", b)
		}
		*v = Int(n)
	default:
		return fmt.Errorf("record: attribute value %s is not a string, integer or boolean", b)
	}
	return nil
}

// MaxTextLen is the longest text, choice or decimal attribute value, in
// bytes.
const MaxTextLen = 64 << 10

// checkValue reports what is wrong with v as a value of a, or "".
func checkValue(a Attribute, v Value) string {
	switch a.Type {
	case AttrText:
		s, ok := v.Str()
		if !ok {
			return "must be text"
		}
		return textProblem(s, MaxTextLen)
	case AttrChoice:
		s, ok := v.Str()
		if !ok {
			return "must be one of the choices"
		}
		for _, c := range a.Choices {
			if c == s {
				return ""
			}
		}
		return fmt.Sprintf("%q is not one of the choices", s)
	case AttrInt:
		if _, ok := v.Int(); !ok {
			return "must be an integer"
		}
	case AttrBool:
		if _, ok := v.Bool(); !ok {
			return "must be true or false"
		}
	case AttrDecimal:
		if len(v.s) > MaxTextLen {
			// Parsing and printing a decimal takes time quadratic in
			// its length.
			return fmt.Sprintf("is longer than %d bytes", MaxTextLen)
		}
		d, err := v.Decimal()
		if err != nil {
			return "must be a decimal number"
		}
		if d.String() != v.s {
			return fmt.Sprintf("must be written as %s", d.String())
		}
	case AttrTime:
		t, err := v.Time()
		if err != nil {
			return "must be a time written as " + TimeLayout
		}
		if t.Format(TimeLayout) != v.s {
			return "must be a time written as " + TimeLayout
		}
		if t.Year() < 1 {
			return "lies outside the years 1 to 9999"
		}
	}
	return ""
}

// CheckAttrs checks attrs against the kind's declarations: every
// attribute is declared and of its type; text is valid UTF-8 without NUL
// bytes and at most MaxTextLen bytes; choices are among the declared ones;
// decimals are in their canonical form (see Decimal); times are written
// in TimeLayout and lie in the years 1 to 9999; and required attributes
// are present. It reports every problem at once as an
// *itsm.ValidationError with fields "attrs.<name>", in name order and then
// the missing required attributes in declaration order.
func (s *Schema) CheckAttrs(attrs map[string]Value) error {
	v := &itsm.ValidationError{Subject: s.def.Kind}
	s.checkAttrs(v, attrs)
	return v.Err()
}

func (s *Schema) checkAttrs(v *itsm.ValidationError, attrs map[string]Value) {
	for _, name := range sortedKeys(attrs) {
		a, ok := s.Attribute(name)
		if !ok {
			v.Add("attrs."+name, "is not an attribute of %s records", s.def.Kind)
			continue
		}
		if msg := checkValue(a, attrs[name]); msg != "" {
			v.Add("attrs."+name, "%s", msg)
		}
	}
	for _, a := range s.def.Attributes {
		if _, ok := attrs[a.Name]; a.Required && !ok {
			v.Add("attrs."+a.Name, "is required")
		}
	}
}
