package storagetest

import (
	"github.com/itsmkit/itsmkit/itsm"
	"github.com/itsmkit/itsmkit/record"
)

// The kind CustomKind declares and the states of CustomLifecycle, one or
// more in every state category.
const (
	workOrderKind   = "work_order"
	workOrderPrefix = "WO"

	woRequested    = "requested"     // new
	woScheduled    = "scheduled"     // active
	woInProgress   = "in_progress"   // active
	woWaitingParts = "waiting_parts" // pending
	woDone         = "done"          // resolved
	woClosed       = "closed"        // closed
	woCancelled    = "cancelled"     // cancelled
)

// CustomLifecycle returns the lifecycle of CustomKind's work orders, a
// record type the suite defines for itself so that it can run without any
// practice package. Its states cover every itsm.StateCategory:
//
//	requested (new) → scheduled (active) → in_progress (active) ⇄ waiting_parts (pending)
//	in_progress → done (resolved) → closed (closed); done → in_progress (reopen)
//	requested, scheduled, in_progress, waiting_parts → cancelled (cancelled)
//
// Its records are *record.Record values, and no transition has guards, so
// it serves tests that need a second lifecycle. Each call builds a new,
// independent Lifecycle.
func CustomLifecycle() *itsm.Lifecycle[string, string, *record.Record] {
	return itsm.MustNewLifecycle(itsm.Definition[string, string, *record.Record]{
		Kind:    workOrderKind,
		Initial: woRequested,
		States: []string{woRequested, woScheduled, woInProgress, woWaitingParts,
			woDone, woClosed, woCancelled},
		Terminal: []string{woClosed, woCancelled},
		Categories: map[string]itsm.StateCategory{
			woRequested:    itsm.CategoryNew,
			woScheduled:    itsm.CategoryActive,
			woInProgress:   itsm.CategoryActive,
			woWaitingParts: itsm.CategoryPending,
			woDone:         itsm.CategoryResolved,
			woClosed:       itsm.CategoryClosed,
			woCancelled:    itsm.CategoryCancelled,
		},
		Transitions: []itsm.Transition[string, string, *record.Record]{
			{Action: "schedule", From: []string{woRequested}, To: woScheduled},
			{Action: "start", From: []string{woScheduled}, To: woInProgress},
			{Action: "wait_for_parts", From: []string{woInProgress}, To: woWaitingParts},
			{Action: "parts_arrived", From: []string{woWaitingParts}, To: woInProgress},
			{Action: "complete", From: []string{woInProgress}, To: woDone},
			{Action: "reopen", From: []string{woDone}, To: woInProgress},
			{Action: "close", From: []string{woDone}, To: woClosed},
			{Action: "cancel", From: []string{woRequested, woScheduled, woInProgress, woWaitingParts}, To: woCancelled},
		},
		ID: func(r *record.Record) string { return r.ID },
	})
}

// CustomKind returns the schema of work orders (kind "work_order", prefix
// "WO"), built from CustomLifecycle: its states with their categories, and
// one custom attribute of every type. Two are filterable, so that the SQL
// stores index them:
//
//	site        choice (north, south, east, west), required, filterable
//	cost_cents  integer, filterable
//	notes       text
//	rate        decimal
//	billable    bool
//	due_at      time
//
// TestStore runs over it when it is given no schema; adapters also run it
// explicitly, to prove that a kind costs them no code. Each call returns a
// new Schema with the same definition.
func CustomKind() *record.Schema {
	l := CustomLifecycle()
	cats := l.Categories()
	var states []record.StateDef
	for _, s := range l.States() {
		states = append(states, record.StateDef{Name: s, Category: cats[s]})
	}
	return record.MustNewSchema(record.SchemaDef{
		Kind:   workOrderKind,
		Prefix: workOrderPrefix,
		States: states,
		Attributes: []record.Attribute{
			{Name: "site", Type: record.AttrChoice, Choices: []string{"north", "south", "east", "west"}, Required: true, Filterable: true},
			{Name: "cost_cents", Type: record.AttrInt, Filterable: true},
			{Name: "notes", Type: record.AttrText},
			{Name: "rate", Type: record.AttrDecimal},
			{Name: "billable", Type: record.AttrBool},
			{Name: "due_at", Type: record.AttrTime},
		},
	})
}

// otherKind returns the second kind the suite declares beside the kinds
// under test, for checks across kinds (the same ID in two kinds, links
// and parents across kinds, timers of the same ID in two kinds). Its
// name differs from every kind in taken.
func otherKind(taken []*record.Schema) *record.Schema {
	name := "storagetest_other"
	for clash := true; clash; {
		clash = false
		for _, s := range taken {
			if s.Kind() == name {
				name += "_x"
				clash = true
			}
		}
	}
	return record.MustNewSchema(record.SchemaDef{
		Kind:   name,
		Prefix: "STO",
		States: []record.StateDef{
			{Name: "open", Category: itsm.CategoryNew},
			{Name: "working", Category: itsm.CategoryActive},
			{Name: "done", Category: itsm.CategoryClosed},
		},
		Attributes: []record.Attribute{{Name: "note", Type: record.AttrText}},
	})
}
