package storage_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/itsmkit/itsmkit/itsm"
	"github.com/itsmkit/itsmkit/storage"
)

func chain(n int) []storage.AuditRow {
	var rows []storage.AuditRow
	var prev []byte
	for i := 1; i <= n; i++ {
		ev := itsm.Event{Kind: "incident", RecordID: "r1", Sequence: int64(i),
			Actor: itsm.Actor{ID: "alice", Roles: []itsm.Role{"agent"}},
			At:    time.Date(2026, 11, 20, 15, i, 0, 123456789, time.UTC), Action: "comment",
			Changes: []itsm.Change{{Field: "comment", New: "note"}}}
		h := storage.EventHash(prev, ev)
		rows = append(rows, storage.AuditRow{Event: ev, PrevHash: prev, Hash: h})
		prev = h
	}
	return rows
}

func head(rows []storage.AuditRow) storage.AuditHead {
	if len(rows) == 0 {
		return storage.AuditHead{}
	}
	last := rows[len(rows)-1]
	return storage.AuditHead{Sequence: last.Event.Sequence, Hash: last.Hash}
}

func TestVerifyChain(t *testing.T) {
	t.Parallel()
	rows := chain(4)
	require.NoError(t, storage.VerifyChain("incident", "r1", rows, head(rows)))
	require.NoError(t, storage.VerifyChain("incident", "r1", nil, storage.AuditHead{}))
	require.Len(t, rows[0].Hash, storage.HashSize)

	// A hash is over the time as stores keep it (microseconds, UTC).
	ev := rows[1].Event
	ev.At = ev.At.In(time.FixedZone("x", 3600)).Truncate(time.Microsecond)
	require.Equal(t, rows[1].Hash, storage.EventHash(rows[0].Hash, ev))

	cases := []struct {
		name   string
		tamper func([]storage.AuditRow) ([]storage.AuditRow, storage.AuditHead)
		seq    int64
	}{
		{"edited reason", func(r []storage.AuditRow) ([]storage.AuditRow, storage.AuditHead) {
			r[1].Event.Reason = "covered up"
			return r, head(r)
		}, 2},
		{"edited change", func(r []storage.AuditRow) ([]storage.AuditRow, storage.AuditHead) {
			r[2].Event.Changes[0].New = "other"
			return r, head(r)
		}, 3},
		{"edited actor", func(r []storage.AuditRow) ([]storage.AuditRow, storage.AuditHead) {
			r[0].Event.Actor.ID = "mallory"
			return r, head(r)
		}, 1},
		{"deleted middle", func(r []storage.AuditRow) ([]storage.AuditRow, storage.AuditHead) {
			h := head(r)
			return append(r[:1:1], r[2:]...), h
		}, 2},
		{"deleted last", func(r []storage.AuditRow) ([]storage.AuditRow, storage.AuditHead) {
			h := head(r)
			return r[:3], h
		}, 4},
		{"swapped", func(r []storage.AuditRow) ([]storage.AuditRow, storage.AuditHead) {
			r[1], r[2] = r[2], r[1]
			return r, head(r)
		}, 2},
		{"rehashed edit without the head", func(r []storage.AuditRow) ([]storage.AuditRow, storage.AuditHead) {
			h := head(r)
			r[3].Event.Reason = "x"
			r[3].Hash = storage.EventHash(r[3].PrevHash, r[3].Event)
			return r, h
		}, 4},
		{"foreign event", func(r []storage.AuditRow) ([]storage.AuditRow, storage.AuditHead) {
			r[1].Event.RecordID = "r2"
			return r, head(r)
		}, 2},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			rows, h := tc.tamper(chain(4))
			err := storage.VerifyChain("incident", "r1", rows, h)
			require.ErrorIs(t, err, itsm.ErrConflict)
			var te *storage.TamperError
			require.ErrorAs(t, err, &te)
			require.Equal(t, tc.seq, te.Sequence, te.Error())
			require.Equal(t, "r1", te.RecordID)
		})
	}
}
