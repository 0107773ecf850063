package record

import (
	"encoding/json"
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/require"
)

var (
	_ json.Marshaler   = Value{}
	_ json.Unmarshaler = (*Value)(nil)
)

func TestValueConstructors(t *testing.T) {
	t.Parallel()

	t.Run("zero", func(t *testing.T) {
		t.Parallel()
		var v Value
		require.True(t, v.IsZero())
		require.Equal(t, "", v.String())
		_, ok := v.Str()
		require.False(t, ok)
		_, ok = v.Int()
		require.False(t, ok)
		_, ok = v.Bool()
		require.False(t, ok)
		_, err := v.MarshalJSON()
		require.Error(t, err)
		_, err = json.Marshal(map[string]Value{"a": v})
		require.Error(t, err)
	})

	t.Run("text", func(t *testing.T) {
		t.Parallel()
		v := Text("héllo")
		require.False(t, v.IsZero())
		s, ok := v.Str()
		require.True(t, ok)
		require.Equal(t, "héllo", s)
		require.Equal(t, "héllo", v.String())
		n, ok := v.Int()
		require.False(t, ok)
		require.Zero(t, n)
		b, ok := v.Bool()
		require.False(t, ok)
		require.False(t, b)
		require.False(t, Text("").IsZero(), "the empty text is a value")
		_, err := v.Decimal()
		require.Error(t, err)
		_, err = v.Time()
		require.Error(t, err)
	})

	t.Run("integer", func(t *testing.T) {
		t.Parallel()
		for _, n := range []int64{0, -7, math.MaxInt64, math.MinInt64} {
			v := Int(n)
			got, ok := v.Int()
			require.True(t, ok)
			require.Equal(t, n, got)
			s, ok := v.Str()
			require.False(t, ok)
			require.Empty(t, s)
			_, ok = v.Bool()
			require.False(t, ok)
			require.False(t, v.IsZero())
			_, err := v.Decimal()
			require.Error(t, err)
			_, err = v.Time()
			require.Error(t, err)
		}
		require.Equal(t, "-7", Int(-7).String())
	})

	t.Run("bool", func(t *testing.T) {
		t.Parallel()
		for _, b := range []bool{false, true} {
			v := Bool(b)
			got, ok := v.Bool()
			require.True(t, ok)
			require.Equal(t, b, got)
			_, ok = v.Int()
			require.False(t, ok)
			_, ok = v.Str()
			require.False(t, ok)
			require.False(t, v.IsZero())
		}
		require.Equal(t, "false", Bool(false).String())
		require.Equal(t, "true", Bool(true).String())
	})

	t.Run("decimal", func(t *testing.T) {
		t.Parallel()
		for in, want := range map[string]string{
			"1.50": "1.5", "-0": "0", "0.000": "0", "1e3": "1000", "+2.10": "2.1",
			"-12.3400": "-12.34", "123456789012345678901234567890.5": "123456789012345678901234567890.5",
		} {
			v := Decimal(decimal.RequireFromString(in))
			s, ok := v.Str()
			require.True(t, ok)
			require.Equal(t, want, s, in)
			d, err := v.Decimal()
			require.NoError(t, err)
			require.True(t, d.Equal(decimal.RequireFromString(in)), in)
		}
		_, err := Text("abc").Decimal()
		require.Error(t, err)
	})

	t.Run("time", func(t *testing.T) {
		t.Parallel()
		at := time.Date(2026, 3, 4, 6, 6, 7, 123456789, plusOne)
		v := Time(at)
		s, ok := v.Str()
		require.True(t, ok)
		require.Equal(t, "2026-03-04T05:06:07.123456Z", s)
		got, err := v.Time()
		require.NoError(t, err)
		require.Equal(t, time.UTC, got.Location())
		require.True(t, got.Equal(at.Truncate(time.Microsecond)), got)
		require.Equal(t, "0001-01-01T00:00:00.000000Z", Time(time.Time{}).String())
		require.Equal(t, "9999-12-31T23:59:59.999999Z", Time(time.Date(9999, 12, 31, 23, 59, 59, 999999999, time.UTC)).String())
		// Truncation goes towards the past, also before 1970.
		require.Equal(t, "1969-12-31T23:59:59.999999Z", Time(time.Unix(0, -1)).String())
		_, err = Text("2026-03-04").Time()
		require.Error(t, err)
	})
}

func TestValueJSON(t *testing.T) {
	t.Parallel()
	tests := []struct {
		v    Value
		json string
	}{
		{Text("plain"), `"plain"`},
		{Text(""), `""`},
		{Text(`quote " backslash \ <tag> ä 😀`), `"quote \" backslash \\ \u003ctag\u003e ä 😀"`},
		{Text("5"), `"5"`},
		{Text("true"), `"true"`},
		{Int(0), `0`},
		{Int(-42), `-42`},
		{Int(math.MaxInt64), `9223372036854775807`},
		{Int(math.MinInt64), `-9223372036854775808`},
		{Bool(true), `true`},
		{Bool(false), `false`},
		{Decimal(decimal.RequireFromString("-3.1400")), `"-3.14"`},
		{Time(time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC)), `"0001-01-01T00:00:00.000000Z"`},
		{Time(time.Date(2026, 1, 2, 3, 4, 5, 6000, berlin)), `"2026-01-02T02:04:05.000006Z"`},
	}
	for _, tc := range tests {
		b, err := json.Marshal(tc.v)
		require.NoError(t, err)
		require.Equal(t, tc.json, string(b))
		var back Value
		require.NoError(t, json.Unmarshal(b, &back))
		require.True(t, tc.v.Equal(back), "%s: %#v", b, back)
		require.Equal(t, tc.v, back)
	}

	// In a map, as in a record's attributes, with white space around.
	var m map[string]Value
	require.NoError(t, json.Unmarshal([]byte(`{"a": 1 , "b":"x", "c": true, "d": -0}`), &m))
	require.Equal(t, map[string]Value{"a": Int(1), "b": Text("x"), "c": Bool(true), "d": Int(0)}, m)

	var v Value
	require.NoError(t, v.UnmarshalJSON([]byte(" \t\n12 ")))
	require.Equal(t, Int(12), v)
}

func TestValueUnmarshalJSONRefuses(t *testing.T) {
	t.Parallel()
	for _, in := range []string{
		``, ` `, `null`, `{}`, `{"a":1}`, `[]`, `[1]`,
		`1.5`, `1.0`, `-0.5`, `1e3`, `1E3`, `2e0`,
		`9223372036854775808`, `-9223372036854775809`, `18446744073709551616`, `99999999999999999999999`,
		`+1`, `-`, `0x10`, `NaN`, `Infinity`,
		`tru`, `True`, `falsey`, `nul`,
		`"unterminated`, `'single'`, `"a" "b"`, `abc`,
	} {
		v := Int(7)
		require.Error(t, v.UnmarshalJSON([]byte(in)), "%q", in)
		require.Equal(t, Int(7), v, "%q leaves the value unchanged", in)
	}
	// Through encoding/json, a null attribute is refused too.
	var m map[string]Value
	require.Error(t, json.Unmarshal([]byte(`{"a":null}`), &m))
	require.Error(t, json.Unmarshal([]byte(`{"a":1.5}`), &m))
}

func TestValueCompare(t *testing.T) {
	t.Parallel()

	ascending := func(t *testing.T, vs ...Value) {
		t.Helper()
		for i := range vs {
			for j := range vs {
				want := 0
				switch {
				case i < j:
					want = -1
				case i > j:
					want = 1
				}
				require.Equal(t, want, vs[i].Compare(vs[j]), "%v vs %v", vs[i], vs[j])
				require.Equal(t, want == 0, vs[i].Equal(vs[j]))
			}
		}
	}

	t.Run("integers", func(t *testing.T) {
		t.Parallel()
		ascending(t, Int(math.MinInt64), Int(-100), Int(-9), Int(-1), Int(0), Int(2), Int(10), Int(math.MaxInt64))
	})
	t.Run("strings bytewise", func(t *testing.T) {
		t.Parallel()
		ascending(t, Text(""), Text("A"), Text("B"), Text("Z"), Text("a"), Text("ab"), Text("b"), Text("z"), Text("é"))
	})
	t.Run("bools", func(t *testing.T) {
		t.Parallel()
		ascending(t, Bool(false), Bool(true))
	})
	t.Run("kinds", func(t *testing.T) {
		t.Parallel()
		ascending(t, Value{}, Text("zzz"), Int(math.MinInt64), Bool(false))
	})
	t.Run("times order like instants", func(t *testing.T) {
		t.Parallel()
		var instants []time.Time
		for _, y := range []int{1, 2, 99, 100, 999, 1000, 1583, 1677, 1969, 1970, 2000, 2262, 2263, 5000, 9998, 9999} {
			for _, d := range []time.Duration{0, time.Microsecond, 13*time.Hour + 999999*time.Microsecond} {
				instants = append(instants, time.Date(y, 6, 15, 0, 0, 0, 0, time.UTC).Add(d))
			}
		}
		instants = append(instants, time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(9999, 12, 31, 23, 59, 59, 999999000, time.UTC))
		// Shuffle deterministically and sort both ways.
		slices.SortFunc(instants, func(a, b time.Time) int {
			return strings.Compare(a.Format(time.RFC3339Nano)[5:], b.Format(time.RFC3339Nano)[5:])
		})
		byValue := slices.Clone(instants)
		slices.SortStableFunc(byValue, func(a, b time.Time) int { return Time(a).Compare(Time(b)) })
		slices.SortStableFunc(instants, func(a, b time.Time) int { return a.Compare(b) })
		require.Equal(t, instants, byValue)
		for i := 1; i < len(instants); i++ {
			require.Equal(t, -1, Time(instants[i-1]).Compare(Time(instants[i])), "%v < %v", instants[i-1], instants[i])
		}
		// Zones do not matter.
		at := time.Date(2026, 1, 1, 0, 30, 0, 0, plusOne)
		require.Equal(t, -1, Time(at).Compare(Time(at.UTC().Add(time.Microsecond))))
		require.True(t, Time(at).Equal(Time(at.UTC())))
	})
}

func TestCheckAttrs(t *testing.T) {
	t.Parallel()
	def := ticketDef()
	def.Attributes = append(def.Attributes, Attribute{Name: "code", Type: AttrText, Required: true})
	s, err := NewSchema(def)
	require.NoError(t, err)

	valid := func() map[string]Value {
		return map[string]Value{
			"risk": Text("low"), "count": Int(-3), "cost": Text("12.75"), "urgent": Bool(false),
			"due": Time(t0), "note": Text(strings.Repeat("ü", MaxTextLen/2)), "code": Text(""),
		}
	}
	require.NoError(t, s.CheckAttrs(valid()))

	tests := []struct {
		name string
		attr string
		val  Value
		msg  string
	}{
		{"undeclared", "colour", Text("red"), "is not an attribute of ticket records"},
		{"text given an integer", "note", Int(1), "must be text"},
		{"text given a bool", "note", Bool(true), "must be text"},
		{"text given no value", "note", Value{}, "must be text"},
		{"text not UTF-8", "note", Text("bad \xff"), "is not valid UTF-8"},
		{"text with NUL", "note", Text("a\x00b"), "contains a NUL byte"},
		{"text too long", "note", Text(strings.Repeat("a", MaxTextLen+1)), "is longer than 65536 bytes"},
		{"integer given text", "count", Text("1"), "must be an integer"},
		{"integer given a bool", "count", Bool(true), "must be an integer"},
		{"decimal given an integer", "cost", Int(1), "must be a decimal number"},
		{"decimal not a number", "cost", Text("abc"), "must be a decimal number"},
		{"decimal empty", "cost", Text(""), "must be a decimal number"},
		{"decimal trailing zero", "cost", Text("1.50"), "must be written as 1.5"},
		{"decimal exponent", "cost", Text("1e3"), "must be written as 1000"},
		{"decimal plus", "cost", Text("+1"), "must be written as 1"},
		{"decimal leading zero", "cost", Text("01"), "must be written as 1"},
		{"decimal negative zero", "cost", Text("-0"), "must be written as 0"},
		{"decimal too long", "cost", Text(strings.Repeat("9", MaxTextLen+1)), "is longer than"},
		{"bool given text", "urgent", Text("true"), "must be true or false"},
		{"bool given an integer", "urgent", Int(1), "must be true or false"},
		{"time given an integer", "due", Int(0), "must be a time"},
		{"time in RFC 3339", "due", Text("2026-01-02T03:04:05Z"), "must be a time written as"},
		{"time with an offset", "due", Text("2026-01-02T03:04:05.000000+01:00"), "must be a time written as"},
		{"time with nanoseconds", "due", Text("2026-01-02T03:04:05.000000001Z"), "must be a time written as"},
		{"time with a space", "due", Text("2026-01-02 03:04:05.000000Z"), "must be a time written as"},
		{"time out of range", "due", Text("2026-13-02T03:04:05.000000Z"), "must be a time written as"},
		{"time in year 0", "due", Text("0000-12-31T23:59:59.999999Z"), "lies outside the years 1 to 9999"},
		{"time in year 10000", "due", Time(time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)), "must be a time written as"},
		{"time before year 0", "due", Time(time.Date(-1, 1, 1, 0, 0, 0, 0, time.UTC)), "must be a time written as"},
		{"choice given an integer", "risk", Int(1), "must be one of the choices"},
		{"choice not declared", "risk", Text("extreme"), `"extreme" is not one of the choices`},
		{"choice in another case", "risk", Text("High"), `"High" is not one of the choices`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			attrs := valid()
			attrs[tc.attr] = tc.val
			err := s.CheckAttrs(attrs)
			require.Equal(t, []string{"attrs." + tc.attr}, fieldsOf(t, err))
			require.Contains(t, err.Error(), tc.msg)
		})
	}

	t.Run("required missing", func(t *testing.T) {
		t.Parallel()
		attrs := valid()
		delete(attrs, "code")
		err := s.CheckAttrs(attrs)
		require.Equal(t, []string{"attrs.code"}, fieldsOf(t, err))
		require.Contains(t, err.Error(), "is required")
		// Optional attributes may be missing; nil attrs miss them all.
		require.NoError(t, s.CheckAttrs(map[string]Value{"code": Text("x")}))
		require.Equal(t, []string{"attrs.code"}, fieldsOf(t, s.CheckAttrs(nil)))
	})

	t.Run("every problem at once", func(t *testing.T) {
		t.Parallel()
		err := s.CheckAttrs(map[string]Value{
			"zeta": Int(1), "alpha": Int(1), "risk": Text("none"), "count": Text("1"),
			"cost": Text("1.0"), "urgent": Int(0), "due": Text("yesterday"), "note": Text("\xff"),
		})
		require.Equal(t, []string{
			"attrs.alpha", "attrs.cost", "attrs.count", "attrs.due", "attrs.note",
			"attrs.risk", "attrs.urgent", "attrs.zeta", "attrs.code",
		}, fieldsOf(t, err))
		require.Contains(t, err.Error(), "invalid ticket")
	})
}
