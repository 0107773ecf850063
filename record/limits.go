package record

import (
	"strconv"

	"github.com/itsmkit/itsmkit/itsm"
	"github.com/itsmkit/itsmkit/sla"
)

// Limits bounds the size of what a record of a kind may hold, so that one
// oversize input (a pasted log file as a comment) cannot make every later
// read and write of the record carry it. A kind takes its limits from its
// SchemaDef; stores enforce them on every write (Create, Update,
// AppendJournal, PutTimers) and practices check them before they write.
//
// Each field is a limit; zero selects its default (DefaultLimits), and a
// limit may be neither negative nor above its ceiling (MaxTextLimit for
// the byte sizes, MaxCountLimit for the counts). Sizes of text are in
// bytes of UTF-8, not characters: a limit of 1,024 bytes holds 1,024
// ASCII letters or 256 characters outside the Basic Multilingual Plane.
//
// The defaults leave room for anything the large ITSM tools accept, so
// that no honest use meets them:
//
//   - Title, 1,024 bytes: Jira caps an issue summary at 255 characters,
//     ServiceNow's short description is 160 characters by default and
//     GLPI's ticket name is a 255-character column; 255 characters of up
//     to 4 bytes each fit.
//   - Description and JournalEntry, 128 KiB: Jira caps text fields and
//     comments at 32,767 UTF-16 code units, which is at most 98,301 bytes
//     of UTF-8; ServiceNow's description and journal fields hold 4,000
//     characters by default.
//   - Body, 1 MiB: a kind's own fields (resolution notes, a change's
//     implementation and back-out plans) as JSON, room for eight texts the
//     size of a description.
//   - JournalEntries, 10,000 per record: Jira Cloud stops an issue at
//     5,000 comments (and 5,000 work logs); a journal holds both kinds.
//   - TimerEventsPerCycle, 1,000 per SLA timer cycle: a cycle (from a
//     start or a reset to the next reset) has a start and a stop, one
//     pause and one resume per hold and one retarget per priority change,
//     so 1,000 events are some 500 holds of one incident.
type Limits struct {
	// Title is the longest title, in bytes.
	Title int `json:"title,omitempty"`
	// Description is the longest description, in bytes.
	Description int `json:"description,omitempty"`
	// Body is the longest body (Record.Body, the kind's own fields as
	// JSON), in bytes.
	Body int `json:"body,omitempty"`
	// JournalEntry is the longest text of one journal entry, in bytes.
	JournalEntry int `json:"journal_entry,omitempty"`
	// JournalEntries is the most journal entries one record may have.
	JournalEntries int `json:"journal_entries,omitempty"`
	// TimerEventsPerCycle is the most events one cycle of an SLA timer
	// may have: the events from a start or a reset up to the next reset,
	// both included.
	TimerEventsPerCycle int `json:"timer_events_per_cycle,omitempty"`
}

// The defaults of Limits; see Limits for why.
const (
	DefaultTitleLimit               = 1024
	DefaultDescriptionLimit         = 128 << 10
	DefaultBodyLimit                = 1 << 20
	DefaultJournalEntryLimit        = 128 << 10
	DefaultJournalEntriesLimit      = 10_000
	DefaultTimerEventsPerCycleLimit = 1_000
)

// The ceilings of Limits.
const (
	// MaxTextLimit is the largest byte size a limit may allow: 64 MiB,
	// well below what PostgreSQL keeps in one jsonb document (256 MiB),
	// so that a record within its limits fits every store. CheckKeys and
	// CheckEntries refuse longer text whatever the limits.
	MaxTextLimit = 64 << 20
	// MaxCountLimit is the largest count a limit may allow, the largest
	// 32-bit integer, which the SQL stores' position columns hold.
	MaxCountLimit = 1<<31 - 1
)

// DefaultLimits returns the limits a kind has when its SchemaDef sets
// none.
func DefaultLimits() Limits {
	return Limits{
		Title:               DefaultTitleLimit,
		Description:         DefaultDescriptionLimit,
		Body:                DefaultBodyLimit,
		JournalEntry:        DefaultJournalEntryLimit,
		JournalEntries:      DefaultJournalEntriesLimit,
		TimerEventsPerCycle: DefaultTimerEventsPerCycleLimit,
	}
}

// IsZero reports whether l sets no limit, so that every one is its
// default.
func (l Limits) IsZero() bool { return l == Limits{} }

// WithDefaults returns l with every zero field set to its default. It
// does not validate l: a negative field stays negative.
func (l Limits) WithDefaults() Limits {
	d := DefaultLimits()
	for _, f := range []struct{ v, def *int }{
		{&l.Title, &d.Title}, {&l.Description, &d.Description}, {&l.Body, &d.Body},
		{&l.JournalEntry, &d.JournalEntry}, {&l.JournalEntries, &d.JournalEntries},
		{&l.TimerEventsPerCycle, &d.TimerEventsPerCycle},
	} {
		if *f.v == 0 {
			*f.v = *f.def
		}
	}
	return l
}

// Validate checks that no limit is negative or above its ceiling
// (MaxTextLimit for Title, Description, Body and JournalEntry,
// MaxCountLimit for JournalEntries and TimerEventsPerCycle). It reports
// every problem at once as an *itsm.ValidationError about "record limits"
// with fields named as in JSON ("title", "journal_entries", ...), or
// returns nil.
func (l Limits) Validate() error {
	v := &itsm.ValidationError{Subject: "record limits"}
	l.validate(v, "")
	return v.Err()
}

// validate adds the problems of l to v, with field names after prefix.
func (l Limits) validate(v *itsm.ValidationError, prefix string) {
	for _, f := range []struct {
		name    string
		val     int
		ceiling int
	}{
		{"title", l.Title, MaxTextLimit}, {"description", l.Description, MaxTextLimit}, {"body", l.Body, MaxTextLimit},
		{"journal_entry", l.JournalEntry, MaxTextLimit}, {"journal_entries", l.JournalEntries, MaxCountLimit},
		{"timer_events_per_cycle", l.TimerEventsPerCycle, MaxCountLimit},
	} {
		switch {
		case f.val < 0:
			v.Add(prefix+f.name, "%d is negative", f.val)
		case f.val > f.ceiling:
			v.Add(prefix+f.name, "%d is above the ceiling of %d", f.val, f.ceiling)
		}
	}
}

// over returns the *itsm.LimitError for a size above limit, or nil. A
// limit of zero or less is its default's business: callers resolve it
// first.
func over(subject, field string, size, limit int, unit string) error {
	if size <= limit {
		return nil
	}
	return &itsm.LimitError{Subject: subject, Field: field, Limit: limit, Size: size, Unit: unit}
}

// CheckRecord checks rec's title, description and body against l (zero
// fields meaning their defaults) and returns an *itsm.LimitError for the
// first one over its limit, in that order, or nil. A value exactly at its
// limit passes. It looks at sizes only; a nil rec passes (CheckKeys
// refuses it). Schema.Check runs it before its other checks, so that an
// oversize record is refused before anything scans its text.
func (l Limits) CheckRecord(rec *Record) error {
	if rec == nil {
		return nil
	}
	l = l.WithDefaults()
	subject := rec.Kind
	if subject == "" {
		subject = "record"
	}
	if err := over(subject, "title", len(rec.Title), l.Title, "bytes"); err != nil {
		return err
	}
	if err := over(subject, "description", len(rec.Description), l.Description, "bytes"); err != nil {
		return err
	}
	return over(subject, "body", len(rec.Body), l.Body, "bytes")
}

// CheckEntries checks entries about to be appended to a journal that holds
// stored entries already: each text within l.JournalEntry bytes, and
// stored plus len(entries) within l.JournalEntries (zero fields meaning
// their defaults). The first text over its limit is an *itsm.LimitError
// for field "[i].text", too many entries one for field "journal" whose
// Size is the length the journal would reach; then it runs CheckEntries.
// A value exactly at its limit passes. Stores call it in AppendJournal
// with the kind's limits and the journal's length inside the write
// transaction.
func (l Limits) CheckEntries(stored int, entries []Entry) error {
	l = l.WithDefaults()
	for i, e := range entries {
		if err := over("journal entries", "["+strconv.Itoa(i)+"].text", len(e.Text), l.JournalEntry, "bytes"); err != nil {
			return err
		}
	}
	if err := l.CheckJournalLen(stored, len(entries)); err != nil {
		return err
	}
	return CheckEntries(entries)
}

// CheckJournalLen is the count part of CheckEntries: it returns an
// *itsm.LimitError for field "journal" when appending adding entries to a
// journal of stored entries would make it longer than l.JournalEntries
// (zero meaning the default), and nil otherwise. A store that learns the
// journal's length only after it has checked the entries calls it then.
func (l Limits) CheckJournalLen(stored, adding int) error {
	return over("record", "journal", stored+adding, l.WithDefaults().JournalEntries, "entries")
}

// CheckTimerRecords checks that no cycle of the timers has more than
// l.TimerEventsPerCycle events (zero meaning the default): a cycle runs
// from a start or a reset up to the next reset. The first timer with a
// longer cycle is an *itsm.LimitError for field "[i].timer.events" whose
// Size is the length of its longest cycle; then it runs CheckTimerRecords.
// A cycle exactly at the limit passes. Stores call it in PutTimers with
// the limits of each timer's record kind (see Registry.CheckTimerRecords).
func (l Limits) CheckTimerRecords(timers []TimerRecord) error {
	for i, r := range timers {
		if err := l.checkCycles(i, r); err != nil {
			return err
		}
	}
	return CheckTimerRecords(timers)
}

// checkCycles returns the *itsm.LimitError of timer record r, the i-th of
// a call, when a cycle of its timer is longer than l allows, or nil.
func (l Limits) checkCycles(i int, r TimerRecord) error {
	if r.Timer == nil {
		return nil
	}
	return over("timer records", "["+strconv.Itoa(i)+"].timer.events", longestCycle(r.Timer), l.WithDefaults().TimerEventsPerCycle, "events")
}

// longestCycle returns the number of events of t's longest cycle.
func longestCycle(t *sla.Timer) int {
	longest, n := 0, 0
	for _, ev := range t.Events() {
		if ev.Kind == sla.EventStart || ev.Kind == sla.EventReset {
			n = 0
		}
		n++
		longest = max(longest, n)
	}
	return longest
}
