package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/itsmkit/itsmkit/incident"
	"github.com/itsmkit/itsmkit/itsm"
	"github.com/itsmkit/itsmkit/sla"
)

// querier is what reads and writes run on: a *sql.Tx.
type querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// reader implements incident.Reader on a transaction.
type reader struct{ q querier }

const incidentCols = `id, number, title, description, caller_id, caller_name, caller_roles,
	service, config_item, category, impact, urgency, priority, priority_overridden,
	state, hold_reason, assignment_group, assignee, resolution_code, resolution_notes,
	cancel_reason, opened_at, first_response_at, resolved_at, closed_at, updated_at,
	reopen_count, major, parent_id, version`

// scanIncident reads one row of incidentCols, without journal and links.
func scanIncident(sc interface{ Scan(...any) error }) (*incident.Incident, error) {
	var (
		inc                             incident.Incident
		roles, state, hold, resCode     string
		impact, urgency, prio           int64
		overridden, major               bool
		opened, updated                 int64
		firstResponse, resolved, closed sql.NullInt64
		parent                          sql.NullString
	)
	err := sc.Scan(&inc.ID, &inc.Number, &inc.Title, &inc.Description, &inc.Caller.ID, &inc.Caller.Name, &roles,
		&inc.Service, &inc.ConfigItem, &inc.Category, &impact, &urgency, &prio, &overridden,
		&state, &hold, &inc.AssignmentGroup, &inc.Assignee, &resCode, &inc.ResolutionNotes,
		&inc.CancelReason, &opened, &firstResponse, &resolved, &closed, &updated,
		&inc.ReopenCount, &major, &parent, &inc.Version)
	if err != nil {
		return nil, err
	}
	if inc.Caller.Roles, err = decodeRoles(roles); err != nil {
		return nil, err
	}
	inc.Impact, inc.Urgency, inc.Priority = itsm.Impact(impact), itsm.Urgency(urgency), itsm.Priority(prio)
	inc.PriorityOverridden, inc.Major = overridden, major
	inc.State, inc.HoldReason, inc.ResolutionCode = incident.State(state), incident.HoldReason(hold), incident.ResolutionCode(resCode)
	inc.OpenedAt, inc.UpdatedAt = fromMicro(opened), fromMicro(updated)
	inc.FirstResponseAt, inc.ResolvedAt, inc.ClosedAt = fromNullMicro(firstResponse), fromNullMicro(resolved), fromNullMicro(closed)
	inc.ParentID = parent.String
	return &inc, nil
}

// one reads the incident query selects (with arg), with its journal and
// links; notFound is the ID the *itsm.NotFoundError names.
func (r reader) one(ctx context.Context, query string, arg any, notFound string) (*incident.Incident, error) {
	row := r.q.QueryRowContext(ctx, query, arg)
	inc, err := scanIncident(row)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, &itsm.NotFoundError{Kind: incident.Kind, ID: notFound}
	}
	if err != nil {
		return nil, fmt.Errorf("sqlite: read incident %s: %w", notFound, mapErr(err))
	}
	if err := r.details(ctx, []*incident.Incident{inc}); err != nil {
		return nil, err
	}
	return inc, nil
}

// many reads the incidents a query returns, in its order, with their
// journals and links. It always returns a non-nil slice.
func (r reader) many(ctx context.Context, query string, args ...any) ([]*incident.Incident, error) {
	rows, err := r.q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("sqlite: list incidents: %w", mapErr(err))
	}
	defer rows.Close()
	out := []*incident.Incident{}
	for rows.Next() {
		inc, err := scanIncident(rows)
		if err != nil {
			return nil, fmt.Errorf("sqlite: list incidents: %w", mapErr(err))
		}
		out = append(out, inc)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: list incidents: %w", mapErr(err))
	}
	if err := rows.Close(); err != nil {
		return nil, mapErr(err)
	}
	if err := r.details(ctx, out); err != nil {
		return nil, err
	}
	return out, nil
}

// details loads the journal entries and the problem and change links of
// incs.
func (r reader) details(ctx context.Context, incs []*incident.Incident) error {
	if len(incs) == 0 {
		return nil
	}
	byID := make(map[string]*incident.Incident, len(incs))
	idList := make([]string, 0, len(incs))
	for _, inc := range incs {
		byID[inc.ID] = inc
		idList = append(idList, inc.ID)
	}
	// One parameter however many incidents: a JSON array of their IDs.
	journal, problems, changes := sqlJournalMany, sqlProblemsMany, sqlChangesMany
	var arg any
	if len(idList) == 1 {
		journal, problems, changes = sqlJournalOne, sqlProblemsOne, sqlChangesOne
		arg = idList[0]
	} else {
		b, err := json.Marshal(idList)
		if err != nil {
			return err
		}
		arg = string(b)
	}
	each := func(query string, scan func(rows *sql.Rows) error) error {
		rows, err := r.q.QueryContext(ctx, query, arg)
		if err != nil {
			return fmt.Errorf("sqlite: read incident details: %w", mapErr(err))
		}
		defer rows.Close()
		for rows.Next() {
			if err := scan(rows); err != nil {
				return fmt.Errorf("sqlite: read incident details: %w", mapErr(err))
			}
		}
		return mapErr(rows.Err())
	}
	err := each(journal,
		func(rows *sql.Rows) error {
			var id, kind string
			var at int64
			var e incident.Entry
			if err := rows.Scan(&id, &kind, &e.Author, &at, &e.Text); err != nil {
				return err
			}
			e.Kind, e.At = incident.EntryKind(kind), fromMicro(at)
			byID[id].Journal = append(byID[id].Journal, e)
			return nil
		})
	if err != nil {
		return err
	}
	err = each(problems,
		func(rows *sql.Rows) error {
			var id, p string
			if err := rows.Scan(&id, &p); err != nil {
				return err
			}
			byID[id].ProblemIDs = append(byID[id].ProblemIDs, p)
			return nil
		})
	if err != nil {
		return err
	}
	return each(changes,
		func(rows *sql.Rows) error {
			var id, c string
			if err := rows.Scan(&id, &c); err != nil {
				return err
			}
			byID[id].ChangeIDs = append(byID[id].ChangeIDs, c)
			return nil
		})
}

// Get implements incident.Reader.
func (r reader) Get(ctx context.Context, id string) (*incident.Incident, error) {
	return r.one(ctx, sqlGetByID, id, id)
}

// GetByNumber implements incident.Reader.
func (r reader) GetByNumber(ctx context.Context, number string) (*incident.Incident, error) {
	return r.one(ctx, sqlGetByNumber, number, number)
}

// listSQL builds the query of List: the filters of q, the cursor, List
// order and one row more than the page size (to tell whether a next page
// exists).
func listSQL(q incident.Query) (string, []any, error) {
	var where []string
	var args []any
	if q.After != "" {
		c, err := incident.ParseCursor(q.After)
		if err != nil {
			return "", nil, err
		}
		where = append(where, "(opened_at, id) > (?, ?)")
		args = append(args, micro(c.OpenedAt), c.ID)
	}
	if len(q.States) > 0 {
		where = append(where, "state IN ("+placeholders(len(q.States))+")")
		for _, s := range q.States {
			args = append(args, string(s))
		}
	}
	if len(q.Priorities) > 0 {
		where = append(where, "priority IN ("+placeholders(len(q.Priorities))+")")
		for _, p := range q.Priorities {
			args = append(args, int64(p))
		}
	}
	// The "<> ''" terms let SQLite use the partial indexes of these
	// columns; the values are never empty here.
	if q.Assignee != "" {
		where, args = append(where, "assignee = ? AND assignee <> ''"), append(args, q.Assignee)
	}
	if q.AssignmentGroup != "" {
		where, args = append(where, "assignment_group = ? AND assignment_group <> ''"), append(args, q.AssignmentGroup)
	}
	if q.Service != "" {
		where, args = append(where, "service = ? AND service <> ''"), append(args, q.Service)
	}
	if q.Text != "" {
		where = append(where, "("+containsFoldFunc+"(number, ?) OR "+containsFoldFunc+"(title, ?) OR "+containsFoldFunc+"(description, ?))")
		args = append(args, q.Text, q.Text, q.Text)
	}
	now := micro(q.Now)
	if q.Breached {
		// TimerRecord.BreachedBy: a breach instant before Now. The
		// earliest breach instant of the incident's timers says.
		where = append(where, "sla_breach_at < ?")
		args = append(args, now)
	}
	if q.AtRisk {
		// TimerRecord.AtRiskBy: running or paused, past the last warning
		// at Now, not breached by Now. Only incidents whose earliest
		// at-risk instant of a running or paused timer has come can have
		// one; their timers decide.
		where = append(where, `sla_at_risk_at <= ? AND EXISTS (SELECT 1 FROM sla_timers t
			WHERE t.incident_id = incidents.id AND t.stage IN ('running', 'paused')
			AND t.at_risk_at <= ? AND (t.breach_at IS NULL OR t.breach_at >= ?))`)
		args = append(args, now, now, now)
	}
	query := "SELECT " + incidentCols + " FROM incidents"
	if len(where) > 0 {
		query += " WHERE " + strings.Join(where, " AND ")
	}
	query += " ORDER BY opened_at, id LIMIT ?"
	args = append(args, q.PageSize()+1)
	return query, args, nil
}

// List implements incident.Reader.
func (r reader) List(ctx context.Context, q incident.Query) (incident.Page, error) {
	query, args, err := listSQL(q)
	if err != nil {
		return incident.Page{}, err
	}
	incs, err := r.many(ctx, query, args...)
	if err != nil {
		return incident.Page{}, err
	}
	return incident.NewPage(q, incs), nil
}

// Children implements incident.Reader.
func (r reader) Children(ctx context.Context, id string) ([]*incident.Incident, error) {
	return r.many(ctx, sqlChildren, id)
}

// ResolvedBefore implements incident.Reader.
func (r reader) ResolvedBefore(ctx context.Context, t time.Time, limit int) ([]*incident.Incident, error) {
	if limit <= 0 {
		return []*incident.Incident{}, nil
	}
	return r.many(ctx, sqlResolvedBefore, micro(t), limit)
}

const (
	timerCols    = "id, incident_id, timer, stage, at_risk_at, breach_at, next_wake_at"
	timerColsOfT = "t.id, t.incident_id, t.timer, t.stage, t.at_risk_at, t.breach_at, t.next_wake_at"
)

// timers reads the timer records a query returns, with freshly decoded,
// unbound timers, in a non-nil slice.
func (r reader) timers(ctx context.Context, query string, args ...any) ([]incident.TimerRecord, error) {
	rows, err := r.q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("sqlite: read timers: %w", mapErr(err))
	}
	defer rows.Close()
	out := []incident.TimerRecord{}
	for rows.Next() {
		rec, err := scanTimer(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, rec)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: read timers: %w", mapErr(err))
	}
	return out, nil
}

func scanTimer(sc interface{ Scan(...any) error }) (incident.TimerRecord, error) {
	var (
		rec                      incident.TimerRecord
		enc, stage               string
		atRisk, breach, nextWake sql.NullInt64
	)
	if err := sc.Scan(&rec.ID, &rec.IncidentID, &enc, &stage, &atRisk, &breach, &nextWake); err != nil {
		return rec, fmt.Errorf("sqlite: read timers: %w", mapErr(err))
	}
	rec.Timer = new(sla.Timer)
	if err := json.Unmarshal([]byte(enc), rec.Timer); err != nil {
		return rec, fmt.Errorf("sqlite: decode timer %s: %w", rec.ID, err)
	}
	if err := rec.Stage.UnmarshalText([]byte(stage)); err != nil {
		return rec, fmt.Errorf("sqlite: decode timer %s: %w", rec.ID, err)
	}
	rec.AtRiskAt, rec.BreachAt, rec.NextWakeAt = fromNullMicro(atRisk), fromNullMicro(breach), fromNullMicro(nextWake)
	return rec, nil
}

// Timers implements incident.Reader.
func (r reader) Timers(ctx context.Context, id string) ([]incident.TimerRecord, error) {
	return r.timers(ctx, sqlTimers, id)
}

// TimersDue implements incident.Reader.
func (r reader) TimersDue(ctx context.Context, before time.Time, limit int) ([]incident.TimerRecord, error) {
	if limit <= 0 {
		return []incident.TimerRecord{}, nil
	}
	return r.timers(ctx, sqlTimersDue, micro(before), limit)
}

const eventCols = "kind, record_id, sequence, actor_id, actor_name, actor_roles, at, action, from_state, to_state, changes, reason, prev_hash, hash"

// scanEvent reads one row of eventCols.
func scanEvent(sc interface{ Scan(...any) error }) (ev itsm.Event, prev, hash []byte, err error) {
	var roles, changes string
	var at int64
	err = sc.Scan(&ev.Kind, &ev.RecordID, &ev.Sequence, &ev.Actor.ID, &ev.Actor.Name, &roles, &at,
		&ev.Action, &ev.From, &ev.To, &changes, &ev.Reason, &prev, &hash)
	if err != nil {
		return ev, nil, nil, fmt.Errorf("sqlite: read audit events: %w", mapErr(err))
	}
	ev.At = fromMicro(at)
	if ev.Actor.Roles, err = decodeRoles(roles); err != nil {
		return ev, nil, nil, err
	}
	if ev.Changes, err = decodeChanges(changes); err != nil {
		return ev, nil, nil, err
	}
	return ev, prev, hash, nil
}

// History implements incident.Reader.
func (r reader) History(ctx context.Context, id string) ([]itsm.Event, error) {
	rows, err := r.q.QueryContext(ctx, sqlHistory, incident.Kind, id)
	if err != nil {
		return nil, fmt.Errorf("sqlite: read audit events: %w", mapErr(err))
	}
	defer rows.Close()
	out := []itsm.Event{}
	for rows.Next() {
		ev, _, _, err := scanEvent(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, ev)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: read audit events: %w", mapErr(err))
	}
	return out, nil
}
