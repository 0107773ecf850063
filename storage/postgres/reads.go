package postgres

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/itsmkit/itsmkit/incident"
	"github.com/itsmkit/itsmkit/itsm"
	"github.com/itsmkit/itsmkit/sla"
)

// scanIncident reads one row of queries.selectIncident.
func scanIncident(row pgx.Row) (*incident.Incident, error) {
	var (
		inc                             incident.Incident
		roles, problems, changes        []string
		impact, urgency, priority       int16
		state, hold, resolution         string
		firstResponse, resolved, closed pgtype.Timestamptz
		opened, updated                 time.Time
		reopen                          int32
		jKinds, jAuthors, jTexts        []string
		jAts                            []time.Time
	)
	err := row.Scan(&inc.ID, &inc.Number, &inc.Title, &inc.Description, &inc.Caller.ID, &inc.Caller.Name, &roles,
		&inc.Service, &inc.ConfigItem, &inc.Category, &impact, &urgency, &priority, &inc.PriorityOverridden,
		&state, &hold, &inc.AssignmentGroup, &inc.Assignee, &resolution, &inc.ResolutionNotes,
		&inc.CancelReason, &opened, &firstResponse, &resolved, &closed, &updated,
		&reopen, &inc.Major, &inc.ParentID, &inc.Version,
		&problems, &changes, &jKinds, &jAuthors, &jAts, &jTexts)
	if err != nil {
		return nil, err
	}
	inc.Caller.Roles = toRoles(roles)
	inc.Impact, inc.Urgency, inc.Priority = itsm.Impact(impact), itsm.Urgency(urgency), itsm.Priority(priority)
	inc.State, inc.HoldReason, inc.ResolutionCode = incident.State(state), incident.HoldReason(hold), incident.ResolutionCode(resolution)
	inc.OpenedAt, inc.UpdatedAt = opened.UTC(), updated.UTC()
	inc.FirstResponseAt, inc.ResolvedAt, inc.ClosedAt = fromNullTime(firstResponse), fromNullTime(resolved), fromNullTime(closed)
	inc.ReopenCount = int(reopen)
	if len(problems) > 0 {
		inc.ProblemIDs = problems
	}
	if len(changes) > 0 {
		inc.ChangeIDs = changes
	}
	if n := len(jKinds); n > 0 {
		if len(jAuthors) != n || len(jAts) != n || len(jTexts) != n {
			return nil, fmt.Errorf("postgres: journal of incident %s came back ragged", inc.ID)
		}
		inc.Journal = make([]incident.Entry, n)
		for k := range n {
			inc.Journal[k] = incident.Entry{Kind: incident.EntryKind(jKinds[k]), Author: jAuthors[k], At: jAts[k].UTC(), Text: jTexts[k]}
		}
	}
	return &inc, nil
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

func fromRoles(rs []itsm.Role) []string {
	out := make([]string, len(rs))
	for i, r := range rs {
		out[i] = string(r)
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

// collectIncidents reads every row of rows into a non-nil slice.
func collectIncidents(rows pgx.Rows) ([]*incident.Incident, error) {
	defer rows.Close()
	out := []*incident.Incident{}
	for rows.Next() {
		inc, err := scanIncident(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, inc)
	}
	return out, rows.Err()
}

func (s *Store) get(ctx context.Context, db querier, id string) (*incident.Incident, error) {
	inc, err := scanIncident(db.QueryRow(ctx, s.q.getByID, id))
	if err != nil {
		return nil, mapError(err, incident.Kind, id)
	}
	return inc, nil
}

func (s *Store) getByNumber(ctx context.Context, db querier, number string) (*incident.Incident, error) {
	inc, err := scanIncident(db.QueryRow(ctx, s.q.getByNumber, number))
	if err != nil {
		return nil, mapError(err, incident.Kind, number)
	}
	return inc, nil
}

func (s *Store) queryIncidents(ctx context.Context, db querier, sql string, args ...any) ([]*incident.Incident, error) {
	rows, err := db.Query(ctx, sql, args...)
	if err != nil {
		return nil, mapError(err, "", "")
	}
	out, err := collectIncidents(rows)
	if err != nil {
		return nil, mapError(err, "", "")
	}
	return out, nil
}

func (s *Store) children(ctx context.Context, db querier, id string) ([]*incident.Incident, error) {
	return s.queryIncidents(ctx, db, s.q.children, id)
}

func (s *Store) resolvedBefore(ctx context.Context, db querier, t time.Time, limit int) ([]*incident.Incident, error) {
	if limit <= 0 {
		return []*incident.Incident{}, nil
	}
	return s.queryIncidents(ctx, db, s.q.resolvedBefore, t, limit)
}

// listSQL builds the List statement for q and its arguments. Equality
// filters are written as = rather than = ANY when they hold one value, so
// that the (column, opened_at, id) indexes also give the order.
func (s *Store) listSQL(q incident.Query) (string, []any, error) {
	var (
		where []string
		args  []any
	)
	arg := func(v any) string {
		args = append(args, v)
		return "$" + strconv.Itoa(len(args))
	}
	switch len(q.States) {
	case 0:
	case 1:
		where = append(where, "i.state = "+arg(string(q.States[0])))
	default:
		states := make([]string, len(q.States))
		for k, st := range q.States {
			states[k] = string(st)
		}
		where = append(where, "i.state = ANY("+arg(states)+"::text[])")
	}
	switch len(q.Priorities) {
	case 0:
	case 1:
		where = append(where, "i.priority = "+arg(int16(q.Priorities[0])))
	default:
		prios := make([]int16, len(q.Priorities))
		for k, p := range q.Priorities {
			prios[k] = int16(p)
		}
		where = append(where, "i.priority = ANY("+arg(prios)+"::smallint[])")
	}
	if q.Assignee != "" {
		where = append(where, "i.assignee = "+arg(q.Assignee))
	}
	if q.AssignmentGroup != "" {
		where = append(where, "i.assignment_group = "+arg(q.AssignmentGroup))
	}
	if q.Service != "" {
		where = append(where, "i.service = "+arg(q.Service))
	}
	if q.Text != "" {
		p := arg("%" + escapeLike(q.Text) + "%")
		where = append(where, "(i.number ILIKE "+p+" OR i.title ILIKE "+p+" OR i.description ILIKE "+p+")")
	}
	if q.Breached {
		// TimerRecord.BreachedBy: a breach instant before now.
		where = append(where, "EXISTS (SELECT 1 FROM {s}.sla_timers t WHERE t.incident_id = i.id AND t.breach_at < "+arg(q.Now)+")")
	}
	if q.AtRisk {
		// TimerRecord.AtRiskBy: running or paused, the last warning at or
		// before now, and not breached by now.
		now := arg(q.Now)
		where = append(where, "EXISTS (SELECT 1 FROM {s}.sla_timers t WHERE t.incident_id = i.id"+
			" AND t.at_risk_at IS NOT NULL AND t.stage IN ('running', 'paused') AND t.at_risk_at <= "+now+
			" AND (t.breach_at IS NULL OR t.breach_at >= "+now+"))")
	}
	if q.After != "" {
		c, err := incident.ParseCursor(q.After)
		if err != nil {
			return "", nil, err
		}
		// The cursor keeps nanoseconds; stored times have microseconds,
		// and a row at the cursor's own instant is compared by ID.
		where = append(where, "(i.opened_at, i.id) > ("+arg(c.OpenedAt)+"::timestamptz, "+arg(c.ID)+"::text COLLATE \"C\")")
	}
	sql := s.q.selectIncident
	if len(where) > 0 {
		sql += "\n WHERE " + strings.Join(where, "\n   AND ")
	}
	sql += "\n ORDER BY i.opened_at, i.id LIMIT " + arg(q.PageSize()+1)
	return s.q.sql(sql), args, nil
}

// escapeLike escapes the LIKE wildcards (and the escape character) in s.
func escapeLike(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}

func (s *Store) list(ctx context.Context, db querier, q incident.Query) (incident.Page, error) {
	sql, args, err := s.listSQL(q)
	if err != nil {
		return incident.Page{}, err
	}
	incs, err := s.queryIncidents(ctx, db, sql, args...)
	if err != nil {
		return incident.Page{}, err
	}
	return incident.NewPage(q, incs), nil
}

// scanTimer reads one row of timerColumns, decoding the timer afresh.
func scanTimer(row pgx.Row) (incident.TimerRecord, error) {
	var (
		r                        incident.TimerRecord
		raw                      []byte
		stage                    string
		atRisk, breach, nextWake pgtype.Timestamptz
	)
	if err := row.Scan(&r.ID, &r.IncidentID, &raw, &stage, &atRisk, &breach, &nextWake); err != nil {
		return r, err
	}
	r.Timer = new(sla.Timer)
	if err := json.Unmarshal(raw, r.Timer); err != nil {
		return r, fmt.Errorf("postgres: decode timer %s of incident %s: %w", r.ID, r.IncidentID, err)
	}
	if err := r.Stage.UnmarshalText([]byte(stage)); err != nil {
		return r, fmt.Errorf("postgres: decode stage of timer %s of incident %s: %w", r.ID, r.IncidentID, err)
	}
	r.AtRiskAt, r.BreachAt, r.NextWakeAt = fromNullTime(atRisk), fromNullTime(breach), fromNullTime(nextWake)
	return r, nil
}

func (s *Store) queryTimers(ctx context.Context, db querier, sql string, args ...any) ([]incident.TimerRecord, error) {
	rows, err := db.Query(ctx, sql, args...)
	if err != nil {
		return nil, mapError(err, "", "")
	}
	defer rows.Close()
	out := []incident.TimerRecord{}
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

func (s *Store) timers(ctx context.Context, db querier, id string) ([]incident.TimerRecord, error) {
	return s.queryTimers(ctx, db, s.q.timers, id)
}

func (s *Store) timersDue(ctx context.Context, db querier, before time.Time, limit int) ([]incident.TimerRecord, error) {
	if limit <= 0 {
		return []incident.TimerRecord{}, nil
	}
	return s.queryTimers(ctx, db, s.q.timersDue, before, limit)
}

// scanEvent reads one row of eventColumns.
func scanEvent(row pgx.Row) (itsm.Event, error) {
	var (
		ev      itsm.Event
		roles   []string
		changes []byte
		at      time.Time
	)
	err := row.Scan(&ev.Kind, &ev.RecordID, &ev.Sequence, &ev.Actor.ID, &ev.Actor.Name, &roles, &at, &ev.Action,
		&ev.From, &ev.To, &changes, &ev.Reason)
	if err != nil {
		return ev, err
	}
	ev.Actor.Roles = toRoles(roles)
	ev.At = at.UTC()
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

func (s *Store) history(ctx context.Context, db querier, id string) ([]itsm.Event, error) {
	rows, err := db.Query(ctx, s.q.history, incident.Kind, id)
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
