package storage_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/itsmkit/itsmkit/itsm"
	"github.com/itsmkit/itsmkit/storage"
)

// memLog is a log of n events of one record kept in memory, as an
// adapter would hand it to an AuditVerifier.
func memLog(n int) ([]storage.LogEntry, *storage.Checkpoint, storage.AuditHead) {
	var b storage.LogBuilder
	var out []storage.LogEntry
	var head storage.AuditHead
	for _, r := range chain(n) {
		_, hs := b.Append(storage.LeafHash(r.Event))
		row := r
		out = append(out, storage.LogEntry{Index: b.Size() - 1, Hashes: hs, Kind: r.Event.Kind, RecordID: r.Event.RecordID,
			Sequence: r.Event.Sequence, Event: &row})
		head = storage.AuditHead{Sequence: r.Event.Sequence, Hash: r.Hash}
	}
	return out, &storage.Checkpoint{Origin: "o", Tree: b.Tree()}, head
}

func verify(cp *storage.Checkpoint, head storage.AuditHead, size int64, entries []storage.LogEntry, rows ...storage.RecordRow) *storage.AuditReport {
	v := storage.NewAuditVerifier(cp)
	v.Head(storage.RecordKey{Kind: "incident", ID: "r1"}, head)
	for _, e := range entries {
		v.Entry(e)
	}
	for _, r := range rows {
		v.Record(r)
	}
	return v.Report(size)
}

func TestAuditVerifier(t *testing.T) {
	t.Parallel()
	entries, cp, head := memLog(5)
	report := verify(cp, head, 5, entries, storage.RecordRow{Kind: "incident", ID: "r1"}, storage.RecordRow{Kind: "incident", ID: "other", State: "x"})
	require.True(t, report.OK(), "%v", report.Err())
	require.NoError(t, report.Err())
	require.Equal(t, int64(5), report.Covered)
	require.Empty(t, report.Checks())
	require.Empty(t, report.Broken())

	// The log head disagrees with the entries.
	report = verify(cp, head, 4, entries)
	require.Equal(t, []storage.Check{storage.CheckLog}, report.Checks())

	// An older checkpoint covers fewer entries; a newer one more than
	// there are.
	_, older, _ := memLog(3)
	report = verify(older, head, 5, entries)
	require.True(t, report.OK(), "%v", report.Err())
	require.Equal(t, int64(3), report.Covered)
	_, newer, _ := memLog(7)
	report = verify(newer, head, 5, entries)
	require.Equal(t, []storage.Check{storage.CheckTree}, report.Checks())

	// A stored tree hash edited alone.
	entries, cp, head = memLog(5)
	entries[3].Hashes = append([]byte{}, entries[3].Hashes...)
	entries[3].Hashes[40] ^= 1
	report = verify(cp, head, 5, entries)
	require.Equal(t, []storage.Check{storage.CheckLog}, report.Checks())
	require.Equal(t, int64(3), report.Problems[0].Index)

	// An event edited to resolve the record, and rechained: its leaf no
	// longer matches, and the record row does not show the state its
	// events now say.
	entries, _, _ = memLog(2)
	entries[1].Event.Event.To = "resolved"
	entries[1].Event.Hash = storage.EventHash(entries[1].Event.PrevHash, entries[1].Event.Event)
	report = verify(nil, storage.AuditHead{Sequence: 2, Hash: entries[1].Event.Hash}, 2, entries,
		storage.RecordRow{Kind: "incident", ID: "r1", State: "new"})
	require.Equal(t, []storage.Check{storage.CheckLeaf, storage.CheckRecord}, report.Checks(), "%v", report.Err())
	require.Equal(t, []storage.RecordKey{{Kind: "incident", ID: "r1"}}, report.Broken())
	require.ErrorIs(t, report.Err(), itsm.ErrConflict)

	names := map[storage.Check]string{storage.CheckChain: "chain", storage.CheckLeaf: "leaf", storage.CheckLog: "log",
		storage.CheckTree: "tree", storage.CheckRecord: "record", storage.CheckSeal: "seal", storage.Check(99): "Check(99)"}
	for c, name := range names {
		require.Equal(t, name, c.String())
	}
	require.Equal(t, "storage: audit log broken (tree check): gone", (&storage.TamperError{Check: storage.CheckTree, Index: -1, Problem: "gone"}).Error())
	require.Equal(t, "storage: audit log broken at entry 4 (log check): gone", (&storage.TamperError{Check: storage.CheckLog, Index: 4, Problem: "gone"}).Error())
}
