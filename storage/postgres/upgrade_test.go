package postgres_test

import (
	"context"
	"encoding/json"
	"path/filepath"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/itsmkit/itsmkit/itsm"
	"github.com/itsmkit/itsmkit/record"
	"github.com/itsmkit/itsmkit/sla"
	"github.com/itsmkit/itsmkit/storage"
	"github.com/itsmkit/itsmkit/storage/postgres"
)

// incidentSchema is the kind the upgrade carries incidents into, with the
// states of the previous schema's incidents and one more ("triage", which
// only an application's own lifecycle had).
func incidentSchema() *record.Schema {
	return record.MustNewSchema(record.SchemaDef{Kind: "incident", Prefix: "INC", States: []record.StateDef{
		{Name: "new", Category: itsm.CategoryNew}, {Name: "in_progress", Category: itsm.CategoryActive},
		{Name: "on_hold", Category: itsm.CategoryPending}, {Name: "resolved", Category: itsm.CategoryResolved},
		{Name: "closed", Category: itsm.CategoryClosed}, {Name: "canceled", Category: itsm.CategoryCancelled},
		{Name: "triage", Category: itsm.CategoryResolved},
	}})
}

// oldIncident is a row of the incidents table of schema version 2.
type oldIncident struct {
	id, number, title, description, callerID, callerName string
	roles                                                []string
	service, configItem, category                        string
	impact, urgency, priority                            int16
	overridden                                           bool
	state, hold, assignmentGroup, assignee, code, notes  string
	cancel                                               string
	opened                                               time.Time
	firstResponse, resolved, closed                      *time.Time
	updated                                              time.Time
	reopens                                              int32
	major                                                bool
	parent                                               string
	version                                              int64
}

func ptr(t time.Time) *time.Time { return &t }

// TestUpgradeFromVersion2 builds a schema with the migrations before the
// record core only, stores incidents the way version 2 did (with SQL: a
// parent and a child, journals, problem and change links, SLA timers, a
// crossing, the number sequence and hash-chained audit trails), migrates,
// and finds all of it through the record.Store API, with the audit trail
// still verifying.
func TestUpgradeFromVersion2(t *testing.T) {
	t.Parallel()
	s := openStore(t, postgres.WithCalendars(sla.Calendars{"24x7": sla.AlwaysOpen(time.UTC)}))
	ctx := t.Context()
	require.NoError(t, postgres.MigrateTo(ctx, s, 2))
	v, err := s.SchemaVersion(ctx)
	require.NoError(t, err)
	require.Equal(t, 2, v)

	at := func(min int) time.Time { return t0.Add(time.Duration(min)*time.Minute + 123456*time.Microsecond) }
	incs := []oldIncident{
		{id: "inc-1", number: "INC0000001", title: "Mail is down", description: "Nobody can send mail",
			callerID: "carol", callerName: "Carol", roles: []string{"employee", "vip"}, service: "email", configItem: "mx-01",
			category: "software", impact: 2, urgency: 1, priority: 2, overridden: true, state: "resolved",
			assignmentGroup: "service-desk", assignee: "dave", code: "fixed", notes: "Restarted the relay.",
			opened: at(0), firstResponse: ptr(at(5)), resolved: ptr(at(60)), updated: at(61), reopens: 1, major: true, version: 3},
		{id: "inc-2", number: "INC0000002", title: "Cannot send", callerID: "bob", roles: []string{}, state: "new",
			opened: at(10), updated: at(10), parent: "inc-1", version: 1},
		{id: "inc-3", number: "INC0000003", title: "Duplicate", callerID: "ann", roles: []string{}, impact: 3, urgency: 3, priority: 5,
			state: "canceled", cancel: "logged twice", opened: at(20), closed: ptr(at(30)), updated: at(30), version: 2},
		{id: "inc-4", number: "INC0000004", title: "Old lifecycle", callerID: "ann", roles: []string{}, state: "triage",
			opened: at(40), resolved: ptr(at(50)), updated: at(50), version: 4},
	}
	sc := s.Schema()
	b := &pgx.Batch{}
	for _, i := range incs {
		b.Queue(`INSERT INTO `+sc+`.incidents (id, number, title, description, caller_id, caller_name, caller_roles,
			service, config_item, category, impact, urgency, priority, priority_overridden, state, hold_reason,
			assignment_group, assignee, resolution_code, resolution_notes, cancel_reason, opened_at, first_response_at,
			resolved_at, closed_at, updated_at, reopen_count, major, parent_id, version)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23,
			$24, $25, $26, $27, $28, $29, $30)`,
			i.id, i.number, i.title, i.description, i.callerID, i.callerName, i.roles, i.service, i.configItem, i.category,
			i.impact, i.urgency, i.priority, i.overridden, i.state, i.hold, i.assignmentGroup, i.assignee, i.code, i.notes,
			i.cancel, i.opened, i.firstResponse, i.resolved, i.closed, i.updated, i.reopens, i.major, i.parent, i.version)
	}
	journal := []record.Entry{
		{Kind: record.Comment, Author: "carol", At: at(1), Text: "It is down."},
		{Kind: record.WorkNote, Author: "dave", At: at(59), Text: "Relay restarted."},
	}
	for n, e := range journal {
		b.Queue("INSERT INTO "+sc+".incident_journal (incident_id, position, kind, author, at, text) VALUES ('inc-1', $1, $2, $3, $4, $5)",
			n, string(e.Kind), e.Author, e.At, e.Text)
	}
	b.Queue("INSERT INTO " + sc + ".incident_journal VALUES ('inc-2', 0, 'comment', 'bob', '2026-11-02 09:11:00+00', 'Me too.')")
	b.Queue("INSERT INTO " + sc + ".incident_problems VALUES ('inc-1', 0, 'prb-1'), ('inc-1', 1, 'prb-2')")
	b.Queue("INSERT INTO " + sc + ".incident_changes VALUES ('inc-1', 0, 'chg-1')")

	// Two timers of inc-1, as version 2 stored them: the timer's JSON
	// (made by sla) beside its derived fields.
	resolution := mustTimer(t)
	olaPolicy, err := sla.ParsePolicy([]byte(`{"id":"ops","name":"Ops","kind":"ola","targets":{"response":{"1":"PT15M","2":"PT30M","3":"PT1H","4":"PT4H","5":"P1D"}}}`), nil)
	require.NoError(t, err)
	response, err := olaPolicy.NewTimer(sla.MetricResponse, itsm.PriorityHigh)
	require.NoError(t, err)
	require.NoError(t, response.Start(t0))
	require.NoError(t, response.Stop(t0.Add(10*time.Minute), "responded"))
	want := []record.TimerRecord{
		record.NewTimerRecord(record.Ref{Kind: "incident", ID: "inc-1"}, "gold/resolution", sla.KindSLA, resolution, t0),
		record.NewTimerRecord(record.Ref{Kind: "incident", ID: "inc-1"}, "ops/response", sla.KindOLA, response, t0.Add(10*time.Minute)),
	}
	for _, tr := range want {
		enc, err := json.Marshal(tr.Timer)
		require.NoError(t, err)
		stage, err := tr.Stage.MarshalText()
		require.NoError(t, err)
		b.Queue("INSERT INTO "+sc+".sla_timers (incident_id, id, timer, stage, at_risk_at, breach_at, next_wake_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
			tr.Record.ID, tr.ID, string(enc), string(stage), nullable(tr.AtRiskAt), nullable(tr.BreachAt), nullable(tr.NextWakeAt))
	}
	b.Queue("INSERT INTO "+sc+".sla_crossings VALUES ('inc-1', 'gold/resolution', 1, 5000, 'gold', 'resolution', $1, $2)", t0.Add(2*time.Hour), t0.Add(2*time.Hour))
	b.Queue("INSERT INTO " + sc + ".number_sequences VALUES ('incident', 7)")

	// Audit trails with their hash chains, as version 2 appended them.
	events := []itsm.Event{
		{Kind: "incident", RecordID: "inc-1", Sequence: 1, Actor: itsm.Actor{ID: "carol", Name: "Carol", Roles: []itsm.Role{"employee"}}, At: at(0), Action: "open", To: "new"},
		{Kind: "incident", RecordID: "inc-1", Sequence: 2, Actor: itsm.Actor{ID: "dave"}, At: at(60), Action: "resolve", From: "in_progress", To: "resolved",
			Changes: []itsm.Change{{Field: "resolution_code", New: "fixed"}}, Reason: "relay"},
		{Kind: "incident", RecordID: "inc-2", Sequence: 1, Actor: itsm.Actor{ID: "bob"}, At: at(10), Action: "open", To: "new"},
	}
	heads := map[string][]byte{}
	for _, e := range events {
		prev := heads[e.RecordID]
		hash := storage.EventHash(prev, e)
		changes := e.Changes
		if changes == nil {
			changes = []itsm.Change{}
		}
		enc, err := json.Marshal(changes)
		require.NoError(t, err)
		roles := make([]string, len(e.Actor.Roles))
		for k, r := range e.Actor.Roles {
			roles[k] = string(r)
		}
		b.Queue(`INSERT INTO `+sc+`.audit_events (kind, record_id, sequence, actor_id, actor_name, actor_roles, at, action,
			from_state, to_state, changes, reason, prev_hash, hash) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)`,
			e.Kind, e.RecordID, e.Sequence, e.Actor.ID, e.Actor.Name, roles, e.At, e.Action, e.From, e.To, string(enc), e.Reason, prev, hash)
		heads[e.RecordID] = hash
	}
	b.Queue("INSERT INTO "+sc+".audit_heads VALUES ('incident', 'inc-1', 2, $1), ('incident', 'inc-2', 1, $2)", heads["inc-1"], heads["inc-2"])
	require.NoError(t, s.Pool().SendBatch(ctx, b).Close())
	require.NoError(t, s.VerifyAuditTrail(ctx), "the old trail verifies")

	require.NoError(t, s.Migrate(ctx))
	require.NoError(t, s.Declare(ctx, incidentSchema()))
	ref := func(id string) record.Ref { return record.Ref{Kind: "incident", ID: id} }

	// The migration put the old events into the transparency log in their
	// stored order (kind, record ID, sequence); the log verifies, and a
	// checkpoint is signed over it.
	var built storage.LogBuilder
	for _, id := range []string{"inc-1", "inc-2"} {
		evs, err := s.History(ctx, ref(id))
		require.NoError(t, err)
		for _, ev := range evs {
			built.Append(storage.LeafHash(ev))
		}
	}
	tree, err := s.AuditTree(ctx)
	require.NoError(t, err)
	require.Equal(t, built.Tree(), tree)
	require.Equal(t, int64(3), tree.N)
	report, err := s.VerifyAuditLog(ctx, nil)
	require.NoError(t, err)
	require.Empty(t, report.Problems, "%v", report.Err())
	signer, verifiers := logKeys(t, "upgrade")
	sink, err := storage.OpenFileSink(filepath.Join(t.TempDir(), "checkpoints"))
	require.NoError(t, err)
	defer sink.Close()
	checkpointer := &storage.Checkpointer{Log: s, Origin: "itsmkit.test/upgrade", Signer: signer, Verifiers: verifiers, Sink: sink}
	_, err = checkpointer.Issue(ctx)
	require.NoError(t, err)

	// Every header field and the body, as the incident codec reads them.
	got, err := s.Get(ctx, ref("inc-1"))
	require.NoError(t, err)
	body := got.Body
	got.Body, got.SLA = nil, nil
	require.Equal(t, &record.Record{Header: record.Header{
		Kind: "incident", ID: "inc-1", Number: "INC0000001", Title: "Mail is down", Description: "Nobody can send mail",
		State: "resolved", StateCategory: itsm.CategoryResolved, Impact: 2, Urgency: 1, Priority: 2,
		Requester:       itsm.Actor{ID: "carol", Name: "Carol", Roles: []itsm.Role{"employee", "vip"}},
		AssignmentGroup: "service-desk", Assignee: "dave", Service: "email", ConfigItems: []string{"mx-01"}, Category: "software",
		Major: true, OpenedAt: at(0), UpdatedAt: at(61), ResolvedAt: at(60), Version: 3,
	}}, got)
	require.JSONEq(t, `{"priority_overridden":true,"hold_reason":"","resolution_code":"fixed","resolution_notes":"Restarted the relay.",
		"cancel_reason":"","first_response_at":"2026-11-02T09:05:00.123456Z","reopen_count":1}`, string(body))
	var raw string
	require.NoError(t, s.Pool().QueryRow(ctx, "SELECT doc::text FROM "+sc+".records WHERE id = 'inc-2'").Scan(&raw))
	require.JSONEq(t, `{"kind":"incident","id":"inc-2","number":"INC0000002","title":"Cannot send","description":"",
		"state":"new","state_category":"new","requester":{"id":"bob"},"assignment_group":"","assignee":"","service":"",
		"category":"","parent":{"kind":"incident","id":"inc-1"},"major":false,
		"opened_at":"2026-11-02T09:10:00.123456Z","updated_at":"2026-11-02T09:10:00.123456Z","version":1,
		"body":{"priority_overridden":false,"hold_reason":"","resolution_code":"","resolution_notes":"","cancel_reason":"","reopen_count":0}}`, raw,
		"keys of absent values are left out")
	byNumber, err := s.GetByNumber(ctx, "incident", "INC0000003")
	require.NoError(t, err)
	require.Equal(t, "inc-3", byNumber.ID)
	require.Equal(t, itsm.CategoryCancelled, byNumber.StateCategory)
	require.Equal(t, at(30), byNumber.ClosedAt)
	require.Equal(t, itsm.Priority(5), byNumber.Priority)
	triage, err := s.Get(ctx, ref("inc-4"))
	require.NoError(t, err)
	require.Equal(t, itsm.CategoryResolved, triage.StateCategory, "an unknown state takes its category from the instants")

	// List filters over the carried columns.
	list := func(q record.Query) []string {
		q.Kind = "incident"
		page, err := s.List(ctx, q)
		require.NoError(t, err)
		var ids []string
		for _, r := range page.Records {
			ids = append(ids, r.ID)
		}
		return ids
	}
	yes := true
	require.Equal(t, []string{"inc-1", "inc-2", "inc-3", "inc-4"}, list(record.Query{}))
	require.Equal(t, []string{"inc-2"}, list(record.Query{Parent: ref("inc-1")}))
	require.Equal(t, []string{"inc-1"}, list(record.Query{ConfigItem: "mx-01"}))
	require.Equal(t, []string{"inc-1"}, list(record.Query{Major: &yes}))
	require.Equal(t, []string{"inc-1", "inc-4"}, list(record.Query{StateCategories: []itsm.StateCategory{itsm.CategoryResolved}}))
	require.Equal(t, []string{"inc-3"}, list(record.Query{States: []string{"canceled"}}))
	require.Equal(t, []string{"inc-1"}, list(record.Query{Assignee: "dave", Requester: "carol"}))
	require.Equal(t, []string{"inc-4", "inc-1"}, list(record.Query{Order: record.ByResolved}))
	require.Equal(t, []string{"inc-1"}, list(record.Query{SLA: record.SLAFilter{Breached: true}, Now: t0.Add(5 * time.Hour)}))
	require.Equal(t, []string{"inc-2"}, list(record.Query{Text: "CANNOT"}))

	entries, err := s.Journal(ctx, ref("inc-1"))
	require.NoError(t, err)
	require.Equal(t, journal, entries)
	entries, err = s.Journal(ctx, ref("inc-2"))
	require.NoError(t, err)
	require.Len(t, entries, 1)

	wantLinks := []record.Link{
		{Type: "caused_by", From: ref("inc-1"), To: record.Ref{Kind: "problem", ID: "prb-1"}, CreatedAt: at(61), CreatedBy: "migration"},
		{Type: "caused_by", From: ref("inc-1"), To: record.Ref{Kind: "problem", ID: "prb-2"}, CreatedAt: at(61), CreatedBy: "migration"},
		{Type: "fixed_by", From: ref("inc-1"), To: record.Ref{Kind: "change", ID: "chg-1"}, CreatedAt: at(61), CreatedBy: "migration"},
	}
	links, err := s.Links(ctx, ref("inc-1"))
	require.NoError(t, err)
	require.Equal(t, wantLinks, links)
	links, err = s.Links(ctx, record.Ref{Kind: "change", ID: "chg-1"})
	require.NoError(t, err)
	require.Equal(t, wantLinks[2:], links, "from the other end")

	timers, err := s.Timers(ctx, ref("inc-1"))
	require.NoError(t, err)
	require.Len(t, timers, 2)
	for i, tr := range timers {
		require.Equal(t, want[i].Record, tr.Record)
		require.Equal(t, want[i].ID, tr.ID)
		require.Equal(t, want[i].PolicyKind, tr.PolicyKind)
		require.Equal(t, want[i].Summary(), tr.Summary())
		require.Equal(t, want[i].Timer.Policy(), tr.Timer.Policy())
	}
	require.Equal(t, record.Summary{want[0].Summary(), want[1].Summary()}, func() record.Summary {
		r, err := s.Get(ctx, ref("inc-1"))
		require.NoError(t, err)
		return r.SLA
	}())
	due, err := s.TimersDue(ctx, t0.Add(24*time.Hour), 10)
	require.NoError(t, err)
	require.Len(t, due, 1)
	require.Equal(t, "gold/resolution", due[0].ID)
	// The crossing recorded before is not recorded again.
	pass, err := s.ProcessDueTimers(ctx, t0.Add(24*time.Hour), 10)
	require.NoError(t, err)
	require.Equal(t, 1, pass.Processed)
	require.Equal(t, 2, pass.Recorded)

	hist, err := s.History(ctx, ref("inc-1"))
	require.NoError(t, err)
	require.Len(t, hist, 4)
	require.Equal(t, events[:2], hist[:2])
	var crossed []int32
	for _, ev := range hist[2:] {
		c, ok := storage.CrossingFromEvent(ev)
		require.True(t, ok, "the pass appends the crossings' events: %v", ev)
		crossed = append(crossed, c.BasisPoints)
	}
	require.Equal(t, []int32{7500, 10000}, crossed)

	var next int64
	require.NoError(t, s.InTx(ctx, func(ctx context.Context, tx record.Tx) (err error) {
		next, err = tx.NextNumber(ctx, "incident")
		return err
	}))
	require.Equal(t, int64(8), next, "the number sequence goes on")

	// New events chain onto the carried trail, which still verifies.
	require.NoError(t, s.InTx(ctx, func(ctx context.Context, tx record.Tx) error {
		return tx.AppendEvents(ctx, itsm.Event{Kind: "incident", RecordID: "inc-1", Actor: agent, At: t0.Add(48 * time.Hour), Action: "close"})
	}))
	require.NoError(t, s.VerifyAuditTrail(ctx))
	report, err = checkpointer.Verify(ctx)
	require.NoError(t, err)
	require.Empty(t, report.Problems, "%v", report.Err())
	require.Equal(t, int64(6), report.Size, "the 3 carried events, the pass's 2 crossings and the close")
	require.Equal(t, int64(3), report.Covered)
	_, err = checkpointer.Issue(ctx)
	require.NoError(t, err)
	var tables int
	require.NoError(t, s.Pool().QueryRow(ctx, `SELECT count(*) FROM pg_tables WHERE schemaname = $1 AND tablename IN
		('incidents', 'incident_journal', 'incident_problems', 'incident_changes', 'number_sequences', 'old_sla_timers', 'old_sla_crossings')`,
		sc).Scan(&tables))
	require.Zero(t, tables, "the tables of version 2 are gone")
}

// nullable returns nil for the zero time.
func nullable(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t
}
