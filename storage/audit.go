package storage

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"io"
	"time"

	"github.com/itsmkit/itsmkit/itsm"
)

// HashSize is the length of an audit hash in bytes (SHA-256).
const HashSize = sha256.Size

// AuditTime returns t as audit stores keep it: in UTC, truncated to whole
// microseconds (the precision of PostgreSQL timestamps). Adapters store
// event times this way, so a hash computed before storing matches one
// computed after reading back.
func AuditTime(t time.Time) time.Time { return t.UTC().Truncate(time.Microsecond) }

// EventHash returns the hash of ev chained to prev, the hash of the
// record's previous event (nil for its first event). It covers every field
// of ev, Sequence included, in a fixed binary layout, so editing any field
// of a stored event, or reordering, inserting or deleting events, changes
// the hashes that follow.
func EventHash(prev []byte, ev itsm.Event) []byte {
	h := sha256.New()
	writeField(h, string(prev))
	writeEventFields(h, ev)
	return h.Sum(nil)
}

// writeEventFields writes every field of ev to w in the layout EventHash
// and EventData share: strings length-prefixed, numbers as 8 bytes big
// endian, lists after their length, the time as AuditTime keeps it.
func writeEventFields(w io.Writer, ev itsm.Event) {
	writeField(w, ev.Kind)
	writeField(w, ev.RecordID)
	writeNum(w, ev.Sequence)
	writeField(w, ev.Actor.ID)
	writeField(w, ev.Actor.Name)
	writeNum(w, int64(len(ev.Actor.Roles)))
	for _, r := range ev.Actor.Roles {
		writeField(w, string(r))
	}
	writeNum(w, AuditTime(ev.At).UnixMicro())
	writeField(w, ev.Action)
	writeField(w, ev.From)
	writeField(w, ev.To)
	writeNum(w, int64(len(ev.Changes)))
	for _, c := range ev.Changes {
		writeField(w, c.Field)
		writeField(w, c.Old)
		writeField(w, c.New)
	}
	writeField(w, ev.Reason)
}

// writeField writes s after its length. Writes to a hash or a buffer do
// not fail.
func writeField(w io.Writer, s string) {
	writeNum(w, int64(len(s)))
	_, _ = io.WriteString(w, s)
}

// writeNum writes v as 8 bytes, big endian.
func writeNum(w io.Writer, v int64) {
	var n [8]byte
	binary.BigEndian.PutUint64(n[:], uint64(v))
	_, _ = w.Write(n[:])
}

// AuditRow is one stored audit event with its chain hashes.
type AuditRow struct {
	Event    itsm.Event
	PrevHash []byte
	Hash     []byte
}

// AuditHead is what a store remembers of a record's latest event, so that
// deleting the newest events is detected too.
type AuditHead struct {
	Sequence int64
	Hash     []byte
}

// TamperError reports one place where the stored audit log does not
// verify. It matches itsm.ErrConflict, since stored data contradicts
// itself.
type TamperError struct {
	// Check is the verification that found the problem.
	Check Check
	// Kind and RecordID name the record whose trail or row is broken;
	// both are empty for a problem of the log as a whole (such as a
	// truncated log).
	Kind     string
	RecordID string
	// Sequence is the sequence number where the record's trail breaks; 0
	// when the problem is not at one event.
	Sequence int64
	// Index is the log index of the entry concerned; -1 when the problem
	// is not at one entry.
	Index int64
	// Problem says what is wrong, such as "hash does not match the
	// event" or "sequence 3 is missing".
	Problem string
}

// Error describes where the log breaks and which check found it.
func (e *TamperError) Error() string {
	var where string
	switch {
	case e.RecordID != "" && e.Sequence > 0:
		where = fmt.Sprintf("audit trail of %s %s broken at sequence %d", e.Kind, e.RecordID, e.Sequence)
	case e.RecordID != "":
		where = fmt.Sprintf("audit trail of %s %s broken", e.Kind, e.RecordID)
	case e.Index >= 0:
		where = fmt.Sprintf("audit log broken at entry %d", e.Index)
	default:
		where = "audit log broken"
	}
	check := ""
	if e.Check != 0 {
		check = " (" + e.Check.String() + " check)"
	}
	return "storage: " + where + check + ": " + e.Problem
}

// Unwrap returns itsm.ErrConflict.
func (e *TamperError) Unwrap() error { return itsm.ErrConflict }

// VerifyChain checks the audit trail of one record (kind and recordID): rows must hold
// sequences 1..n in order, each row's PrevHash must be the previous row's
// Hash, each Hash must match its event, and head (the last sequence and
// hash the store recorded separately) must match the last row. It returns
// the first problem as a *TamperError.
func VerifyChain(kind, recordID string, rows []AuditRow, head AuditHead) error {
	var prev []byte
	fail := func(seq int64, format string, args ...any) error {
		return &TamperError{Check: CheckChain, Kind: kind, RecordID: recordID, Sequence: seq, Index: -1, Problem: fmt.Sprintf(format, args...)}
	}
	for i, r := range rows {
		want := int64(i + 1)
		switch {
		case r.Event.Kind != kind || r.Event.RecordID != recordID:
			return fail(r.Event.Sequence, "event belongs to %s %s", r.Event.Kind, r.Event.RecordID)
		case r.Event.Sequence != want:
			return fail(want, "sequence %d is missing (found %d)", want, r.Event.Sequence)
		case !bytes.Equal(r.PrevHash, prev):
			return fail(want, "previous hash %s does not match %s", short(r.PrevHash), short(prev))
		case !bytes.Equal(r.Hash, EventHash(prev, r.Event)):
			return fail(want, "hash does not match the event")
		}
		prev = r.Hash
	}
	last := int64(len(rows))
	if head.Sequence != last {
		return fail(last+1, "head says %d events, found %d", head.Sequence, last)
	}
	if !bytes.Equal(head.Hash, prev) {
		return fail(last, "head hash %s does not match %s", short(head.Hash), short(prev))
	}
	return nil
}

func short(h []byte) string {
	if len(h) == 0 {
		return "(none)"
	}
	s := hex.EncodeToString(h)
	return s[:min(12, len(s))]
}
