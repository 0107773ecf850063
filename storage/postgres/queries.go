package postgres

import (
	"fmt"
	"strings"
)

// queries holds the SQL of a Store with every table qualified by its
// schema, so that a Store works whatever the connection's search_path is
// (which matters for Join). Texts are fixed per Store, so pgx caches their
// prepared statements per connection.
type queries struct {
	schema string // quoted

	selectIncident  string // column list and FROM clause, alias i
	getByID         string
	getByNumber     string
	children        string
	resolvedBefore  string
	timers          string
	timersDue       string
	history         string
	nextNumber      string
	create          [8]string // by createSQL's parts
	update          string
	versionOf       string
	putTimers       string
	missingIncident string
	lockHeads       string
	insertEvent     string
	updateHead      string
	claimDue        string
	insertCrossings string
	refreshTimer    string
}

// incidentColumns is the select list of an incident, in the order
// scanIncident reads it. The journal comes as four arrays from one lateral
// aggregate, the links as ordered arrays, all in the same statement as the
// row so that a read sees one snapshot.
const incidentColumns = `i.id, i.number, i.title, i.description, i.caller_id, i.caller_name, i.caller_roles,
	i.service, i.config_item, i.category, i.impact, i.urgency, i.priority, i.priority_overridden,
	i.state, i.hold_reason, i.assignment_group, i.assignee, i.resolution_code, i.resolution_notes,
	i.cancel_reason, i.opened_at, i.first_response_at, i.resolved_at, i.closed_at, i.updated_at,
	i.reopen_count, i.major, i.parent_id, i.version,
	ARRAY(SELECT p.problem_id FROM {s}.incident_problems p WHERE p.incident_id = i.id ORDER BY p.position),
	ARRAY(SELECT c.change_id FROM {s}.incident_changes c WHERE c.incident_id = i.id ORDER BY c.position),
	j.kinds, j.authors, j.ats, j.texts`

const incidentFrom = `FROM {s}.incidents i
	LEFT JOIN LATERAL (
		SELECT array_agg(e.kind ORDER BY e.position) AS kinds, array_agg(e.author ORDER BY e.position) AS authors,
		       array_agg(e.at ORDER BY e.position) AS ats, array_agg(e.text ORDER BY e.position) AS texts
		  FROM {s}.incident_journal e WHERE e.incident_id = i.id
	) j ON true`

const timerColumns = `t.id, t.incident_id, t.timer, t.stage, t.at_risk_at, t.breach_at, t.next_wake_at`

const eventColumns = `kind, record_id, sequence, actor_id, actor_name, actor_roles, at, action,
	from_state, to_state, changes, reason`

// The Create statement inserts the incident's scalar columns ($1..$29;
// version is set by the statement), then its journal and links, and locks
// its audit head. It returns how many incidents it inserted (0 or 1) and
// the head.
const createIncidentCTE = `WITH inc AS (
	INSERT INTO {s}.incidents (id, number, title, description, caller_id, caller_name, caller_roles,
		service, config_item, category, impact, urgency, priority, priority_overridden,
		state, hold_reason, assignment_group, assignee, resolution_code, resolution_notes,
		cancel_reason, opened_at, first_response_at, resolved_at, closed_at, updated_at,
		reopen_count, major, parent_id, version)
	VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20,
		$21, $22, $23, $24, $25, $26, $27, $28, $29, 1)
	ON CONFLICT DO NOTHING
	RETURNING id
)`

// The optional parts of the Create statement, each with its parameters
// (numbered by createSQL): only the non-empty ones are sent, so that the
// statement does not open tables it writes nothing to.
const (
	createJournalCTE = `, journal AS (
	INSERT INTO {s}.incident_journal (incident_id, position, kind, author, at, text)
	SELECT inc.id, e.n - 1, e.kind, e.author, e.at, e.text
	  FROM inc, unnest($%d::text[], $%d::text[], $%d::timestamptz[], $%d::text[]) WITH ORDINALITY AS e(kind, author, at, text, n)
)`
	createProblemsCTE = `, problems AS (
	INSERT INTO {s}.incident_problems (incident_id, position, problem_id)
	SELECT inc.id, e.n - 1, e.v FROM inc, unnest($%d::text[]) WITH ORDINALITY AS e(v, n)
)`
	createChangesCTE = `, changes AS (
	INSERT INTO {s}.incident_changes (incident_id, position, change_id)
	SELECT inc.id, e.n - 1, e.v FROM inc, unnest($%d::text[]) WITH ORDINALITY AS e(v, n)
)`
	createHeadTail = `, head AS (
	-- Lock the incident's audit head (creating it when missing) now, so
	-- that AppendEvents for the incident needs no round trip of its own.
	INSERT INTO {s}.audit_heads AS h (kind, record_id, sequence)
	SELECT 'incident', inc.id, 0 FROM inc
	ON CONFLICT (kind, record_id) DO UPDATE SET sequence = h.sequence
	RETURNING h.sequence, h.hash
)
SELECT (SELECT count(*) FROM inc), (SELECT sequence FROM head), (SELECT hash FROM head)`
)

// createSQL returns the Create statement for an incident that has a
// journal, problem links and change links or not (a bit each: 1, 2, 4),
// whose parameters are the 29 scalars and then, in that order, the four
// journal arrays, the problem IDs and the change IDs that are present.
func createSQL(parts int) string {
	var b strings.Builder
	b.WriteString(createIncidentCTE)
	n := 30
	if parts&1 != 0 {
		b.WriteString(fmt.Sprintf(createJournalCTE, n, n+1, n+2, n+3))
		n += 4
	}
	if parts&2 != 0 {
		b.WriteString(fmt.Sprintf(createProblemsCTE, n))
		n++
	}
	if parts&4 != 0 {
		b.WriteString(fmt.Sprintf(createChangesCTE, n))
	}
	b.WriteString(createHeadTail)
	return b.String()
}

// updateSQL replaces the incident when its version is $30, and its journal
// and links with it: rows past the new lengths are deleted, the others
// inserted or overwritten (only when they differ). When the version check
// fails, u is empty and nothing else happens either. It returns the new
// version and the incident's locked audit head.
const updateSQL = `WITH u AS (
	UPDATE {s}.incidents SET number = $2, title = $3, description = $4, caller_id = $5, caller_name = $6,
		caller_roles = $7, service = $8, config_item = $9, category = $10, impact = $11, urgency = $12,
		priority = $13, priority_overridden = $14, state = $15, hold_reason = $16, assignment_group = $17,
		assignee = $18, resolution_code = $19, resolution_notes = $20, cancel_reason = $21, opened_at = $22,
		first_response_at = $23, resolved_at = $24, closed_at = $25, updated_at = $26, reopen_count = $27,
		major = $28, parent_id = $29, version = version + 1
	 WHERE id = $1 AND version = $30
	RETURNING id, version
), journal_del AS (
	DELETE FROM {s}.incident_journal d USING u
	 WHERE d.incident_id = u.id AND d.position >= coalesce(cardinality($31::text[]), 0)
), journal AS (
	INSERT INTO {s}.incident_journal AS old (incident_id, position, kind, author, at, text)
	SELECT u.id, e.n - 1, e.kind, e.author, e.at, e.text
	  FROM u, unnest($31::text[], $32::text[], $33::timestamptz[], $34::text[]) WITH ORDINALITY AS e(kind, author, at, text, n)
	ON CONFLICT (incident_id, position) DO UPDATE
	   SET kind = excluded.kind, author = excluded.author, at = excluded.at, text = excluded.text
	 WHERE (old.kind, old.author, old.at, old.text) IS DISTINCT FROM (excluded.kind, excluded.author, excluded.at, excluded.text)
), problems_del AS (
	DELETE FROM {s}.incident_problems d USING u
	 WHERE d.incident_id = u.id AND d.position >= coalesce(cardinality($35::text[]), 0)
), problems AS (
	INSERT INTO {s}.incident_problems AS old (incident_id, position, problem_id)
	SELECT u.id, e.n - 1, e.v FROM u, unnest($35::text[]) WITH ORDINALITY AS e(v, n)
	ON CONFLICT (incident_id, position) DO UPDATE SET problem_id = excluded.problem_id
	 WHERE old.problem_id <> excluded.problem_id
), changes_del AS (
	DELETE FROM {s}.incident_changes d USING u
	 WHERE d.incident_id = u.id AND d.position >= coalesce(cardinality($36::text[]), 0)
), changes AS (
	INSERT INTO {s}.incident_changes AS old (incident_id, position, change_id)
	SELECT u.id, e.n - 1, e.v FROM u, unnest($36::text[]) WITH ORDINALITY AS e(v, n)
	ON CONFLICT (incident_id, position) DO UPDATE SET change_id = excluded.change_id
	 WHERE old.change_id <> excluded.change_id
), head AS (
	-- Lock the incident's audit head (creating it when missing) now, so
	-- that AppendEvents for the incident needs no round trip of its own.
	INSERT INTO {s}.audit_heads AS h (kind, record_id, sequence)
	SELECT 'incident', u.id, 0 FROM u
	ON CONFLICT (kind, record_id) DO UPDATE SET sequence = h.sequence
	RETURNING h.sequence, h.hash
)
SELECT u.version, head.sequence, head.hash FROM u, head`

func newQueries(schema string) queries {
	s := quoteIdent(schema)
	r := strings.NewReplacer("{s}", s)
	x := func(sql string) string { return r.Replace(sql) }
	sel := x("SELECT " + incidentColumns + "\n" + incidentFrom)
	q := queries{
		schema:         s,
		selectIncident: sel,
		getByID:        sel + " WHERE i.id = $1",
		getByNumber:    sel + " WHERE i.number = $1",
		children:       sel + " WHERE i.parent_id = $1 ORDER BY i.opened_at, i.id",
		resolvedBefore: sel + ` WHERE i.resolved_at IS NOT NULL AND i.closed_at IS NULL AND NOT i.major
			AND i.resolved_at < $1 ORDER BY i.resolved_at, i.id LIMIT $2`,
		timers: x("SELECT " + timerColumns + " FROM {s}.sla_timers t WHERE t.incident_id = $1 ORDER BY t.seq"),
		timersDue: x("SELECT " + timerColumns + ` FROM {s}.sla_timers t
			WHERE t.next_wake_at IS NOT NULL AND t.next_wake_at <= $1 ORDER BY t.next_wake_at, t.id, t.incident_id LIMIT $2`),
		history: x("SELECT " + eventColumns + ` FROM {s}.audit_events
			WHERE kind = $1 AND record_id = $2 ORDER BY sequence`),
		nextNumber: x(`INSERT INTO {s}.number_sequences AS n (kind, value) VALUES ($1, 1)
			ON CONFLICT (kind) DO UPDATE SET value = n.value + 1 RETURNING value`),
		update:    x(updateSQL),
		versionOf: x("SELECT version FROM {s}.incidents WHERE id = $1"),
		// One statement for all timers of a PutTimers call, inserted in
		// the call's order (which gives new timers their seq); a timer
		// already stored under the same incident and ID is replaced in
		// place. The foreign key refuses a timer of an incident that is
		// not stored.
		putTimers: x(`INSERT INTO {s}.sla_timers AS t (id, incident_id, timer, stage, at_risk_at, breach_at, next_wake_at)
			SELECT r.id, r.incident_id, r.timer::jsonb, r.stage, r.at_risk_at, r.breach_at, r.next_wake_at
			  FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::timestamptz[], $6::timestamptz[], $7::timestamptz[])
			       WITH ORDINALITY AS r(id, incident_id, timer, stage, at_risk_at, breach_at, next_wake_at, n)
			 ORDER BY r.n
			ON CONFLICT (incident_id, id) DO UPDATE SET timer = excluded.timer,
				stage = excluded.stage, at_risk_at = excluded.at_risk_at, breach_at = excluded.breach_at,
				next_wake_at = excluded.next_wake_at`),
		// The first of the incident IDs $1 that is not stored, after
		// putTimers was refused.
		missingIncident: x(`SELECT r.id FROM unnest($1::text[]) WITH ORDINALITY AS r(id, n)
			 WHERE NOT EXISTS (SELECT 1 FROM {s}.incidents i WHERE i.id = r.id)
			 ORDER BY r.n LIMIT 1`),
		// Lock (creating when missing) the heads of the records, in key
		// order so that concurrent appenders cannot deadlock, and return
		// their last sequence and hash.
		lockHeads: x(`INSERT INTO {s}.audit_heads AS h (kind, record_id, sequence)
			SELECT k.kind, k.record_id, 0 FROM unnest($1::text[], $2::text[]) AS k(kind, record_id)
			 ORDER BY k.kind COLLATE "C", k.record_id COLLATE "C"
			ON CONFLICT (kind, record_id) DO UPDATE SET sequence = h.sequence
			RETURNING h.kind, h.record_id, h.sequence, h.hash`),
		insertEvent: x(`INSERT INTO {s}.audit_events (` + eventColumns + `, prev_hash, hash)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)`),
		updateHead: x(`UPDATE {s}.audit_heads SET sequence = $3, hash = $4 WHERE kind = $1 AND record_id = $2`),
		claimDue: x("SELECT " + timerColumns + ` FROM {s}.sla_timers t
			WHERE t.next_wake_at IS NOT NULL AND t.next_wake_at <= $1 ORDER BY t.next_wake_at, t.id, t.incident_id LIMIT $2
			FOR UPDATE SKIP LOCKED`),
		insertCrossings: x(`INSERT INTO {s}.sla_crossings (incident_id, timer_id, cycle, basis_points, policy, metric, at, recorded_at)
			SELECT $1, $2, c.cycle, c.bp, $3, $4, c.at, $5
			  FROM unnest($6::integer[], $7::integer[], $8::timestamptz[]) WITH ORDINALITY AS c(cycle, bp, at, n)
			 ORDER BY c.n
			ON CONFLICT (incident_id, timer_id, cycle, basis_points) DO NOTHING
			RETURNING cycle, basis_points`),
		refreshTimer: x(`UPDATE {s}.sla_timers SET stage = $3, at_risk_at = $4, breach_at = $5, next_wake_at = $6
			WHERE incident_id = $1 AND id = $2`),
	}
	for parts := range q.create {
		q.create[parts] = x(createSQL(parts))
	}
	return q
}

// sql returns text with {s} replaced by the quoted schema, for statements
// built per call.
func (q *queries) sql(text string) string { return strings.ReplaceAll(text, "{s}", q.schema) }
