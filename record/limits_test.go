package record

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/require"

	"github.com/itsmkit/itsmkit/itsm"
	"github.com/itsmkit/itsmkit/sla"
)

// requireLimit requires err to be an *itsm.LimitError matching both
// itsm.ErrTooLarge and itsm.ErrValidation, with the given detail.
func requireLimit(t *testing.T, err error, field string, limit, size int, unit string) {
	t.Helper()
	require.ErrorIs(t, err, itsm.ErrTooLarge)
	require.ErrorIs(t, err, itsm.ErrValidation)
	var le *itsm.LimitError
	require.True(t, errors.As(err, &le), "%T is not an *itsm.LimitError: %v", err, err)
	require.Equal(t, field, le.Field, "field of %v", err)
	require.Equal(t, limit, le.Limit, "limit of %v", err)
	require.Equal(t, size, le.Size, "size of %v", err)
	require.Equal(t, unit, le.Unit, "unit of %v", err)
}

func TestLimitsDefaults(t *testing.T) {
	t.Parallel()
	want := Limits{Title: 1024, Description: 128 << 10, Body: 1 << 20, JournalEntry: 128 << 10, JournalEntries: 10_000, TimerEventsPerCycle: 1_000}
	require.Equal(t, want, DefaultLimits())
	require.Equal(t, want, Limits{}.WithDefaults())
	require.True(t, Limits{}.IsZero())
	require.False(t, want.IsZero())
	got := Limits{Title: 10, JournalEntries: 3}.WithDefaults()
	want.Title, want.JournalEntries = 10, 3
	require.Equal(t, want, got, "set fields are kept, zero ones defaulted")
	require.NoError(t, DefaultLimits().Validate())
	require.NoError(t, Limits{}.Validate())
	ceilings := Limits{Title: MaxTextLimit, Description: MaxTextLimit, Body: MaxTextLimit, JournalEntry: MaxTextLimit,
		JournalEntries: MaxCountLimit, TimerEventsPerCycle: MaxCountLimit}
	require.NoError(t, ceilings.Validate())

	bad := Limits{Title: -1, Description: MaxTextLimit + 1, Body: -5, JournalEntry: MaxTextLimit + 1,
		JournalEntries: -1, TimerEventsPerCycle: MaxCountLimit + 1}
	require.Equal(t, []string{"title", "description", "body", "journal_entry", "journal_entries", "timer_events_per_cycle"},
		fieldsOf(t, bad.Validate()))
	require.Equal(t, -1, bad.WithDefaults().Title, "WithDefaults does not validate")
}

func TestLimitsJSON(t *testing.T) {
	t.Parallel()
	b, err := json.Marshal(Limits{Title: 80, JournalEntries: 50})
	require.NoError(t, err)
	require.JSONEq(t, `{"title":80,"journal_entries":50}`, string(b))
	var back Limits
	require.NoError(t, json.Unmarshal([]byte(`{"description":4000,"timer_events_per_cycle":20}`), &back))
	require.Equal(t, Limits{Description: 4000, TimerEventsPerCycle: 20}, back)

	def := ticketDef()
	b, err = json.Marshal(def)
	require.NoError(t, err)
	require.NotContains(t, string(b), "limits", "a definition without limits writes none")
	def.Limits = Limits{Body: 100}
	b, err = json.Marshal(def)
	require.NoError(t, err)
	var d SchemaDef
	require.NoError(t, json.Unmarshal(b, &d))
	require.Equal(t, Limits{Body: 100}, d.Limits)
}

func TestLimitsCheckRecord(t *testing.T) {
	t.Parallel()
	l := Limits{Title: 8, Description: 16, Body: 24}
	rec := validTicket()
	rec.Title = strings.Repeat("é", 4) // 8 bytes: at the limit
	rec.Description = strings.Repeat("d", 16)
	rec.Body = json.RawMessage(`{"a":"` + strings.Repeat("b", 16) + `"}`) // 24 bytes
	require.NoError(t, l.CheckRecord(rec))
	require.NoError(t, l.CheckRecord(nil))

	title := rec.Clone()
	title.Title += "x"
	requireLimit(t, l.CheckRecord(title), "title", 8, 9, "bytes")
	desc := rec.Clone()
	desc.Description += "x"
	requireLimit(t, l.CheckRecord(desc), "description", 16, 17, "bytes")
	body := rec.Clone()
	body.Body = json.RawMessage(`{"a":"` + strings.Repeat("b", 17) + `"}`)
	requireLimit(t, l.CheckRecord(body), "body", 24, 25, "bytes")
	both := desc.Clone()
	both.Title += "x"
	requireLimit(t, l.CheckRecord(both), "title", 8, 9, "bytes") // the first field over

	var le *itsm.LimitError
	require.True(t, errors.As(l.CheckRecord(title), &le))
	require.Equal(t, "ticket", le.Subject)

	// Zero limits are the defaults.
	def := validTicket()
	def.Title = strings.Repeat("t", DefaultTitleLimit)
	def.Description = strings.Repeat("d", DefaultDescriptionLimit)
	require.NoError(t, Limits{}.CheckRecord(def))
	def.Description += "d"
	requireLimit(t, Limits{}.CheckRecord(def), "description", DefaultDescriptionLimit, DefaultDescriptionLimit+1, "bytes")
}

func TestSchemaLimits(t *testing.T) {
	t.Parallel()
	s := ticketSchema(t)
	require.Equal(t, DefaultLimits(), s.Limits())

	def := ticketDef()
	def.Limits = Limits{Title: 8, JournalEntries: 2}
	small, err := NewSchema(def)
	require.NoError(t, err)
	want := DefaultLimits()
	want.Title, want.JournalEntries = 8, 2
	require.Equal(t, want, small.Limits())
	require.Equal(t, def.Limits, small.Def().Limits, "the definition keeps what was given")

	rec := validTicket()
	rec.Title = "12345678"
	require.NoError(t, small.Check(rec))
	rec.Title += "9"
	requireLimit(t, small.Check(rec), "title", 8, 9, "bytes")
	rec.State = "nowhere" // the limit is reported before anything else
	requireLimit(t, small.Check(rec), "title", 8, 9, "bytes")
	require.NoError(t, CheckKeys(rec), "CheckKeys leaves the kind's limits to the schema")

	def.Limits = Limits{Title: -1, TimerEventsPerCycle: MaxCountLimit + 1}
	_, err = NewSchema(def)
	require.Equal(t, []string{"limits.title", "limits.timer_events_per_cycle"}, fieldsOf(t, err))
}

func TestLimitsCheckEntries(t *testing.T) {
	t.Parallel()
	l := Limits{JournalEntry: 5, JournalEntries: 3}
	e := func(text string) Entry { return Entry{Kind: Comment, Author: "alice", At: t0, Text: text} }
	require.NoError(t, l.CheckEntries(0, nil))
	require.NoError(t, l.CheckEntries(0, []Entry{e("ä123"), e("a"), e("b")}), "5 bytes, 3 entries: at both limits")
	require.NoError(t, l.CheckEntries(2, []Entry{e("x")}))
	require.NoError(t, l.CheckEntries(3, nil), "a full journal takes no entries but an empty call")
	requireLimit(t, l.CheckEntries(0, []Entry{e("a"), e("ä1234")}), "[1].text", 5, 6, "bytes")
	requireLimit(t, l.CheckEntries(3, []Entry{e("x")}), "journal", 3, 4, "entries")
	requireLimit(t, l.CheckEntries(1, []Entry{e("x"), e("y"), e("z")}), "journal", 3, 4, "entries")
	// The text limit comes first, then the count, then CheckEntries.
	requireLimit(t, l.CheckEntries(3, []Entry{e("123456")}), "[0].text", 5, 6, "bytes")
	require.Equal(t, []string{"[0].author"}, fieldsOf(t, l.CheckEntries(0, []Entry{{Kind: Comment, At: t0, Text: "x"}})))

	require.NoError(t, l.CheckJournalLen(1, 2))
	requireLimit(t, l.CheckJournalLen(2, 2), "journal", 3, 4, "entries")
	require.NoError(t, Limits{}.CheckJournalLen(DefaultJournalEntriesLimit, 0))

	big := strings.Repeat("w", DefaultJournalEntryLimit)
	require.NoError(t, Limits{}.CheckEntries(DefaultJournalEntriesLimit-1, []Entry{e(big)}))
	requireLimit(t, Limits{}.CheckEntries(0, []Entry{e(big + "w")}), "[0].text", DefaultJournalEntryLimit, DefaultJournalEntryLimit+1, "bytes")
	requireLimit(t, Limits{}.CheckEntries(DefaultJournalEntriesLimit, []Entry{e("x")}), "journal", DefaultJournalEntriesLimit, DefaultJournalEntriesLimit+1, "entries")
}

// cycledTimer returns a started timer with pauses pause/resume pairs, then
// resets resets, each followed by perReset pause/resume pairs.
func cycledTimer(t *testing.T, pauses, resets, perReset int) *sla.Timer {
	t.Helper()
	tm := fourHourTimer(t)
	at := t0
	step := func() time.Time { at = at.Add(time.Minute); return at }
	require.NoError(t, tm.Start(at))
	pair := func() {
		require.NoError(t, tm.Pause(step(), "awaiting caller"))
		require.NoError(t, tm.Resume(step(), "caller replied"))
	}
	for range pauses {
		pair()
	}
	for range resets {
		require.NoError(t, tm.Reset(step(), sla.Target{}, 0, "reopened"))
		for range perReset {
			pair()
		}
	}
	return tm
}

func TestLimitsCheckTimerRecords(t *testing.T) {
	t.Parallel()
	ref := Ref{Kind: "ticket", ID: "T1"}
	rec := func(tm *sla.Timer) TimerRecord { return NewTimerRecord(ref, "resolution", sla.KindSLA, tm, t0) }
	l := Limits{TimerEventsPerCycle: 5}
	// Start and two pairs: 5 events; a reset starts counting again.
	atLimit := rec(cycledTimer(t, 2, 2, 2))
	require.Equal(t, 15, atLimit.Timer.Len())
	require.NoError(t, l.CheckTimerRecords([]TimerRecord{atLimit}))
	require.NoError(t, l.CheckTimerRecords([]TimerRecord{{Record: ref, ID: "x", Timer: fourHourTimer(t)}}), "an unstarted timer has no cycle")

	first := rec(cycledTimer(t, 3, 0, 0))
	requireLimit(t, l.CheckTimerRecords([]TimerRecord{atLimit, first}), "[1].timer.events", 5, 7, "events")
	later := rec(cycledTimer(t, 0, 2, 3)) // the second reset's cycle has 7 events
	requireLimit(t, l.CheckTimerRecords([]TimerRecord{later}), "[0].timer.events", 5, 7, "events")
	// Timers without a Timer are CheckTimerRecords' to refuse.
	require.Equal(t, []string{"[0].timer"}, fieldsOf(t, l.CheckTimerRecords([]TimerRecord{{Record: ref, ID: "x"}})))

	require.NoError(t, Limits{}.CheckTimerRecords([]TimerRecord{rec(cycledTimer(t, (DefaultTimerEventsPerCycleLimit-1)/2, 0, 0))}))
	requireLimit(t, Limits{}.CheckTimerRecords([]TimerRecord{rec(cycledTimer(t, DefaultTimerEventsPerCycleLimit/2, 0, 0))}),
		"[0].timer.events", DefaultTimerEventsPerCycleLimit, DefaultTimerEventsPerCycleLimit+1, "events")
}

func TestRegistryLimits(t *testing.T) {
	t.Parallel()
	var r Registry
	require.Equal(t, DefaultLimits(), r.Limits("ticket"), "an undeclared kind has the defaults")
	def := ticketDef()
	def.Limits = Limits{Description: 10, JournalEntries: 1, TimerEventsPerCycle: 3}
	require.NoError(t, r.Declare(MustNewSchema(def)))
	require.Equal(t, 10, r.Limits("ticket").Description)

	rec := validTicket()
	rec.Description = "0123456789"
	require.NoError(t, r.CheckRecord(rec))
	rec.Description += "!"
	requireLimit(t, r.CheckRecord(rec), "description", 10, 11, "bytes")
	rec.Number = "" // the limit is reported before CheckKeys' problems
	requireLimit(t, r.CheckRecord(rec), "description", 10, 11, "bytes")
	other := validTicket()
	other.Kind = "other"
	require.Equal(t, []string{"kind"}, fieldsOf(t, r.CheckRecord(other)))
	require.Equal(t, []string{"record"}, fieldsOf(t, r.CheckRecord(nil)))

	e := Entry{Kind: WorkNote, Author: "bob", At: t0, Text: "x"}
	require.NoError(t, r.CheckEntries("ticket", 0, []Entry{e}))
	requireLimit(t, r.CheckEntries("ticket", 1, []Entry{e}), "journal", 1, 2, "entries")
	require.NoError(t, r.CheckEntries("other", 1, []Entry{e}), "another kind has the defaults")

	long := NewTimerRecord(Ref{Kind: "ticket", ID: "T1"}, "r", sla.KindSLA, cycledTimer(t, 2, 0, 0), t0)
	requireLimit(t, r.CheckTimerRecords([]TimerRecord{long}), "[0].timer.events", 3, 5, "events")
	long.Record.Kind = "other"
	require.NoError(t, r.CheckTimerRecords([]TimerRecord{long}))
	long.ID = ""
	require.Equal(t, []string{"[0].id"}, fieldsOf(t, r.CheckTimerRecords([]TimerRecord{long})))
	if diff := cmp.Diff(DefaultLimits(), r.Limits("other")); diff != "" {
		t.Fatal(diff)
	}
}
