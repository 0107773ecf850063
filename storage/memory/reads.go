package memory

import (
	"cmp"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/itsmkit/itsmkit/itsm"
	"github.com/itsmkit/itsmkit/record"
	"github.com/itsmkit/itsmkit/sla"
)

// The read operations, shared by Store and tx. They check their
// arguments, read a view and return copies.

func (v view) get(ref record.Ref) (*record.Record, error) {
	if err := record.CheckRef(ref); err != nil {
		return nil, err
	}
	rec, ok := v.record(ref)
	if !ok {
		return nil, &itsm.NotFoundError{Kind: ref.Kind, ID: ref.ID}
	}
	return rec.Clone(), nil
}

func (v view) getByNumber(kind, number string) (*record.Record, error) {
	bad := &itsm.ValidationError{Subject: "record"}
	if !record.ValidKind(kind) {
		bad.Add("kind", "%q is not a kind name", kind)
	}
	if number == "" || len(number) > record.MaxIDLen {
		bad.Add("number", "must be 1 to %d bytes", record.MaxIDLen)
	}
	if err := bad.Err(); err != nil {
		return nil, err
	}
	id, ok := v.idByNumber(kind, number)
	if !ok {
		return nil, &itsm.NotFoundError{Kind: kind, ID: number}
	}
	return v.get(record.Ref{Kind: kind, ID: id})
}

// list answers List from the smallest index the query's filters allow
// (see kindIndex.plan): it walks that index from the cursor, applies
// Query.Match to each record it meets and stops at one more match than
// the page holds.
func (v view) list(q record.Query) (record.Page, error) {
	if err := v.s.CheckQuery(q); err != nil {
		return record.Page{}, err
	}
	var after *record.Cursor
	if q.After != "" {
		c, err := record.ParseCursor(q.After)
		if err != nil {
			return record.Page{}, err
		}
		after = &c
	}
	hits := []*record.Record{}
	if ix := v.t.kinds[q.Kind]; ix != nil {
		src := ix.plan(q)
		want := q.PageSize() + 1
		visited := 0
		if src.sla {
			recs, n := v.walkSLA(ix, q, after, want)
			hits, visited = append(hits, recs...), n
		}
		for _, val := range src.vals {
			recs, n := v.walk(ix, q, src, val, after, want)
			hits = append(hits, recs...)
			visited += n
		}
		v.s.visited.Add(int64(visited))
		if len(src.vals) > 1 {
			// Each value's walk is in list order; so is their union once
			// sorted, without the records found under two values (of
			// their timers' policy kinds), and its first want records are
			// the page's.
			slices.SortFunc(hits, func(a, b *record.Record) int {
				x, _ := q.Order.Key(a)
				y, _ := q.Order.Key(b)
				return cmpAt(x, a.ID, y, b.ID)
			})
			hits = slices.CompactFunc(hits, func(a, b *record.Record) bool { return a.ID == b.ID })
			hits = hits[:min(len(hits), want)]
		}
	}
	page := record.NewPage(q, hits)
	for i, rec := range page.Records {
		page.Records[i] = rec.Clone()
	}
	return page, nil
}

func (v view) journal(ref record.Ref) ([]record.Entry, error) {
	if err := record.CheckRef(ref); err != nil {
		return nil, err
	}
	out := []record.Entry{}
	eachOf(v.t.journal, ref, func(it *seqItem[record.Entry]) { out = append(out, it.val) })
	return out, nil
}

func (v view) links(ref record.Ref) ([]record.Link, error) {
	if err := record.CheckRef(ref); err != nil {
		return nil, err
	}
	out := []record.Link{}
	eachOf(v.t.ends, ref, func(it *seqItem[record.Link]) { out = append(out, it.val) })
	return out, nil
}

// timerRows returns the timers of ref in the order they were first saved.
func (v view) timerRows(ref record.Ref) []*timerRow {
	var rows []*timerRow
	v.t.timers.AscendGreaterOrEqual(&timerRow{rec: record.TimerRecord{Record: ref}}, func(row *timerRow) bool {
		if row.rec.Record != ref {
			return false
		}
		rows = append(rows, row)
		return true
	})
	slices.SortFunc(rows, func(a, b *timerRow) int { return cmp.Compare(a.seq, b.seq) })
	return rows
}

func (v view) timers(ref record.Ref) ([]record.TimerRecord, error) {
	if err := record.CheckRef(ref); err != nil {
		return nil, err
	}
	return decodeAll(v.timerRows(ref))
}

// timersDue walks the timers in the order of TimersDue, from the
// earliest NextWakeAt, and stops at the first that is not due.
func (v view) timersDue(before time.Time, limit int) ([]record.TimerRecord, error) {
	if limit <= 0 {
		return []record.TimerRecord{}, nil
	}
	var rows []*timerRow
	visited := 0
	v.t.due.Ascend(func(d dueItem) bool {
		visited++
		if d.row.rec.NextWakeAt.After(before) {
			return false
		}
		rows = append(rows, d.row)
		return len(rows) < limit
	})
	v.s.visited.Add(int64(visited))
	return decodeAll(rows)
}

func (v view) history(ref record.Ref) ([]itsm.Event, error) {
	if err := record.CheckRef(ref); err != nil {
		return nil, err
	}
	out := []itsm.Event{}
	eachOf(v.t.events, ref, func(it *seqItem[itsm.Event]) { out = append(out, copyEvent(it.val)) })
	return out, nil
}

func (v view) readOutbox(after string, limit int) (record.OutboxPage, error) {
	last, err := record.ParseIDCursor(after)
	if err != nil {
		return record.OutboxPage{}, err
	}
	page := record.OutboxPage{Messages: []record.Message{}, Next: after}
	if limit <= 0 {
		return page, nil
	}
	v.t.outbox.AscendGreaterOrEqual(&seqItem[itsm.Event]{n: last + 1}, func(it *seqItem[itsm.Event]) bool {
		page.Messages = append(page.Messages, record.Message{ID: it.n, Event: copyEvent(it.val)})
		return len(page.Messages) < limit
	})
	if n := len(page.Messages); n > 0 {
		page.Next = record.IDCursor(page.Messages[n-1].ID)
	}
	return page, nil
}

// decodeAll returns the records of rows with freshly decoded timers, in a
// new, non-nil slice.
func decodeAll(rows []*timerRow) ([]record.TimerRecord, error) {
	out := make([]record.TimerRecord, len(rows))
	for i, row := range rows {
		t := new(sla.Timer)
		if err := json.Unmarshal(row.enc, t); err != nil {
			return nil, fmt.Errorf("memory: decode timer %s of %s: %w", row.rec.ID, row.rec.Record, err)
		}
		out[i] = row.rec
		out[i].Timer = t
	}
	return out, nil
}

// copyEvent returns e with its slices copied.
func copyEvent(e itsm.Event) itsm.Event {
	e.Actor.Roles = slices.Clone(e.Actor.Roles)
	e.Changes = slices.Clone(e.Changes)
	return e
}
