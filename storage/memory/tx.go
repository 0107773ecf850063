package memory

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"time"

	"github.com/itsmkit/itsmkit/itsm"
	"github.com/itsmkit/itsmkit/record"
	"github.com/itsmkit/itsmkit/storage"
)

// tx is the record.Tx handed to InTx's fn. Its methods may be called from
// several goroutines while fn runs; they run one at a time.
type tx struct {
	mu   sync.Mutex
	done bool
	v    view // v.w holds the staged writes, v.t the transaction's trees
}

var _ record.Tx = (*tx)(nil)

// end closes the transaction to further use and returns its staged
// writes. It may be called more than once.
func (t *tx) end() *staged {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.done = true
	return t.v.w
}

// use runs fn on the transaction's view while holding its lock.
func (t *tx) use(ctx context.Context, fn func(view) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.done {
		return ErrTxDone
	}
	return fn(t.v)
}

// Get implements record.Reader, seeing the transaction's own writes.
func (t *tx) Get(ctx context.Context, ref record.Ref) (*record.Record, error) {
	var rec *record.Record
	err := t.use(ctx, func(v view) (err error) { rec, err = v.get(ref); return err })
	return rec, err
}

// GetByNumber implements record.Reader, seeing the transaction's own
// writes.
func (t *tx) GetByNumber(ctx context.Context, kind, number string) (*record.Record, error) {
	var rec *record.Record
	err := t.use(ctx, func(v view) (err error) { rec, err = v.getByNumber(kind, number); return err })
	return rec, err
}

// List implements record.Reader, seeing the transaction's own writes.
func (t *tx) List(ctx context.Context, q record.Query) (record.Page, error) {
	var p record.Page
	err := t.use(ctx, func(v view) (err error) { p, err = v.list(q); return err })
	return p, err
}

// Journal implements record.Reader, seeing the transaction's own writes.
func (t *tx) Journal(ctx context.Context, ref record.Ref) ([]record.Entry, error) {
	var out []record.Entry
	err := t.use(ctx, func(v view) (err error) { out, err = v.journal(ref); return err })
	return out, err
}

// Links implements record.Reader, seeing the transaction's own writes.
func (t *tx) Links(ctx context.Context, ref record.Ref) ([]record.Link, error) {
	var out []record.Link
	err := t.use(ctx, func(v view) (err error) { out, err = v.links(ref); return err })
	return out, err
}

// Timers implements record.Reader, seeing the transaction's own writes.
func (t *tx) Timers(ctx context.Context, ref record.Ref) ([]record.TimerRecord, error) {
	var out []record.TimerRecord
	err := t.use(ctx, func(v view) (err error) { out, err = v.timers(ref); return err })
	return out, err
}

// TimersDue implements record.Reader, seeing the transaction's own
// writes.
func (t *tx) TimersDue(ctx context.Context, before time.Time, limit int) ([]record.TimerRecord, error) {
	var out []record.TimerRecord
	err := t.use(ctx, func(v view) (err error) { out, err = v.timersDue(before, limit); return err })
	return out, err
}

// History implements record.Reader, seeing the transaction's own writes.
func (t *tx) History(ctx context.Context, ref record.Ref) ([]itsm.Event, error) {
	var out []itsm.Event
	err := t.use(ctx, func(v view) (err error) { out, err = v.history(ref); return err })
	return out, err
}

// ReadOutbox implements record.Reader, seeing the messages of the
// transaction's own events too.
func (t *tx) ReadOutbox(ctx context.Context, after string, limit int) (record.OutboxPage, error) {
	var p record.OutboxPage
	err := t.use(ctx, func(v view) (err error) { p, err = v.readOutbox(after, limit); return err })
	return p, err
}

// NextNumber returns the next value of the number sequence of kind, which
// must be declared (an *itsm.ValidationError otherwise). The sequence is
// part of the transaction, so a rollback hands its numbers out again.
func (t *tx) NextNumber(ctx context.Context, kind string) (int64, error) {
	var n int64
	err := t.use(ctx, func(v view) error {
		if _, err := v.s.Schema(kind); err != nil {
			return err
		}
		it, _ := v.t.numbers.Get(numberItem{kind: kind})
		it.kind, it.n = kind, it.n+1
		v.t.numbers.ReplaceOrInsert(it)
		n = it.n
		return nil
	})
	return n, err
}

// Create stores a copy of rec with Version 1 and sets rec.Version to 1. A
// record that fails record.Registry.CheckRecord is an
// *itsm.ValidationError; an ID or Number of the kind already stored (or
// created earlier in the transaction) is an error matching
// itsm.ErrConflict. rec.SLA is ignored.
func (t *tx) Create(ctx context.Context, rec *record.Record) error {
	return t.use(ctx, func(v view) error {
		if err := v.s.CheckRecord(rec); err != nil {
			return err
		}
		ref := rec.Ref()
		if _, ok := v.record(ref); ok {
			return fmt.Errorf("memory: %s already exists: %w", ref, itsm.ErrConflict)
		}
		if other, ok := v.idByNumber(rec.Kind, rec.Number); ok {
			return fmt.Errorf("memory: %s number %s is taken by %s: %w", rec.Kind, rec.Number, other, itsm.ErrConflict)
		}
		stored, err := storedCopy(rec, nil)
		if err != nil {
			return err
		}
		stored.Version = 1
		v.put(nil, stored)
		rec.Version = 1
		return nil
	})
}

// Update replaces the stored record with a copy of rec when the stored
// version equals rec.Version, and sets rec.Version to the next version.
// Otherwise nothing changes and the error is an *itsm.ConflictError (with
// Expected and Actual), or an *itsm.NotFoundError when there is no such
// record. A changed Number must be free (itsm.ErrConflict otherwise); a
// record that fails record.Registry.CheckRecord is an
// *itsm.ValidationError. rec.SLA is ignored: the record keeps the summary
// of its timers.
func (t *tx) Update(ctx context.Context, rec *record.Record) error {
	return t.use(ctx, func(v view) error {
		if err := v.s.CheckRecord(rec); err != nil {
			return err
		}
		ref := rec.Ref()
		cur, ok := v.record(ref)
		if !ok {
			return &itsm.NotFoundError{Kind: ref.Kind, ID: ref.ID}
		}
		if cur.Version != rec.Version {
			return &itsm.ConflictError{Kind: ref.Kind, ID: ref.ID, Expected: rec.Version, Actual: cur.Version}
		}
		if rec.Number != cur.Number {
			if other, ok := v.idByNumber(rec.Kind, rec.Number); ok {
				return fmt.Errorf("memory: %s number %s is taken by %s: %w", rec.Kind, rec.Number, other, itsm.ErrConflict)
			}
		}
		stored, err := storedCopy(rec, cur.SLA)
		if err != nil {
			return err
		}
		stored.Version = cur.Version + 1
		v.put(cur, stored)
		rec.Version = stored.Version
		return nil
	})
}

// storedCopy returns the copy of rec that the store keeps, with the given
// SLA summary: what its document (record.Record.Document) reads back
// as, so that the memory store returns what the SQL stores return:
// instants in UTC, the body compacted and escaped as Document writes it.
func storedCopy(rec *record.Record, sum record.Summary) (*record.Record, error) {
	c := rec.Clone()
	c.SLA = sum
	c.OpenedAt, c.UpdatedAt = c.OpenedAt.UTC(), c.UpdatedAt.UTC()
	c.ResolvedAt, c.ClosedAt = c.ResolvedAt.UTC(), c.ClosedAt.UTC()
	if len(c.Body) > 0 {
		body, err := json.Marshal(json.RawMessage(c.Body)) // as Document encodes it
		if err != nil {
			return nil, fmt.Errorf("memory: encode the body of %s: %w", rec.Ref(), err)
		}
		c.Body = body
	}
	return c, nil
}

// put stages rec, which replaces old (nil for a new record), and updates
// the indexes of its kind.
func (v view) put(old, rec *record.Record) {
	ref := rec.Ref()
	v.w.records[ref] = rec
	v.w.numbers[numberKey{ref.Kind, rec.Number}] = ref.ID
	ix := v.t.kinds[ref.Kind]
	if ix == nil {
		ix = newKindIndex()
		v.t.kinds[ref.Kind] = ix
	}
	ix.update(old, rec)
}

// AppendJournal appends entries to the journal of the record ref names.
// A malformed ref or entry is an *itsm.ValidationError, entries beyond
// the limits of the kind (record.Limits.CheckEntries, with the journal's
// length) an *itsm.LimitError, a record that is not stored an
// *itsm.NotFoundError; then nothing is appended.
func (t *tx) AppendJournal(ctx context.Context, ref record.Ref, entries ...record.Entry) error {
	return t.use(ctx, func(v view) error {
		if err := record.CheckRef(ref); err != nil {
			return err
		}
		n := lastOf(v.t.journal, ref)
		if err := v.s.CheckEntries(ref.Kind, int(n), entries); err != nil {
			return err
		}
		if _, ok := v.record(ref); !ok {
			return &itsm.NotFoundError{Kind: ref.Kind, ID: ref.ID}
		}
		for _, e := range entries {
			n++
			e.At = e.At.UTC()
			v.t.journal.ReplaceOrInsert(&seqItem[record.Entry]{ref: ref, n: n, val: e})
		}
		return nil
	})
}

// AddLinks stores links, as record.Tx documents: malformed links are an
// *itsm.ValidationError (record.CheckLinks), an end that is not stored
// (committed or created in this transaction) an *itsm.NotFoundError for
// it, and a link of the same type and ends that is stored, or given twice
// in the call, an error matching itsm.ErrConflict. Then nothing of the
// call is stored.
func (t *tx) AddLinks(ctx context.Context, links ...record.Link) error {
	return t.use(ctx, func(v view) error {
		if err := record.CheckLinks(links); err != nil {
			return err
		}
		for _, l := range links {
			for _, end := range []record.Ref{l.From, l.To} {
				if _, ok := v.record(end); !ok {
					return &itsm.NotFoundError{Kind: end.Kind, ID: end.ID}
				}
			}
		}
		seen := make(map[linkKey]bool, len(links))
		for _, l := range links {
			k := keyOfLink(l)
			if seen[k] || v.t.links.Has(&linkItem{link: l}) {
				return fmt.Errorf("memory: link %s %s → %s already exists: %w", l.Type, l.From, l.To, itsm.ErrConflict)
			}
			seen[k] = true
		}
		for _, l := range links {
			l.CreatedAt = l.CreatedAt.UTC()
			v.t.linkSeq++
			n := v.t.linkSeq
			v.t.links.ReplaceOrInsert(&linkItem{link: l, seq: n})
			v.t.ends.ReplaceOrInsert(&seqItem[record.Link]{ref: l.From, n: n, val: l})
			v.t.ends.ReplaceOrInsert(&seqItem[record.Link]{ref: l.To, n: n, val: l})
		}
		return nil
	})
}

// linkKey identifies a link: its type and ends.
type linkKey struct {
	typ      string
	from, to record.Ref
}

func keyOfLink(l record.Link) linkKey { return linkKey{typ: l.Type, from: l.From, to: l.To} }

// RemoveLinks removes links, known by Type, From and To (their CreatedAt
// and CreatedBy are not looked at). A malformed type or end is an
// *itsm.ValidationError; a link that is not stored, or that the call
// names twice, is an *itsm.NotFoundError (Kind "link"); then none is
// removed.
func (t *tx) RemoveLinks(ctx context.Context, links ...record.Link) error {
	return t.use(ctx, func(v view) error {
		if err := record.CheckLinkKeys(links); err != nil {
			return err
		}
		stored := make([]*linkItem, len(links))
		seen := make(map[linkKey]bool, len(links))
		for i, l := range links {
			it, ok := v.t.links.Get(&linkItem{link: l})
			k := keyOfLink(l)
			if !ok || seen[k] {
				return &itsm.NotFoundError{Kind: "link", ID: l.Type + " " + l.From.String() + " → " + l.To.String()}
			}
			seen[k] = true
			stored[i] = it
		}
		for _, it := range stored {
			v.t.links.Delete(it)
			v.t.ends.Delete(&seqItem[record.Link]{ref: it.link.From, n: it.seq})
			v.t.ends.Delete(&seqItem[record.Link]{ref: it.link.To, n: it.seq})
		}
		return nil
	})
}

// LockLinkTypes implements record.Tx. Write transactions of the memory
// store run one at a time, so the transaction holds every lock already;
// LockLinkTypes only checks the names.
func (t *tx) LockLinkTypes(ctx context.Context, types ...string) error {
	return t.use(ctx, func(view) error { return record.CheckLinkTypeNames(types) })
}

// PutTimers inserts or replaces timers keyed by Record and ID, keeping
// each Timer as its JSON encoding and its derived fields as given. A
// replaced timer keeps its place in the order of Timers. Records that
// fail record.CheckTimerRecords are an *itsm.ValidationError, a timer
// with a cycle longer than its kind allows an *itsm.LimitError
// (record.Registry.CheckTimerRecords), a record
// that is not stored an *itsm.NotFoundError, a Timer that fails to encode
// an error; then nothing of the call is stored. The SLA summary of each
// record the call touches is refreshed.
func (t *tx) PutTimers(ctx context.Context, timers ...record.TimerRecord) error {
	return t.use(ctx, func(v view) error {
		if err := v.s.CheckTimerRecords(timers); err != nil {
			return err
		}
		for _, r := range timers {
			if _, ok := v.record(r.Record); !ok {
				return &itsm.NotFoundError{Kind: r.Record.Kind, ID: r.Record.ID}
			}
		}
		rows := make([]*timerRow, len(timers))
		for i, r := range timers {
			enc, err := json.Marshal(r.Timer)
			if err != nil {
				return fmt.Errorf("memory: encode timer %s of %s: %w", r.ID, r.Record, err)
			}
			r.AtRiskAt, r.BreachAt, r.NextWakeAt = r.AtRiskAt.UTC(), r.BreachAt.UTC(), r.NextWakeAt.UTC()
			sum := r.Summary()
			r.Timer = nil
			rows[i] = &timerRow{rec: r, sum: sum, enc: enc}
		}
		v.putTimers(rows)
		v.recordCrossings(timers)
		return nil
	})
}

// recordCrossings records the crossings storage.WrittenCrossings reports
// for each written timer that are not recorded yet, each with its audit
// event, in order. A timer whose calendar the store does not know records
// nothing (the wake-up worker reports it).
func (v view) recordCrossings(timers []record.TimerRecord) {
	for _, r := range timers {
		cs, err := storage.WrittenCrossings(r, v.s.cals)
		if err != nil {
			continue
		}
		v.appendEvents(v.newCrossings(cs))
	}
}

// newCrossings marks the crossings of cs that are not recorded yet as
// recorded and returns their audit events, in order.
func (v view) newCrossings(cs []storage.Crossing) []itsm.Event {
	var evs []itsm.Event
	for _, c := range cs {
		k := crossingItem{rec: c.Record, timer: c.TimerID, cycle: c.Cycle, points: c.BasisPoints}
		if _, dup := v.t.crossings.ReplaceOrInsert(k); !dup {
			evs = append(evs, c.Event())
		}
	}
	return evs
}

// putTimers stores rows, which are for stored records, and refreshes the
// SLA summaries of their records.
func (v view) putTimers(rows []*timerRow) {
	var refs []record.Ref
	seen := make(map[record.Ref]bool)
	for _, row := range rows {
		if old, ok := v.t.timers.Get(row); ok {
			row.seq = old.seq
			if !old.rec.NextWakeAt.IsZero() {
				v.t.due.Delete(dueItem{row: old})
			}
		} else {
			v.t.timerSeq++
			row.seq = v.t.timerSeq
		}
		v.t.timers.ReplaceOrInsert(row)
		if !row.rec.NextWakeAt.IsZero() {
			v.t.due.ReplaceOrInsert(dueItem{row: row})
		}
		if !seen[row.rec.Record] {
			seen[row.rec.Record] = true
			refs = append(refs, row.rec.Record)
		}
	}
	for _, ref := range refs {
		cur, _ := v.record(ref)
		next := *cur // shares cur's immutable slices and maps
		next.SLA = nil
		for _, row := range v.timerRows(ref) {
			next.SLA = append(next.SLA, row.sum)
		}
		v.w.records[ref] = &next
		v.t.kinds[ref.Kind].updateSummary(cur, &next)
	}
}

// AppendEvents appends copies of events, numbering each one more than the
// last event of the same record (Kind and RecordID), and appends each to
// the outbox with the next message ID. Message IDs are not handed out
// again after a rollback, so that no cursor a reader of the outbox got
// inside a transaction that rolled back skips a message committed later. If any event fails
// itsm.ValidateEvents nothing is appended and the error is an
// *itsm.ValidationError naming each problem as "[i].field".
func (t *tx) AppendEvents(ctx context.Context, events ...itsm.Event) error {
	return t.use(ctx, func(v view) error {
		if err := itsm.ValidateEvents(events); err != nil {
			return err
		}
		v.appendEvents(events)
		return nil
	})
}

// appendEvents appends valid events as AppendEvents does.
func (v view) appendEvents(events []itsm.Event) {
	for _, e := range events {
		ref := record.Ref{Kind: e.Kind, ID: e.RecordID}
		e = copyEvent(e)
		e.At = e.At.UTC()
		e.Sequence = lastOf(v.t.events, ref) + 1
		v.t.events.ReplaceOrInsert(&seqItem[itsm.Event]{ref: ref, n: e.Sequence, val: e})
		v.s.lastMsg++
		v.t.outbox.ReplaceOrInsert(&seqItem[itsm.Event]{n: v.s.lastMsg, val: e})
	}
}
