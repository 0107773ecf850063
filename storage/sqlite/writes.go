package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sync/atomic"
	"time"

	"github.com/itsmkit/itsmkit/itsm"
	"github.com/itsmkit/itsmkit/record"
	"github.com/itsmkit/itsmkit/sla"
	"github.com/itsmkit/itsmkit/storage"
)

// tx is the record.Tx handed to InTx's fn. Each write method validates
// its whole input first and is atomic on its own: when it fails, none of
// its statements is kept, so fn may carry on with the transaction.
type tx struct {
	reader
	done atomic.Bool
	// heads remembers the audit heads this transaction read or moved, and
	// created the records it created, whose heads it takes to be empty,
	// so that AppendEvents reads no head it knows. The audit triggers
	// refuse an event chained to a wrong head; AppendEvents then reads
	// the heads and tries once more.
	heads   map[auditKey]storage.AuditHead
	created map[auditKey]bool
	// cals binds the timers PutTimers writes unbound, to record their
	// crossings (see WithCalendars).
	cals sla.CalendarSource
	// sealKey seals the log entries appended (WithAuditSeal); nil for
	// none.
	sealKey []byte
}

// newTx returns a transaction that runs its statements through q, with
// the store's kinds, calendars and seal key: every write transaction,
// the worker's and a joined one included, is made here, so that they all
// bind timers and seal the log alike.
func (s *Store) newTx(q querier) *tx {
	return &tx{reader: reader{q: q, reg: &s.reg}, cals: s.cfg.calendars, sealKey: s.cfg.sealKey}
}

// auditKey names the audit trail of one record.
type auditKey struct{ kind, id string }

var _ record.Tx = (*tx)(nil)

// check refuses use after InTx has returned.
func (t *tx) check(ctx context.Context) error {
	if t.done.Load() {
		return ErrTxDone
	}
	return ctx.Err()
}

// The read methods of record.Reader, guarded by check.

func (t *tx) Get(ctx context.Context, ref record.Ref) (*record.Record, error) {
	if err := t.check(ctx); err != nil {
		return nil, err
	}
	return t.reader.Get(ctx, ref)
}

func (t *tx) GetByNumber(ctx context.Context, kind, number string) (*record.Record, error) {
	if err := t.check(ctx); err != nil {
		return nil, err
	}
	return t.reader.GetByNumber(ctx, kind, number)
}

func (t *tx) List(ctx context.Context, q record.Query) (record.Page, error) {
	if err := t.check(ctx); err != nil {
		return record.Page{}, err
	}
	return t.reader.List(ctx, q)
}

func (t *tx) Journal(ctx context.Context, ref record.Ref) ([]record.Entry, error) {
	if err := t.check(ctx); err != nil {
		return nil, err
	}
	return t.reader.Journal(ctx, ref)
}

func (t *tx) Links(ctx context.Context, ref record.Ref) ([]record.Link, error) {
	if err := t.check(ctx); err != nil {
		return nil, err
	}
	return t.reader.Links(ctx, ref)
}

func (t *tx) Timers(ctx context.Context, ref record.Ref) ([]record.TimerRecord, error) {
	if err := t.check(ctx); err != nil {
		return nil, err
	}
	return t.reader.Timers(ctx, ref)
}

func (t *tx) TimersDue(ctx context.Context, before time.Time, limit int) ([]record.TimerRecord, error) {
	if err := t.check(ctx); err != nil {
		return nil, err
	}
	return t.reader.TimersDue(ctx, before, limit)
}

func (t *tx) History(ctx context.Context, ref record.Ref) ([]itsm.Event, error) {
	if err := t.check(ctx); err != nil {
		return nil, err
	}
	return t.reader.History(ctx, ref)
}

func (t *tx) ReadOutbox(ctx context.Context, after string, limit int) (record.OutboxPage, error) {
	if err := t.check(ctx); err != nil {
		return record.OutboxPage{}, err
	}
	return t.reader.ReadOutbox(ctx, after, limit)
}

// NextNumber returns the next value of the number sequence of kind, from
// 1. The sequence is part of the transaction, so a rollback hands the
// value out again. A malformed kind is an *itsm.ValidationError.
func (t *tx) NextNumber(ctx context.Context, kind string) (int64, error) {
	if err := t.check(ctx); err != nil {
		return 0, err
	}
	if !record.ValidKind(kind) {
		return 0, itsm.NewValidationError("number sequence", "kind", "%q is not a kind name", kind)
	}
	var n int64
	if err := t.q.QueryRowContext(ctx, sqlNextNumber, kind).Scan(&n); err != nil {
		return 0, fmt.Errorf("sqlite: next %s number: %w", kind, mapErr(err))
	}
	return n, nil
}

// atomic runs fn so that its statements stand or fall together. With
// several set, fn runs under a savepoint that is rolled back when it
// fails. Callers pass several = false when fn runs one statement (which
// SQLite keeps or undoes whole by itself), or when every statement after
// the first can fail only in ways that end the whole transaction (an I/O
// error, a full disk, an interrupt): those never refuse a row, so a
// failed call cannot leave part of its rows behind in a transaction that
// goes on.
func (t *tx) atomic(ctx context.Context, several bool, fn func() error) error {
	if !several {
		return fn()
	}
	if _, err := t.q.ExecContext(ctx, sqlSavepoint); err != nil {
		return mapErr(err)
	}
	if err := fn(); err != nil {
		bg := context.WithoutCancel(ctx)
		_, rbErr := t.q.ExecContext(bg, sqlRollbackTo)
		_, relErr := t.q.ExecContext(bg, sqlRelease)
		if rbErr != nil || relErr != nil {
			return errors.Join(err, rbErr, relErr)
		}
		return err
	}
	_, err := t.q.ExecContext(ctx, sqlRelease)
	return mapErr(err)
}

// stored returns rec as the store keeps it, with version: its instants in
// UTC to the microsecond and no SLA summary. rec is not changed.
func stored(rec *record.Record, version int64) *record.Record {
	c := *rec
	c.OpenedAt, c.UpdatedAt = utcMicro(rec.OpenedAt), utcMicro(rec.UpdatedAt)
	c.ResolvedAt, c.ClosedAt = utcMicro(rec.ResolvedAt), utcMicro(rec.ClosedAt)
	c.Version = version
	c.SLA = nil
	return &c
}

// recordArgs returns the values of recordColumns for rec, which stored
// made.
func recordArgs(rec *record.Record) ([]any, error) {
	doc, err := rec.Document()
	if err != nil {
		return nil, fmt.Errorf("sqlite: encode %s: %w", rec.Ref(), err)
	}
	return []any{rec.Kind, rec.ID, rec.Number, rec.Title, rec.Description, rec.State, rec.StateCategory.String(),
		int64(rec.Impact), int64(rec.Urgency), int64(rec.Priority), rec.Requester.ID, rec.AssignmentGroup,
		rec.Assignee, rec.Service, rec.Category, rec.Parent.Kind, rec.Parent.ID, boolInt(rec.Major),
		micro(rec.OpenedAt), micro(rec.UpdatedAt), nullMicro(rec.ResolvedAt), nullMicro(rec.ClosedAt),
		rec.Version, string(doc)}, nil
}

// insertConfigItems writes the config item rows of rec, if it has any.
func (t *tx) insertConfigItems(ctx context.Context, rec *record.Record) error {
	if len(rec.ConfigItems) == 0 {
		return nil
	}
	list, err := json.Marshal(rec.ConfigItems)
	if err != nil {
		return fmt.Errorf("sqlite: encode config items of %s: %w", rec.Ref(), err)
	}
	if _, err := t.q.ExecContext(ctx, sqlInsertConfigItems, rec.Kind, rec.ID, micro(rec.OpenedAt), string(list)); err != nil {
		return fmt.Errorf("sqlite: write config items of %s: %w", rec.Ref(), mapErr(err))
	}
	return nil
}

// Create stores rec with Version 1 and sets rec.Version to 1: one INSERT
// into records and, when rec has configuration items, one into
// record_config_items. A record that the registry refuses (CheckKeys and
// its kind's Schema.Check, or an undeclared kind) is an
// *itsm.ValidationError; an ID or Number of the kind already stored is an
// error matching itsm.ErrConflict.
func (t *tx) Create(ctx context.Context, rec *record.Record) error {
	if err := t.check(ctx); err != nil {
		return err
	}
	if err := t.reg.CheckRecord(rec); err != nil {
		return err
	}
	s := stored(rec, 1)
	args, err := recordArgs(s)
	if err != nil {
		return err
	}
	// The config item insert refuses no row (ON CONFLICT DO NOTHING), so
	// it needs no savepoint (see atomic).
	err = t.atomic(ctx, false, func() error {
		if _, err := t.q.ExecContext(ctx, sqlInsertRecord, args...); err != nil {
			return fmt.Errorf("sqlite: create %s (%s): %w", rec.Ref(), rec.Number, mapErr(err))
		}
		return t.insertConfigItems(ctx, s)
	})
	if err != nil {
		return err
	}
	rec.Version = 1
	if t.created == nil {
		t.created = make(map[auditKey]bool)
	}
	t.created[auditKey{rec.Kind, rec.ID}] = true
	return nil
}

// Update replaces the stored record with rec when the stored version
// equals rec.Version, and sets rec.Version to the next version. Otherwise
// nothing changes and the error is an *itsm.ConflictError (with Expected
// and Actual), or an *itsm.NotFoundError when there is no such record. A
// changed Number must be free (itsm.ErrConflict otherwise). The config
// item rows are rewritten when the configuration items or OpenedAt
// change.
func (t *tx) Update(ctx context.Context, rec *record.Record) error {
	if err := t.check(ctx); err != nil {
		return err
	}
	if err := t.reg.CheckRecord(rec); err != nil {
		return err
	}
	var (
		cur, opened int64
		oldItems    string
	)
	err := t.q.QueryRowContext(ctx, sqlRecordBefore, rec.Kind, rec.ID).Scan(&cur, &opened, &oldItems)
	if errors.Is(err, sql.ErrNoRows) {
		return &itsm.NotFoundError{Kind: rec.Kind, ID: rec.ID}
	}
	if err != nil {
		return fmt.Errorf("sqlite: update %s: %w", rec.Ref(), mapErr(err))
	}
	if cur != rec.Version {
		return &itsm.ConflictError{Kind: rec.Kind, ID: rec.ID, Expected: rec.Version, Actual: cur}
	}
	s := stored(rec, cur+1)
	args, err := recordArgs(s)
	if err != nil {
		return err
	}
	var before []string
	if err := json.Unmarshal([]byte(oldItems), &before); err != nil {
		return fmt.Errorf("sqlite: update %s: decode config items: %w", rec.Ref(), err)
	}
	rewrite := opened != micro(s.OpenedAt) || !slices.Equal(before, s.ConfigItems)
	// Only the UPDATE can refuse the call (a number taken); the rewrite of
	// the config items after it refuses no row (see atomic).
	err = t.atomic(ctx, false, func() error {
		res, err := t.q.ExecContext(ctx, sqlUpdateRecord, append(args[2:], rec.Kind, rec.ID, cur)...)
		if err != nil {
			return fmt.Errorf("sqlite: update %s: %w", rec.Ref(), mapErr(err))
		}
		n, err := res.RowsAffected()
		if err != nil {
			return mapErr(err)
		}
		if n != 1 {
			// The version was read in this transaction, and no other
			// writer runs before it ends; only a caller writing the row
			// behind the store's back gets here.
			return &itsm.ConflictError{Kind: rec.Kind, ID: rec.ID, Expected: rec.Version}
		}
		if !rewrite {
			return nil
		}
		if _, err := t.q.ExecContext(ctx, sqlDeleteConfigItems, rec.Kind, rec.ID); err != nil {
			return fmt.Errorf("sqlite: update config items of %s: %w", rec.Ref(), mapErr(err))
		}
		return t.insertConfigItems(ctx, s)
	})
	if err != nil {
		return err
	}
	rec.Version = cur + 1
	return nil
}

// AppendJournal appends entries to the journal of the stored record ref
// names, after its last entry. Entries that record.CheckEntries refuses,
// or a malformed ref, are an *itsm.ValidationError; entries beyond the
// limits of the kind (record.Limits.CheckEntries, with the journal's
// length, which the query for the next position gives) an
// *itsm.LimitError; a record that is not stored is an
// *itsm.NotFoundError. Nothing of a refused call is kept.
func (t *tx) AppendJournal(ctx context.Context, ref record.Ref, entries ...record.Entry) error {
	if err := t.check(ctx); err != nil {
		return err
	}
	if err := record.CheckRef(ref); err != nil {
		return err
	}
	var exists bool
	var next int64
	if err := t.q.QueryRowContext(ctx, sqlJournalNext, ref.Kind, ref.ID).Scan(&exists, &next); err != nil {
		return fmt.Errorf("sqlite: append journal of %s: %w", ref, mapErr(err))
	}
	// Positions run from 0 without gaps, so the next one is the length.
	if err := t.reg.CheckEntries(ref.Kind, int(next), entries); err != nil {
		return err
	}
	if !exists {
		return &itsm.NotFoundError{Kind: ref.Kind, ID: ref.ID}
	}
	return t.atomic(ctx, len(entries) > 1, func() error {
		for i, e := range entries {
			_, err := t.q.ExecContext(ctx, sqlInsertJournal, ref.Kind, ref.ID, next+int64(i), string(e.Kind), e.Author, micro(e.At), e.Text)
			if err != nil {
				return fmt.Errorf("sqlite: append journal of %s: %w", ref, mapErr(err))
			}
		}
		return nil
	})
}

// AddLinks stores links, in order. Links that record.CheckLinks refuses
// are an *itsm.ValidationError; an end that is not a stored record is an
// *itsm.NotFoundError for it; a link of the same type between the same
// ends in the same direction, stored or earlier in the call, is an error
// matching itsm.ErrConflict. Nothing of a refused call is stored.
func (t *tx) AddLinks(ctx context.Context, links ...record.Link) error {
	if err := t.check(ctx); err != nil {
		return err
	}
	if err := record.CheckLinks(links); err != nil {
		return err
	}
	return t.atomic(ctx, len(links) > 1, func() error {
		for _, l := range links {
			res, err := t.q.ExecContext(ctx, sqlInsertLink, l.Type, l.From.Kind, l.From.ID, l.To.Kind, l.To.ID, micro(l.CreatedAt), l.CreatedBy)
			if err != nil {
				return fmt.Errorf("sqlite: add %s link %s → %s: %w", l.Type, l.From, l.To, mapErr(err))
			}
			if n, err := res.RowsAffected(); err != nil || n == 0 {
				if err != nil {
					return mapErr(err)
				}
				return t.missingRecord(ctx, []record.Ref{l.From, l.To}, errors.New("sqlite: link end not stored"))
			}
		}
		return nil
	})
}

// LockLinkTypes implements record.Tx. Write transactions run one at a
// time on the store's writer connection (BEGIN IMMEDIATE), so the
// transaction holds every lock already; LockLinkTypes only checks the
// names.
func (t *tx) LockLinkTypes(ctx context.Context, types ...string) error {
	if err := t.check(ctx); err != nil {
		return err
	}
	return record.CheckLinkTypeNames(types)
}

// RemoveLinks removes links, known by type, From and To. Links that
// record.CheckLinks refuses are an *itsm.ValidationError; a link that is
// not stored is an *itsm.NotFoundError (Kind "link", ID "type from → to")
// and then none is removed.
func (t *tx) RemoveLinks(ctx context.Context, links ...record.Link) error {
	if err := t.check(ctx); err != nil {
		return err
	}
	if err := record.CheckLinkKeys(links); err != nil {
		return err
	}
	return t.atomic(ctx, len(links) > 1, func() error {
		for _, l := range links {
			res, err := t.q.ExecContext(ctx, sqlDeleteLink, l.Type, l.From.Kind, l.From.ID, l.To.Kind, l.To.ID)
			if err != nil {
				return fmt.Errorf("sqlite: remove %s link %s → %s: %w", l.Type, l.From, l.To, mapErr(err))
			}
			if n, err := res.RowsAffected(); err != nil || n == 0 {
				if err != nil {
					return mapErr(err)
				}
				return &itsm.NotFoundError{Kind: "link", ID: l.Type + " " + l.From.String() + " → " + l.To.String()}
			}
		}
		return nil
	})
}

// missingRecord returns an *itsm.NotFoundError for the first of refs that
// is not stored, after a statement refused one; err when all of them are
// there after all.
func (t *tx) missingRecord(ctx context.Context, refs []record.Ref, err error) error {
	looked := make(map[record.Ref]bool)
	for _, ref := range refs {
		if looked[ref] {
			continue
		}
		looked[ref] = true
		var exists bool
		if qerr := t.q.QueryRowContext(ctx, sqlRecordExists, ref.Kind, ref.ID).Scan(&exists); qerr != nil {
			return errors.Join(mapErr(err), mapErr(qerr))
		}
		if !exists {
			return &itsm.NotFoundError{Kind: ref.Kind, ID: ref.ID}
		}
	}
	return mapErr(err)
}

// unknownRecord is the message of the trigger that refuses a timer of a
// record that is not stored (migrations/0002_records.sql).
const unknownRecord = "sla timer of an unknown record"

// PutTimers inserts or replaces timers keyed by record and ID, up to
// maxTimersPerPut in one statement, and then brings the SLA summary
// columns of each record touched up to date (sqlrec.RefreshSummary). A
// replaced timer keeps its place in the order of Timers. Timers that
// record.CheckTimerRecords refuses are an *itsm.ValidationError, a timer
// with a cycle longer than its kind allows an *itsm.LimitError
// (record.Registry.CheckTimerRecords); a timer of a record that is not
// stored is an *itsm.NotFoundError for the first
// such record. Nothing of a refused call is stored.
//
// Each timer's crossings that storage.WrittenCrossings reports (those
// reached when its latest event happened, in every cycle) are recorded in
// sla_crossings unless they are there already, each with its audit event
// (storage.Crossing.Event) appended as AppendEvents does, under the same
// savepoint: a timer stopped after its breach and before any wake-up has
// its breach recorded. A timer whose calendar the store does not know
// records none (the wake-up worker reports it).
func (t *tx) PutTimers(ctx context.Context, timers ...record.TimerRecord) error {
	if err := t.check(ctx); err != nil {
		return err
	}
	if err := t.reg.CheckTimerRecords(timers); err != nil {
		return err
	}
	if len(timers) == 0 {
		return nil
	}
	var (
		batches [][]any
		args    = make([]any, 0, min(len(timers), maxTimersPerPut)*timerPutCols)
		refs    []record.Ref // the records touched, in order
		seen    = make(map[record.Ref]bool)
	)
	for _, r := range timers {
		enc, err := json.Marshal(r.Timer)
		if err != nil {
			return fmt.Errorf("sqlite: encode timer %s of %s: %w", r.ID, r.Record, err)
		}
		stage, err := r.Stage.MarshalText()
		if err != nil {
			return fmt.Errorf("sqlite: encode timer %s of %s: %w", r.ID, r.Record, err)
		}
		args = append(args, r.Record.Kind, r.Record.ID, r.ID, r.Timer.Policy(), int64(r.PolicyKind), string(r.Timer.Metric()),
			string(enc), string(stage), nullMicro(r.AtRiskAt), nullMicro(r.BreachAt), ceilMicro(r.NextWakeAt),
			r.Record.Kind, r.Record.ID)
		if len(args) == maxTimersPerPut*timerPutCols {
			batches, args = append(batches, args), make([]any, 0, maxTimersPerPut*timerPutCols)
		}
		if !seen[r.Record] {
			seen[r.Record] = true
			refs = append(refs, r.Record)
		}
	}
	if len(args) > 0 {
		batches = append(batches, args)
	}
	// A second batch may be refused after the first was saved, so several
	// batches take a savepoint; the summary refresh refuses no row (see
	// atomic).
	var crossings []storage.Crossing
	for _, r := range timers {
		if cs, err := storage.WrittenCrossings(r, t.cals); err == nil {
			crossings = append(crossings, cs...)
		}
	}
	return t.atomic(ctx, len(batches) > 1 || len(crossings) > 0, func() error {
		for _, b := range batches {
			if _, err := t.q.ExecContext(ctx, sqlPutTimers[len(b)/timerPutCols], b...); err != nil {
				if isTriggerAbort(err, unknownRecord) {
					return t.missingRecord(ctx, refs, fmt.Errorf("sqlite: save timers: %w", err))
				}
				return fmt.Errorf("sqlite: save timers: %w", mapErr(err))
			}
		}
		for _, ref := range refs {
			if _, err := t.q.ExecContext(ctx, sqlRefreshSummary, ref.Kind, ref.ID); err != nil {
				return fmt.Errorf("sqlite: refresh SLA summary of %s: %w", ref, mapErr(err))
			}
		}
		if _, err := t.recordCrossings(ctx, crossings, time.Now()); err != nil {
			return fmt.Errorf("sqlite: record SLA crossings: %w", err)
		}
		return nil
	})
}

// AppendEvents appends events, numbering each one more than the last event
// of the same record (Kind and RecordID) and chaining it to that event's
// hash with storage.EventHash; a trigger moves the record's audit head in
// the same statement. Each event also goes to the outbox, as its JSON
// with its Sequence. Times are kept as storage.AuditTime. If
// itsm.ValidateEvents refuses any event nothing is appended and the error
// is an *itsm.ValidationError naming each problem as "[i].field".
//
// The head of a record is read once per transaction, and not at all for a
// record the transaction created; should the audit triggers find a head
// that changed behind the store's back (by SQL of a joined application
// transaction), the heads are read again and the events appended once
// more.
func (t *tx) AppendEvents(ctx context.Context, events ...itsm.Event) error {
	if err := t.check(ctx); err != nil {
		return err
	}
	if err := itsm.ValidateEvents(events); err != nil {
		return err
	}
	if len(events) == 0 {
		return nil
	}
	err := t.appendEvents(ctx, events)
	if err != nil && isTriggerAbort(err, headMismatch) {
		for _, ev := range events {
			k := auditKey{ev.Kind, ev.RecordID}
			delete(t.heads, k)
			delete(t.created, k)
		}
		err = t.appendEvents(ctx, events)
	}
	return err
}

// headMismatch is the message of the trigger that refuses an audit event
// that does not follow its record's head (migrations/0001_init.sql).
const headMismatch = "audit event does not follow its record's head"

// appendEvents appends events after the heads the transaction knows or
// reads, and remembers the heads it moved.
func (t *tx) appendEvents(ctx context.Context, events []itsm.Event) error {
	heads := make(map[auditKey]storage.AuditHead)
	audit := make([][]any, 0, len(events))
	outbox := make([][]any, 0, len(events))
	logged := make([]itsm.Event, 0, len(events))
	appended := time.Now().UnixMicro()
	for _, ev := range events {
		k := auditKey{ev.Kind, ev.RecordID}
		head, ok := heads[k]
		if !ok {
			head, ok = t.heads[k]
		}
		if !ok && !t.created[k] {
			err := t.q.QueryRowContext(ctx, sqlAuditHead, ev.Kind, ev.RecordID).Scan(&head.Sequence, &head.Hash)
			if err != nil && !errors.Is(err, sql.ErrNoRows) {
				return fmt.Errorf("sqlite: read audit head of %s %s: %w", ev.Kind, ev.RecordID, mapErr(err))
			}
		}
		ev.Sequence = head.Sequence + 1
		ev.At = storage.AuditTime(ev.At)
		hash := storage.EventHash(head.Hash, ev)
		roles, err := encodeList(ev.Actor.Roles)
		if err != nil {
			return fmt.Errorf("sqlite: encode audit event: %w", err)
		}
		changes, err := encodeList(ev.Changes)
		if err != nil {
			return fmt.Errorf("sqlite: encode audit event: %w", err)
		}
		msg, err := json.Marshal(ev)
		if err != nil {
			return fmt.Errorf("sqlite: encode audit event: %w", err)
		}
		var prev any
		if head.Hash != nil {
			prev = head.Hash
		}
		audit = append(audit, []any{ev.Kind, ev.RecordID, ev.Sequence, ev.Actor.ID, ev.Actor.Name, roles, micro(ev.At),
			ev.Action, ev.From, ev.To, changes, ev.Reason, prev, hash})
		outbox = append(outbox, []any{ev.Kind, ev.RecordID, ev.Sequence, string(msg), appended})
		heads[k] = storage.AuditHead{Sequence: ev.Sequence, Hash: hash}
		logged = append(logged, ev)
	}
	// A later event may be refused (by the audit triggers) after an
	// earlier one was appended, so several events take a savepoint; the
	// outbox insert refuses no row (see atomic).
	err := t.atomic(ctx, len(events) > 1, func() error {
		for i := range audit {
			if _, err := t.q.ExecContext(ctx, sqlInsertEvent, audit[i]...); err != nil {
				return fmt.Errorf("sqlite: append audit events: %w", err)
			}
			if _, err := t.q.ExecContext(ctx, sqlInsertOutbox, outbox[i]...); err != nil {
				return fmt.Errorf("sqlite: append to the outbox: %w", mapErr(err))
			}
		}
		return t.appendLog(ctx, logged)
	})
	if err != nil {
		return mapErr(err)
	}
	if t.heads == nil {
		t.heads = make(map[auditKey]storage.AuditHead)
	}
	maps.Copy(t.heads, heads)
	return nil
}
