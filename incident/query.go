package incident

import (
	"slices"
	"strings"
	"time"

	"github.com/itsmkit/itsmkit/sla"
)

// BreachedBy reports whether the timer has breached at now: it has a
// breach instant and now is after it.
func (r TimerRecord) BreachedBy(now time.Time) bool {
	return !r.BreachAt.IsZero() && now.After(r.BreachAt)
}

// AtRiskBy reports whether the timer is at risk at now: still running or
// paused, past its last warning threshold, and not breached.
func (r TimerRecord) AtRiskBy(now time.Time) bool {
	active := r.Stage == sla.StageRunning || r.Stage == sla.StagePaused
	return active && !r.AtRiskAt.IsZero() && !now.Before(r.AtRiskAt) && !r.BreachedBy(now)
}

// Match reports whether inc, with its timers, satisfies every filter of
// q other than paging. Adapters that filter in memory use it; SQL adapters
// express the same rules in SQL, and storagetest checks both agree.
func (q Query) Match(inc *Incident, timers []TimerRecord) bool {
	if len(q.States) > 0 && !slices.Contains(q.States, inc.State) {
		return false
	}
	if len(q.Priorities) > 0 && !slices.Contains(q.Priorities, inc.Priority) {
		return false
	}
	if q.Assignee != "" && inc.Assignee != q.Assignee {
		return false
	}
	if q.AssignmentGroup != "" && inc.AssignmentGroup != q.AssignmentGroup {
		return false
	}
	if q.Service != "" && inc.Service != q.Service {
		return false
	}
	if q.Text != "" && !containsFold(inc.Number, q.Text) && !containsFold(inc.Title, q.Text) && !containsFold(inc.Description, q.Text) {
		return false
	}
	if q.Breached && !slices.ContainsFunc(timers, func(r TimerRecord) bool { return r.BreachedBy(q.Now) }) {
		return false
	}
	if q.AtRisk && !slices.ContainsFunc(timers, func(r TimerRecord) bool { return r.AtRiskBy(q.Now) }) {
		return false
	}
	return true
}

func containsFold(s, sub string) bool {
	return strings.Contains(strings.ToLower(s), strings.ToLower(sub))
}
