package postgres

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/itsmkit/itsmkit/itsm"
	"github.com/itsmkit/itsmkit/record"
	"github.com/itsmkit/itsmkit/sla"
	"github.com/itsmkit/itsmkit/storage/internal/sqlrec"
)

// The read operations, shared by Store, txn and joined: each takes the
// querier to run on.

// decodeRecord decodes a stored document, with its instants in UTC.
func decodeRecord(doc []byte) (*record.Record, error) {
	rec, err := record.ParseDocument(doc)
	if err != nil {
		return nil, fmt.Errorf("postgres: decode record: %w", err)
	}
	rec.OpenedAt, rec.UpdatedAt = utc(rec.OpenedAt), utc(rec.UpdatedAt)
	rec.ResolvedAt, rec.ClosedAt = utc(rec.ResolvedAt), utc(rec.ClosedAt)
	return rec, nil
}

// utc returns t in UTC, and the zero time as it is.
func utc(t time.Time) time.Time {
	if t.IsZero() {
		return time.Time{}
	}
	return t.UTC()
}

// summaryArrays are the per-timer arrays of a record's SLA summary as the
// get statement aggregates them, in first-save order.
type summaryArrays struct {
	ids, policies, metrics, stages []string
	kinds                          []int32
	atRisks, breaches, wakes       []pgtype.Timestamptz
}

// summary returns the arrays as a record.Summary, nil when there are no
// timers.
func (a *summaryArrays) summary() (record.Summary, error) {
	n := len(a.ids)
	if n == 0 {
		return nil, nil
	}
	if len(a.policies) != n || len(a.kinds) != n || len(a.metrics) != n || len(a.stages) != n ||
		len(a.atRisks) != n || len(a.breaches) != n || len(a.wakes) != n {
		return nil, fmt.Errorf("postgres: SLA summary came back ragged")
	}
	out := make(record.Summary, n)
	for i := range n {
		ts := record.TimerSummary{ID: a.ids[i], Policy: a.policies[i], PolicyKind: sla.PolicyKind(a.kinds[i]),
			Metric: sla.Metric(a.metrics[i]), AtRiskAt: fromNullTime(a.atRisks[i]),
			BreachAt: fromNullTime(a.breaches[i]), NextWakeAt: fromNullTime(a.wakes[i])}
		if err := ts.Stage.UnmarshalText([]byte(a.stages[i])); err != nil {
			return nil, fmt.Errorf("postgres: decode stage of timer %s: %w", a.ids[i], err)
		}
		out[i] = ts
	}
	return out, nil
}

// scanGet reads one row of the get statement.
func scanGet(row pgx.Row) (*record.Record, error) {
	var (
		doc []byte
		a   summaryArrays
	)
	if err := row.Scan(&doc, &a.ids, &a.policies, &a.kinds, &a.metrics, &a.stages, &a.atRisks, &a.breaches, &a.wakes); err != nil {
		return nil, err
	}
	rec, err := decodeRecord(doc)
	if err != nil {
		return nil, err
	}
	if rec.SLA, err = a.summary(); err != nil {
		return nil, err
	}
	return rec, nil
}

func (s *Store) get(ctx context.Context, db querier, ref record.Ref) (*record.Record, error) {
	if err := record.CheckRef(ref); err != nil {
		return nil, err
	}
	rec, err := scanGet(db.QueryRow(ctx, s.q.get, ref.Kind, ref.ID))
	if err != nil {
		return nil, mapError(err, ref.Kind, ref.ID)
	}
	return rec, nil
}

func (s *Store) getByNumber(ctx context.Context, db querier, kind, number string) (*record.Record, error) {
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
	rec, err := scanGet(db.QueryRow(ctx, s.q.getByNumber, kind, number))
	if err != nil {
		return nil, mapError(err, kind, number)
	}
	return rec, nil
}

// queryFunc runs a query; list takes one for its last statement, so that
// a read-only transaction can commit with it.
type queryFunc func(ctx context.Context, sql string, args ...any) (pgx.Rows, error)

// list runs the List statement on db and then, for a non-empty page, the
// Summaries statement with last (db.Query when nil).
func (s *Store) list(ctx context.Context, db querier, q record.Query, last queryFunc) (record.Page, error) {
	sc, err := s.checkQuery(q)
	if err != nil {
		return record.Page{}, err
	}
	return s.listChecked(ctx, db, sc, q, last)
}

// checkQuery returns the schema of q's kind once q passes its CheckQuery.
func (s *Store) checkQuery(q record.Query) (*record.Schema, error) {
	sc, err := s.reg.Schema(q.Kind)
	if err != nil {
		return nil, err
	}
	if err := sc.CheckQuery(q); err != nil {
		return nil, err
	}
	return sc, nil
}

// listChecked is list for a q that passed the CheckQuery of sc.
func (s *Store) listChecked(ctx context.Context, db querier, sc *record.Schema, q record.Query, last queryFunc) (record.Page, error) {
	if last == nil {
		last = db.Query
	}
	text, args := s.listSQL(sc, q)
	docs, err := queryCustomPlan(ctx, db, text, args)
	if err != nil {
		return record.Page{}, mapError(err, "", "")
	}
	recs := make([]*record.Record, len(docs))
	for i, doc := range docs {
		if recs[i], err = decodeRecord(doc); err != nil {
			return record.Page{}, err
		}
	}
	page := record.NewPage(q, recs)
	if len(page.Records) == 0 {
		return page, nil
	}
	if err := s.summaries(ctx, last, q.Kind, page.Records); err != nil {
		return record.Page{}, err
	}
	return page, nil
}

// The statements around List's: the planner plans its statement for the
// values of each call. A generic plan, which PostgreSQL may settle on for
// a statement pgx has prepared once it has run five times, cannot know
// how selective each filter's values are nor which arm of the SLA filters
// is empty, and can read a whole index where the page needs a few rows.
// customPlans keeps the setting in force in a transaction-local
// placeholder setting and sets force_custom_plan for the transaction;
// restorePlans puts the kept value back.
const (
	customPlans = `SELECT set_config('itsmkit.plan_cache_mode', current_setting('plan_cache_mode'), true),
		set_config('plan_cache_mode', 'force_custom_plan', true)`
	restorePlans = `SELECT set_config('plan_cache_mode', current_setting('itsmkit.plan_cache_mode'), true)`
)

// queryCustomPlan runs text (which selects one bytea column) with args on
// db between customPlans and restorePlans, in one round trip, and returns
// its rows. The setting in force before, whether the server's or one the
// application set for its session or transaction, is back once the
// statement has run, so it does not outlive it even in an application's
// transaction (Join).
func queryCustomPlan(ctx context.Context, db querier, text string, args []any) ([][]byte, error) {
	b := &pgx.Batch{}
	b.Queue(customPlans)
	b.Queue(text, args...)
	b.Queue(restorePlans)
	br := db.SendBatch(ctx, b)
	if _, err := br.Exec(); err != nil {
		_ = br.Close()
		return nil, err
	}
	rows, err := br.Query()
	if err != nil {
		_ = br.Close()
		return nil, err
	}
	docs, err := pgx.CollectRows(rows, pgx.RowTo[[]byte])
	if err != nil {
		_ = br.Close()
		return nil, err
	}
	if _, err := br.Exec(); err != nil {
		_ = br.Close()
		return nil, err
	}
	return docs, br.Close()
}

// listSQL returns the statement of q, a query of sc that passed its
// CheckQuery: sqlrec.List's, or, when splitQuery splits q, the statement of each part in parentheses, merged
// with UNION ALL in List order, which the planner reads as a Merge Append
// of the parts' index scans that stops after the page. Distinct values
// of one filter select disjoint records, so the merge needs no
// deduplication.
func (s *Store) listSQL(sc *record.Schema, q record.Query) (string, []any) {
	parts := splitQuery(q)
	if len(parts) == 1 {
		text, args := sqlrec.List(s.q.d, sc, parts[0], recordColumns)
		return s.q.d.fenceTimers(text), args
	}
	ord := orderColumn[q.Order]
	var (
		texts []string
		args  []any
	)
	for _, p := range parts {
		text, a := sqlrec.List(s.q.d, sc, p, recordColumns+" AS doc, r."+ord+" AS o, r.id AS i")
		texts = append(texts, "("+shiftParams(s.q.d.fenceTimers(text), len(args))+")")
		args = append(args, a...)
	}
	return "SELECT doc FROM (" + strings.Join(texts, " UNION ALL ") + ") u ORDER BY o, i LIMIT " +
		strconv.Itoa(q.PageSize()+1), args
}

// orderColumn is the records column of each record.Order.
var orderColumn = [...]string{record.ByOpened: "opened_at", record.ByResolved: "resolved_at", record.ByClosed: "closed_at"}

// maxSplit is the most values of one filter splitQuery splits a query by.
const maxSplit = 8

// splitQuery returns the queries whose results make up q's: q itself, or,
// when q keeps records in one of several state categories, states or
// priorities (the first of these that has from 2 to maxSplit values) and has no filter of
// another indexed column, one query per value. PostgreSQL 15 cannot read
// the index of such a column in List order for several values at once,
// so it would walk the List order of the whole kind instead (slow when
// the values' records lie late in it, as open records do in the opening
// order); each of the split queries reads its value's index in List order
// and stops at a page, and listSQL merges them.
func splitQuery(q record.Query) []record.Query {
	if q.Assignee != "" || q.AssignmentGroup != "" || q.Service != "" || q.Category != "" || q.Requester != "" ||
		q.ConfigItem != "" || !q.Parent.IsZero() || q.Major != nil || len(q.Attrs) > 0 || sqlrec.FromTimers(q) {
		// Another filter has an index to read in List order, which one
		// query reads best; so do the SLA filters that read the timers.
		return []record.Query{q}
	}
	splittable := func(n int) bool { return n >= 2 && n <= maxSplit }
	switch {
	case splittable(len(q.StateCategories)):
		return sqlrec.SplitBy(q, q.StateCategories, func(p *record.Query, c itsm.StateCategory) { p.StateCategories = []itsm.StateCategory{c} })
	case splittable(len(q.States)):
		return sqlrec.SplitBy(q, q.States, func(p *record.Query, st string) { p.States = []string{st} })
	case splittable(len(q.Priorities)):
		return sqlrec.SplitBy(q, q.Priorities, func(p *record.Query, pr itsm.Priority) { p.Priorities = []itsm.Priority{pr} })
	}
	return []record.Query{q}
}

// summaries fills the SLA summaries of recs, records of kind, with one
// statement.
func (s *Store) summaries(ctx context.Context, query queryFunc, kind string, recs []*record.Record) error {
	ids := make([]string, len(recs))
	byID := make(map[string]*record.Record, len(recs))
	for i, r := range recs {
		ids[i] = r.ID
		byID[r.ID] = r
	}
	text, args := sqlrec.Summaries(s.q.d, kind, ids)
	rows, err := query(ctx, text, args...)
	if err != nil {
		return mapError(err, "", "")
	}
	defer rows.Close()
	for rows.Next() {
		var (
			k, id, stage             string
			ts                       record.TimerSummary
			pk                       int32
			metric                   string
			atRisk, breach, nextWake pgtype.Timestamptz
		)
		if err := rows.Scan(&k, &id, &ts.ID, &ts.Policy, &pk, &metric, &stage, &atRisk, &breach, &nextWake); err != nil {
			return mapError(err, "", "")
		}
		ts.PolicyKind, ts.Metric = sla.PolicyKind(pk), sla.Metric(metric)
		ts.AtRiskAt, ts.BreachAt, ts.NextWakeAt = fromNullTime(atRisk), fromNullTime(breach), fromNullTime(nextWake)
		if err := ts.Stage.UnmarshalText([]byte(stage)); err != nil {
			return fmt.Errorf("postgres: decode stage of timer %s of %s/%s: %w", ts.ID, k, id, err)
		}
		if r := byID[id]; r != nil {
			r.SLA = append(r.SLA, ts)
		}
	}
	return mapError(rows.Err(), "", "")
}

func (s *Store) journal(ctx context.Context, db querier, ref record.Ref) ([]record.Entry, error) {
	if err := record.CheckRef(ref); err != nil {
		return nil, err
	}
	rows, err := db.Query(ctx, s.q.journal, ref.Kind, ref.ID)
	if err != nil {
		return nil, mapError(err, "", "")
	}
	out := []record.Entry{}
	var e record.Entry
	_, err = pgx.ForEachRow(rows, []any{&e.Kind, &e.Author, &e.At, &e.Text}, func() error {
		e.At = e.At.UTC()
		out = append(out, e)
		return nil
	})
	if err != nil {
		return nil, mapError(err, "", "")
	}
	return out, nil
}

func (s *Store) links(ctx context.Context, db querier, ref record.Ref) ([]record.Link, error) {
	if err := record.CheckRef(ref); err != nil {
		return nil, err
	}
	rows, err := db.Query(ctx, s.q.links, ref.Kind, ref.ID)
	if err != nil {
		return nil, mapError(err, "", "")
	}
	out := []record.Link{}
	var l record.Link
	_, err = pgx.ForEachRow(rows, []any{&l.Type, &l.From.Kind, &l.From.ID, &l.To.Kind, &l.To.ID, &l.CreatedAt, &l.CreatedBy}, func() error {
		l.CreatedAt = l.CreatedAt.UTC()
		out = append(out, l)
		return nil
	})
	if err != nil {
		return nil, mapError(err, "", "")
	}
	return out, nil
}

// scanTimer reads one row of timerColumns, decoding the timer afresh.
func scanTimer(row pgx.Row) (record.TimerRecord, error) {
	var (
		r                        record.TimerRecord
		pk                       int32
		raw                      []byte
		stage                    string
		atRisk, breach, nextWake pgtype.Timestamptz
	)
	if err := row.Scan(&r.Record.Kind, &r.Record.ID, &r.ID, &pk, &raw, &stage, &atRisk, &breach, &nextWake); err != nil {
		return r, err
	}
	r.PolicyKind = sla.PolicyKind(pk)
	r.Timer = new(sla.Timer)
	if err := json.Unmarshal(raw, r.Timer); err != nil {
		return r, fmt.Errorf("postgres: decode timer %s of %s: %w", r.ID, r.Record, err)
	}
	if err := r.Stage.UnmarshalText([]byte(stage)); err != nil {
		return r, fmt.Errorf("postgres: decode stage of timer %s of %s: %w", r.ID, r.Record, err)
	}
	r.AtRiskAt, r.BreachAt, r.NextWakeAt = fromNullTime(atRisk), fromNullTime(breach), fromNullTime(nextWake)
	return r, nil
}

func (s *Store) queryTimers(ctx context.Context, db querier, sql string, args ...any) ([]record.TimerRecord, error) {
	rows, err := db.Query(ctx, sql, args...)
	if err != nil {
		return nil, mapError(err, "", "")
	}
	defer rows.Close()
	out := []record.TimerRecord{}
	for rows.Next() {
		r, err := scanTimer(rows)
		if err != nil {
			return nil, mapError(err, "", "")
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, mapError(err, "", "")
	}
	return out, nil
}

func (s *Store) timers(ctx context.Context, db querier, ref record.Ref) ([]record.TimerRecord, error) {
	if err := record.CheckRef(ref); err != nil {
		return nil, err
	}
	return s.queryTimers(ctx, db, s.q.timers, ref.Kind, ref.ID)
}

func (s *Store) timersDue(ctx context.Context, db querier, before time.Time, limit int) ([]record.TimerRecord, error) {
	if limit <= 0 {
		return []record.TimerRecord{}, nil
	}
	return s.queryTimers(ctx, db, s.q.timersDue, before, limit)
}

// scanEvent reads one row of eventColumns.
func scanEvent(row pgx.Row) (itsm.Event, error) {
	var (
		ev      itsm.Event
		roles   []string
		changes []byte
	)
	err := row.Scan(&ev.Kind, &ev.RecordID, &ev.Sequence, &ev.Actor.ID, &ev.Actor.Name, &roles, &ev.At, &ev.Action,
		&ev.From, &ev.To, &changes, &ev.Reason)
	if err != nil {
		return ev, err
	}
	ev.Actor.Roles = toRoles(roles)
	ev.At = ev.At.UTC()
	return ev, decodeChanges(changes, &ev)
}

// decodeChanges decodes the changes column into ev.Changes, nil when empty.
func decodeChanges(raw []byte, ev *itsm.Event) error {
	if err := json.Unmarshal(raw, &ev.Changes); err != nil {
		return fmt.Errorf("postgres: decode changes of %s %s #%d: %w", ev.Kind, ev.RecordID, ev.Sequence, err)
	}
	if len(ev.Changes) == 0 {
		ev.Changes = nil
	}
	return nil
}

func (s *Store) history(ctx context.Context, db querier, ref record.Ref) ([]itsm.Event, error) {
	if err := record.CheckRef(ref); err != nil {
		return nil, err
	}
	rows, err := db.Query(ctx, s.q.history, ref.Kind, ref.ID)
	if err != nil {
		return nil, mapError(err, "", "")
	}
	defer rows.Close()
	out := []itsm.Event{}
	for rows.Next() {
		ev, err := scanEvent(rows)
		if err != nil {
			return nil, mapError(err, "", "")
		}
		out = append(out, ev)
	}
	if err := rows.Err(); err != nil {
		return nil, mapError(err, "", "")
	}
	return out, nil
}

func toRoles(ss []string) []itsm.Role {
	if len(ss) == 0 {
		return nil
	}
	out := make([]itsm.Role, len(ss))
	for i, s := range ss {
		out[i] = itsm.Role(s)
	}
	return out
}

// nullTime stores a zero time as NULL and every other time as itself; the
// database keeps microseconds.
func nullTime(t time.Time) pgtype.Timestamptz {
	if t.IsZero() {
		return pgtype.Timestamptz{}
	}
	return pgtype.Timestamptz{Time: t, Valid: true}
}

// wakeTime stores a NextWakeAt: NULL when zero, and otherwise rounded up
// to the microsecond the database keeps, so that a stored wake-up never
// comes before the real one and a timer claimed as due really is due.
func wakeTime(t time.Time) pgtype.Timestamptz {
	if t.IsZero() {
		return pgtype.Timestamptz{}
	}
	if r := t.Truncate(time.Microsecond); !r.Equal(t) {
		t = r.Add(time.Microsecond)
	}
	return pgtype.Timestamptz{Time: t, Valid: true}
}

func fromNullTime(t pgtype.Timestamptz) time.Time {
	if !t.Valid {
		return time.Time{}
	}
	return t.Time.UTC()
}

// outboxPos is a position in ReadOutbox order: the appending transaction's
// ID and the message ID.
type outboxPos struct {
	xid uint64
	id  int64
}

// String encodes the position as a ReadOutbox cursor.
func (p outboxPos) String() string {
	return base64.RawURLEncoding.EncodeToString([]byte("x" + strconv.FormatUint(p.xid, 10) + "." + strconv.FormatInt(p.id, 10)))
}

// parseOutboxCursor returns the position a cursor made by outboxPos.String
// names, or the start for the empty cursor.
func parseOutboxCursor(s string) (outboxPos, error) {
	if s == "" {
		return outboxPos{}, nil
	}
	bad := itsm.NewValidationError("outbox", "after", "%q is not a cursor from a previous page", s)
	raw, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return outboxPos{}, bad
	}
	x, id, ok := strings.Cut(strings.TrimPrefix(string(raw), "x"), ".")
	xid, err1 := strconv.ParseUint(x, 10, 64)
	n, err2 := strconv.ParseInt(id, 10, 64)
	p := outboxPos{xid: xid, id: n}
	if !ok || err1 != nil || err2 != nil || n < 1 || p.String() != s {
		return outboxPos{}, bad
	}
	return p, nil
}

func (s *Store) readOutbox(ctx context.Context, db querier, after string, limit int) (record.OutboxPage, error) {
	pos, err := parseOutboxCursor(after)
	if err != nil {
		return record.OutboxPage{}, err
	}
	page := record.OutboxPage{Messages: []record.Message{}, Next: after}
	if limit <= 0 {
		return page, nil
	}
	rows, err := db.Query(ctx, s.q.readOutbox, strconv.FormatUint(pos.xid, 10), pos.id, limit)
	if err != nil {
		return record.OutboxPage{}, mapError(err, "", "")
	}
	var (
		xid string
		m   record.Message
		raw []byte
	)
	_, err = pgx.ForEachRow(rows, []any{&xid, &m.ID, &raw}, func() error {
		x, err := strconv.ParseUint(xid, 10, 64)
		if err != nil {
			return fmt.Errorf("postgres: outbox message %d: transaction ID %q: %w", m.ID, xid, err)
		}
		var ev itsm.Event
		if err := json.Unmarshal(raw, &ev); err != nil {
			return fmt.Errorf("postgres: decode outbox message %d: %w", m.ID, err)
		}
		ev.At = ev.At.UTC()
		page.Messages = append(page.Messages, record.Message{ID: m.ID, Event: ev})
		page.Next = outboxPos{xid: x, id: m.ID}.String()
		return nil
	})
	if err != nil {
		return record.OutboxPage{}, mapError(err, "", "")
	}
	return page, nil
}
