package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/mod/sumdb/note"

	"github.com/itsmkit/itsmkit/itsm"
	"github.com/itsmkit/itsmkit/record"
	"github.com/itsmkit/itsmkit/sla"
	"github.com/itsmkit/itsmkit/storage"
)

// upgradeSchema declares the incident states of schema version 1.
var upgradeSchema = record.MustNewSchema(record.SchemaDef{
	Kind:   "incident",
	Prefix: "INC",
	States: []record.StateDef{
		{Name: "new", Category: itsm.CategoryNew},
		{Name: "in_progress", Category: itsm.CategoryActive},
		{Name: "on_hold", Category: itsm.CategoryPending},
		{Name: "resolved", Category: itsm.CategoryResolved},
		{Name: "closed", Category: itsm.CategoryClosed},
		{Name: "canceled", Category: itsm.CategoryCancelled},
	},
})

// oldIncident is one row of the incidents table of schema version 1.
type oldIncident struct {
	id, number, title, description, callerID, callerName, callerRoles string
	service, configItem, category                                     string
	impact, urgency, priority                                         int64
	overridden                                                        bool
	state, hold, group, assignee, resCode, resNotes, cancel           string
	opened                                                            time.Time
	firstResponse, resolved, closed                                   time.Time
	updated                                                           time.Time
	reopens                                                           int64
	major                                                             bool
	parent                                                            string
	version                                                           int64
	wake, breach, atRisk                                              time.Time
}

// TestUpgradeFromIncidents builds a database of schema version 1 with
// incidents, journal entries, problem and change links, timers, a
// crossing, the number sequence and hash-chained audit events, migrates
// it, and finds everything again through record.Store.
func TestUpgradeFromIncidents(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "old.db")
	s, err := Open(ctx, path, WithoutMigrate())
	require.NoError(t, err)
	defer s.Close()
	require.NoError(t, s.migrate(ctx, migrations[:1]), "the migration hook stops at version 1")
	v, err := s.CurrentSchemaVersion(ctx)
	require.NoError(t, err)
	require.Equal(t, 1, v)

	t0 := time.Date(2026, 11, 20, 15, 4, 5, 123456000, time.UTC)
	// Before 1970, to check the floor division of the migration's time
	// text.
	early := time.Date(1969, 12, 31, 23, 59, 58, 500000000, time.UTC)
	incs := []oldIncident{
		{id: "inc-1", number: "INC0001001", title: "Mail relay down", description: "No mail since 9:00",
			callerID: "carol", callerName: "Carol", callerRoles: `["requester","vip"]`, service: "mail",
			configItem: "relay-1", category: "network", impact: 2, urgency: 1, priority: 2, overridden: true,
			state: "resolved", group: "ops", assignee: "bob", resCode: "fixed", resNotes: "Restarted the relay",
			opened: t0, firstResponse: t0.Add(10 * time.Minute), resolved: t0.Add(2 * time.Hour),
			updated: t0.Add(2 * time.Hour), reopens: 1, major: true, version: 5,
			wake: t0.Add(4 * time.Hour), breach: t0.Add(30 * time.Minute), atRisk: t0.Add(3 * time.Hour)},
		{id: "inc-2", number: "INC0001002", title: "Mail slow", callerID: "dave", state: "new",
			opened: early, updated: early, parent: "inc-1", version: 1},
		{id: "inc-3", number: "INC0001003", title: "Duplicate", callerID: "erin", state: "canceled",
			cancel: "logged twice", opened: t0.Add(time.Minute), updated: t0.Add(2 * time.Minute), version: 2},
		{id: "inc-4", number: "INC0001004", title: "Printer", callerID: "erin", state: "closed", priority: 4,
			opened: t0.Add(3 * time.Minute), resolved: t0.Add(time.Hour), closed: t0.Add(5 * time.Hour),
			updated: t0.Add(5 * time.Hour), version: 4},
		{id: "inc-5", number: "INC0001005", title: "Odd state", callerID: "erin", state: "awaiting_vendor",
			cancel: "vendor gone", opened: t0.Add(4 * time.Minute), updated: t0.Add(4 * time.Minute), version: 1},
	}
	tm := func(policy string, metric sla.Metric, target time.Duration, kind string, at time.Time) (string, record.TimerRecord) {
		timer, err := sla.NewTimer(sla.AlwaysOpen(time.UTC), sla.BusinessTime(target), nil, policy, metric, itsm.PriorityHigh)
		require.NoError(t, err)
		require.NoError(t, timer.Start(at))
		raw, err := json.Marshal(timer)
		require.NoError(t, err)
		var m map[string]any
		require.NoError(t, json.Unmarshal(raw, &m))
		m["kind"] = kind
		raw, err = json.Marshal(m)
		require.NoError(t, err)
		return string(raw), record.NewTimerRecord(record.Ref{}, "", 0, timer, at)
	}
	resp, respRec := tm("standard", sla.MetricResponse, 30*time.Minute, "sla", t0)
	resol, resolRec := tm("standard", sla.MetricResolution, 8*time.Hour, "ola", t0)
	child, childRec := tm("gold", sla.MetricResolution, 4*time.Hour, "uc", early)

	old := func(tx *sql.Tx) {
		exec := func(query string, args ...any) {
			t.Helper()
			_, err := tx.ExecContext(ctx, query, args...)
			require.NoError(t, err, query)
		}
		for _, i := range incs {
			var parent any
			if i.parent != "" {
				parent = i.parent
			}
			roles := i.callerRoles
			if roles == "" {
				roles = "[]"
			}
			exec(`INSERT INTO incidents (id, number, title, description, caller_id, caller_name, caller_roles,
				service, config_item, category, impact, urgency, priority, priority_overridden, state, hold_reason,
				assignment_group, assignee, resolution_code, resolution_notes, cancel_reason, opened_at,
				first_response_at, resolved_at, closed_at, updated_at, reopen_count, major, parent_id, version,
				sla_wake_at, sla_breach_at, sla_at_risk_at)
				VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
				i.id, i.number, i.title, i.description, i.callerID, i.callerName, roles, i.service, i.configItem,
				i.category, i.impact, i.urgency, i.priority, boolInt(i.overridden), i.state, i.hold, i.group,
				i.assignee, i.resCode, i.resNotes, i.cancel, micro(i.opened), nullMicro(i.firstResponse),
				nullMicro(i.resolved), nullMicro(i.closed), micro(i.updated), i.reopens, boolInt(i.major), parent,
				i.version, nullMicro(i.wake), nullMicro(i.breach), nullMicro(i.atRisk))
		}
		exec(`INSERT INTO incident_journal (incident_id, position, kind, author, at, text) VALUES
			('inc-1', 0, 'comment', 'alice', ?1, 'Looking into it'), ('inc-1', 1, 'work_note', 'bob', ?2, 'Relay restarted'),
			('inc-2', 0, 'comment', 'dave', ?3, 'Still slow')`, micro(t0.Add(time.Minute)), micro(t0.Add(time.Hour)), micro(early))
		exec(`INSERT INTO incident_problems (incident_id, position, problem_id) VALUES
			('inc-1', 0, 'prb-2'), ('inc-1', 1, 'prb-1'), ('inc-2', 0, 'prb-1')`)
		exec(`INSERT INTO incident_changes (incident_id, position, change_id) VALUES ('inc-1', 0, 'chg-1')`)
		// The child's timer is saved first; the policy column of the OLA
		// timer is empty, so the migration takes the policy from its JSON.
		exec(`INSERT INTO sla_timers (incident_id, id, policy, metric, timer, stage, at_risk_at, breach_at, next_wake_at) VALUES
			('inc-2', 'gold/resolution', 'gold', 'resolution', ?, 'running', ?, ?, ?)`,
			child, nullMicro(childRec.AtRiskAt), nullMicro(childRec.BreachAt), ceilMicro(childRec.NextWakeAt))
		exec(`INSERT INTO sla_timers (incident_id, id, policy, metric, timer, stage, at_risk_at, breach_at, next_wake_at) VALUES
			('inc-1', 'standard/response', 'standard', 'response', ?, 'running', ?, ?, ?),
			('inc-1', 'standard/resolution', '', '', ?, 'running', ?, ?, ?)`,
			resp, nullMicro(respRec.AtRiskAt), nullMicro(respRec.BreachAt), ceilMicro(respRec.NextWakeAt),
			resol, nullMicro(resolRec.AtRiskAt), nullMicro(resolRec.BreachAt), ceilMicro(resolRec.NextWakeAt))
		exec(`INSERT INTO sla_crossings (incident_id, timer_id, cycle, basis_points, policy, metric, at, recorded_at)
			VALUES ('inc-1', 'standard/response', 1, 5000, 'standard', 'response', ?, ?)`, micro(t0.Add(15*time.Minute)), micro(t0.Add(16*time.Minute)))
		exec(`INSERT INTO number_sequences (kind, last) VALUES ('incident', 5)`)
		heads := map[string][]byte{}
		seqs := map[string]int64{}
		for _, ev := range []itsm.Event{
			{Kind: "incident", RecordID: "inc-1", Actor: itsm.Actor{ID: "alice", Roles: []itsm.Role{"agent"}}, At: t0, Action: "open", To: "new"},
			{Kind: "incident", RecordID: "inc-2", Actor: itsm.Actor{ID: "dave"}, At: early, Action: "open", To: "new"},
			{Kind: "incident", RecordID: "inc-1", Actor: itsm.Actor{ID: "bob", Name: "Bob"}, At: t0.Add(2 * time.Hour), Action: "resolve",
				From: "in_progress", To: "resolved", Changes: []itsm.Change{{Field: "resolution_code", New: "fixed"}}, Reason: "done"},
		} {
			seqs[ev.RecordID]++
			ev.Sequence = seqs[ev.RecordID]
			prev := heads[ev.RecordID]
			hash := storage.EventHash(prev, ev)
			roles, _ := encodeList(ev.Actor.Roles)
			changes, _ := encodeList(ev.Changes)
			var p any
			if prev != nil {
				p = prev
			}
			exec("INSERT INTO audit_events ("+eventCols+") VALUES ("+placeholders(14)+")", ev.Kind, ev.RecordID, ev.Sequence,
				ev.Actor.ID, ev.Actor.Name, roles, micro(ev.At), ev.Action, ev.From, ev.To, changes, ev.Reason, p, hash)
			heads[ev.RecordID] = hash
		}
	}
	tx, err := s.w.BeginTx(ctx, nil)
	require.NoError(t, err)
	old(tx)
	require.NoError(t, tx.Commit())
	require.NoError(t, s.VerifyAuditTrail(ctx), "the old trail verifies")

	require.NoError(t, s.Migrate(ctx))
	v, err = s.CurrentSchemaVersion(ctx)
	require.NoError(t, err)
	require.Equal(t, SchemaVersion(), v)
	require.NoError(t, s.Declare(ctx, upgradeSchema))
	require.NoError(t, s.VerifyAuditTrail(ctx), "the trail still verifies")

	// The migration put the old events into the transparency log in their
	// stored order (kind, record ID, sequence); the log verifies, and a
	// checkpoint is signed over it.
	var built storage.LogBuilder
	for _, id := range []string{"inc-1", "inc-2"} {
		evs, err := s.History(ctx, record.Ref{Kind: "incident", ID: id})
		require.NoError(t, err)
		for _, ev := range evs {
			built.Append(storage.LeafHash(ev))
		}
	}
	tree, err := s.AuditTree(ctx)
	require.NoError(t, err)
	require.Equal(t, built.Tree(), tree)
	report, err := s.VerifyAuditLog(ctx, nil)
	require.NoError(t, err)
	require.Empty(t, report.Problems, "%v", report.Err())
	require.Equal(t, int64(3), report.Size)
	skey, vkey, err := note.GenerateKey(nil, "upgrade")
	require.NoError(t, err)
	signer, err := note.NewSigner(skey)
	require.NoError(t, err)
	verifier, err := note.NewVerifier(vkey)
	require.NoError(t, err)
	sink, err := storage.OpenFileSink(filepath.Join(t.TempDir(), "checkpoints"))
	require.NoError(t, err)
	defer sink.Close()
	checkpointer := &storage.Checkpointer{Log: s, Origin: "itsmkit.test/upgrade", Signer: signer,
		Verifiers: note.VerifierList(verifier), Sink: sink}
	_, err = checkpointer.Issue(ctx)
	require.NoError(t, err)

	ref := func(id string) record.Ref { return record.Ref{Kind: "incident", ID: id} }
	get := func(id string) *record.Record {
		t.Helper()
		rec, err := s.Get(ctx, ref(id))
		require.NoError(t, err, id)
		return rec
	}

	one := get("inc-1")
	require.Equal(t, record.Header{
		Kind: "incident", ID: "inc-1", Number: "INC0001001", Title: "Mail relay down", Description: "No mail since 9:00",
		State: "resolved", StateCategory: itsm.CategoryResolved, Impact: 2, Urgency: 1, Priority: 2,
		Requester:       itsm.Actor{ID: "carol", Name: "Carol", Roles: []itsm.Role{"requester", "vip"}},
		AssignmentGroup: "ops", Assignee: "bob", Service: "mail", ConfigItems: []string{"relay-1"}, Category: "network",
		Major: true, OpenedAt: t0, UpdatedAt: t0.Add(2 * time.Hour), ResolvedAt: t0.Add(2 * time.Hour), Version: 5,
	}, one.Header)
	require.Nil(t, one.Attrs)
	require.Equal(t, `{"priority_overridden":true,"hold_reason":"","resolution_code":"fixed","resolution_notes":"Restarted the relay",`+
		`"cancel_reason":"","first_response_at":"2026-11-20T15:14:05.123456Z","reopen_count":1}`, string(one.Body))
	require.Len(t, one.SLA, 2)
	require.Equal(t, record.TimerSummary{ID: "standard/resolution", Policy: "standard", PolicyKind: sla.KindOLA,
		Metric: sla.MetricResolution, Stage: sla.StageRunning, AtRiskAt: utcMicro(resolRec.AtRiskAt),
		BreachAt: utcMicro(resolRec.BreachAt), NextWakeAt: resolRec.NextWakeAt}, one.SLA[1])

	two := get("inc-2")
	require.Equal(t, record.Header{
		Kind: "incident", ID: "inc-2", Number: "INC0001002", Title: "Mail slow", State: "new", StateCategory: itsm.CategoryNew,
		Requester: itsm.Actor{ID: "dave"}, Parent: ref("inc-1"), OpenedAt: early, UpdatedAt: early, Version: 1,
	}, two.Header)
	require.Equal(t, `{"priority_overridden":false,"hold_reason":"","resolution_code":"","resolution_notes":"",`+
		`"cancel_reason":"","reopen_count":0}`, string(two.Body))
	var doc map[string]any
	require.NoError(t, s.r.QueryRowContext(ctx, "SELECT doc FROM records WHERE id = 'inc-2'").Scan(scanJSON(&doc)))
	for _, key := range []string{"impact", "urgency", "priority", "config_items", "resolved_at", "closed_at"} {
		require.NotContains(t, doc, key)
	}
	require.Equal(t, map[string]any{"id": "dave"}, doc["requester"])
	require.Equal(t, "1969-12-31T23:59:58.500000Z", doc["opened_at"])

	require.Equal(t, itsm.CategoryCancelled, get("inc-3").StateCategory)
	four := get("inc-4")
	require.Equal(t, itsm.CategoryClosed, four.StateCategory)
	require.Equal(t, t0.Add(5*time.Hour), four.ClosedAt)
	require.Equal(t, itsm.PriorityLow, four.Priority)
	require.Equal(t, itsm.CategoryCancelled, get("inc-5").StateCategory, "an unknown state with a cancel reason")

	byNumber, err := s.GetByNumber(ctx, "incident", "INC0001002")
	require.NoError(t, err)
	require.Equal(t, two, byNumber)

	ids := func(q record.Query) []string {
		t.Helper()
		q.Kind = "incident"
		page, err := s.List(ctx, q)
		require.NoError(t, err)
		var out []string
		for _, r := range page.Records {
			out = append(out, r.ID)
		}
		return out
	}
	tru := true
	require.Equal(t, []string{"inc-2", "inc-1", "inc-3", "inc-4", "inc-5"}, ids(record.Query{}))
	require.Equal(t, []string{"inc-1"}, ids(record.Query{ConfigItem: "relay-1"}))
	require.Equal(t, []string{"inc-2"}, ids(record.Query{Parent: ref("inc-1")}))
	require.Equal(t, []string{"inc-1"}, ids(record.Query{Major: &tru}))
	require.Equal(t, []string{"inc-1"}, ids(record.Query{Requester: "carol"}))
	require.Equal(t, []string{"inc-3", "inc-5"}, ids(record.Query{StateCategories: []itsm.StateCategory{itsm.CategoryCancelled}}))
	require.Equal(t, []string{"inc-4"}, ids(record.Query{Order: record.ByClosed}))
	require.Equal(t, []string{"inc-1"}, ids(record.Query{Text: "RELAY"}))
	require.Equal(t, []string{"inc-2", "inc-1"}, ids(record.Query{SLA: record.SLAFilter{Breached: true}, Now: t0.Add(time.Hour)}))
	require.Equal(t, []string{"inc-2"}, ids(record.Query{SLA: record.SLAFilter{PolicyKinds: []sla.PolicyKind{sla.KindUC}}}))

	journal, err := s.Journal(ctx, ref("inc-1"))
	require.NoError(t, err)
	require.Equal(t, []record.Entry{
		{Kind: record.Comment, Author: "alice", At: t0.Add(time.Minute), Text: "Looking into it"},
		{Kind: record.WorkNote, Author: "bob", At: t0.Add(time.Hour), Text: "Relay restarted"},
	}, journal)

	link := func(typ, from, kind, to string, at time.Time) record.Link {
		return record.Link{Type: typ, From: ref(from), To: record.Ref{Kind: kind, ID: to}, CreatedAt: at, CreatedBy: "migration"}
	}
	links, err := s.Links(ctx, ref("inc-1"))
	require.NoError(t, err)
	require.Equal(t, []record.Link{
		link("caused_by", "inc-1", "problem", "prb-2", t0.Add(2*time.Hour)),
		link("caused_by", "inc-1", "problem", "prb-1", t0.Add(2*time.Hour)),
		link("fixed_by", "inc-1", "change", "chg-1", t0.Add(2*time.Hour)),
	}, links)
	links, err = s.Links(ctx, record.Ref{Kind: "problem", ID: "prb-1"})
	require.NoError(t, err)
	require.Equal(t, []record.Link{
		link("caused_by", "inc-1", "problem", "prb-1", t0.Add(2*time.Hour)),
		link("caused_by", "inc-2", "problem", "prb-1", early),
	}, links)

	timers, err := s.Timers(ctx, ref("inc-1"))
	require.NoError(t, err)
	require.Len(t, timers, 2)
	require.Equal(t, "standard/response", timers[0].ID)
	require.Equal(t, sla.KindSLA, timers[0].PolicyKind)
	require.Equal(t, "standard/resolution", timers[1].ID)
	require.Equal(t, sla.KindOLA, timers[1].PolicyKind)
	require.Equal(t, "standard", timers[1].Timer.Policy())
	require.Equal(t, utcMicro(resolRec.BreachAt), timers[1].BreachAt)
	due, err := s.TimersDue(ctx, t0.Add(20*time.Minute), 10)
	require.NoError(t, err)
	require.Len(t, due, 2, "the child's timer, due since 1970, and inc-1's response timer")
	require.Equal(t, ref("inc-2"), due[0].Record)
	require.Equal(t, sla.KindUC, due[0].PolicyKind)
	require.Equal(t, "standard/response", due[1].ID)
	var crossings int
	require.NoError(t, s.r.QueryRowContext(ctx, "SELECT count(*) FROM sla_crossings WHERE kind = 'incident' AND record_id = 'inc-1'").Scan(&crossings))
	require.Equal(t, 1, crossings)

	hist, err := s.History(ctx, ref("inc-1"))
	require.NoError(t, err)
	require.Len(t, hist, 2)
	require.Equal(t, "resolve", hist[1].Action)
	require.Equal(t, []itsm.Change{{Field: "resolution_code", New: "fixed"}}, hist[1].Changes)

	// The store goes on where the old one stopped.
	require.NoError(t, s.InTx(ctx, func(ctx context.Context, tx record.Tx) error {
		n, err := tx.NextNumber(ctx, "incident")
		require.Equal(t, int64(6), n)
		if err != nil {
			return err
		}
		one.Assignee = "dave"
		if err := tx.Update(ctx, one); err != nil {
			return err
		}
		return tx.AppendEvents(ctx, itsm.Event{Kind: "incident", RecordID: "inc-1", Actor: itsm.Actor{ID: "alice"}, At: t0.Add(3 * time.Hour), Action: "assign"})
	}))
	require.Equal(t, int64(6), one.Version)
	require.NoError(t, s.VerifyAuditTrail(ctx))
	// A new event extends the migrated log, which still verifies against
	// the checkpoint signed after the migration.
	report, err = checkpointer.Verify(ctx)
	require.NoError(t, err)
	require.Empty(t, report.Problems, "%v", report.Err())
	require.Equal(t, int64(4), report.Size)
	require.Equal(t, int64(3), report.Covered)
	_, err = checkpointer.Issue(ctx)
	require.NoError(t, err)
	hist, err = s.History(ctx, ref("inc-1"))
	require.NoError(t, err)
	require.Equal(t, int64(3), hist[2].Sequence)

	var leftovers int
	require.NoError(t, s.r.QueryRowContext(ctx, `SELECT count(*) FROM sqlite_schema WHERE name IN
		('incidents', 'incident_journal', 'incident_problems', 'incident_changes', 'sla_summary', 'sla_timers_0001', 'sla_crossings_0001')`).Scan(&leftovers))
	require.Zero(t, leftovers, "the old tables are gone")
}

// scanJSON returns a Scan destination that decodes a JSON text into dst.
func scanJSON(dst any) sql.Scanner { return jsonScanner{dst} }

type jsonScanner struct{ dst any }

func (j jsonScanner) Scan(src any) error {
	s, _ := src.(string)
	return json.Unmarshal([]byte(s), j.dst)
}
