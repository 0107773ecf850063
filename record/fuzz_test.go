package record

import (
	"encoding/base64"
	"encoding/json"
	"math"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func FuzzParseCursor(f *testing.F) {
	for _, c := range []Cursor{
		{Order: ByOpened, At: t0, ID: "a"},
		{Order: ByResolved, At: time.Date(1, 1, 1, 0, 0, 0, 1, time.UTC), ID: "INC:1"},
		{Order: ByClosed, At: time.Date(9999, 12, 31, 23, 59, 59, 999999999, time.UTC), ID: "ä"},
		{Order: ByOpened, ID: "zero"},
	} {
		f.Add(c.String())
	}
	for _, raw := range []string{"1:0:0:0:a", "1:256:0:0:a", "1:0:-62135596801:0:a", "1:0:0:1000000000:a", "1:0:0:0:", "2:0:0:0:a", "1:+1:+0:+0::"} {
		f.Add(base64.RawURLEncoding.EncodeToString([]byte(raw)))
	}
	f.Add("")
	f.Add("!!")
	f.Fuzz(func(t *testing.T, s string) {
		c, err := ParseCursor(s)
		if err != nil {
			if fieldsOf(t, err)[0] != "after" {
				t.Fatalf("error %v is not for after", err)
			}
			return
		}
		if !c.Order.Valid() || c.ID == "" || !validInstant(c.At) || c.At.Location() != time.UTC {
			t.Fatalf("ParseCursor(%q) = %+v", s, c)
		}
		again, err := ParseCursor(c.String())
		if err != nil {
			t.Fatalf("re-encoded cursor %q of %+v does not parse: %v", c.String(), c, err)
		}
		if again != c {
			t.Fatalf("cursor %+v came back as %+v", c, again)
		}
	})
}

// fuzzZones are the named zones FuzzCursorInstants puts instants in,
// with odd offsets (Kolkata's half hour, Chatham's 12:45, Lord Howe's
// half-hour daylight saving time, the local mean times of old dates).
var fuzzZones = []*time.Location{time.UTC, time.Local, berlin, mustLoad("America/New_York"), mustLoad("Asia/Kolkata"),
	mustLoad("Pacific/Chatham"), mustLoad("Australia/Lord_Howe"), mustLoad("Pacific/Kiritimati"), mustLoad("America/St_Johns")}

// fuzzInstant maps fuzzed numbers to an instant: sec (taken modulo a span
// from two days before the year 1 to two days after the year 9999, UTC,
// unless raw) and nsec (modulo a second) in the zone zone picks, a fixed
// zone of offset seconds (within ±26 hours) once the named ones are used
// up. It reports whether the instant lies in the years 1 to 9999 in UTC.
func fuzzInstant(sec int64, nsec uint32, zone uint8, offset int32, raw bool) (time.Time, bool) {
	const margin = 2 * 86400
	if !raw {
		lo, span := int64(minUnix-margin), int64(maxUnix-minUnix+1+2*margin)
		sec = lo + (sec%span+span)%span
	}
	loc := time.FixedZone("fuzz", int(offset%(26*3600)))
	if int(zone) < len(fuzzZones) {
		loc = fuzzZones[zone]
	}
	return time.Unix(sec, int64(nsec%1_000_000_000)).In(loc), sec >= minUnix && sec <= maxUnix
}

// FuzzCursorInstants builds cursors from instants across the whole range
// a cursor carries (years 1 to 9999, any nanosecond, any zone) and just
// outside it: those inside come back from their text as the same
// position, in UTC, and order records as they did; those outside, and
// cursors without an ID, are refused.
func FuzzCursorInstants(f *testing.F) {
	type seed struct {
		sec  int64
		nsec uint32
		id   string
	}
	edges := []seed{{minUnix, 0, "a"}, {minUnix, 1, "b"}, {minUnix - 1, 999_999_999, "a"}, {maxUnix, 999_999_999, "z"},
		{maxUnix + 1, 0, "z"}, {0, 0, "epoch"}, {-1, 999_999_999, "before"}, {1e10, 123456789, "INC:0001"},
		{math.MaxInt64, 0, "x"}, {math.MinInt64, 999_999_999, "x"}, {-62135596801 + 86400, 5, ""}}
	for i, a := range edges {
		b := edges[(i+1)%len(edges)]
		f.Add(a.sec, a.nsec, uint8(i), int32(i*3600+1800), uint8(i%3), i%4 == 0, a.id, b.sec, b.nsec, b.id)
		f.Add(a.sec, a.nsec, uint8(200), int32(-14*3600), uint8(4), true, a.id, a.sec, a.nsec, a.id+"a")
	}
	f.Fuzz(func(t *testing.T, sec int64, nsec uint32, zone uint8, offset int32, order uint8, raw bool, id string,
		sec2 int64, nsec2 uint32, id2 string) {
		at, valid := fuzzInstant(sec, nsec, zone, offset, raw)
		o := Order(order % 4) // 3 is not an order
		c := Cursor{Order: o, At: at, ID: id}
		back, err := ParseCursor(c.String())
		if !valid || id == "" || !o.Valid() {
			if err == nil {
				t.Fatalf("cursor %+v (valid %v) parsed as %+v", c, valid, back)
			}
			if got := fieldsOf(t, err); len(got) != 1 || got[0] != "after" {
				t.Fatalf("error %v is not for after", err)
			}
			return
		}
		if err != nil {
			t.Fatalf("cursor %+v at %s does not parse: %v", c, at.UTC().Format(time.RFC3339Nano), err)
		}
		if !back.At.Equal(at) || back.At.Location() != time.UTC || back.ID != id || back.Order != o {
			t.Fatalf("cursor %+v came back as %+v", c, back)
		}
		if back.String() != c.String() {
			t.Fatalf("cursor %+v re-encodes as %q, not %q", c, back.String(), c.String())
		}

		// A record at the second instant comes after the cursor exactly
		// when its instant is later, or equal and its ID greater; before
		// and after the round trip alike.
		at2, _ := fuzzInstant(sec2, nsec2, zone/2, offset/2, false)
		rec := &Record{Header: Header{ID: id2}}
		switch o {
		case ByOpened:
			rec.OpenedAt = at2
		case ByResolved:
			rec.ResolvedAt = at2
		case ByClosed:
			rec.ClosedAt = at2
		}
		want := !at2.IsZero() && (at2.After(at) || at2.Equal(at) && id2 > id)
		if got := c.Precedes(rec); got != want {
			t.Fatalf("cursor %+v precedes %s %s: %v, want %v", c, at2.Format(time.RFC3339Nano), id2, got, want)
		}
		if got := back.Precedes(rec); got != want {
			t.Fatalf("parsed cursor %+v precedes %s %s: %v, want %v", back, at2.Format(time.RFC3339Nano), id2, got, want)
		}
		// The cursor on that record orders against this one as the
		// instants and IDs do.
		if id2 == "" || at2.IsZero() {
			return
		}
		c2, err := ParseCursor(CursorAt(o, rec).String())
		if err != nil {
			return // at2 lies in the margin outside the range
		}
		if cmp := c2.At.Compare(back.At); cmp != at2.Compare(at) {
			t.Fatalf("parsed cursors at %s and %s compare %d", c2.At, back.At, cmp)
		}
		if back.Precedes(rec) != (c2.At.After(back.At) || c2.At.Equal(back.At) && c2.ID > back.ID) {
			t.Fatalf("parsed cursors %+v and %+v disagree on their order", back, c2)
		}
	})
}

func FuzzValueJSON(f *testing.F) {
	for _, s := range []string{
		`"text"`, `""`, `"\u00e4\ud83d\ude00"`, `"\ud800"`, "\"\xff\"", `0`, `-0`, `-9223372036854775808`, `9223372036854775807`,
		`9223372036854775808`, `true`, `false`, `null`, `1.5`, `1e3`, `{}`, `[]`, ` 7 `, `007`, `"a" "b"`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var v Value
		if err := v.UnmarshalJSON(b); err != nil {
			return
		}
		if v.IsZero() {
			t.Fatalf("%q decoded to no value", b)
		}
		out, err := json.Marshal(v)
		if err != nil {
			t.Fatalf("%q decoded to %#v, which does not encode: %v", b, v, err)
		}
		var again Value
		if err := json.Unmarshal(out, &again); err != nil {
			t.Fatalf("%q re-encoded as %s, which does not decode: %v", b, out, err)
		}
		if !again.Equal(v) {
			t.Fatalf("%q decoded to %#v, re-encoded as %s and decoded to %#v", b, v, out, again)
		}
	})
}

func FuzzParseDocument(f *testing.F) {
	full, err := validTicket().Document()
	if err != nil {
		f.Fatal(err)
	}
	f.Add(full)
	for _, s := range []string{
		`{}`,
		`{"kind":"ticket","id":"1","number":"TKT1","state":"new","state_category":"new","opened_at":"2026-01-01T00:00:00Z"}`,
		`{"kind":"ticket","id":"1","number":"TKT1","state":"new","state_category":"NEW","opened_at":"2026-01-01T10:00:00+01:00",
		  "priority":"P1","impact":"high","urgency":"4","attrs":{"a":1,"b":"x","c":true},"body":{ "x" : [1, 2] },
		  "parent":{"kind":"ticket","id":"2"},"requester":{"id":"bob","roles":["r"]},"watchers":[],"config_items":["a"]}`,
		`{"kind":"ticket","opened_at":"0000-01-01T00:30:00+01:00","body":null}`,
		`{"kind":"ticket","opened_at":"1900-01-01T12:00:00+00:19","body":"\u003c"}`,
		`{"KIND":"x","Kind":"y","attrs":{"a":null}}`,
		`{"body":"\ud800"}`,
		`{"title":"\u0000"}`,
		`[]`, `null`, ``,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, doc []byte) {
		rec, err := ParseDocument(doc)
		if err != nil {
			return
		}
		valid := CheckKeys(rec) == nil
		out, err := rec.Document()
		if err != nil {
			if valid {
				t.Fatalf("%q parsed to a record that passes CheckKeys but does not encode: %v", doc, err)
			}
			return
		}
		again, err := ParseDocument(out)
		if err != nil {
			t.Fatalf("%q re-encoded as %q, which does not parse: %v", doc, out, err)
		}
		if diff := cmp.Diff(rec, again, cmpRecord...); diff != "" {
			t.Fatalf("%q re-encoded as %q parses differently (-first +second):\n%s", doc, out, diff)
		}
		if valid != (CheckKeys(again) == nil) {
			t.Fatalf("CheckKeys changed its mind after a round trip of %q", doc)
		}
		// The document is a fixed point.
		out2, err := again.Document()
		if err != nil || string(out2) != string(out) {
			t.Fatalf("document %q encodes again as %q (%v)", out, out2, err)
		}
	})
}

func FuzzSchemaDefJSON(f *testing.F) {
	def, err := json.Marshal(ticketDef())
	if err != nil {
		f.Fatal(err)
	}
	f.Add(def)
	for _, s := range []string{
		`{}`,
		`{"kind":"x","prefix":"X","states":[{"name":"a","category":"new"}]}`,
		`{"kind":"x","prefix":"X","states":[{"name":"a","category":"new"},{"name":"a","category":"done"}],
		  "attributes":[{"name":"c","type":"choice","choices":["a","a",""]},{"name":"c","type":"int","choices":["1"]}]}`,
		`{"kind":"x","attributes":[{"name":"t","type":"bogus"}]}`,
		`{"states":null,"attributes":[null]}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var def SchemaDef
		if json.Unmarshal(b, &def) != nil {
			return
		}
		s, err := NewSchema(def)
		if err != nil {
			fieldsOf(t, err)
			return
		}
		// A valid schema rebuilds from its own definition, through JSON.
		out, err := json.Marshal(s.Def())
		if err != nil {
			t.Fatalf("schema of %q does not encode: %v", b, err)
		}
		var back SchemaDef
		if err := json.Unmarshal(out, &back); err != nil {
			t.Fatalf("schema JSON %q does not decode: %v", out, err)
		}
		s2, err := NewSchema(back)
		if err != nil {
			t.Fatalf("schema JSON %q is refused: %v", out, err)
		}
		if diff := cmp.Diff(s.Def(), s2.Def(), cmpRecord...); diff != "" {
			t.Fatalf("schema changed through JSON:\n%s", diff)
		}
		for _, st := range s.States() {
			if c, ok := s.Category(st.Name); !ok || !c.Valid() {
				t.Fatalf("state %q has category %v, %v", st.Name, c, ok)
			}
		}
	})
}

func FuzzParseIDCursor(f *testing.F) {
	for _, s := range []string{"", IDCursor(1), IDCursor(9223372036854775807), base64.RawURLEncoding.EncodeToString([]byte("0")),
		base64.RawURLEncoding.EncodeToString([]byte("-1")), base64.RawURLEncoding.EncodeToString([]byte("01")), "!!", "MQ=="} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		id, err := ParseIDCursor(s)
		if err != nil {
			if got := fieldsOf(t, err); len(got) != 1 || got[0] != "after" {
				t.Fatalf("error %v is not for after", err)
			}
			return
		}
		if s == "" {
			if id != 0 {
				t.Fatalf("the empty cursor is %d", id)
			}
			return
		}
		if id < 1 || IDCursor(id) != s {
			t.Fatalf("ParseIDCursor(%q) = %d, which encodes as %q", s, id, IDCursor(id))
		}
	})
}

// fuzzText checks that UnmarshalText accepts exactly the texts that
// MarshalText of a valid value gives back unchanged, and leaves the value
// alone on an error.
func fuzzText[T interface {
	~uint8
	MarshalText() ([]byte, error)
}](t *testing.T, b []byte, unmarshal func(*T, []byte) error, field string) {
	const sentinel = 200
	v := T(sentinel)
	if err := unmarshal(&v, b); err != nil {
		if got := fieldsOf(t, err); len(got) != 1 || got[0] != field {
			t.Fatalf("error %v is not for %s", err, field)
		}
		if v != sentinel {
			t.Fatalf("a refused %q changed the value to %d", b, v)
		}
		return
	}
	again, err := v.MarshalText()
	if err != nil || string(again) != string(b) {
		t.Fatalf("%q decoded to %d, which encodes as %q (%v)", b, v, again, err)
	}
}

func FuzzOrderUnmarshalText(f *testing.F) {
	for _, s := range []string{"opened", "resolved", "closed", "Opened", "", "opened ", "Order(3)"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		fuzzText(t, b, (*Order).UnmarshalText, "order")
	})
}

func FuzzCascadeUnmarshalText(f *testing.F) {
	for _, s := range []string{"none", "resolve", "Resolve", "", "Cascade(2)"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		fuzzText(t, b, (*Cascade).UnmarshalText, "cascade")
	})
}
