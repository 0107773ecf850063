package memory

import (
	"cmp"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/itsmkit/itsmkit/incident"
	"github.com/itsmkit/itsmkit/itsm"
	"github.com/itsmkit/itsmkit/sla"
)

// The read operations, shared by Store and tx. They take a view and return
// copies.

func (v view) get(id string) (*incident.Incident, error) {
	inc, ok := v.incident(id)
	if !ok {
		return nil, &itsm.NotFoundError{Kind: incident.Kind, ID: id}
	}
	return inc.Clone(), nil
}

func (v view) getByNumber(number string) (*incident.Incident, error) {
	id, ok := v.idByNumber(number)
	if !ok {
		return nil, &itsm.NotFoundError{Kind: incident.Kind, ID: number}
	}
	return v.get(id)
}

// listOrder is the order of List and Children: OpenedAt, then ID.
func listOrder(a, b *incident.Incident) int {
	if c := a.OpenedAt.Compare(b.OpenedAt); c != 0 {
		return c
	}
	return strings.Compare(a.ID, b.ID)
}

func (v view) list(q incident.Query) (incident.Page, error) {
	var after *incident.Cursor
	if q.After != "" {
		c, err := incident.ParseCursor(q.After)
		if err != nil {
			return incident.Page{}, err
		}
		after = &c
	}
	// Query.Match reads only the derived fields of timer records, so the
	// timers are not decoded here.
	needTimers := q.Breached || q.AtRisk
	var hits []*incident.Incident
	v.eachIncident(func(inc *incident.Incident) {
		if after != nil && !after.Precedes(inc) {
			return
		}
		var recs []incident.TimerRecord
		if needTimers {
			for _, row := range v.timersOf(inc.ID) {
				recs = append(recs, row.rec)
			}
		}
		if q.Match(inc, recs) {
			hits = append(hits, inc)
		}
	})
	slices.SortFunc(hits, listOrder)
	page := incident.NewPage(q, hits)
	page.Incidents = cloneAll(page.Incidents)
	return page, nil
}

func (v view) children(id string) []*incident.Incident {
	var kids []*incident.Incident
	v.eachIncident(func(inc *incident.Incident) {
		if inc.ParentID == id {
			kids = append(kids, inc)
		}
	})
	slices.SortFunc(kids, listOrder)
	return cloneAll(kids)
}

func (v view) timers(id string) ([]incident.TimerRecord, error) {
	rows := v.timersOf(id)
	slices.SortFunc(rows, func(a, b *timerRow) int { return cmp.Compare(a.seq, b.seq) })
	return decodeAll(rows)
}

func (v view) timersDue(before time.Time, limit int) ([]incident.TimerRecord, error) {
	if limit <= 0 {
		return []incident.TimerRecord{}, nil
	}
	var rows []*timerRow
	v.eachTimer(func(row *timerRow) {
		if w := row.rec.NextWakeAt; !w.IsZero() && !w.After(before) {
			rows = append(rows, row)
		}
	})
	slices.SortFunc(rows, func(a, b *timerRow) int {
		if c := a.rec.NextWakeAt.Compare(b.rec.NextWakeAt); c != 0 {
			return c
		}
		if c := strings.Compare(a.rec.ID, b.rec.ID); c != 0 {
			return c
		}
		return strings.Compare(a.rec.IncidentID, b.rec.IncidentID)
	})
	if len(rows) > limit {
		rows = rows[:limit]
	}
	return decodeAll(rows)
}

func (v view) history(id string) []itsm.Event {
	k := recordKey{kind: incident.Kind, id: id}
	out := make([]itsm.Event, 0, v.events(k, nil))
	v.events(k, func(e itsm.Event) { out = append(out, copyEvent(e)) })
	return out
}

func (v view) resolvedBefore(t time.Time, limit int) []*incident.Incident {
	if limit <= 0 {
		return []*incident.Incident{}
	}
	var hits []*incident.Incident
	v.eachIncident(func(inc *incident.Incident) {
		if !inc.ResolvedAt.IsZero() && inc.ResolvedAt.Before(t) && inc.ClosedAt.IsZero() && !inc.Major {
			hits = append(hits, inc)
		}
	})
	slices.SortFunc(hits, func(a, b *incident.Incident) int {
		if c := a.ResolvedAt.Compare(b.ResolvedAt); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	if len(hits) > limit {
		hits = hits[:limit]
	}
	return cloneAll(hits)
}

// cloneAll returns deep copies of incs in a new, non-nil slice.
func cloneAll(incs []*incident.Incident) []*incident.Incident {
	out := make([]*incident.Incident, len(incs))
	for i, inc := range incs {
		out[i] = inc.Clone()
	}
	return out
}

// decodeAll returns the records of rows with freshly decoded timers, in a
// new, non-nil slice.
func decodeAll(rows []*timerRow) ([]incident.TimerRecord, error) {
	out := make([]incident.TimerRecord, len(rows))
	for i, row := range rows {
		t := new(sla.Timer)
		if err := json.Unmarshal(row.timer, t); err != nil {
			return nil, fmt.Errorf("memory: decode timer %s: %w", row.rec.ID, err)
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
