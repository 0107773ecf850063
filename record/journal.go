package record

import (
	"strconv"
	"strings"
	"time"

	"github.com/itsmkit/itsmkit/itsm"
)

// EntryKind tells a public comment from an internal work note.
type EntryKind string

const (
	// Comment is visible to the requester.
	Comment EntryKind = "comment"
	// WorkNote is visible to the support staff only.
	WorkNote EntryKind = "work_note"
)

// Entry is one journal entry of a record.
type Entry struct {
	Kind EntryKind `json:"kind"`
	// Author is the ID of the actor who wrote the entry.
	Author string    `json:"author"`
	At     time.Time `json:"at"`
	Text   string    `json:"text"`
}

// CheckEntries checks journal entries before a store appends them: each
// has a known kind, an author of 1 to MaxIDLen bytes, a time in the years
// 1 to 9999 and text that is not blank, within MaxTextLimit bytes; text
// is valid UTF-8 without NUL bytes. The limits of a kind (the length of
// each text, the number of entries of a journal) are Limits.CheckEntries'
// to check, which stores run in AppendJournal. It returns one
// *itsm.ValidationError naming each problem as "[i].field" (kind, author,
// at, text), or nil.
func CheckEntries(entries []Entry) error {
	v := &itsm.ValidationError{Subject: "journal entries"}
	for i, e := range entries {
		at := "[" + strconv.Itoa(i) + "]."
		if e.Kind != Comment && e.Kind != WorkNote {
			v.Add(at+"kind", "%q is neither %q nor %q", e.Kind, Comment, WorkNote)
		}
		if msg := idProblem(e.Author); msg != "" {
			v.Add(at+"author", "%s", msg)
		}
		if e.At.IsZero() {
			v.Add(at+"at", "must be set")
		} else if !validInstant(e.At) {
			v.Add(at+"at", "lies outside the years 1 to 9999 (UTC)")
		}
		if strings.TrimSpace(e.Text) == "" {
			v.Add(at+"text", "must not be empty")
		} else if msg := textProblem(e.Text, MaxTextLimit); msg != "" {
			v.Add(at+"text", "%s", msg)
		}
	}
	return v.Err()
}
