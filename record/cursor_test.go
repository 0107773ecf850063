package record

import (
	"encoding/base64"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestOrder(t *testing.T) {
	t.Parallel()
	require.Equal(t, ByOpened, Order(0), "the zero order lists by opening")
	for o, name := range map[Order]string{ByOpened: "opened", ByResolved: "resolved", ByClosed: "closed"} {
		require.True(t, o.Valid())
		require.Equal(t, name, o.String())
	}
	require.False(t, Order(3).Valid())
	require.Equal(t, "Order(3)", Order(3).String())
	for _, o := range []Order{ByOpened, ByResolved, ByClosed} {
		b, err := o.MarshalText()
		require.NoError(t, err)
		var got Order
		require.NoError(t, got.UnmarshalText(b))
		require.Equal(t, o, got)
	}
	_, err := Order(3).MarshalText()
	require.Equal(t, []string{"order"}, fieldsOf(t, err))
	got := ByClosed
	require.Equal(t, []string{"order"}, fieldsOf(t, got.UnmarshalText([]byte("Opened"))))
	require.Equal(t, ByClosed, got, "a refused text leaves the order alone")
}

func TestOrderKey(t *testing.T) {
	t.Parallel()
	rec := validTicket()
	for o, want := range map[Order]time.Time{ByOpened: rec.OpenedAt, ByResolved: rec.ResolvedAt, ByClosed: rec.ClosedAt} {
		at, ok := o.Key(rec)
		require.True(t, ok, o)
		require.True(t, at.Equal(want), o)
	}
	rec.ResolvedAt, rec.ClosedAt = time.Time{}, time.Time{}
	for _, o := range []Order{ByResolved, ByClosed, Order(3)} {
		at, ok := o.Key(rec)
		require.False(t, ok, o)
		require.True(t, at.IsZero(), o)
	}
	c := CursorAt(ByClosed, rec)
	require.True(t, c.At.IsZero())
	require.Equal(t, rec.ID, c.ID)
}

func TestCursorRoundTrip(t *testing.T) {
	t.Parallel()
	ids := []string{"a", "01J8ZQ", "INC:0001:part", ":", "ä/ü ?&=", "x\x00y"}
	for _, year := range []int{1, 1200, 1677, 1970, 2262, 2500, 9999} {
		for _, o := range []Order{ByOpened, ByResolved, ByClosed} {
			for _, id := range ids {
				at := time.Date(year, 12, 31, 23, 59, 59, 987654321, time.UTC)
				if year == 1 {
					at = time.Date(1, 1, 1, 0, 0, 0, 1, time.UTC)
				}
				c := Cursor{Order: o, At: at, ID: id}
				s := c.String()
				require.Equal(t, base64.RawURLEncoding.EncodeToString([]byte(
					"1:"+strconv.Itoa(int(o))+":"+strconv.FormatInt(at.Unix(), 10)+":"+strconv.Itoa(at.Nanosecond())+":"+id)), s)
				got, err := ParseCursor(s)
				require.NoError(t, err, "%v %v %q", year, o, id)
				require.Equal(t, c, got, "%v %v %q", year, o, id)
			}
		}
	}

	// The zero instant (a record without the order's instant) and
	// instants in other zones.
	for _, at := range []time.Time{{}, time.Date(1677, 9, 21, 0, 12, 43, 145224191, berlin), time.Date(2262, 4, 11, 23, 47, 16, 854775808, plusOne)} {
		got, err := ParseCursor(Cursor{Order: ByResolved, At: at, ID: "id"}.String())
		require.NoError(t, err)
		require.True(t, got.At.Equal(at), "%v became %v", at, got.At)
		require.Equal(t, time.UTC, got.At.Location())
	}
}

func TestParseCursorRefuses(t *testing.T) {
	t.Parallel()
	enc := func(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }
	for name, s := range map[string]string{
		"empty":              "",
		"not base64":         "!!not*base64!!",
		"padded base64":      base64.URLEncoding.EncodeToString([]byte("1:0:0:0:ab")),
		"standard base64":    base64.RawStdEncoding.EncodeToString([]byte("1:0:0:0:a??>")),
		"wrong version":      enc("2:0:0:0:a"),
		"no version":         enc(":0:0:0:a"),
		"missing ID":         enc("1:0:0:0"),
		"missing parts":      enc("1:0:0"),
		"only a version":     enc("1"),
		"empty ID":           enc("1:0:0:0:"),
		"order not a number": enc("1:x:0:0:a"),
		"order too big":      enc("1:3:0:0:a"),
		"order wrapping":     enc("1:256:0:0:a"),
		"negative order":     enc("1:-1:0:0:a"),
		"seconds not number": enc("1:0:1e9:0:a"),
		"seconds overflow":   enc("1:0:9223372036854775808:0:a"),
		"nanos too big":      enc("1:0:0:1000000000:a"),
		"negative nanos":     enc("1:0:0:-1:a"),
		"nanos not number":   enc("1:0:0:0.5:a"),
		"year 0":             enc("1:0:-62135596801:999999999:a"),
		"year 10000":         enc("1:0:253402300800:0:a"),
		"far future":         enc("1:0:9223372036854775807:0:a"),
		"far past":           enc("1:0:-9223372036854775808:0:a"),
		"empty order":        enc("1::0:0:a"),
		"empty seconds":      enc("1:0::0:a"),
		"empty nanos":        enc("1:0:0::a"),
		"padding appended":   Cursor{ID: "a"}.String() + "=",
	} {
		c, err := ParseCursor(s)
		require.Error(t, err, "%s: %+v", name, c)
		require.Equal(t, []string{"after"}, fieldsOf(t, err), name)
	}
	// The limits are accepted.
	for _, s := range []string{enc("1:2:-62135596800:0:a"), enc("1:0:253402300799:999999999:a"), enc("1:0:+0:+0:a")} {
		_, err := ParseCursor(s)
		require.NoError(t, err, s)
	}
}

func TestCursorPrecedes(t *testing.T) {
	t.Parallel()
	at := time.Date(1500, 3, 4, 5, 6, 7, 8, time.UTC)
	rec := func(opened time.Time, id string) *Record {
		return &Record{Header: Header{ID: id, OpenedAt: opened}}
	}
	c := Cursor{Order: ByOpened, At: at, ID: "m"}
	tests := []struct {
		rec  *Record
		want bool
	}{
		{rec(at, "a"), false},
		{rec(at, "m"), false},
		{rec(at, "ma"), true},
		{rec(at, "n"), true},
		{rec(at, "M"), false}, // IDs compare bytewise
		{rec(at.Add(time.Nanosecond), "a"), true},
		{rec(at.Add(-time.Nanosecond), "z"), false},
		{rec(at.In(plusOne), "n"), true}, // instants, not wall clocks
		{rec(time.Time{}, "z"), false},
	}
	for _, tc := range tests {
		require.Equal(t, tc.want, c.Precedes(tc.rec), "%v %q", tc.rec.OpenedAt, tc.rec.ID)
	}

	// In another order, a record without that instant never follows.
	r := rec(at, "z")
	require.False(t, Cursor{Order: ByResolved, At: time.Time{}, ID: ""}.Precedes(r))
	r.ResolvedAt = at
	require.True(t, Cursor{Order: ByResolved, At: at.Add(-1), ID: "z"}.Precedes(r))
	require.False(t, Cursor{Order: ByClosed, ID: ""}.Precedes(r))

	// A cursor made on a record precedes exactly the records after it.
	first := CursorAt(ByOpened, rec(at, "m"))
	require.Equal(t, c, first)
}
