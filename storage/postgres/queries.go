package postgres

import (
	"regexp"
	"strconv"
	"strings"

	"github.com/itsmkit/itsmkit/storage/internal/sqlrec"
)

// queries holds the SQL of a Store with every table qualified by its
// schema, so that a Store works whatever the connection's search_path is
// (which matters for Join). The texts are fixed per Store, so pgx caches
// their prepared statements per connection.
type queries struct {
	schema string // quoted
	d      dialect

	get, getByNumber string
	journal          string
	links            string
	timers           string
	timersDue        string
	history          string
	nextNumber       string
	readOutbox       string
	createCheck      string
	create, createCI string
	createTimers     string
	createCITimers   string
	update           string
	conflictOf       string
	lockRecord       string
	journalLen       string
	appendJournal    string
	addLinks         string
	removeLinks      string
	lockLinkTypes    string
	putTimers        string
	refreshSummary   string
	lockRecords      string
	lockHeads        string
	appendEvents     string
	appendEvents1    string
	appendEvents1New string
	updateHead       string
	insertHead       string
	claim            string
	ack              string
	claimDue         string
	insertCrossings  string
	refreshTimer     string
	existingObjects  string
}

// recordColumns is what Get, GetByNumber and List read of a record (alias
// r): its document. getColumns adds its timers' summaries from one
// lateral aggregate, so that Get reads the record and its summary in one
// statement and one snapshot.
const (
	recordColumns = "r.doc"
	getColumns    = `r.doc, s.ids, s.policies, s.kinds, s.metrics, s.stages, s.at_risks, s.breaches, s.wakes`
	getFrom       = `FROM {s}.records r LEFT JOIN LATERAL (
	SELECT array_agg(t.id ORDER BY t.seq) AS ids, array_agg(t.policy ORDER BY t.seq) AS policies,
	       array_agg(t.policy_kind ORDER BY t.seq) AS kinds, array_agg(t.metric ORDER BY t.seq) AS metrics,
	       array_agg(t.stage ORDER BY t.seq) AS stages, array_agg(t.at_risk_at ORDER BY t.seq) AS at_risks,
	       array_agg(t.breach_at ORDER BY t.seq) AS breaches, array_agg(t.next_wake_at ORDER BY t.seq) AS wakes
	  FROM {s}.sla_timers t WHERE t.kind = r.kind AND t.record_id = r.id
) s ON true`
)

// timerColumns is what a timer read scans (alias t), in scanTimer's order.
const timerColumns = `t.kind, t.record_id, t.id, t.policy_kind, t.timer, t.stage, t.at_risk_at, t.breach_at, t.next_wake_at`

// eventColumns is what an audit event read scans, in scanEvent's order.
const eventColumns = `kind, record_id, sequence, actor_id, actor_name, actor_roles, at, action,
	from_state, to_state, changes, reason`

// recordValues are the 24 columns Create writes, in recordArgs' order.
const recordValues = `kind, id, number, title, description, state, state_category, impact, urgency, priority,
	requester_id, assignment_group, assignee, service, category, parent_kind, parent_id, major,
	opened_at, updated_at, resolved_at, closed_at, version, doc`

// createCheckSQL looks for a record of the kind ($1) with the ID ($2) or
// the number ($3), and for an audit head of the ID. It returns whether a
// record was found and whether a head was.
//
// The probes are separate so that each reads its unique index, whatever
// plan the statement is given.
const createCheckSQL = `SELECT EXISTS (SELECT 1 FROM {s}.records WHERE kind = $1 AND id = $2)
    OR EXISTS (SELECT 1 FROM {s}.records WHERE kind = $1 AND number = $3),
       EXISTS (SELECT 1 FROM {s}.audit_heads WHERE kind = $1 AND record_id = $2)`

// createSQL inserts the record ($1..$24) with its SLA summary ($25..$27);
// createCISQL its configuration items ($28) too.
const (
	createSQL = `INSERT INTO {s}.records (` + recordValues + `, sla_wake_at, sla_breach_at, sla_at_risk_at)
	VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23, $24::jsonb,
		$25::timestamptz, $26::timestamptz, $27::timestamptz)`
	createCISQL = `WITH ins AS (` + createSQL + `
	RETURNING kind, id, opened_at
)
INSERT INTO {s}.record_config_items (kind, record_id, config_item, opened_at)
SELECT ins.kind, ins.id, c.item, ins.opened_at FROM ins, unnest($28::text[]) AS c(item)`
)

// appendEventsSQL inserts the events ($1..$14) and their outbox messages
// ($15) in one statement that reads no table (%s takes more CTEs). The
// actor's roles travel as JSON arrays, one per event.
const appendEventsSQL = `WITH e AS (
	SELECT * FROM unnest($1::text[], $2::text[], $3::bigint[], $4::text[], $5::text[], $6::text[], $7::timestamptz[],
		$8::text[], $9::text[], $10::text[], $11::text[], $12::text[], $13::bytea[], $14::bytea[], $15::text[])
		WITH ORDINALITY AS e(kind, record_id, sequence, actor_id, actor_name, roles, at, action, from_state, to_state,
			changes, reason, prev_hash, hash, message, n)
), ins AS (
	INSERT INTO {s}.audit_events (` + eventColumns + `, prev_hash, hash)
	SELECT kind, record_id, sequence, actor_id, actor_name, ARRAY(SELECT jsonb_array_elements_text(roles::jsonb)), at,
		action, from_state, to_state, changes::jsonb, reason, prev_hash, hash
	  FROM e ORDER BY n
)%s
INSERT INTO {s}.outbox (kind, record_id, sequence, event)
SELECT kind, record_id, sequence, message::json FROM e ORDER BY n`

// putTimersSQL saves the timers of a PutTimers call ($1..$11), inserted
// in the call's order (which gives new timers their seq); a timer already
// stored under the same record and ID is replaced in place. The foreign
// key refuses a timer of a record that is not stored. Each timer takes
// its record's opening instant from {opened}: putTimersOpened reads the
// stored record; createTimers and createCITimers, which insert the record
// in the same statement, put its RETURNING row there.
const putTimersSQL = `INSERT INTO {s}.sla_timers AS t (kind, record_id, id, policy, policy_kind, metric, timer, stage, at_risk_at, breach_at, next_wake_at, opened_at)
SELECT r.kind, r.record_id, r.id, r.policy, r.policy_kind, r.metric, r.timer::json, r.stage, r.at_risk_at, r.breach_at, r.next_wake_at, {opened}
  FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::integer[], $6::text[], $7::text[], $8::text[],
              $9::timestamptz[], $10::timestamptz[], $11::timestamptz[])
       WITH ORDINALITY AS r(kind, record_id, id, policy, policy_kind, metric, timer, stage, at_risk_at, breach_at, next_wake_at, n)
 ORDER BY r.n
ON CONFLICT (kind, record_id, id) DO UPDATE SET policy = excluded.policy, policy_kind = excluded.policy_kind,
	metric = excluded.metric, timer = excluded.timer, stage = excluded.stage, at_risk_at = excluded.at_risk_at,
	breach_at = excluded.breach_at, next_wake_at = excluded.next_wake_at, opened_at = excluded.opened_at`

// putTimersOpened is the {opened} of putTimersSQL for stored records.
const putTimersOpened = "(SELECT o.opened_at FROM {s}.records o WHERE o.kind = r.kind AND o.id = r.record_id)"

// putTimersFrom returns putTimersSQL with opened for {opened}.
func putTimersFrom(opened string) string { return strings.Replace(putTimersSQL, "{opened}", opened, 1) }

// shiftParams returns sql with each placeholder $n renumbered $n+by.
func shiftParams(sql string, by int) string {
	return paramRE.ReplaceAllStringFunc(sql, func(p string) string {
		n, _ := strconv.Atoi(p[1:])
		return "$" + strconv.Itoa(n+by)
	})
}

var paramRE = regexp.MustCompile(`\$[0-9]+`)

// updateSQL replaces the record when its version is $25 and no other
// record of the kind holds its number, bringing its configuration items
// ($26) up to date: rows of items it no longer has are deleted, rows whose
// opening instant changed are updated and new ones inserted. It locks the
// record's audit head like createCheckSQL. When the record is not
// updated, u is empty and nothing else happens either. It returns the new
// version and the head.
const updateSQL = `WITH u AS (
	UPDATE {s}.records SET number = $3, title = $4, description = $5, state = $6, state_category = $7,
		impact = $8, urgency = $9, priority = $10, requester_id = $11, assignment_group = $12, assignee = $13,
		service = $14, category = $15, parent_kind = $16, parent_id = $17, major = $18, opened_at = $19,
		updated_at = $20, resolved_at = $21, closed_at = $22, version = $23, doc = $24::jsonb
	 WHERE kind = $1 AND id = $2 AND version = $25
	   AND NOT EXISTS (SELECT 1 FROM {s}.records o WHERE o.kind = $1 AND o.number = $3 AND o.id <> $2)
	RETURNING kind, id, version, opened_at
), ci_del AS (
	DELETE FROM {s}.record_config_items c USING u
	 WHERE c.kind = u.kind AND c.record_id = u.id AND NOT (c.config_item = ANY ($26::text[]))
), ci_upd AS (
	UPDATE {s}.record_config_items c SET opened_at = u.opened_at FROM u
	 WHERE c.kind = u.kind AND c.record_id = u.id AND c.config_item = ANY ($26::text[]) AND c.opened_at <> u.opened_at
), ci_ins AS (
	INSERT INTO {s}.record_config_items (kind, record_id, config_item, opened_at)
	SELECT u.kind, u.id, c.item, u.opened_at FROM u, unnest($26::text[]) AS c(item)
	ON CONFLICT DO NOTHING
), head AS (
	INSERT INTO {s}.audit_heads AS h (kind, record_id, sequence)
	SELECT kind, id, 0 FROM u
	ON CONFLICT (kind, record_id) DO UPDATE SET sequence = h.sequence
	RETURNING h.sequence, h.hash
)
SELECT u.version, head.sequence, head.hash FROM u, head`

func newQueries(schema string) queries {
	s := quoteIdent(schema)
	r := strings.NewReplacer("{s}", s)
	x := func(sql string) string { return r.Replace(sql) }
	d := dialect{schema: s}
	sel := x("SELECT " + getColumns + "\n" + getFrom)
	return queries{
		schema:      s,
		d:           d,
		get:         sel + " WHERE r.kind = $1 AND r.id = $2",
		getByNumber: sel + " WHERE r.kind = $1 AND r.number = $2",
		journal: x(`SELECT entry_kind, author, at, text FROM {s}.record_journal
			WHERE kind = $1 AND record_id = $2 ORDER BY position`),
		// Both ends, in the order the links were added: each half reads
		// its own index. No link has both ends the same (CheckLinks), so
		// no link is read twice.
		links: x(`SELECT type, from_kind, from_id, to_kind, to_id, created_at, created_by FROM (
			SELECT * FROM {s}.record_links WHERE from_kind = $1 AND from_id = $2
			UNION ALL
			SELECT * FROM {s}.record_links WHERE to_kind = $1 AND to_id = $2) l ORDER BY seq`),
		timers: x("SELECT " + timerColumns + " FROM {s}.sla_timers t WHERE t.kind = $1 AND t.record_id = $2 ORDER BY t.seq"),
		// The due timers lie in the records whose earliest wake-up is at
		// or before $1. The $2 earliest of them lie in the records whose
		// earliest wake-up is at most the $2-th smallest such wake-up: a
		// record past it has at least $2 timers of other records due
		// before each of its own. So the statement reads about $2 records
		// through records_sla_wake_idx and their timers through the
		// primary key, however many timers are due.
		//
		// The timers are read per record (a LATERAL subquery that OFFSET 0
		// keeps from being flattened into a join), so that the planner,
		// which cannot tell how many records the bound selects, never
		// scans the timers of all records.
		timersDue: x("SELECT " + timerColumns + ` FROM {s}.records r
			CROSS JOIN LATERAL (SELECT * FROM {s}.sla_timers s
				WHERE s.kind = r.kind AND s.record_id = r.id AND s.next_wake_at <= $1 OFFSET 0) t
			WHERE r.sla_wake_at IS NOT NULL
			  AND r.sla_wake_at <= coalesce((SELECT w.sla_wake_at FROM {s}.records w
				WHERE w.sla_wake_at IS NOT NULL AND w.sla_wake_at <= $1 ORDER BY w.sla_wake_at OFFSET $2 - 1 LIMIT 1), $1)
			ORDER BY t.next_wake_at, t.id, t.kind, t.record_id LIMIT $2`),
		// The next number of the sequence named $1, or NULL when there is
		// no such sequence (without failing the transaction).
		nextNumber: `SELECT CASE WHEN to_regclass($1::text) IS NOT NULL THEN nextval($1::text::regclass) END`,
		history: x("SELECT " + eventColumns + ` FROM {s}.audit_events
			WHERE kind = $1 AND record_id = $2 ORDER BY sequence`),
		// Rows of transactions older than the oldest one still running
		// only (see the package documentation), in (xid, id) order from
		// just after the cursor ($1, $2).
		readOutbox: x(`SELECT xid::text, id, event FROM {s}.outbox
			WHERE (xid, id) > ($1::text::xid8, $2) AND xid < pg_snapshot_xmin(pg_current_snapshot())
			ORDER BY xid, id LIMIT $3`),
		createCheck: x(createCheckSQL),
		create:      x(createSQL),
		createCI:    x(createCISQL),
		update:      x(updateSQL),
		// Why an update did not happen: the stored version, and whether
		// another record holds the number.
		conflictOf: x(`SELECT version, EXISTS (SELECT 1 FROM {s}.records o WHERE o.kind = $1 AND o.number = $3 AND o.id <> $2)
			FROM {s}.records WHERE kind = $1 AND id = $2`),
		// The row lock that makes the transaction the record's only
		// writer of journal entries until it ends; it does not block the
		// foreign key checks of timers.
		lockRecord: x(`SELECT 1 FROM {s}.records WHERE kind = $1 AND id = $2 FOR NO KEY UPDATE`),
		// The length of a journal (positions run from 0 without gaps),
		// read once the record's row is locked: a statement of its own,
		// so that its snapshot sees what appenders committed while the
		// lock was awaited.
		journalLen: x(`SELECT coalesce(max(position) + 1, 0) FROM {s}.record_journal WHERE kind = $1 AND record_id = $2`),
		// Entries go after the last one; the caller holds the record's
		// row lock, so no other transaction appends meanwhile.
		appendJournal: x(`INSERT INTO {s}.record_journal (kind, record_id, position, entry_kind, author, at, text)
			SELECT $1, $2, p.next + e.n - 1, e.kind, e.author, e.at, e.text
			  FROM (SELECT coalesce(max(position) + 1, 0) AS next FROM {s}.record_journal WHERE kind = $1 AND record_id = $2) p,
			       unnest($3::text[], $4::text[], $5::timestamptz[], $6::text[]) WITH ORDINALITY AS e(kind, author, at, text, n)
			 ORDER BY e.n`),
		// addLinks stores the links $1..$7 unless an end is not stored or
		// a link is stored already (or given twice): it returns the first
		// missing end, the first duplicate, and how many links it stored.
		addLinks: x(`WITH l AS (
			SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::timestamptz[], $7::text[])
				WITH ORDINALITY AS l(type, from_kind, from_id, to_kind, to_id, created_at, created_by, n)
		), ends AS (
			SELECT e.kind, e.id, l.n * 2 + e.side AS pos FROM l, LATERAL (VALUES (l.from_kind, l.from_id, 0), (l.to_kind, l.to_id, 1)) AS e(kind, id, side)
		), missing AS (
			SELECT e.kind, e.id FROM ends e
			 WHERE NOT EXISTS (SELECT 1 FROM {s}.records r WHERE r.kind = e.kind AND r.id = e.id)
			 ORDER BY e.pos LIMIT 1
		), dup AS (
			SELECT l.n FROM l
			 WHERE EXISTS (SELECT 1 FROM {s}.record_links k WHERE k.type = l.type AND k.from_kind = l.from_kind
				AND k.from_id = l.from_id AND k.to_kind = l.to_kind AND k.to_id = l.to_id)
			    OR EXISTS (SELECT 1 FROM l m WHERE m.n < l.n AND m.type = l.type AND m.from_kind = l.from_kind
				AND m.from_id = l.from_id AND m.to_kind = l.to_kind AND m.to_id = l.to_id)
			 ORDER BY l.n LIMIT 1
		), ins AS (
			INSERT INTO {s}.record_links (type, from_kind, from_id, to_kind, to_id, created_at, created_by)
			SELECT type, from_kind, from_id, to_kind, to_id, created_at, created_by FROM l
			 WHERE NOT EXISTS (SELECT 1 FROM missing) AND NOT EXISTS (SELECT 1 FROM dup)
			 ORDER BY n
			ON CONFLICT DO NOTHING
			RETURNING 1
		)
		SELECT (SELECT kind FROM missing), (SELECT id FROM missing), (SELECT n FROM dup), (SELECT count(*) FROM ins)`),
		// removeLinks removes the links $1..$5 unless one is not stored:
		// it returns the first such and how many links it removed.
		removeLinks: x(`WITH l AS (
			SELECT DISTINCT ON (type, from_kind, from_id, to_kind, to_id) *
			  FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[])
				WITH ORDINALITY AS l(type, from_kind, from_id, to_kind, to_id, n)
			 ORDER BY type, from_kind, from_id, to_kind, to_id, n
		), missing AS (
			SELECT l.n FROM l WHERE NOT EXISTS (SELECT 1 FROM {s}.record_links k WHERE k.type = l.type
				AND k.from_kind = l.from_kind AND k.from_id = l.from_id AND k.to_kind = l.to_kind AND k.to_id = l.to_id)
			 ORDER BY l.n LIMIT 1
		), del AS (
			DELETE FROM {s}.record_links k USING l
			 WHERE NOT EXISTS (SELECT 1 FROM missing) AND k.type = l.type AND k.from_kind = l.from_kind
			   AND k.from_id = l.from_id AND k.to_kind = l.to_kind AND k.to_id = l.to_id
			RETURNING 1
		)
		SELECT (SELECT n FROM missing), (SELECT count(*) FROM del), (SELECT count(*) FROM l)`),
		// The advisory locks of the keys $1, one per distinct key, in
		// key order.
		lockLinkTypes: `SELECT pg_advisory_xact_lock(hashtextextended(k, 0))
			FROM (SELECT DISTINCT k FROM unnest($1::text[]) AS k) d ORDER BY k COLLATE "C"`,
		putTimers: x(putTimersFrom(putTimersOpened)),
		// createTimers and createCITimers are create and createCI with
		// the first PutTimers of the record ($28.. or $29..): its timers
		// go with the record in one statement (their foreign key is
		// checked once the statement has inserted both).
		createTimers: x(`WITH ins AS (` + createSQL + `
	RETURNING opened_at
) ` + shiftParams(putTimersFrom("(SELECT ins.opened_at FROM ins)"), 27)),
		createCITimers: x(`WITH ins AS (` + createSQL + `
	RETURNING kind, id, opened_at
), ci AS (
	INSERT INTO {s}.record_config_items (kind, record_id, config_item, opened_at)
	SELECT ins.kind, ins.id, c.item, ins.opened_at FROM ins, unnest($28::text[]) AS c(item)
) ` + shiftParams(putTimersFrom("(SELECT ins.opened_at FROM ins)"), 28)),
		refreshSummary: sqlrec.RefreshSummary(d),
		// Lock the stored ones of the records ($1 kinds, $2 IDs) in key
		// order and return them.
		lockRecords: x(`SELECT r.kind, r.id FROM {s}.records r JOIN unnest($1::text[], $2::text[]) AS k(kind, id)
			ON r.kind = k.kind AND r.id = k.id
			ORDER BY r.kind, r.id FOR NO KEY UPDATE OF r`),
		// Lock (creating when missing) the heads of the records, in key
		// order so that concurrent appenders cannot deadlock, and return
		// their last sequence and hash.
		lockHeads: x(`INSERT INTO {s}.audit_heads AS h (kind, record_id, sequence)
			SELECT k.kind, k.record_id, 0 FROM unnest($1::text[], $2::text[]) AS k(kind, record_id)
			 ORDER BY k.kind COLLATE "C", k.record_id COLLATE "C"
			ON CONFLICT (kind, record_id) DO UPDATE SET sequence = h.sequence
			RETURNING h.kind, h.record_id, h.sequence, h.hash`),
		appendEvents: x(strings.Replace(appendEventsSQL, "%s", "", 1)),
		// appendEvents1 is appendEvents for the events of one record,
		// which moves its head ($16..$19) too.
		appendEvents1: x(strings.Replace(appendEventsSQL, "%s", `, hd AS (
			UPDATE {s}.audit_heads SET sequence = $18, hash = $19 WHERE kind = $16 AND record_id = $17
		)`, 1)),
		// appendEvents1New is appendEvents1 for a record created in the
		// transaction, whose head has no row yet.
		appendEvents1New: x(strings.Replace(appendEventsSQL, "%s", `, hd AS (
			INSERT INTO {s}.audit_heads (kind, record_id, sequence, hash) VALUES ($16, $17, $18, $19)
		)`, 1)),
		// updateHead moves a head the transaction holds locked.
		updateHead: x(`UPDATE {s}.audit_heads SET sequence = $3, hash = $4 WHERE kind = $1 AND record_id = $2`),
		// insertHead stores the first head of a record created in the
		// transaction.
		insertHead: x(`INSERT INTO {s}.audit_heads (kind, record_id, sequence, hash) VALUES ($1, $2, $3, $4)`),
		// claim leases up to $4 messages to consumer $1 at $2 until $3:
		// the oldest that it has not acknowledged or buried and that no
		// instance of it holds a live lease on. The upsert takes each
		// message only when, once it holds the claim's row lock, the claim
		// is still neither acknowledged nor dead and its lease has run
		// out, so two claimers of one consumer never both get a message.
		claim: x(`WITH cand AS (
			SELECT o.id FROM {s}.outbox o
			 WHERE NOT EXISTS (SELECT 1 FROM {s}.outbox_claims c
				WHERE c.consumer = $1 AND c.message_id = o.id AND (c.acked OR c.lease_until > $2 OR c.dead_at IS NOT NULL))
			 ORDER BY o.id LIMIT $4
		), claimed AS (
			INSERT INTO {s}.outbox_claims AS c (consumer, message_id, lease_until, attempts, acked)
			SELECT $1, id, $3, 1, false FROM cand ORDER BY id
			ON CONFLICT (consumer, message_id) DO UPDATE SET lease_until = excluded.lease_until, attempts = c.attempts + 1
			 WHERE NOT c.acked AND c.lease_until <= $2 AND c.dead_at IS NULL
			RETURNING c.message_id, c.attempts
		)
		SELECT o.id, o.event, claimed.attempts FROM claimed JOIN {s}.outbox o ON o.id = claimed.message_id ORDER BY o.id`),
		// ack acknowledges messages $2 for consumer $1, dead letters
		// included, unless one is not in the outbox: it returns the first
		// such.
		ack: x(`WITH ids AS (
			SELECT DISTINCT ON (id) id, n FROM unnest($2::bigint[]) WITH ORDINALITY AS i(id, n) ORDER BY id, n
		), missing AS (
			SELECT ids.id FROM ids WHERE NOT EXISTS (SELECT 1 FROM {s}.outbox o WHERE o.id = ids.id) ORDER BY ids.n LIMIT 1
		), acked AS (
			INSERT INTO {s}.outbox_claims AS c (consumer, message_id, lease_until, attempts, acked)
			SELECT $1, id, '-infinity', 0, true FROM ids WHERE NOT EXISTS (SELECT 1 FROM missing) ORDER BY id
			ON CONFLICT (consumer, message_id) DO UPDATE SET acked = true, dead_at = NULL
		)
		SELECT (SELECT id FROM missing)`),
		// claimDue locks up to $2 records with a wake-up at or before $1,
		// skipping records another transaction holds, and returns up to
		// $2 of their due timers, earliest first.
		claimDue: x(`WITH due AS (
			SELECT kind, id FROM {s}.records
			 WHERE sla_wake_at IS NOT NULL AND sla_wake_at <= $1
			 ORDER BY sla_wake_at LIMIT $2
			 FOR NO KEY UPDATE SKIP LOCKED
		)
		SELECT ` + timerColumns + ` FROM due JOIN {s}.sla_timers t ON t.kind = due.kind AND t.record_id = due.id
		 WHERE t.next_wake_at <= $1
		 ORDER BY t.next_wake_at, t.id, t.kind, t.record_id LIMIT $2`),
		insertCrossings: x(`INSERT INTO {s}.sla_crossings (kind, record_id, timer_id, cycle, basis_points, policy, metric, at, recorded_at)
			SELECT $1, $2, $3, c.cycle, c.bp, $4, $5, c.at, $6
			  FROM unnest($7::integer[], $8::integer[], $9::timestamptz[]) WITH ORDINALITY AS c(cycle, bp, at, n)
			 ORDER BY c.n
			ON CONFLICT (kind, record_id, timer_id, cycle, basis_points) DO NOTHING
			RETURNING cycle, basis_points`),
		refreshTimer: x(`UPDATE {s}.sla_timers SET stage = $4, at_risk_at = $5, breach_at = $6, next_wake_at = $7
			WHERE kind = $1 AND record_id = $2 AND id = $3`),
		// Which of the relations and statistics objects named $2 exist in
		// the schema $1.
		existingObjects: `SELECT c.relname::text FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
			WHERE n.nspname = $1 AND c.relname = ANY ($2::text[])
			UNION ALL
			SELECT x.stxname::text FROM pg_catalog.pg_statistic_ext x JOIN pg_catalog.pg_namespace n ON n.oid = x.stxnamespace
			WHERE n.nspname = $1 AND x.stxname = ANY ($2::text[])`,
	}
}

// sql returns text with {s} replaced by the quoted schema, for statements
// built per call.
func (q *queries) sql(text string) string { return strings.ReplaceAll(text, "{s}", q.schema) }

// sequenceName returns the unquoted name of the number sequence of kind,
// a name record.ValidKind accepts.
func sequenceName(kind string) string { return "records_number_" + kind }

// quoteIdent quotes a validated identifier.
func quoteIdent(name string) string { return `"` + strings.ReplaceAll(name, `"`, `""`) + `"` }
