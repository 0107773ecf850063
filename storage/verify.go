package storage

import (
	"bytes"
	"cmp"
	"crypto/hmac"
	"errors"
	"fmt"
	"slices"

	"golang.org/x/mod/sumdb/tlog"
)

// Check names one of the verifications of an audit log, to tell which
// found a problem.
type Check int

const (
	// CheckChain is the per-record hash chain: sequences 1, 2, ... of a
	// record, each event chained to the previous one by EventHash, and the
	// record's audit head. It finds edits, deletions and reordering that
	// left the chain alone, and nothing that recomputed it.
	CheckChain Check = iota + 1
	// CheckLeaf compares each event with the leaf hash its log entry
	// keeps. It finds an event edited, or two events swapped, after they
	// were logged, unless the tree hashes were recomputed too.
	CheckLeaf
	// CheckLog is the log's own structure: log indexes 0, 1, ... without
	// gaps, every audit event in the log and every entry's event present,
	// every entry's stored tree hashes agreeing with the leaves before it,
	// and the log head's size agreeing with the entries.
	CheckLog
	// CheckTree compares the log with a signed checkpoint: the log must
	// have at least the checkpoint's entries, and the root hash of its
	// first Tree.N entries, recomputed from the events themselves, must be
	// the checkpoint's. Only it finds a log rewritten and rehashed
	// throughout, or truncated with its head rewound.
	CheckTree
	// CheckRecord compares each record row with what its events say: the
	// state of the last event that names one (To, or a change of the
	// field "state") and the last change of the fields "title",
	// "assignment_group" and "assignee".
	CheckRecord
	// CheckSeal checks each entry's seal (see Seal), when verified with
	// the store's seal key: a sealed entry must carry the seal of its
	// leaf; an entry the checkpoint does not cover must be sealed (without
	// a checkpoint: every entry after the first sealed one). Entries the
	// checkpoint covers may lack a seal: they were appended before the
	// store had its key, and the checkpoint vouches for them. It finds an
	// entry appended without the key, before a checkpoint signs over it,
	// which a Checkpointer refuses to do.
	CheckSeal
)

// String returns "chain", "leaf", "log", "tree", "record" or "seal".
func (c Check) String() string {
	switch c {
	case CheckChain:
		return "chain"
	case CheckLeaf:
		return "leaf"
	case CheckLog:
		return "log"
	case CheckTree:
		return "tree"
	case CheckRecord:
		return "record"
	case CheckSeal:
		return "seal"
	}
	return fmt.Sprintf("Check(%d)", int(c))
}

// RecordKey names one record's audit trail.
type RecordKey struct{ Kind, ID string }

// RecordRow is what CheckRecord compares of a stored record row.
type RecordRow struct {
	Kind, ID        string
	State           string
	Title           string
	AssignmentGroup string
	Assignee        string
}

// LogEntry is one row of a log as an adapter reads it for verification:
// a log entry joined with the audit event it names.
type LogEntry struct {
	// Index is the entry's log index; -1 for an audit event that has no
	// log entry.
	Index int64
	// Hashes are the entry's stored tree hashes (EntryHashes); nil for
	// an event without an entry.
	Hashes []byte
	// Seal is the entry's stored seal (see Seal); nil for none.
	Seal []byte
	// Kind, RecordID and Sequence name the event the entry stands for.
	Kind, RecordID string
	Sequence       int64
	// Event is the stored audit event, with its chain hashes; nil when
	// the entry's event is not stored.
	Event *AuditRow
}

// AuditVerifier checks an audit log that an adapter reads in one
// snapshot and hands to it in this order: Head for every audit head,
// Entry for every log entry in index order and then for every event
// without an entry, Record for every record row, and Report once. It keeps
// a few hashes per level of the tree and a little per record, whatever the
// length of the log. The zero value is not usable; use NewAuditVerifier.
type AuditVerifier struct {
	cp       *Checkpoint
	sealKey  []byte
	sealed   bool  // a sealed entry was seen
	next     int64 // the index the next entry should have
	broken   bool  // a gap: the trees cannot be rebuilt any further
	rooted   bool  // the root at the checkpoint's size was compared
	stored   frontier
	events   frontier
	recs     map[RecordKey]*replay
	heads    map[RecordKey]AuditHead
	problems []*TamperError
}

// replay is what a record's events said so far.
type replay struct {
	seq    int64
	hash   []byte
	fields map[string]string
}

// replayed are the record header fields CheckRecord compares, as events'
// changes name them.
var replayed = []string{"state", "title", "assignment_group", "assignee"}

// NewAuditVerifier returns a verifier against cp, the latest trusted
// checkpoint (see OpenCheckpoint); nil verifies all but CheckTree.
func NewAuditVerifier(cp *Checkpoint) *AuditVerifier {
	return &AuditVerifier{cp: cp, stored: frontier{}, events: frontier{},
		recs: map[RecordKey]*replay{}, heads: map[RecordKey]AuditHead{}}
}

func (v *AuditVerifier) fail(c Check, k RecordKey, seq, index int64, format string, args ...any) {
	v.problems = append(v.problems, &TamperError{Check: c, Kind: k.Kind, RecordID: k.ID, Sequence: seq, Index: index,
		Problem: fmt.Sprintf(format, args...)})
}

// CheckSeals makes the verifier check seals under key (see CheckSeal);
// an empty key checks none. Call it before Entry.
func (v *AuditVerifier) CheckSeals(key []byte) { v.sealKey = bytes.Clone(key) }

// Head gives the audit head stored for a record.
func (v *AuditVerifier) Head(k RecordKey, h AuditHead) { v.heads[k] = h }

// frontier holds the hashes of the complete subtrees of a tree being
// rebuilt leaf by leaf: a few per level, whatever the tree's size.
type frontier map[int64]tlog.Hash

// ReadHashes serves the hashes at hand.
func (f frontier) ReadHashes(indexes []int64) ([]tlog.Hash, error) {
	out := make([]tlog.Hash, len(indexes))
	for i, x := range indexes {
		h, ok := f[x]
		if !ok {
			return nil, fmt.Errorf("storage: tree hash %d is not at hand", x)
		}
		out[i] = h
	}
	return out, nil
}

// add appends the leaf at index n and returns the tree hashes it adds,
// keeping only the complete subtrees of the tree of n+1 leaves.
func (f *frontier) add(n int64, leaf tlog.Hash) ([]tlog.Hash, error) {
	hs, err := tlog.StoredHashesForRecordHash(n, leaf, *f)
	if err != nil {
		return nil, err
	}
	base := tlog.StoredHashIndex(0, n)
	for i, h := range hs {
		(*f)[base+int64(i)] = h
	}
	size := n + 1
	keep := make(frontier, bits64)
	for level := 0; size>>level > 0; level++ {
		if size>>level&1 == 1 {
			x := tlog.StoredHashIndex(level, size>>level-1)
			keep[x] = (*f)[x]
		}
	}
	*f = keep
	return hs, nil
}

const bits64 = 64

// Entry gives the next log entry (see AuditVerifier for the order).
func (v *AuditVerifier) Entry(e LogEntry) {
	k := RecordKey{e.Kind, e.RecordID}
	if e.Index < 0 {
		v.fail(CheckLog, k, e.Sequence, -1, "the event is not in the log")
	} else {
		v.logged(e, k)
	}
	if e.Event != nil {
		v.chain(k, e.Event)
	}
}

// logged checks a log entry and adds it to the two trees rebuilt: one of
// the leaves the log stores, to check the tree hashes it stores, and one
// of the leaves of the events themselves, to check the checkpoint.
func (v *AuditVerifier) logged(e LogEntry, k RecordKey) {
	if e.Index != v.next {
		v.fail(CheckLog, RecordKey{}, 0, v.next, "log entries %d to %d are missing", v.next, e.Index-1)
		v.broken = true
	}
	v.next = e.Index + 1
	var stored tlog.Hash
	if len(e.Hashes) >= tlog.HashSize {
		copy(stored[:], e.Hashes)
	} else {
		v.fail(CheckLog, k, e.Sequence, e.Index, "log entry %d holds no leaf hash", e.Index)
	}
	if len(v.sealKey) > 0 {
		switch {
		case e.Seal != nil:
			v.sealed = true
			if !hmac.Equal(e.Seal, Seal(v.sealKey, stored)) {
				v.fail(CheckSeal, k, e.Sequence, e.Index, "log entry %d carries a seal that is not the application's", e.Index)
			}
		case v.cp != nil && e.Index >= v.cp.Tree.N:
			v.fail(CheckSeal, k, e.Sequence, e.Index, "log entry %d is not sealed, and the checkpoint does not cover it", e.Index)
		case v.cp == nil && v.sealed:
			v.fail(CheckSeal, k, e.Sequence, e.Index, "log entry %d is not sealed, and entries before it are", e.Index)
		}
	}
	leaf := stored // an entry whose event is missing counts with its stored leaf
	if e.Event == nil {
		v.fail(CheckLog, k, e.Sequence, e.Index, "the event of log entry %d is missing", e.Index)
	} else if leaf = LeafHash(e.Event.Event); leaf != stored {
		v.fail(CheckLeaf, k, e.Sequence, e.Index, "the event does not match its leaf hash in the log")
	}
	if v.broken {
		return
	}
	hs, err := v.stored.add(e.Index, stored)
	if err == nil {
		_, err = v.events.add(e.Index, leaf)
	}
	if err != nil {
		v.fail(CheckLog, RecordKey{}, 0, e.Index, "cannot rebuild the tree: %v", err)
		v.broken = true
		return
	}
	if !bytes.Equal(joinHashes(hs), e.Hashes) {
		v.fail(CheckLog, RecordKey{}, 0, e.Index, "the tree hashes stored with log entry %d are not those of the leaves up to it", e.Index)
	}
	if v.cp != nil && v.next == v.cp.Tree.N {
		v.rooted = true
		root, err := tlog.TreeHash(v.next, v.events)
		if err != nil || root != v.cp.Tree.Hash {
			v.fail(CheckTree, RecordKey{}, 0, -1, "the root hash of the first %d entries is not the checkpoint's", v.next)
		}
	}
}

// chain checks an event against its record's chain and replays it.
func (v *AuditVerifier) chain(k RecordKey, r *AuditRow) {
	st := v.recs[k]
	if st == nil {
		st = &replay{fields: map[string]string{}}
		v.recs[k] = st
	}
	ev := r.Event
	want := st.seq + 1
	switch {
	case ev.Sequence < want:
		v.fail(CheckChain, k, ev.Sequence, -1, "sequence %d comes after sequence %d in the log", ev.Sequence, st.seq)
	case ev.Sequence > want:
		v.fail(CheckChain, k, want, -1, "sequence %d is missing (found %d)", want, ev.Sequence)
	case !bytes.Equal(r.PrevHash, st.hash):
		v.fail(CheckChain, k, ev.Sequence, -1, "previous hash %s does not match %s", short(r.PrevHash), short(st.hash))
	case !bytes.Equal(r.Hash, EventHash(r.PrevHash, ev)):
		v.fail(CheckChain, k, ev.Sequence, -1, "hash does not match the event")
	}
	st.seq, st.hash = max(st.seq, ev.Sequence), r.Hash
	if ev.To != "" {
		st.fields["state"] = ev.To
	}
	for _, c := range ev.Changes {
		if slices.Contains(replayed, c.Field) {
			st.fields[c.Field] = c.New
		}
	}
}

// Record gives a stored record row.
func (v *AuditVerifier) Record(r RecordRow) {
	st := v.recs[RecordKey{r.Kind, r.ID}]
	if st == nil {
		return
	}
	have := map[string]string{"state": r.State, "title": r.Title, "assignment_group": r.AssignmentGroup, "assignee": r.Assignee}
	for _, f := range replayed {
		if want, ok := st.fields[f]; ok && have[f] != want {
			v.fail(CheckRecord, RecordKey{r.Kind, r.ID}, 0, -1, "the record's %s is %q, its events say %q", f, have[f], want)
		}
	}
}

// Report finishes the verification and returns its report. size is the
// log size the store's log head records.
func (v *AuditVerifier) Report(size int64) *AuditReport {
	if size != v.next {
		v.fail(CheckLog, RecordKey{}, 0, -1, "the log head says %d entries, the log holds %d", size, v.next)
	}
	keys := make([]RecordKey, 0, len(v.heads)+len(v.recs))
	for k := range v.heads {
		keys = append(keys, k)
	}
	for k := range v.recs {
		if _, ok := v.heads[k]; !ok {
			keys = append(keys, k)
		}
	}
	slices.SortFunc(keys, func(a, b RecordKey) int { return cmp.Or(cmp.Compare(a.Kind, b.Kind), cmp.Compare(a.ID, b.ID)) })
	for _, k := range keys {
		h := v.heads[k]
		var st replay
		if p := v.recs[k]; p != nil {
			st = *p
		}
		if h.Sequence != st.seq {
			v.fail(CheckChain, k, st.seq+1, -1, "head says %d events, found %d", h.Sequence, st.seq)
		} else if !bytes.Equal(h.Hash, st.hash) {
			v.fail(CheckChain, k, st.seq, -1, "head hash %s does not match %s", short(h.Hash), short(st.hash))
		}
	}
	r := &AuditReport{Checkpoint: v.cp, Size: v.next, Problems: v.problems}
	if v.cp != nil {
		r.Covered = min(v.next, v.cp.Tree.N)
		switch {
		case v.next < v.cp.Tree.N:
			r.Problems = append(r.Problems, &TamperError{Check: CheckTree, Index: v.next,
				Problem: fmt.Sprintf("the log holds %d entries, the checkpoint %d: the entries from %d on were removed", v.next, v.cp.Tree.N, v.next)})
		case !v.rooted && v.cp.Tree.N > 0:
			r.Problems = append(r.Problems, &TamperError{Check: CheckTree, Index: -1,
				Problem: fmt.Sprintf("the root hash of the first %d entries cannot be rebuilt past the missing entries", v.cp.Tree.N)})
		}
	}
	return r
}

// AuditReport is the outcome of verifying an audit log: every problem
// found, not only the first.
type AuditReport struct {
	// Checkpoint is the checkpoint verified against; nil for none.
	Checkpoint *Checkpoint
	// Size is the number of entries the log holds (the index after its
	// last entry).
	Size int64
	// Covered is how many of them the checkpoint covers; the entries from
	// Covered on are newer than the checkpoint, so only a later one can
	// vouch for them.
	Covered int64
	// Problems lists every problem found, in the order found.
	Problems []*TamperError
}

// OK reports whether no problem was found.
func (r *AuditReport) OK() bool { return len(r.Problems) == 0 }

// Err returns nil when no problem was found, and otherwise all of them
// joined (errors.Join), matching itsm.ErrConflict and *TamperError.
func (r *AuditReport) Err() error {
	errs := make([]error, len(r.Problems))
	for i, p := range r.Problems {
		errs[i] = p
	}
	return errors.Join(errs...)
}

// Checks returns the distinct checks that found a problem, in Check order.
func (r *AuditReport) Checks() []Check {
	var out []Check
	for _, p := range r.Problems {
		if !slices.Contains(out, p.Check) {
			out = append(out, p.Check)
		}
	}
	slices.Sort(out)
	return out
}

// Broken returns the records that a problem names, sorted, each once.
// Problems of the log as a whole name no record.
func (r *AuditReport) Broken() []RecordKey {
	var out []RecordKey
	for _, p := range r.Problems {
		if k := (RecordKey{p.Kind, p.RecordID}); p.RecordID != "" && !slices.Contains(out, k) {
			out = append(out, k)
		}
	}
	slices.SortFunc(out, func(a, b RecordKey) int { return cmp.Or(cmp.Compare(a.Kind, b.Kind), cmp.Compare(a.ID, b.ID)) })
	return out
}
