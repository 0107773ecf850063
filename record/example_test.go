package record_test

import (
	"errors"
	"fmt"
	"time"

	"github.com/itsmkit/itsmkit/itsm"
	"github.com/itsmkit/itsmkit/record"
	"github.com/itsmkit/itsmkit/sla"
)

// changeSchema declares a change kind with two filterable attributes.
func changeSchema() *record.Schema {
	return record.MustNewSchema(record.SchemaDef{
		Kind:   "change",
		Prefix: "CHG",
		States: []record.StateDef{
			{Name: "draft", Category: itsm.CategoryNew},
			{Name: "assess", Category: itsm.CategoryActive},
			{Name: "scheduled", Category: itsm.CategoryPending},
			{Name: "implemented", Category: itsm.CategoryResolved},
			{Name: "closed", Category: itsm.CategoryClosed},
			{Name: "withdrawn", Category: itsm.CategoryCancelled},
		},
		Attributes: []record.Attribute{
			{Name: "risk", Type: record.AttrChoice, Choices: []string{"low", "medium", "high"}, Required: true, Filterable: true},
			{Name: "window_start", Type: record.AttrTime, Filterable: true},
			{Name: "cab_votes", Type: record.AttrInt},
		},
	})
}

func ExampleNewSchema() {
	s, err := record.NewSchema(record.SchemaDef{
		Kind:   "change",
		Prefix: "CHG",
		States: []record.StateDef{
			{Name: "draft", Category: itsm.CategoryNew},
			{Name: "assess", Category: itsm.CategoryActive},
			{Name: "scheduled", Category: itsm.CategoryPending},
			{Name: "implemented", Category: itsm.CategoryResolved},
			{Name: "closed", Category: itsm.CategoryClosed},
			{Name: "withdrawn", Category: itsm.CategoryCancelled},
		},
		Attributes: []record.Attribute{
			{Name: "risk", Type: record.AttrChoice, Choices: []string{"low", "medium", "high"}, Required: true, Filterable: true},
			{Name: "window_start", Type: record.AttrTime, Filterable: true},
		},
	})
	if err != nil {
		panic(err)
	}
	fmt.Println(s.Kind(), s.Prefix(), record.Numbering{Prefix: s.Prefix(), Digits: 7}.Format(42))
	for _, st := range s.States() {
		fmt.Printf("%-12s %s\n", st.Name, st.Category)
	}
	for _, a := range s.Attributes() {
		fmt.Println(a.Name, a.Type, a.Choices)
	}

	// Every problem of a definition is reported at once.
	_, err = record.NewSchema(record.SchemaDef{Kind: "Change", Prefix: "chg", States: []record.StateDef{{Name: "draft"}}})
	fmt.Println(err)
	// Output:
	// change CHG CHG0000042
	// draft        new
	// assess       active
	// scheduled    pending
	// implemented  resolved
	// closed       closed
	// withdrawn    cancelled
	// risk choice [low medium high]
	// window_start time []
	// itsm: invalid record schema Change: kind: "Change" must be lower-case letters, digits and underscores, starting with a letter, at most 40 bytes; prefix: "chg" must be upper-case letters and digits, starting with a letter, at most 8 bytes; states[0].category: state "draft" needs a category
}

func ExampleSchema_CheckQuery() {
	s := changeSchema()
	err := s.CheckQuery(record.Query{
		Kind:   "change",
		States: []string{"scheduled", "approved"},
		Attrs:  []record.AttrFilter{{Name: "risk", In: []record.Value{record.Text("critical")}}},
	})
	fmt.Println(errors.Is(err, itsm.ErrValidation))
	var v *itsm.ValidationError
	if errors.As(err, &v) {
		for _, f := range v.Fields {
			fmt.Println(f)
		}
	}
	// Output:
	// true
	// states[1]: "approved" is not a state of change records
	// attrs[0].in[0]: "critical" is not one of the choices
}

func ExampleQuery_Match() {
	opened := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	rec := &record.Record{
		Header: record.Header{
			Kind: "change", ID: "c1", Number: "CHG0000001", Title: "Upgrade the mail gateway",
			State: "scheduled", StateCategory: itsm.CategoryPending, Priority: itsm.PriorityModerate,
			AssignmentGroup: "messaging", OpenedAt: opened,
		},
		Attrs: map[string]record.Value{
			"risk":         record.Text("high"),
			"window_start": record.Time(opened.Add(72 * time.Hour)),
		},
		SLA: record.Summary{{
			ID: "approval", Metric: "approval", Stage: sla.StageRunning,
			AtRiskAt: opened.Add(18 * time.Hour), BreachAt: opened.Add(24 * time.Hour),
		}},
	}
	q := record.Query{
		Kind:            "change",
		StateCategories: []itsm.StateCategory{itsm.CategoryNew, itsm.CategoryActive, itsm.CategoryPending},
		AssignmentGroup: "messaging",
		Attrs: []record.AttrFilter{
			{Name: "risk", In: []record.Value{record.Text("medium"), record.Text("high")}},
			{Name: "window_start", Max: record.Time(opened.Add(7 * 24 * time.Hour))},
		},
		Text: "MAIL",
	}
	fmt.Println(q.Match(rec))

	q.SLA, q.Now = record.SLAFilter{AtRisk: true}, opened.Add(12*time.Hour)
	fmt.Println("at risk after 12h:", q.Match(rec))
	q.Now = opened.Add(20 * time.Hour)
	fmt.Println("at risk after 20h:", q.Match(rec))
	q.SLA = record.SLAFilter{Breached: true}
	q.Now = opened.Add(25 * time.Hour)
	fmt.Println("breached after 25h:", q.Match(rec))
	// Output:
	// true
	// at risk after 12h: false
	// at risk after 20h: true
	// breached after 25h: true
}

// A list view pages through records with the opaque cursor of each page;
// this is what a store's List does with Query.After and NewPage.
func ExampleCursor() {
	base := time.Date(1650, 1, 1, 0, 0, 0, 0, time.UTC) // long before 1678
	var all []*record.Record
	for i := range 5 {
		all = append(all, &record.Record{Header: record.Header{
			Kind: "change", ID: fmt.Sprintf("c%d", i), OpenedAt: base.AddDate(i*200, 0, 0),
		}})
	}
	list := func(q record.Query) record.Page {
		var after *record.Cursor
		if q.After != "" {
			c, err := record.ParseCursor(q.After)
			if err != nil {
				panic(err)
			}
			after = &c
		}
		var recs []*record.Record
		for _, r := range all { // already in ByOpened order
			if q.Match(r) && (after == nil || after.Precedes(r)) && len(recs) <= q.PageSize() {
				recs = append(recs, r)
			}
		}
		return record.NewPage(q, recs)
	}

	q := record.Query{Kind: "change", Limit: 2}
	for {
		page := list(q)
		for _, r := range page.Records {
			fmt.Print(r.ID, " opened ", r.OpenedAt.Year(), "; ")
		}
		fmt.Println("next page:", page.Next != "")
		if page.Next == "" {
			break
		}
		q.After = page.Next
	}
	// Output:
	// c0 opened 1650; c1 opened 1850; next page: true
	// c2 opened 2050; c3 opened 2250; next page: true
	// c4 opened 2450; next page: false
}

func ExampleLimits() {
	// A kind whose journals hold at most three entries of 80 bytes; the
	// other limits keep their defaults.
	def := changeSchema().Def()
	def.Limits = record.Limits{JournalEntry: 80, JournalEntries: 3}
	s := record.MustNewSchema(def)
	fmt.Println(s.Limits().Title, s.Limits().JournalEntry, s.Limits().JournalEntries)

	note := record.Entry{Kind: record.WorkNote, Author: "cab", At: time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC), Text: "Approved."}
	fmt.Println(s.Limits().CheckEntries(2, []record.Entry{note}))

	err := s.Limits().CheckEntries(3, []record.Entry{note})
	var le *itsm.LimitError
	fmt.Println(errors.Is(err, itsm.ErrTooLarge), errors.Is(err, itsm.ErrValidation), errors.As(err, &le) && le.Field == "journal")
	fmt.Println(err)
	// Output:
	// 1024 80 3
	// <nil>
	// true true true
	// itsm: record journal is 4 entries, over the limit of 3 entries
}
