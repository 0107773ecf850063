package sqlite

import (
	"cmp"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/itsmkit/itsmkit/itsm"
	"github.com/itsmkit/itsmkit/record"
	"github.com/itsmkit/itsmkit/sla"
	"github.com/itsmkit/itsmkit/storage/internal/sqlrec"
)

// reader implements record.Reader on a transaction.
type reader struct {
	q   querier
	reg *record.Registry
}

// scanner is a *sql.Row or *sql.Rows.
type scanner interface{ Scan(dest ...any) error }

// one reads the record query selects (its doc column) with its SLA
// summary; kind and id name it in the *itsm.NotFoundError.
func (r reader) one(ctx context.Context, query, kind, id string, args ...any) (*record.Record, error) {
	var doc string
	err := r.q.QueryRowContext(ctx, query, args...).Scan(&doc)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, &itsm.NotFoundError{Kind: kind, ID: id}
	}
	if err != nil {
		return nil, fmt.Errorf("sqlite: read %s %s: %w", kind, id, mapErr(err))
	}
	rec, err := decodeRecord(doc)
	if err != nil {
		return nil, err
	}
	rows, err := r.q.QueryContext(ctx, sqlSummaryOne, rec.Kind, rec.ID)
	if err != nil {
		return nil, fmt.Errorf("sqlite: read SLA summary of %s: %w", rec.Ref(), mapErr(err))
	}
	if err := scanSummaries(rows, map[string]*record.Record{rec.ID: rec}); err != nil {
		return nil, err
	}
	return rec, nil
}

// decodeRecord decodes a stored document.
func decodeRecord(doc string) (*record.Record, error) {
	rec, err := record.ParseDocument([]byte(doc))
	if err != nil {
		return nil, fmt.Errorf("sqlite: decode record: %w", err)
	}
	return rec, nil
}

// scanSummaries reads rows of sqlrec.SummaryColumns into the SLA summaries
// of the records byID names, and closes rows.
func scanSummaries(rows *sql.Rows, byID map[string]*record.Record) error {
	defer rows.Close()
	for rows.Next() {
		var (
			kind, id, stage          string
			s                        record.TimerSummary
			policyKind               int64
			atRisk, breach, nextWake sql.NullInt64
		)
		if err := rows.Scan(&kind, &id, &s.ID, &s.Policy, &policyKind, &s.Metric, &stage, &atRisk, &breach, &nextWake); err != nil {
			return fmt.Errorf("sqlite: read SLA summary: %w", mapErr(err))
		}
		if err := s.Stage.UnmarshalText([]byte(stage)); err != nil {
			return fmt.Errorf("sqlite: decode SLA summary of %s/%s: %w", kind, id, err)
		}
		s.PolicyKind = sla.PolicyKind(policyKind)
		s.AtRiskAt, s.BreachAt, s.NextWakeAt = fromNullMicro(atRisk), fromNullMicro(breach), fromNullMicro(nextWake)
		if rec := byID[id]; rec != nil {
			rec.SLA = append(rec.SLA, s)
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("sqlite: read SLA summary: %w", mapErr(err))
	}
	return mapErr(rows.Close())
}

// Get implements record.Reader.
func (r reader) Get(ctx context.Context, ref record.Ref) (*record.Record, error) {
	if err := record.CheckRef(ref); err != nil {
		return nil, err
	}
	return r.one(ctx, sqlGetRecord, ref.Kind, ref.ID, ref.Kind, ref.ID)
}

// GetByNumber implements record.Reader.
func (r reader) GetByNumber(ctx context.Context, kind, number string) (*record.Record, error) {
	v := &itsm.ValidationError{Subject: "record"}
	if !record.ValidKind(kind) {
		v.Add("kind", "%q is not a kind name", kind)
	}
	if number == "" || len(number) > record.MaxIDLen {
		v.Add("number", "must be 1 to %d bytes", record.MaxIDLen)
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	return r.one(ctx, sqlGetByNumber, kind, number, kind, number)
}

// List implements record.Reader with the statements of sqlrec.List and
// one more statement for the SLA summaries of the whole page.
//
// A filter on several values of one indexed column (states, state
// categories, priorities, a filterable attribute) keeps no List order in
// that column's index, so SQLite would walk the kind in List order, and
// the records of one value may lie past most others (the open records of
// a service desk are its newest). So List splits such a query into
// one per value, each reading its value's index in List order and
// stopping after a page, and merges their rows; only the records of the
// page are decoded.
func (r reader) List(ctx context.Context, q record.Query) (record.Page, error) {
	s, err := r.reg.Schema(q.Kind)
	if err != nil {
		return record.Page{}, err
	}
	if err := s.CheckQuery(q); err != nil {
		return record.Page{}, err
	}
	size := q.PageSize()
	cols := "r." + orderColumns[q.Order] + ", r.id, r.doc"
	var rows []listRow
	for _, part := range splitQuery(s, q) {
		query, args := sqlrec.List(sq, s, part, cols)
		err := r.each(ctx, q.Kind+" records", query, args, func(sc scanner) error {
			var row listRow
			if err := sc.Scan(&row.at, &row.id, &row.doc); err != nil {
				return err
			}
			rows = append(rows, row)
			return nil
		})
		if err != nil {
			return record.Page{}, err
		}
	}
	slices.SortFunc(rows, func(a, b listRow) int {
		if c := cmp.Compare(a.at, b.at); c != 0 {
			return c
		}
		return strings.Compare(a.id, b.id)
	})
	// As record.NewPage: a row beyond the page tells that a next page
	// exists, which starts after the page's last record.
	page := record.Page{Records: make([]*record.Record, 0, min(len(rows), size))}
	for _, row := range rows[:min(len(rows), size)] {
		rec, err := decodeRecord(row.doc)
		if err != nil {
			return record.Page{}, err
		}
		page.Records = append(page.Records, rec)
	}
	if len(rows) > size {
		page.Next = record.CursorAt(q.Order, page.Records[size-1]).String()
	}
	if len(page.Records) == 0 {
		return page, nil
	}
	byID := make(map[string]*record.Record, len(page.Records))
	ids := make([]string, len(page.Records))
	for i, rec := range page.Records {
		byID[rec.ID], ids[i] = rec, rec.ID
	}
	query, args := sqlrec.Summaries(sq, q.Kind, ids)
	srows, err := r.q.QueryContext(ctx, query, args...)
	if err != nil {
		return record.Page{}, fmt.Errorf("sqlite: read SLA summaries: %w", mapErr(err))
	}
	if err := scanSummaries(srows, byID); err != nil {
		return record.Page{}, err
	}
	return page, nil
}

// orderColumns are the records columns of each record.Order.
var orderColumns = [...]string{record.ByOpened: "opened_at", record.ByResolved: "resolved_at", record.ByClosed: "closed_at"}

// listRow is one row of List's statements: the record's instant in List
// order, its ID and its document.
type listRow struct {
	at      int64
	id, doc string
}

// splitQuery returns the queries whose results, merged in List order,
// make up q's: one per distinct value of q's first filter on several
// values of an indexed column (States, StateCategories, Priorities, then
// the In of a filterable attribute), or q alone. It splits only queries
// in opened order (the order those columns' indexes end in) that no other
// indexed filter serves: SQLite would read that filter's index once for
// q, and once per part after a split. Distinct values of one filter
// select disjoint records, so the merge needs no deduplication.
func splitQuery(s *record.Schema, q record.Query) []record.Query {
	if q.Order != record.ByOpened || servedElsewhere(s, q) || sqlrec.FromTimers(q) {
		return []record.Query{q}
	}
	switch {
	case len(q.States) > 1:
		return sqlrec.SplitBy(q, q.States, func(p *record.Query, v string) { p.States = []string{v} })
	case len(q.StateCategories) > 1:
		return sqlrec.SplitBy(q, q.StateCategories, func(p *record.Query, v itsm.StateCategory) { p.StateCategories = []itsm.StateCategory{v} })
	case len(q.Priorities) > 1:
		return sqlrec.SplitBy(q, q.Priorities, func(p *record.Query, v itsm.Priority) { p.Priorities = []itsm.Priority{v} })
	}
	for i, f := range q.Attrs {
		if a, _ := s.Attribute(f.Name); a.Filterable && len(f.In) > 1 {
			return sqlrec.SplitBy(q, f.In, func(p *record.Query, v record.Value) {
				p.Attrs = slices.Clone(q.Attrs)
				p.Attrs[i].In = []record.Value{v}
			})
		}
	}
	return []record.Query{q}
}

// servedElsewhere reports whether q has a filter that an index of the
// schema serves in List order on its own: an equality on one value of an
// indexed column, or the breached or at-risk filter.
func servedElsewhere(s *record.Schema, q record.Query) bool {
	if q.Assignee != "" || q.AssignmentGroup != "" || q.Service != "" || q.Category != "" || q.Requester != "" ||
		q.ConfigItem != "" || !q.Parent.IsZero() || q.Major != nil && *q.Major || q.SLA.Breached || q.SLA.AtRisk ||
		len(q.States) == 1 || len(q.StateCategories) == 1 || len(q.Priorities) == 1 {
		return true
	}
	for _, f := range q.Attrs {
		if a, _ := s.Attribute(f.Name); a.Filterable && len(f.In) == 1 {
			return true
		}
	}
	return false
}

// each runs query and calls scan for each row, then closes the rows.
func (r reader) each(ctx context.Context, what, query string, args []any, scan func(sc scanner) error) error {
	rows, err := r.q.QueryContext(ctx, query, args...)
	if err != nil {
		return fmt.Errorf("sqlite: read %s: %w", what, mapErr(err))
	}
	defer rows.Close()
	for rows.Next() {
		if err := scan(rows); err != nil {
			return fmt.Errorf("sqlite: read %s: %w", what, mapErr(err))
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("sqlite: read %s: %w", what, mapErr(err))
	}
	return mapErr(rows.Close())
}

// Journal implements record.Reader.
func (r reader) Journal(ctx context.Context, ref record.Ref) ([]record.Entry, error) {
	if err := record.CheckRef(ref); err != nil {
		return nil, err
	}
	out := []record.Entry{}
	err := r.each(ctx, "journal of "+ref.String(), sqlJournal, []any{ref.Kind, ref.ID}, func(sc scanner) error {
		var e record.Entry
		var kind string
		var at int64
		if err := sc.Scan(&kind, &e.Author, &at, &e.Text); err != nil {
			return err
		}
		e.Kind, e.At = record.EntryKind(kind), fromMicro(at)
		out = append(out, e)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// Links implements record.Reader.
func (r reader) Links(ctx context.Context, ref record.Ref) ([]record.Link, error) {
	if err := record.CheckRef(ref); err != nil {
		return nil, err
	}
	out := []record.Link{}
	err := r.each(ctx, "links of "+ref.String(), sqlLinks, []any{ref.Kind, ref.ID}, func(sc scanner) error {
		var l record.Link
		var seq, at int64
		if err := sc.Scan(&seq, &l.Type, &l.From.Kind, &l.From.ID, &l.To.Kind, &l.To.ID, &at, &l.CreatedBy); err != nil {
			return err
		}
		l.CreatedAt = fromMicro(at)
		out = append(out, l)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// timers reads the timer records a query of timerCols returns, with
// freshly decoded, unbound timers, in a non-nil slice.
func (r reader) timers(ctx context.Context, query string, args ...any) ([]record.TimerRecord, error) {
	out := []record.TimerRecord{}
	err := r.each(ctx, "timers", query, args, func(sc scanner) error {
		rec, err := scanTimer(sc)
		if err != nil {
			return err
		}
		out = append(out, rec)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

func scanTimer(sc scanner) (record.TimerRecord, error) {
	var (
		rec                      record.TimerRecord
		enc, stage               string
		policyKind               int64
		atRisk, breach, nextWake sql.NullInt64
	)
	if err := sc.Scan(&rec.Record.Kind, &rec.Record.ID, &rec.ID, &enc, &policyKind, &stage, &atRisk, &breach, &nextWake); err != nil {
		return rec, err
	}
	rec.Timer = new(sla.Timer)
	if err := json.Unmarshal([]byte(enc), rec.Timer); err != nil {
		return rec, fmt.Errorf("decode timer %s of %s: %w", rec.ID, rec.Record, err)
	}
	if err := rec.Stage.UnmarshalText([]byte(stage)); err != nil {
		return rec, fmt.Errorf("decode timer %s of %s: %w", rec.ID, rec.Record, err)
	}
	rec.PolicyKind = sla.PolicyKind(policyKind)
	rec.AtRiskAt, rec.BreachAt, rec.NextWakeAt = fromNullMicro(atRisk), fromNullMicro(breach), fromNullMicro(nextWake)
	return rec, nil
}

// Timers implements record.Reader.
func (r reader) Timers(ctx context.Context, ref record.Ref) ([]record.TimerRecord, error) {
	if err := record.CheckRef(ref); err != nil {
		return nil, err
	}
	return r.timers(ctx, sqlTimers, ref.Kind, ref.ID)
}

// TimersDue implements record.Reader. Stored wake-ups are rounded up to
// the microsecond; before is rounded down, so a wake-up a few nanoseconds
// after before is not due.
func (r reader) TimersDue(ctx context.Context, before time.Time, limit int) ([]record.TimerRecord, error) {
	if limit <= 0 {
		return []record.TimerRecord{}, nil
	}
	return r.timers(ctx, sqlTimersDue, micro(before), limit)
}

// scanEvent reads one row of eventCols.
func scanEvent(sc scanner) (ev itsm.Event, prev, hash []byte, err error) {
	var roles, changes string
	var at int64
	err = sc.Scan(&ev.Kind, &ev.RecordID, &ev.Sequence, &ev.Actor.ID, &ev.Actor.Name, &roles, &at,
		&ev.Action, &ev.From, &ev.To, &changes, &ev.Reason, &prev, &hash)
	if err != nil {
		return ev, nil, nil, err
	}
	ev.At = fromMicro(at)
	if ev.Actor.Roles, err = decodeList[itsm.Role](roles, "roles"); err != nil {
		return ev, nil, nil, err
	}
	if ev.Changes, err = decodeList[itsm.Change](changes, "changes"); err != nil {
		return ev, nil, nil, err
	}
	return ev, prev, hash, nil
}

// History implements record.Reader.
func (r reader) History(ctx context.Context, ref record.Ref) ([]itsm.Event, error) {
	if err := record.CheckRef(ref); err != nil {
		return nil, err
	}
	out := []itsm.Event{}
	err := r.each(ctx, "audit events of "+ref.String(), sqlHistory, []any{ref.Kind, ref.ID}, func(sc scanner) error {
		ev, _, _, err := scanEvent(sc)
		if err != nil {
			return err
		}
		out = append(out, ev)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// ReadOutbox implements record.Reader.
func (r reader) ReadOutbox(ctx context.Context, after string, limit int) (record.OutboxPage, error) {
	last, err := record.ParseIDCursor(after)
	if err != nil {
		return record.OutboxPage{}, err
	}
	page := record.OutboxPage{Messages: []record.Message{}, Next: after}
	if limit <= 0 {
		return page, nil
	}
	page.Messages, err = r.messages(ctx, sqlReadOutbox, last, limit)
	if err != nil {
		return record.OutboxPage{}, err
	}
	if n := len(page.Messages); n > 0 {
		page.Next = record.IDCursor(page.Messages[n-1].ID)
	}
	return page, nil
}

// messages reads outbox rows (id, event) in a non-nil slice.
func (r reader) messages(ctx context.Context, query string, args ...any) ([]record.Message, error) {
	out := []record.Message{}
	err := r.each(ctx, "outbox", query, args, func(sc scanner) error {
		var m record.Message
		var ev string
		if err := sc.Scan(&m.ID, &ev); err != nil {
			return err
		}
		if err := json.Unmarshal([]byte(ev), &m.Event); err != nil {
			return fmt.Errorf("decode outbox message %d: %w", m.ID, err)
		}
		out = append(out, m)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}
