package storage

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"fmt"

	"golang.org/x/mod/sumdb/tlog"

	"github.com/itsmkit/itsmkit/itsm"
)

// eventDataVersion is the first byte of EventData, so that the layout can
// change without old leaves becoming ambiguous.
const eventDataVersion = 1

// EventData returns the canonical bytes of ev that its leaf in the
// transparency log hashes: a version byte, then every field of ev
// (Sequence included, the time as AuditTime keeps it) in a fixed,
// length-prefixed binary layout, so that two events differing in any field
// have different bytes. It is EventHash's layout without the previous
// hash: a leaf stands for one event alone.
func EventData(ev itsm.Event) []byte {
	var b bytes.Buffer
	b.WriteByte(eventDataVersion)
	writeEventFields(&b, ev)
	return b.Bytes()
}

// LeafHash returns the transparency-log leaf hash of ev:
// tlog.RecordHash(EventData(ev)).
func LeafHash(ev itsm.Event) tlog.Hash { return tlog.RecordHash(EventData(ev)) }

// EntryHashes returns the tree hashes that appending the log entry at
// index n, whose leaf hash is leaf, adds to the log
// (tlog.StoredHashesForRecordHash), concatenated with the leaf hash first:
// the form in which adapters keep them, one value per entry. r reads the
// hashes of the earlier entries (see EntryHashReader); its error is
// returned as it is.
func EntryHashes(n int64, leaf tlog.Hash, r tlog.HashReader) ([]byte, error) {
	hs, err := tlog.StoredHashesForRecordHash(n, leaf, r)
	if err != nil {
		return nil, err
	}
	return joinHashes(hs), nil
}

func joinHashes(hs []tlog.Hash) []byte {
	out := make([]byte, 0, len(hs)*tlog.HashSize)
	for _, h := range hs {
		out = append(out, h[:]...)
	}
	return out
}

// EntryOf returns where the stored hash with tlog index i is kept: the
// log index of the entry whose EntryHashes hold it, and its position among
// them (0 for the leaf hash). Negative indexes give -1, -1.
func EntryOf(i int64) (entry int64, pos int) {
	if i < 0 {
		return -1, -1
	}
	level, k := tlog.SplitStoredHashIndex(i)
	// The node (level, k) covers leaves k<<level up to (k+1)<<level - 1;
	// the last of them adds it, at position level.
	return (k+1)<<level - 1, level
}

// EntryHashReader returns a tlog.HashReader over entries kept as
// EntryHashes: read is given the distinct log indexes of the entries
// holding the hashes asked for and returns the EntryHashes of each. An
// entry that read leaves out, or whose hashes are too short, is a
// *TamperError (CheckLog) naming it.
func EntryHashReader(read func(entries []int64) (map[int64][]byte, error)) tlog.HashReader {
	return tlog.HashReaderFunc(func(indexes []int64) ([]tlog.Hash, error) {
		var entries []int64
		seen := make(map[int64]bool, len(indexes))
		for _, i := range indexes {
			e, _ := EntryOf(i)
			if e < 0 {
				return nil, fmt.Errorf("storage: stored hash index %d is negative", i)
			}
			if !seen[e] {
				seen[e] = true
				entries = append(entries, e)
			}
		}
		got, err := read(entries)
		if err != nil {
			return nil, err
		}
		out := make([]tlog.Hash, len(indexes))
		for j, i := range indexes {
			e, pos := EntryOf(i)
			hs, ok := got[e]
			if !ok {
				return nil, &TamperError{Check: CheckLog, Index: e, Problem: fmt.Sprintf("log entry %d is missing", e)}
			}
			if len(hs) < (pos+1)*tlog.HashSize {
				return nil, &TamperError{Check: CheckLog, Index: e, Problem: fmt.Sprintf("log entry %d holds %d bytes of tree hashes, too few", e, len(hs))}
			}
			copy(out[j][:], hs[pos*tlog.HashSize:])
		}
		return out, nil
	})
}

// LogBuilder computes the tree hashes of the entries of a log built from
// empty, one entry after another, keeping a few hashes per level of the
// tree whatever its size: the way to put many existing events into a new
// log without reading its hashes back. The zero value is an empty log.
type LogBuilder struct {
	f frontier
	n int64
}

// Size returns the number of entries appended.
func (b *LogBuilder) Size() int64 { return b.n }

// Append adds the entry with leaf hash leaf and returns its log index and
// its EntryHashes.
func (b *LogBuilder) Append(leaf tlog.Hash) (index int64, hashes []byte) {
	if b.f == nil {
		b.f = frontier{}
	}
	hs, err := b.f.add(b.n, leaf)
	if err != nil {
		// The frontier holds every complete subtree of the tree so far,
		// which is all that a new entry reads.
		panic("storage: log builder lost a tree hash: " + err.Error())
	}
	b.n++
	return b.n - 1, joinHashes(hs)
}

// Tree returns the size and root hash of the log built so far.
func (b *LogBuilder) Tree() tlog.Tree {
	if b.f == nil {
		b.f = frontier{}
	}
	h, err := tlog.TreeHash(b.n, b.f)
	if err != nil {
		panic("storage: log builder lost a tree hash: " + err.Error())
	}
	return tlog.Tree{N: b.n, Hash: h}
}

// MinSealKeySize is the shortest key Seal accepts from a store's options.
const MinSealKeySize = 32

// sealTag separates seals from any other use of the key.
const sealTag = "itsmkit audit log seal v1\x00"

// Seal returns the seal of a log entry with leaf hash leaf under key:
// HMAC-SHA256 of a fixed tag and the leaf hash. A store given a key seals
// every entry it appends, so that an entry appended by anyone without the
// key (straight into the database) is found by CheckSeal even before a
// checkpoint covers it, and a Checkpointer refuses to sign over it.
func Seal(key []byte, leaf tlog.Hash) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(sealTag))
	m.Write(leaf[:])
	return m.Sum(nil)
}

// CheckSealKey returns an *itsm.ValidationError for a seal key shorter
// than MinSealKeySize, and nil otherwise (nil and empty keys included,
// which seal nothing).
func CheckSealKey(key []byte) error {
	if len(key) > 0 && len(key) < MinSealKeySize {
		return itsm.NewValidationError("audit seal", "key", "must be at least %d bytes, not %d", MinSealKeySize, len(key))
	}
	return nil
}

// SealedEntry is what a SealCheck reads of a log entry.
type SealedEntry struct {
	Index  int64
	Hashes []byte // the entry's EntryHashes, the leaf hash first
	Seal   []byte // nil for none
}

// SealCheck checks the seals under a key of the log entries from one
// index up to another, handed to it one by one in index order, as
// AuditLog.VerifyAuditSeals documents: each must be there and carry the
// seal of its leaf, except, when the range starts at 0, the entries
// before the first sealed one. It keeps nothing per entry.
type SealCheck struct {
	key     []byte
	want, n int64
	lenient bool
	err     error
}

// NewSealCheck returns a check of the entries from index from up to n
// (excluded) under key; an empty key checks nothing.
func NewSealCheck(key []byte, from, n int64) *SealCheck {
	return &SealCheck{key: key, want: from, n: n, lenient: from == 0}
}

func (c *SealCheck) fail(ch Check, i int64, format string, args ...any) {
	c.err = &TamperError{Check: ch, Index: i, Problem: fmt.Sprintf(format, args...)}
}

// Entry checks the next entry and reports whether to go on: false once a
// problem was found.
func (c *SealCheck) Entry(e SealedEntry) bool {
	if c.err != nil || len(c.key) == 0 {
		return c.err == nil
	}
	if e.Index != c.want {
		c.fail(CheckLog, c.want, "log entry %d is missing", c.want)
		return false
	}
	c.want++
	if e.Seal == nil {
		if !c.lenient {
			c.fail(CheckSeal, e.Index, "log entry %d is not sealed", e.Index)
		}
		return c.err == nil
	}
	c.lenient = false
	var leaf tlog.Hash
	copy(leaf[:], e.Hashes)
	if len(e.Hashes) < tlog.HashSize || !hmac.Equal(e.Seal, Seal(c.key, leaf)) {
		c.fail(CheckSeal, e.Index, "log entry %d carries a seal that is not the application's", e.Index)
	}
	return c.err == nil
}

// Err returns the first problem found as a *TamperError (CheckSeal, or
// CheckLog for a missing entry, including entries missing at the end of
// the range), or nil.
func (c *SealCheck) Err() error {
	if c.err == nil && len(c.key) > 0 && c.want != c.n {
		c.fail(CheckLog, c.want, "log entry %d is missing", c.want)
	}
	return c.err
}
