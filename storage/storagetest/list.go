package storagetest

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/itsmkit/itsmkit/incident"
	"github.com/itsmkit/itsmkit/itsm"
	"github.com/stretchr/testify/require"
)

// tNow is the instant the List filter fixtures judge timers at.
var tNow = t0.Add(24 * time.Hour)

// listFixtures returns seven incidents that differ in every filtered field
// and the timers attached to them:
//
//	inc-00001 new          moderate  -     service-desk email    running timer saved 2h ago, breached by now
//	inc-00002 in_progress  high      dave  network-ops  vpn      breached (running)
//	inc-00003 on_hold      critical  erin  network-ops  email    at risk (running) + a healthy timer
//	inc-00004 resolved     low       dave  service-desk printing at risk (paused)
//	inc-00005 in_progress  high      erin  service-desk vpn      healthy (running)
//	inc-00006 closed       moderate  -     network-ops  email    met
//	inc-00007 canceled     planning  -     service-desk hr       breached (paused after the breach)
func listFixtures(t *testing.T) ([]*incident.Incident, []incident.TimerRecord) {
	type row struct {
		state    incident.State
		prio     itsm.Priority
		assignee string
		group    string
		service  string
		title    string
		desc     string
	}
	rows := []row{
		{incident.New, itsm.PriorityModerate, "", "service-desk", "email", "Mail relay down", "Users cannot send mail"},
		{incident.InProgress, itsm.PriorityHigh, "dave", "network-ops", "vpn", "VPN drops", "Tunnel resets every hour"},
		{incident.OnHold, itsm.PriorityCritical, "erin", "network-ops", "email", "Outlook slow", "Mailbox sync lags"},
		{incident.Resolved, itsm.PriorityLow, "dave", "service-desk", "printing", "Printer jam", "Floor 3 PRINTER"},
		{incident.InProgress, itsm.PriorityHigh, "erin", "service-desk", "vpn", "Cannot log in", "Password reset loop"},
		{incident.Closed, itsm.PriorityModerate, "", "network-ops", "email", "Spam wave", "Junk in every inbox"},
		{incident.Canceled, itsm.PriorityPlanning, "", "service-desk", "hr", "Payslip missing", "Wrong month shown"},
	}
	incs := make([]*incident.Incident, len(rows))
	for i, r := range rows {
		inc := fixture(i + 1)
		inc.State, inc.Priority, inc.Assignee = r.state, r.prio, r.assignee
		inc.AssignmentGroup, inc.Service, inc.Title, inc.Description = r.group, r.service, r.title, r.desc
		if r.state == incident.Resolved {
			inc.ResolvedAt = tNow.Add(-time.Hour)
		}
		incs[i] = inc
	}
	const target = 4 * time.Hour
	h := func(n float64) time.Time { return tNow.Add(time.Duration(n * float64(time.Hour))) }

	staleRunning := newTimer(t, target, h(-5)) // saved at -2h with 3h elapsed; breaches at -1h
	breached := newTimer(t, target, h(-5))
	atRisk := newTimer(t, target, h(-3.5))
	healthyToo := newTimer(t, 8*time.Hour, h(-3.5))
	pausedAtRisk := newTimer(t, target, h(-5))
	require.NoError(t, pausedAtRisk.Pause(h(-1.5), "awaiting caller"))
	healthy := newTimer(t, target, h(-1))
	met := newTimer(t, target, h(-5))
	require.NoError(t, met.Stop(h(-2), "resolved"))
	pausedBreached := newTimer(t, target, h(-6))
	require.NoError(t, pausedBreached.Pause(h(-1), "awaiting vendor"))

	timers := []incident.TimerRecord{
		record("tmr-1", incs[0].ID, staleRunning, h(-2)),
		record("tmr-2", incs[1].ID, breached, tNow),
		record("tmr-3a", incs[2].ID, healthyToo, tNow),
		record("tmr-3b", incs[2].ID, atRisk, tNow),
		record("tmr-4", incs[3].ID, pausedAtRisk, tNow),
		record("tmr-5", incs[4].ID, healthy, tNow),
		record("tmr-6", incs[5].ID, met, tNow),
		record("tmr-7", incs[6].ID, pausedBreached, tNow),
	}
	return incs, timers
}

// storeListFixtures stores the List fixtures in one transaction.
func (e env) storeListFixtures() ([]*incident.Incident, []incident.TimerRecord) {
	incs, timers := listFixtures(e.t)
	e.tx(func(ctx context.Context, tx incident.Tx) {
		for _, inc := range incs {
			require.NoError(e.t, tx.Create(ctx, inc))
		}
		require.NoError(e.t, tx.PutTimers(ctx, timers...))
	})
	return incs, timers
}

// filterCases are the List filter checks run against listFixtures. want
// lists the numbers of the expected incidents, in List order.
var filterCases = []struct {
	name string
	q    incident.Query
	want []int
}{
	{"None", incident.Query{}, []int{1, 2, 3, 4, 5, 6, 7}},
	{"States/One", incident.Query{States: []incident.State{incident.InProgress}}, []int{2, 5}},
	{"States/Several", incident.Query{States: []incident.State{incident.Resolved, incident.Closed}}, []int{4, 6}},
	{"Priorities/One", incident.Query{Priorities: []itsm.Priority{itsm.PriorityHigh}}, []int{2, 5}},
	{"Priorities/Several", incident.Query{Priorities: []itsm.Priority{itsm.PriorityCritical, itsm.PriorityLow}}, []int{3, 4}},
	{"Assignee", incident.Query{Assignee: "dave"}, []int{2, 4}},
	{"AssignmentGroup", incident.Query{AssignmentGroup: "network-ops"}, []int{2, 3, 6}},
	{"Service", incident.Query{Service: "email"}, []int{1, 3, 6}},
	{"Text/Number", incident.Query{Text: "INC0000004"}, []int{4}},
	{"Text/NumberPart", incident.Query{Text: "0000005"}, []int{5}},
	{"Text/Title", incident.Query{Text: "Outlook"}, []int{3}},
	{"Text/Description", incident.Query{Text: "tunnel"}, []int{2}},
	{"Text/IgnoresCase", incident.Query{Text: "mAiL"}, []int{1, 3}},
	{"Text/TitleOrDescription", incident.Query{Text: "printer"}, []int{4}},
	{"Text/NoMatch", incident.Query{Text: "kernel panic"}, nil},
	{"Text/PercentIsLiteral", incident.Query{Text: "%"}, nil},
	{"Text/UnderscoreIsLiteral", incident.Query{Text: "_"}, nil},
	{"Text/Spaces", incident.Query{Text: "every h"}, []int{2}},
	{"Breached", incident.Query{Breached: true, Now: tNow}, []int{1, 2, 7}},
	{"Breached/JudgedAtNow", incident.Query{Breached: true, Now: tNow.Add(-90 * time.Minute)}, []int{7}},
	{"AtRisk", incident.Query{AtRisk: true, Now: tNow}, []int{3, 4}},
	{"AtRisk/JudgedAtNow", incident.Query{AtRisk: true, Now: tNow.Add(-90 * time.Minute)}, []int{1, 4}},
	{"Combined/StatesAndGroup", incident.Query{States: []incident.State{incident.InProgress, incident.OnHold}, AssignmentGroup: "network-ops"}, []int{2, 3}},
	{"Combined/ServiceAndAssignee", incident.Query{Service: "vpn", Assignee: "erin"}, []int{5}},
	{"Combined/BreachedAndService", incident.Query{Breached: true, Now: tNow, Service: "email"}, []int{1}},
	{"Combined/AtRiskAndAssignee", incident.Query{AtRisk: true, Now: tNow, Assignee: "erin"}, []int{3}},
	{"Combined/TextAndStates", incident.Query{Text: "mail", States: []incident.State{incident.New}}, []int{1}},
	{"Combined/PrioritiesAndBreached", incident.Query{Priorities: []itsm.Priority{itsm.PriorityHigh}, Breached: true, Now: tNow}, []int{2}},
	{"Combined/NoMatch", incident.Query{Assignee: "dave", Service: "email"}, nil},
}

// filterTests turns filterCases into checks. Each also checks that the
// fixture really makes incident.Query.Match give the expected answer, so a
// store that disagrees with Match cannot pass by accident.
func filterTests() []test {
	var tests []test
	for _, fc := range filterCases {
		tests = append(tests, test{"Filter/" + fc.name, func(e env) {
			incs, timers := e.storeListFixtures()
			var want []string
			for _, n := range fc.want {
				want = append(want, incs[n-1].ID)
			}
			var byMatch []string
			for _, inc := range incs {
				var own []incident.TimerRecord
				for _, r := range timers {
					if r.IncidentID == inc.ID {
						own = append(own, r)
					}
				}
				if fc.q.Match(inc, own) {
					byMatch = append(byMatch, inc.ID)
				}
			}
			require.Equal(e.t, want, byMatch, "fixture disagrees with Query.Match")

			page, err := e.store.List(e.ctx, fc.q)
			require.NoError(e.t, err)
			require.Equal(e.t, fmt.Sprint(want), fmt.Sprint(ids(page.Incidents)))
			require.Empty(e.t, page.Next)
			for _, got := range page.Incidents {
				n := slices.IndexFunc(incs, func(inc *incident.Incident) bool { return inc.ID == got.ID })
				requireIncident(e.t, incs[n], got)
			}
			e.tx(func(ctx context.Context, tx incident.Tx) {
				page, err := tx.List(ctx, fc.q)
				require.NoError(e.t, err)
				require.Equal(e.t, fmt.Sprint(want), fmt.Sprint(ids(page.Incidents)), "List inside a transaction")
			})
		}})
	}
	return tests
}

// listOrder reports whether a comes before b in List order.
func listOrder(a, b *incident.Incident) int {
	if c := a.OpenedAt.Compare(b.OpenedAt); c != 0 {
		return c
	}
	return strings.Compare(a.ID, b.ID)
}

// collect pages through List with q and returns every incident seen and
// the number of pages; between pages it calls between(page index).
func (e env) collect(q incident.Query, between func(i int)) ([]*incident.Incident, int) {
	e.t.Helper()
	var all []*incident.Incident
	for i := 0; ; i++ {
		require.Less(e.t, i, 1000, "List does not come to an end")
		page, err := e.store.List(e.ctx, q)
		require.NoError(e.t, err)
		require.LessOrEqual(e.t, len(page.Incidents), q.PageSize())
		all = append(all, page.Incidents...)
		if page.Next == "" {
			return all, i + 1
		}
		require.NotEmpty(e.t, page.Incidents, "a page with a Next cursor must not be empty")
		q.After = page.Next
		if between != nil {
			between(i)
		}
	}
}

// requireListOrder fails unless incs are strictly increasing in List
// order, which also rules out duplicates.
func requireListOrder(t *testing.T, incs []*incident.Incident) {
	t.Helper()
	for i := 1; i < len(incs); i++ {
		require.Negativef(t, listOrder(incs[i-1], incs[i]), "List order broken at %d: %s (%s) then %s (%s)",
			i, incs[i-1].ID, incs[i-1].OpenedAt, incs[i].ID, incs[i].OpenedAt)
	}
}

// shuffled returns n fixtures whose OpenedAt repeats in groups of three
// (so that the ID breaks ties) and whose creation order differs from List
// order.
func shuffled(n int) []*incident.Incident {
	incs := make([]*incident.Incident, n)
	for i := range n {
		k := (i*7 + 3) % n // a permutation of 0..n-1 when n is not a multiple of 7
		inc := fixture(k + 1)
		inc.OpenedAt = t0.Add(time.Duration(k/3) * time.Minute)
		incs[i] = inc
	}
	return incs
}

var listTests = append(filterTests(),
	test{"Order", func(e env) {
		a, b, c, d := fixture(1), fixture(2), fixture(3), fixture(4)
		a.OpenedAt = t0.Add(time.Hour)        // last
		b.OpenedAt = t0.Add(-time.Hour)       // first
		c.OpenedAt, d.OpenedAt = t0, t0       // tie: inc-00003 before inc-00004
		d.ID, c.ID = "inc-00003", "inc-00004" // created in the other order
		e.create(a, c, d, b)
		page, err := e.store.List(e.ctx, incident.Query{})
		require.NoError(e.t, err)
		require.Equal(e.t, []string{b.ID, "inc-00003", "inc-00004", a.ID}, ids(page.Incidents))
	}},
	test{"Paging/EveryIncidentOnce", func(e env) {
		incs := shuffled(23)
		e.create(incs...)
		got, pages := e.collect(incident.Query{Limit: 5}, nil)
		require.Equal(e.t, 5, pages)
		want := slices.Clone(incs)
		slices.SortFunc(want, listOrder)
		require.Equal(e.t, ids(want), ids(got))
		requireListOrder(e.t, got)
	}},
	test{"Paging/LastPageFull", func(e env) {
		e.create(shuffled(10)...)
		got, pages := e.collect(incident.Query{Limit: 5}, nil)
		require.Len(e.t, got, 10)
		require.Equal(e.t, 2, pages, "a full last page must have no Next cursor")
		got, pages = e.collect(incident.Query{Limit: 10}, nil)
		require.Len(e.t, got, 10)
		require.Equal(e.t, 1, pages)
	}},
	test{"Paging/StableWhileAdding", func(e env) {
		incs := shuffled(20)
		e.create(incs...)
		var late, early []*incident.Incident
		got, _ := e.collect(incident.Query{Limit: 4}, func(i int) {
			// One incident sorting after every other, which the pages to
			// come must include, and one sorting before the current
			// position, which they must not.
			l := fixture(100 + i)
			l.OpenedAt = t0.Add(time.Duration(24+i) * time.Hour)
			b := fixture(200 + i)
			b.OpenedAt = t0.Add(-time.Duration(i+1) * time.Hour)
			e.create(l, b)
			late, early = append(late, l), append(early, b)
		})
		requireListOrder(e.t, got)
		seen := make(map[string]bool)
		for _, inc := range got {
			seen[inc.ID] = true
		}
		for _, inc := range incs {
			require.Truef(e.t, seen[inc.ID], "%s was skipped", inc.ID)
		}
		for _, inc := range late {
			require.Truef(e.t, seen[inc.ID], "%s, added after the current page, was skipped", inc.ID)
		}
		for _, inc := range early {
			require.Falsef(e.t, seen[inc.ID], "%s, added before the current page, showed up", inc.ID)
		}
		require.Len(e.t, got, len(incs)+len(late))
	}},
	test{"Paging/WithFilter", func(e env) {
		incs := shuffled(20)
		for i, inc := range incs {
			if i%2 == 0 {
				inc.State = incident.InProgress
			}
		}
		e.create(incs...)
		q := incident.Query{States: []incident.State{incident.InProgress}, Limit: 3}
		got, pages := e.collect(q, nil)
		require.Equal(e.t, 4, pages)
		var want []*incident.Incident
		for _, inc := range incs {
			if inc.State == incident.InProgress {
				want = append(want, inc)
			}
		}
		slices.SortFunc(want, listOrder)
		require.Equal(e.t, ids(want), ids(got))
	}},
	test{"Paging/DefaultPageSize", func(e env) {
		incs := make([]*incident.Incident, incident.DefaultPageSize+1)
		for i := range incs {
			incs[i] = fixture(i + 1)
		}
		e.create(incs...)
		page, err := e.store.List(e.ctx, incident.Query{})
		require.NoError(e.t, err)
		require.Len(e.t, page.Incidents, incident.DefaultPageSize)
		require.NotEmpty(e.t, page.Next)
		page, err = e.store.List(e.ctx, incident.Query{After: page.Next})
		require.NoError(e.t, err)
		require.Equal(e.t, []string{incs[len(incs)-1].ID}, ids(page.Incidents))
		require.Empty(e.t, page.Next)
	}},
	test{"Paging/MalformedCursor", func(e env) {
		e.create(fixture(1))
		for _, after := range []string{"not a cursor", "bm8tY29sb24", incident.Cursor{}.String() + "!"} {
			_, err := e.store.List(e.ctx, incident.Query{After: after})
			require.ErrorIs(e.t, err, itsm.ErrValidation, "cursor %q", after)
			var ve *itsm.ValidationError
			require.ErrorAs(e.t, err, &ve)
			e.tx(func(ctx context.Context, tx incident.Tx) {
				_, err := tx.List(ctx, incident.Query{After: after})
				require.ErrorIs(e.t, err, itsm.ErrValidation, "cursor %q inside a transaction", after)
			})
		}
	}},
	test{"Empty", func(e env) {
		page, err := e.store.List(e.ctx, incident.Query{})
		require.NoError(e.t, err)
		require.Empty(e.t, page.Incidents)
		require.Empty(e.t, page.Next)
	}},
	// The text filter agrees with incident.Query.Match beyond ASCII, and
	// takes LIKE's wildcards and escape character literally.
	test{"Filter/Text/AgreesWithMatch", func(e env) {
		titles := []string{"Disk 50% full", "Disk 500 GB", "a_b broken", "axb broken", `back\slash`,
			"ÉCRAN noir", "Straße gesperrt", "Überweisung hängt", "Ωmega down"}
		incs := make([]*incident.Incident, len(titles))
		for i, title := range titles {
			incs[i] = fixture(i + 1)
			incs[i].Title = title
		}
		e.create(incs...)
		for _, text := range []string{"%", "50%", "_", "a_b", `\`, "écran", "ÉCRAN", "straße", "ÜBERWEISUNG", "ωMEGA", "INC000000", "zzz"} {
			q := incident.Query{Text: text}
			var want, got []string
			for _, inc := range incs {
				if q.Match(inc, nil) {
					want = append(want, inc.ID)
				}
			}
			page, err := e.store.List(e.ctx, q)
			require.NoError(e.t, err)
			for _, inc := range page.Incidents {
				got = append(got, inc.ID)
			}
			require.Equal(e.t, want, got, "text %q", text)
		}
	}},
)
