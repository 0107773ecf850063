package jetstream_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/itsmkit/itsmkit/bridge/jetstream"
	"github.com/itsmkit/itsmkit/itsm"
)

func TestToken(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"incident":     "incident",
		"known_error":  "known_error",
		"set-priority": "set-priority",
		"":             "%",
		"a.b":          "a%2Eb",
		"*":            "%2A",
		">":            "%3E",
		"a b\tc\r\n":   "a%20b%09c%0D%0A",
		"100%":         "100%25",
		"a/b":          "a%2Fb",
		"é":            "%C3%A9",
		"\x00\xff":     "%00%FF",
	} {
		require.Equal(t, want, jetstream.Token(in), "%q", in)
	}
}

// unescape inverts Token, failing on anything Token cannot give.
func unescape(t testing.TB, tok string) string {
	t.Helper()
	if tok == "%" {
		return ""
	}
	var b strings.Builder
	for i := 0; i < len(tok); i++ {
		c := tok[i]
		if c != '%' {
			require.True(t, c == '-' || c == '_' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9', "byte %q in %q", c, tok)
			b.WriteByte(c)
			continue
		}
		require.LessOrEqual(t, i+3, len(tok), "%q", tok)
		const hex = "0123456789ABCDEF"
		hi, lo := strings.IndexByte(hex, tok[i+1]), strings.IndexByte(hex, tok[i+2])
		require.True(t, hi >= 0 && lo >= 0, "%q", tok)
		b.WriteByte(byte(hi<<4 | lo))
		i += 2
	}
	return b.String()
}

// FuzzToken checks that every token is one safe, non-empty subject token
// that names its input alone.
func FuzzToken(f *testing.F) {
	for _, s := range []string{"", "incident", "a.b.*.>", " \t", "%41", "é", "\xff"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		tok := jetstream.Token(s)
		require.NotEmpty(t, tok)
		require.False(t, strings.ContainsAny(tok, ".*> \t\r\n"), "%q", tok)
		require.NoError(t, jetstream.CheckSubject("subject", "p."+tok))
		require.Equal(t, s, unescape(t, tok))
	})
}

func TestSubjectAndMsgID(t *testing.T) {
	t.Parallel()
	e := itsm.Event{Kind: "incident", RecordID: "INC0001001", Sequence: 3, Action: "resolve"}
	require.Equal(t, "itsm.incident.resolve", jetstream.Subject("itsm", e))
	require.Equal(t, "acme.itsm.incident.resolve", jetstream.Subject("acme.itsm", e))
	require.Equal(t, "incident/INC0001001/3", jetstream.MsgID(e))

	// Neither a kind nor an action can add a token, a wildcard or
	// whitespace, or take another event's subject.
	evil := itsm.Event{Kind: "incident.>", RecordID: "a/b", Sequence: 1, Action: "* x"}
	require.Equal(t, "itsm.incident%2E%3E.%2A%20x", jetstream.Subject("itsm", evil))
	require.Len(t, strings.Split(jetstream.Subject("itsm", evil), "."), 3)
	require.Equal(t, "incident%2E%3E/a%2Fb/1", jetstream.MsgID(evil))
	a := itsm.Event{Kind: "a", RecordID: "b/c", Sequence: 1}
	b := itsm.Event{Kind: "a/b", RecordID: "c", Sequence: 1}
	require.NotEqual(t, jetstream.MsgID(a), jetstream.MsgID(b))
}

func TestCheckSubject(t *testing.T) {
	t.Parallel()
	for _, ok := range []string{"itsm", "acme.itsm", "a-b_c.d", "ü"} {
		require.NoError(t, jetstream.CheckSubject("prefix", ok), ok)
	}
	for _, bad := range []string{"", ".itsm", "itsm.", "a..b", "a b", "a\tb", "a*", "a.>", "a.*.b", "\xff", "a\x00b"} {
		err := jetstream.CheckSubject("prefix", bad)
		var v *itsm.ValidationError
		require.ErrorAs(t, err, &v, "%q", bad)
		require.True(t, v.Has("prefix"), "%q", bad)
	}
}
