package sla

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// vectorLine is one line of testdata/business_calendar_vectors.jsonl.
type vectorLine struct {
	ID       string        `json:"id"`
	Calendar CalendarSpec  `json:"calendar"`
	Queries  []vectorQuery `json:"queries"`
}

type vectorQuery struct {
	Op          string    `json:"op"`
	At          time.Time `json:"at"`
	Seconds     int64     `json:"seconds"`
	Want        any       `json:"want"`
	From        time.Time `json:"from"`
	To          time.Time `json:"to"`
	WantSeconds int64     `json:"want_seconds"`
}

func loadVectors(t testing.TB) []vectorLine {
	t.Helper()
	f, err := os.Open("testdata/business_calendar_vectors.jsonl")
	require.NoError(t, err)
	defer f.Close()
	var out []vectorLine
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<24)
	for sc.Scan() {
		var l vectorLine
		require.NoError(t, json.Unmarshal(sc.Bytes(), &l))
		out = append(out, l)
	}
	require.NoError(t, sc.Err())
	return out
}

func TestCalendarVectors(t *testing.T) {
	t.Parallel()
	lines := loadVectors(t)
	require.Len(t, lines, 40)
	n := 0
	for _, l := range lines {
		cal, err := NewCalendar(l.Calendar)
		require.NoError(t, err, l.ID)
		for qi, q := range l.Queries {
			n++
			t.Run(fmt.Sprintf("%s/%d-%s", l.ID, qi, q.Op), func(t *testing.T) {
				t.Parallel()
				d := time.Duration(q.Seconds) * time.Second
				switch q.Op {
				case "add", "sub":
					want, err := time.Parse(time.RFC3339Nano, q.Want.(string))
					require.NoError(t, err)
					var got time.Time
					if q.Op == "add" {
						got = cal.Add(q.At, d)
					} else {
						got = cal.Sub(q.At, d)
					}
					require.Truef(t, want.Equal(got), "%s(%s, %s) = %s, want %s", q.Op, q.At, d, got.UTC(), want)
				case "elapsed":
					require.Equal(t, time.Duration(q.WantSeconds)*time.Second, cal.Elapsed(q.From, q.To))
				case "is_open":
					require.Equal(t, q.Want.(bool), cal.IsOpen(q.At))
				default:
					t.Fatalf("unknown op %q", q.Op)
				}
			})
		}
	}
	require.Equal(t, 800, n)
}
