package record

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestCheckEntries(t *testing.T) {
	t.Parallel()
	ok := Entry{Kind: Comment, Author: "alice", At: t0, Text: "Rebooted the printer."}
	require.NoError(t, CheckEntries(nil))
	require.NoError(t, CheckEntries([]Entry{ok, {Kind: WorkNote, Author: strings.Repeat("a", MaxIDLen), At: t0.In(berlin), Text: strings.Repeat("ü", MaxTextLimit/2)}}))

	tests := []struct {
		name   string
		mutate func(e *Entry)
		fields []string
	}{
		{"no kind", func(e *Entry) { e.Kind = "" }, []string{"[0].kind"}},
		{"unknown kind", func(e *Entry) { e.Kind = "note" }, []string{"[0].kind"}},
		{"kind in another case", func(e *Entry) { e.Kind = "Comment" }, []string{"[0].kind"}},
		{"no author", func(e *Entry) { e.Author = "" }, []string{"[0].author"}},
		{"author too long", func(e *Entry) { e.Author = strings.Repeat("a", MaxIDLen+1) }, []string{"[0].author"}},
		{"author with NUL", func(e *Entry) { e.Author = "a\x00" }, []string{"[0].author"}},
		{"author not UTF-8", func(e *Entry) { e.Author = "\xff" }, []string{"[0].author"}},
		{"no time", func(e *Entry) { e.At = time.Time{} }, []string{"[0].at"}},
		{"time in year 10000", func(e *Entry) { e.At = time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC) }, []string{"[0].at"}},
		{"time in UTC year 0", func(e *Entry) { e.At = time.Date(1, 1, 1, 0, 59, 0, 0, plusOne) }, []string{"[0].at"}},
		{"no text", func(e *Entry) { e.Text = "" }, []string{"[0].text"}},
		{"blank text", func(e *Entry) { e.Text = " \t\n " }, []string{"[0].text"}},
		{"text not UTF-8", func(e *Entry) { e.Text = "caf\xe9" }, []string{"[0].text"}},
		{"text with NUL", func(e *Entry) { e.Text = "a\x00b" }, []string{"[0].text"}},
		{"text too long", func(e *Entry) { e.Text = strings.Repeat("a", MaxTextLimit+1) }, []string{"[0].text"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := ok
			tc.mutate(&e)
			require.Equal(t, tc.fields, fieldsOf(t, CheckEntries([]Entry{e})))
		})
	}

	t.Run("every problem at once", func(t *testing.T) {
		t.Parallel()
		err := CheckEntries([]Entry{ok, {}, ok, {Kind: "x", Author: "\x00", At: time.Date(0, 1, 1, 0, 0, 0, 0, time.UTC), Text: "\xff"}})
		require.Equal(t, []string{
			"[1].kind", "[1].author", "[1].at", "[1].text",
			"[3].kind", "[3].author", "[3].at", "[3].text",
		}, fieldsOf(t, err))
		require.Contains(t, err.Error(), "invalid journal entries")
	})
}
