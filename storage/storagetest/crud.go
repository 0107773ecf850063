package storagetest

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/itsmkit/itsmkit/itsm"
	"github.com/itsmkit/itsmkit/record"
	"github.com/itsmkit/itsmkit/sla"
)

// refusedInTx runs call in a transaction and hands its error to check;
// then, in the same transaction, it creates a canary record (a new, valid
// record of the kind under test) and commits. A refused call must leave
// the transaction usable, so the canary must be stored afterwards.
// requireOnly counts the canaries in.
func (e *env) refusedInTx(call func(ctx context.Context, tx record.Tx) error, check func(err error)) {
	e.t.Helper()
	c := e.gen.record(9000 + len(e.canaries))
	c.ID = fmt.Sprintf("st-canary-%d", len(e.canaries))
	c.Number = fmt.Sprintf("%s-CANARY-%d", e.schema.Prefix(), len(e.canaries))
	e.tx(func(ctx context.Context, tx record.Tx) {
		check(call(ctx, tx))
		require.NoError(e.t, tx.Create(ctx, c), "the transaction must stay usable after a refused call")
	})
	e.get(c.Ref())
	e.canaries = append(e.canaries, c.Ref())
}

// listAll returns every committed record of kind in List order.
func (e *env) listAll(r record.Reader, kind string) []*record.Record {
	e.t.Helper()
	var all []*record.Record
	q := record.Query{Kind: kind, Limit: record.MaxPageSize}
	for i := 0; ; i++ {
		require.Less(e.t, i, 1000, "List does not come to an end")
		page, err := r.List(e.ctx, q)
		require.NoError(e.t, err)
		all = append(all, page.Records...)
		if page.Next == "" {
			return all
		}
		q.After = page.Next
	}
}

// requireOnly fails unless the committed records of kind are exactly
// want, in any order, and the canaries of refusedInTx.
func (e *env) requireOnly(kind string, want ...record.Ref) {
	e.t.Helper()
	got := refs(e.listAll(e.store, kind))
	less := func(a, b record.Ref) int { return strings.Compare(a.String(), b.String()) }
	slices.SortFunc(got, less)
	want = slices.Clone(want)
	if kind == e.gen.kind() {
		want = append(want, e.canaries...)
	}
	slices.SortFunc(want, less)
	require.Equal(e.t, want, got, "records of %s", kind)
}

// full returns the i-th record with every header field and every
// declared attribute set.
func (e *env) full(i int) *record.Record {
	rec := e.gen.record(i)
	r := e.gen.rng(i + 7000)
	rec.Title = "Mail relay down: 50% of the users_ cannot send"
	rec.Description = "Users cannot send mail.\nThe relay answers 451."
	rec.Impact, rec.Urgency, rec.Priority = itsm.ImpactHigh, itsm.UrgencyMedium, itsm.PriorityHigh
	rec.Requester = itsm.Actor{ID: "ann", Name: "Ann Ødegård", Roles: []itsm.Role{"employee", "vip"}}
	rec.AssignmentGroup, rec.Assignee = "network-ops", "dave"
	rec.Watchers = []string{"ivy", "gina"}
	rec.Service, rec.Category = "email", "network"
	rec.ConfigItems = []string{"mx-02", "mx-01", "fw-01"}
	rec.Parent = record.Ref{Kind: e.other.Kind(), ID: e.gen.id(i)}
	rec.Major = true
	rec.OpenedAt = t0.Add(123456 * time.Microsecond)
	rec.UpdatedAt = t0.Add(50 * time.Hour)
	rec.ResolvedAt = t0.Add(2*time.Hour + time.Microsecond)
	rec.ClosedAt = t0.Add(50 * time.Hour)
	rec.Attrs = make(map[string]record.Value)
	for _, a := range e.gen.attrs {
		rec.Attrs[a.Name] = attrValue(a, r)
	}
	rec.Body = []byte(`{"v":1, "resolution": {"code": "solved", "notes": "Restarted the relay."}, "list": [1, 2.5, "x", true, null]}`)
	return rec
}

var createChecks = []check{
	{"Version", func(e *env) {
		rec := e.full(1)
		rec.Version = 42 // Create must ignore it
		want := rec.Clone()
		want.Version = 1
		e.create(rec)
		require.Equal(e.t, int64(1), rec.Version, "Create sets rec.Version to 1")
		requireRecord(e.t, want, e.get(rec.Ref()))
	}},
	{"DuplicateID", func(e *env) {
		first := e.fixture(1)
		e.create(first)
		dup := e.fixture(2)
		dup.ID = first.ID
		e.refusedInTx(func(ctx context.Context, tx record.Tx) error { return tx.Create(ctx, dup) },
			func(err error) { require.ErrorIs(e.t, err, itsm.ErrConflict) })
		requireRecord(e.t, first, e.get(first.Ref()))
		_, err := e.store.GetByNumber(e.ctx, e.gen.kind(), dup.Number)
		requireNotFound(e.t, err, e.gen.kind(), dup.Number)
		e.requireOnly(e.gen.kind(), first.Ref())
	}},
	{"DuplicateNumber", func(e *env) {
		first := e.fixture(1)
		e.create(first)
		dup := e.fixture(2)
		dup.Number = first.Number
		e.refusedInTx(func(ctx context.Context, tx record.Tx) error { return tx.Create(ctx, dup) },
			func(err error) { require.ErrorIs(e.t, err, itsm.ErrConflict) })
		_, err := e.store.Get(e.ctx, dup.Ref())
		requireNotFound(e.t, err, dup.Kind, dup.ID)
		got, err := e.store.GetByNumber(e.ctx, e.gen.kind(), first.Number)
		require.NoError(e.t, err)
		requireRecord(e.t, first, got)
		e.requireOnly(e.gen.kind(), first.Ref())
	}},
	{"DuplicateInSameTx", func(e *env) {
		a, b := e.fixture(1), e.fixture(2)
		b.Number = a.Number
		e.tx(func(ctx context.Context, tx record.Tx) {
			require.NoError(e.t, tx.Create(ctx, a))
			require.ErrorIs(e.t, tx.Create(ctx, b), itsm.ErrConflict)
			got, err := tx.Get(ctx, a.Ref())
			require.NoError(e.t, err, "a refused Create keeps the earlier writes of its transaction")
			requireRecord(e.t, a, got)
		})
		e.requireOnly(e.gen.kind(), a.Ref())
	}},
	{"SameIDInTwoKinds", func(e *env) {
		// IDs and numbers are unique within a kind only.
		mine := e.fixture(1)
		theirs := e.og.record(1)
		theirs.ID, theirs.Number = mine.ID, mine.Number
		e.create(mine, theirs)
		requireRecord(e.t, mine, e.get(mine.Ref()))
		requireRecord(e.t, theirs, e.get(theirs.Ref()))
		for _, want := range []*record.Record{mine, theirs} {
			got, err := e.store.GetByNumber(e.ctx, want.Kind, want.Number)
			require.NoError(e.t, err)
			requireRecord(e.t, want, got)
		}
		e.requireOnly(mine.Kind, mine.Ref())
		e.requireOnly(theirs.Kind, theirs.Ref())
	}},
	{"Validation/Keys", func(e *env) {
		for _, tc := range keyCases(e) {
			rec := e.fixture(1)
			tc.edit(rec)
			require.Error(e.t, record.CheckKeys(rec), "storagetest: fixture %s passes CheckKeys", tc.name)
			e.refusedInTx(func(ctx context.Context, tx record.Tx) error { return tx.Create(ctx, rec) },
				func(err error) { requireValidation(e.t, err, tc.name) })
		}
		e.requireOnly(e.gen.kind())
	}},
	{"Validation/Schema", func(e *env) {
		for _, tc := range schemaCases(e) {
			rec := e.fixture(1)
			tc.edit(rec)
			require.NoError(e.t, record.CheckKeys(rec), "storagetest: fixture %s fails CheckKeys", tc.name)
			require.Error(e.t, e.schema.Check(rec), "storagetest: fixture %s passes Schema.Check", tc.name)
			e.refusedInTx(func(ctx context.Context, tx record.Tx) error { return tx.Create(ctx, rec) },
				func(err error) { requireValidation(e.t, err, tc.name) })
		}
		e.requireOnly(e.gen.kind())
	}},
	{"Validation/UndeclaredKind", func(e *env) {
		rec := e.fixture(1)
		rec.Kind = "storagetest_undeclared"
		e.refusedInTx(func(ctx context.Context, tx record.Tx) error { return tx.Create(ctx, rec) },
			func(err error) { requireValidation(e.t, err) })
		_, err := e.store.List(e.ctx, record.Query{Kind: rec.Kind})
		requireValidation(e.t, err, "List of an undeclared kind")
		e.requireOnly(e.gen.kind())
	}},
}

// editCase is one way to spoil a valid record.
type editCase struct {
	name string
	edit func(r *record.Record)
}

// keyCases returns edits that make a record fail record.CheckKeys.
func keyCases(e *env) []editCase {
	long := strings.Repeat("é", record.MaxIDLen/2+1)
	return []editCase{
		{"NoID", func(r *record.Record) { r.ID = "" }},
		{"LongID", func(r *record.Record) { r.ID = long }},
		{"NoNumber", func(r *record.Record) { r.Number = "" }},
		{"LongNumber", func(r *record.Record) { r.Number = long }},
		{"NoState", func(r *record.Record) { r.State = "" }},
		{"NoStateCategory", func(r *record.Record) { r.StateCategory = 0 }},
		{"TitleNotUTF8", func(r *record.Record) { r.Title = "bad \xff title" }},
		{"DescriptionNUL", func(r *record.Record) { r.Description = "nul \x00 byte" }},
		{"AssigneeTooLong", func(r *record.Record) { r.Assignee = long }},
		{"EmptyConfigItem", func(r *record.Record) { r.ConfigItems = []string{"mx-01", ""} }},
		{"EmptyWatcher", func(r *record.Record) { r.Watchers = []string{""} }},
		{"NoOpenedAt", func(r *record.Record) { r.OpenedAt = time.Time{} }},
		{"ClosedAfter9999", func(r *record.Record) { r.ClosedAt = time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC) }},
		{"HalfParent", func(r *record.Record) { r.Parent = record.Ref{ID: e.gen.id(2)} }},
		{"OwnParent", func(r *record.Record) { r.Parent = r.Ref() }},
		{"BodyNotJSON", func(r *record.Record) { r.Body = []byte(`{"v": 1`) }},
		{"BodyNotUTF8", func(r *record.Record) { r.Body = []byte("{\"v\": \"\xff\"}") }},
		{"BodyEscapesNUL", func(r *record.Record) { r.Body = []byte(`{"v": "a\u0000b"}`) }},
		{"BodyLoneSurrogate", func(r *record.Record) { r.Body = []byte(`{"v": "\ud800"}`) }},
		{"PrioritySix", func(r *record.Record) { r.Priority = 6 }},
		{"NegativeImpact", func(r *record.Record) { r.Impact = -1 }},
		{"EmptyRole", func(r *record.Record) { r.Requester.Roles = []itsm.Role{""} }},
		{"MalformedParentKind", func(r *record.Record) { r.Parent = record.Ref{Kind: "Not A Kind", ID: "x"} }},
		{"OpenedInYear0", func(r *record.Record) { r.OpenedAt = time.Date(0, 12, 31, 0, 0, 0, 0, time.UTC) }},
		{"MalformedKind", func(r *record.Record) { r.Kind = "Not A Kind" }},
	}
}

// schemaCases returns edits that make a record fail its Schema.Check but
// pass record.CheckKeys, for the attribute types the schema declares.
func schemaCases(e *env) []editCase {
	cases := []editCase{
		{"UnknownState", func(r *record.Record) { r.State = "storagetest_no_such_state" }},
		{"UndeclaredAttribute", func(r *record.Record) { r.Attrs["storagetest_undeclared"] = record.Text("x") }},
	}
	if len(e.gen.states) > 1 {
		cases = append(cases, editCase{"WrongCategory", func(r *record.Record) {
			for _, st := range e.gen.states {
				if st.Category != r.StateCategory {
					r.State = st.Name // keeps the category of the original state
					return
				}
			}
		}})
	}
	for _, a := range e.gen.attrs {
		set := func(name string, v record.Value) {
			cases = append(cases, editCase{a.Name + "/" + name, func(r *record.Record) { r.Attrs[a.Name] = v }})
		}
		if a.Required {
			cases = append(cases, editCase{a.Name + "/Missing", func(r *record.Record) { delete(r.Attrs, a.Name) }})
		}
		switch a.Type {
		case record.AttrInt:
			set("Text", record.Text("12"))
		case record.AttrBool:
			set("Int", record.Int(1))
		case record.AttrDecimal:
			set("NotCanonical", record.Text("12.50"))
			set("NotANumber", record.Text("twelve"))
		case record.AttrTime:
			set("OtherLayout", record.Text("2026-11-02T09:00:00Z"))
		case record.AttrChoice:
			set("NotAChoice", record.Text("storagetest_no_such_choice"))
		case record.AttrText:
			set("NotUTF8", record.Text("bad \xff text"))
			set("Bool", record.Bool(true))
		}
	}
	return cases
}

var getChecks = []check{
	{"RoundTrip", func(e *env) {
		rec := e.full(1)
		f := fixture{rec: rec, timers: scenarioTimers(rec.Ref(), scAtRisk, 1, tNow)}
		e.put(f)
		want := f.want()
		requireRecord(e.t, want, e.get(rec.Ref()))
		got, err := e.store.GetByNumber(e.ctx, rec.Kind, rec.Number)
		require.NoError(e.t, err)
		requireRecord(e.t, want, got)
		page, err := e.store.List(e.ctx, record.Query{Kind: rec.Kind})
		require.NoError(e.t, err)
		requireRecords(e.t, []*record.Record{want}, page.Records)
		e.tx(func(ctx context.Context, tx record.Tx) {
			got, err := tx.Get(ctx, rec.Ref())
			require.NoError(e.t, err)
			requireRecord(e.t, want, got)
			got, err = tx.GetByNumber(ctx, rec.Kind, rec.Number)
			require.NoError(e.t, err)
			requireRecord(e.t, want, got)
		})
	}},
	{"Limits", func(e *env) {
		// The longest keys and texts a store must keep, in letters of
		// more than one byte.
		rec := e.full(1)
		rec.ID = strings.Repeat("é", record.MaxIDLen/2) + "x"
		rec.Number = strings.Repeat("Ω", record.MaxIDLen/2) + "1"
		rec.Title = strings.Repeat("ü", e.schema.Limits().Title/2)
		rec.Description = strings.Repeat("Straße 50% a_b\n", 4096)
		rec.Assignee = strings.Repeat("d", record.MaxIDLen)
		rec.Requester = itsm.Actor{ID: strings.Repeat("a", record.MaxIDLen), Name: strings.Repeat("n", record.MaxIDLen)}
		for _, a := range e.gen.attrs {
			if a.Type == record.AttrText {
				rec.Attrs[a.Name] = record.Text(strings.Repeat("ß", record.MaxTextLen/2))
			}
		}
		require.NoError(e.t, record.CheckKeys(rec), "storagetest: fixture")
		e.create(rec)
		requireRecord(e.t, rec, e.get(rec.Ref()))
		got, err := e.store.GetByNumber(e.ctx, rec.Kind, rec.Number)
		require.NoError(e.t, err)
		requireRecord(e.t, rec, got)
	}},
	{"InstantsInUTC", func(e *env) {
		// Instants given in another zone come back as the same instants,
		// in UTC.
		east, west := time.FixedZone("UTC+05:30", 5*3600+1800), time.FixedZone("UTC-08:00", -8*3600)
		rec := e.full(1)
		rec.OpenedAt, rec.UpdatedAt = rec.OpenedAt.In(east), rec.UpdatedAt.In(west)
		rec.ResolvedAt, rec.ClosedAt = rec.ResolvedAt.In(west), rec.ClosedAt.In(east)
		other := e.og.record(1)
		e.create(rec, other)
		requireRecord(e.t, rec, e.get(rec.Ref()))
		en := entry(record.Comment, "carol", t0.In(east), "in another zone")
		l := link(record.RelatedTo.Name, rec.Ref(), other.Ref())
		l.CreatedAt = l.CreatedAt.In(west)
		ev := event(rec.Ref(), "edit", t0.In(west))
		e.tx(func(ctx context.Context, tx record.Tx) {
			require.NoError(e.t, tx.AppendJournal(ctx, rec.Ref(), en))
			require.NoError(e.t, tx.AddLinks(ctx, l))
			require.NoError(e.t, tx.AppendEvents(ctx, ev))
		})
		journal, err := e.store.Journal(e.ctx, rec.Ref())
		require.NoError(e.t, err)
		require.Len(e.t, journal, 1)
		require.True(e.t, journal[0].At.Equal(en.At))
		requireUTC(e.t, "journal entry", journal[0].At)
		links, err := e.store.Links(e.ctx, rec.Ref())
		require.NoError(e.t, err)
		requireLinks(e.t, []record.Link{l}, links, rec.Ref().String())
		e.requireHistory(rec.Ref(), ev)
	}},
	{"Sparse", func(e *env) {
		// A record with nothing set but what CheckKeys and the schema
		// require round-trips with its zero fields zero.
		full := e.fixture(1)
		rec := &record.Record{Header: record.Header{
			Kind: full.Kind, ID: full.ID, Number: full.Number,
			State: full.State, StateCategory: full.StateCategory, OpenedAt: full.OpenedAt,
		}}
		for _, a := range e.gen.attrs {
			if a.Required {
				if rec.Attrs == nil {
					rec.Attrs = make(map[string]record.Value)
				}
				rec.Attrs[a.Name] = full.Attrs[a.Name]
			}
		}
		e.create(rec)
		requireRecord(e.t, rec, e.get(rec.Ref()))
		page, err := e.store.List(e.ctx, record.Query{Kind: rec.Kind})
		require.NoError(e.t, err)
		requireRecords(e.t, []*record.Record{rec}, page.Records)
	}},
	{"EmptyBody", func(e *env) {
		none, null := e.fixture(1), e.fixture(2)
		none.Body, null.Body = nil, []byte("null")
		e.create(none, null)
		requireRecord(e.t, none, e.get(none.Ref()))
		requireRecord(e.t, null, e.get(null.Ref()))
	}},
	{"SLASummary", func(e *env) {
		with := fixture{rec: e.fixture(1)}
		with.timers = scenarioTimers(with.rec.Ref(), scAtRisk, 0, tNow)
		with.timers = append(with.timers, scenarioTimers(with.rec.Ref(), scMet, 3, tNow)...)
		without := fixture{rec: e.fixture(2)}
		e.put(with, without)
		got := e.get(with.rec.Ref())
		require.Len(e.t, got.SLA, 3)
		requireRecord(e.t, with.want(), got)
		require.Empty(e.t, e.get(without.rec.Ref()).SLA)
		require.True(e.t, got.SLA.AtRisk(tNow))
		require.False(e.t, got.SLA.Breached(tNow))
	}},
	{"NotFound", func(e *env) {
		rec := e.fixture(1)
		e.create(rec)
		missing := e.gen.ref(99)
		inOther := record.Ref{Kind: e.other.Kind(), ID: rec.ID}
		check := func(ctx context.Context, r record.Reader) {
			_, err := r.Get(ctx, missing)
			requireNotFound(e.t, err, missing.Kind, missing.ID)
			_, err = r.Get(ctx, inOther)
			requireNotFound(e.t, err, inOther.Kind, inOther.ID)
			_, err = r.GetByNumber(ctx, rec.Kind, e.gen.number(99))
			requireNotFound(e.t, err, rec.Kind, e.gen.number(99))
			_, err = r.GetByNumber(ctx, e.other.Kind(), rec.Number)
			requireNotFound(e.t, err, e.other.Kind(), rec.Number)
		}
		check(e.ctx, e.store)
		e.tx(func(ctx context.Context, tx record.Tx) { check(ctx, tx) })
	}},
	{"MalformedRef", func(e *env) {
		for _, ref := range []record.Ref{{Kind: "Not A Kind", ID: "x"}, {Kind: e.gen.kind()}, {}, {Kind: e.gen.kind(), ID: strings.Repeat("x", record.MaxIDLen+1)}} {
			check := func(ctx context.Context, r record.Reader) {
				_, err := r.Get(ctx, ref)
				requireValidation(e.t, err, "Get %+v", ref)
				_, err = r.Journal(ctx, ref)
				requireValidation(e.t, err, "Journal %+v", ref)
				_, err = r.Links(ctx, ref)
				requireValidation(e.t, err, "Links %+v", ref)
				_, err = r.Timers(ctx, ref)
				requireValidation(e.t, err, "Timers %+v", ref)
				_, err = r.History(ctx, ref)
				requireValidation(e.t, err, "History %+v", ref)
			}
			check(e.ctx, e.store)
			e.tx(func(ctx context.Context, tx record.Tx) { check(ctx, tx) })
		}
		_, err := e.store.GetByNumber(e.ctx, "Not A Kind", "X1")
		requireValidation(e.t, err, "GetByNumber of a malformed kind")
	}},
	{"ReadsOfUnknownRecord", func(e *env) {
		// A well-formed ref of a record that is not stored reads as empty,
		// non-nil slices.
		rec := e.fixture(1)
		e.create(rec)
		for _, ref := range []record.Ref{e.gen.ref(99), {Kind: e.other.Kind(), ID: rec.ID}} {
			check := func(ctx context.Context, r record.Reader) {
				journal, err := r.Journal(ctx, ref)
				require.NoError(e.t, err)
				require.NotNil(e.t, journal, "Journal of %s", ref)
				require.Empty(e.t, journal)
				links, err := r.Links(ctx, ref)
				require.NoError(e.t, err)
				require.NotNil(e.t, links, "Links of %s", ref)
				require.Empty(e.t, links)
				timers, err := r.Timers(ctx, ref)
				require.NoError(e.t, err)
				require.NotNil(e.t, timers, "Timers of %s", ref)
				require.Empty(e.t, timers)
				hist, err := r.History(ctx, ref)
				require.NoError(e.t, err)
				require.NotNil(e.t, hist, "History of %s", ref)
				require.Empty(e.t, hist)
			}
			check(e.ctx, e.store)
			e.tx(func(ctx context.Context, tx record.Tx) { check(ctx, tx) })
		}
	}},
}

var updateChecks = []check{
	{"Version", func(e *env) {
		rec := e.fixture(1)
		e.create(rec)
		for v := int64(2); v <= 3; v++ {
			// Every field may change but the kind and the ID.
			next := e.full(int(v) + 10)
			next.Kind, next.ID, next.Version = rec.Kind, rec.ID, rec.Version
			next.Title = fmt.Sprint("changed for version ", v)
			next.UpdatedAt = rec.UpdatedAt.Add(time.Duration(v) * time.Minute)
			e.tx(func(ctx context.Context, tx record.Tx) { require.NoError(e.t, tx.Update(ctx, next)) })
			require.Equal(e.t, v, next.Version, "Update sets rec.Version to the next version")
			requireRecord(e.t, next, e.get(rec.Ref()))
			got, err := e.store.GetByNumber(e.ctx, rec.Kind, next.Number)
			require.NoError(e.t, err)
			requireRecord(e.t, next, got)
			rec = next
		}
	}},
	{"ClearFields", func(e *env) {
		rec := e.full(1)
		e.create(rec)
		bare := e.fixture(1)
		bare.Version = rec.Version
		bare.Description, bare.Assignee, bare.AssignmentGroup, bare.Service, bare.Category = "", "", "", "", ""
		bare.Watchers, bare.ConfigItems, bare.Parent, bare.Major = nil, nil, record.Ref{}, false
		bare.ResolvedAt, bare.ClosedAt, bare.Body = time.Time{}, time.Time{}, nil
		bare.Attrs = make(map[string]record.Value)
		for _, a := range e.gen.attrs {
			if a.Required {
				bare.Attrs[a.Name] = rec.Attrs[a.Name]
			}
		}
		e.tx(func(ctx context.Context, tx record.Tx) { require.NoError(e.t, tx.Update(ctx, bare)) })
		requireRecord(e.t, bare, e.get(rec.Ref()))
	}},
	{"StaleVersion", func(e *env) {
		rec := e.fixture(1)
		e.create(rec)
		fresh := rec.Clone()
		fresh.Title = "first writer"
		e.tx(func(ctx context.Context, tx record.Tx) { require.NoError(e.t, tx.Update(ctx, fresh)) })

		stale := rec.Clone() // still at version 1
		stale.Title = "second writer"
		e.refusedInTx(func(ctx context.Context, tx record.Tx) error { return tx.Update(ctx, stale) }, func(err error) {
			require.ErrorIs(e.t, err, itsm.ErrConflict)
			var ce *itsm.ConflictError
			require.ErrorAs(e.t, err, &ce)
			require.Equal(e.t, rec.Kind, ce.Kind)
			require.Equal(e.t, rec.ID, ce.ID)
			require.Equal(e.t, int64(1), ce.Expected)
			if ce.Actual != 0 {
				require.Equal(e.t, int64(2), ce.Actual)
			}
		})
		require.Equal(e.t, int64(1), stale.Version, "a refused Update leaves rec.Version alone")
		requireRecord(e.t, fresh, e.get(rec.Ref()))

		ahead := fresh.Clone()
		ahead.Version = 7 // a version the store never had
		e.refusedInTx(func(ctx context.Context, tx record.Tx) error { return tx.Update(ctx, ahead) },
			func(err error) { require.ErrorIs(e.t, err, itsm.ErrConflict) })
		requireRecord(e.t, fresh, e.get(rec.Ref()))
	}},
	{"StaleVersionRollsBackTx", func(e *env) {
		// A conflict returned from fn rolls the whole transaction back,
		// writes made before it included.
		a, b := e.fixture(1), e.fixture(2)
		e.create(a, b)
		before := a.Clone()
		stale := b.Clone()
		stale.Version = 7
		a.Title = "changed"
		err := e.store.InTx(e.ctx, func(ctx context.Context, tx record.Tx) error {
			require.NoError(e.t, tx.Update(ctx, a))
			return tx.Update(ctx, stale)
		})
		require.ErrorIs(e.t, err, itsm.ErrConflict)
		requireRecord(e.t, before, e.get(a.Ref()))
	}},
	{"NotFound", func(e *env) {
		rec := e.fixture(1)
		theirs := e.og.record(1)
		theirs.ID = rec.ID // the same ID in the other kind is another record
		e.create(theirs)
		rec.Version = 1
		e.refusedInTx(func(ctx context.Context, tx record.Tx) error { return tx.Update(ctx, rec) },
			func(err error) { requireNotFound(e.t, err, rec.Kind, rec.ID) })
		require.Equal(e.t, int64(1), rec.Version)
		_, err := e.store.Get(e.ctx, rec.Ref())
		requireNotFound(e.t, err, rec.Kind, rec.ID)
		requireRecord(e.t, theirs, e.get(theirs.Ref()))
	}},
	{"Number", func(e *env) {
		a, b := e.fixture(1), e.fixture(2)
		e.create(a, b)
		before := b.Clone()
		taken := b.Clone()
		taken.Number = a.Number
		e.refusedInTx(func(ctx context.Context, tx record.Tx) error { return tx.Update(ctx, taken) },
			func(err error) { require.ErrorIs(e.t, err, itsm.ErrConflict) })
		requireRecord(e.t, before, e.get(b.Ref()))
		got, err := e.store.GetByNumber(e.ctx, a.Kind, a.Number)
		require.NoError(e.t, err)
		require.Equal(e.t, a.ID, got.ID)

		// A number given up by one update is free for the next record.
		renumbered := b.Clone()
		renumbered.Number = e.schema.Prefix() + "-RENUMBERED"
		e.tx(func(ctx context.Context, tx record.Tx) { require.NoError(e.t, tx.Update(ctx, renumbered)) })
		got, err = e.store.GetByNumber(e.ctx, b.Kind, renumbered.Number)
		require.NoError(e.t, err)
		requireRecord(e.t, renumbered, got)
		_, err = e.store.GetByNumber(e.ctx, b.Kind, b.Number)
		requireNotFound(e.t, err, b.Kind, b.Number)
		c := e.fixture(3)
		c.Number = b.Number
		e.create(c)
		got, err = e.store.GetByNumber(e.ctx, c.Kind, c.Number)
		require.NoError(e.t, err)
		requireRecord(e.t, c, got)
	}},
	{"Validation", func(e *env) {
		rec := e.fixture(1)
		e.create(rec)
		cases := append(keyCases(e), schemaCases(e)...)
		for _, tc := range cases {
			if tc.name == "NoID" || tc.name == "LongID" || tc.name == "MalformedKind" {
				continue // another record, or none: a NotFound is as good
			}
			bad := rec.Clone()
			tc.edit(bad)
			e.refusedInTx(func(ctx context.Context, tx record.Tx) error { return tx.Update(ctx, bad) },
				func(err error) { requireValidation(e.t, err, tc.name) })
			require.Equal(e.t, int64(1), bad.Version, "a refused Update leaves rec.Version alone")
			requireRecord(e.t, rec, e.get(rec.Ref()))
		}
		undeclared := rec.Clone()
		undeclared.Kind = "storagetest_undeclared"
		e.refusedInTx(func(ctx context.Context, tx record.Tx) error { return tx.Update(ctx, undeclared) },
			func(err error) { requireValidation(e.t, err, "undeclared kind") })
	}},
	{"KeepsSLASummary", func(e *env) {
		// The summary follows the timers: Create and Update ignore the
		// SLA field of the record they are given, and an Update keeps
		// the summary of the timers.
		f := fixture{rec: e.fixture(1)}
		f.timers = scenarioTimers(f.rec.Ref(), scBreached, 0, tNow)
		bogus := record.Summary{{ID: "bogus", Policy: "none", Stage: sla.StageBreached, BreachAt: t0}}
		f.rec.SLA = bogus
		e.put(f)
		f.rec.SLA = nil
		requireRecord(e.t, f.want(), e.get(f.rec.Ref()))

		upd := f.rec.Clone()
		upd.Title = "updated"
		upd.SLA = bogus
		e.tx(func(ctx context.Context, tx record.Tx) { require.NoError(e.t, tx.Update(ctx, upd)) })
		want := f.want()
		want.Title, want.Version = "updated", 2
		requireRecord(e.t, want, e.get(f.rec.Ref()))
		page, err := e.store.List(e.ctx, record.Query{Kind: f.rec.Kind, SLA: record.SLAFilter{Breached: true}, Now: tNow})
		require.NoError(e.t, err)
		requireRecords(e.t, []*record.Record{want}, page.Records)

		plain := fixture{rec: e.fixture(2)}
		plain.rec.SLA = bogus
		e.put(plain)
		plain.rec.SLA = nil
		requireRecord(e.t, plain.want(), e.get(plain.rec.Ref()))
	}},
}

var copyChecks = []check{
	{"CreateInput", func(e *env) {
		rec := e.full(1)
		e.create(rec)
		want := rec.Clone()
		mutate(rec)
		requireRecord(e.t, want, e.get(want.Ref()))
	}},
	{"UpdateInput", func(e *env) {
		rec := e.full(1)
		e.create(rec)
		rec.Title = "updated"
		e.tx(func(ctx context.Context, tx record.Tx) { require.NoError(e.t, tx.Update(ctx, rec)) })
		want := rec.Clone()
		mutate(rec)
		requireRecord(e.t, want, e.get(want.Ref()))
	}},
	{"Returned", func(e *env) {
		f := fixture{rec: e.full(1)}
		f.timers = scenarioTimers(f.rec.Ref(), scAtRisk, 0, tNow)
		e.put(f)
		want := f.want()
		mutate(e.get(want.Ref()))
		byNumber, err := e.store.GetByNumber(e.ctx, want.Kind, want.Number)
		require.NoError(e.t, err)
		mutate(byNumber)
		page, err := e.store.List(e.ctx, record.Query{Kind: want.Kind})
		require.NoError(e.t, err)
		require.Len(e.t, page.Records, 1)
		mutate(page.Records[0])
		e.tx(func(ctx context.Context, tx record.Tx) {
			got, err := tx.Get(ctx, want.Ref())
			require.NoError(e.t, err)
			mutate(got)
		})
		requireRecord(e.t, want, e.get(want.Ref()))
	}},
	{"Events", func(e *env) {
		rec := e.fixture(1)
		e.create(rec)
		ev := event(rec.Ref(), "start", t0)
		want := numbered(1, event(rec.Ref(), "start", t0))
		e.tx(func(ctx context.Context, tx record.Tx) { require.NoError(e.t, tx.AppendEvents(ctx, ev)) })
		ev.Changes[0].New = "mutated"
		ev.Actor.Roles[0] = "mutated"
		got, err := e.store.History(e.ctx, rec.Ref())
		require.NoError(e.t, err)
		requireEvents(e.t, want, got, "history")
		got[0].Changes[0].New = "mutated"
		got[0].Actor.Roles[0] = "mutated"
		got[0] = itsm.Event{}
		msgs, _ := e.readOutbox(e.store, "", 10, 1)
		require.Len(e.t, msgs, 1)
		msgs[0].Event.Changes[0].New = "mutated"
		msgs[0].Event.Actor.Roles[0] = "mutated"
		got, err = e.store.History(e.ctx, rec.Ref())
		require.NoError(e.t, err)
		requireEvents(e.t, want, got, "history")
		msgs, _ = e.readOutbox(e.store, "", 10, 1)
		requireEvents(e.t, want, outboxEvents(msgs), "outbox")
	}},
	{"Timers", func(e *env) {
		rec := e.fixture(1)
		e.create(rec)
		tm := newTimer("gold", sla.MetricResolution, 4*time.Hour, t0)
		tr := timerRecord(rec.Ref(), "gold/resolution", sla.KindSLA, tm, t0)
		want := []record.TimerRecord{timerRecord(rec.Ref(), "gold/resolution", sla.KindSLA, newTimer("gold", sla.MetricResolution, 4*time.Hour, t0), t0)}
		e.tx(func(ctx context.Context, tx record.Tx) { require.NoError(e.t, tx.PutTimers(ctx, tr)) })
		must(tm.Pause(t0.Add(time.Hour), "changed after saving"))
		got, err := e.store.Timers(e.ctx, rec.Ref())
		require.NoError(e.t, err)
		requireTimers(e.t, want, got)
		must(got[0].Timer.Stop(t0.Add(time.Hour), "changed after reading"))
		got[0].ID = "mutated"
		again, err := e.store.Timers(e.ctx, rec.Ref())
		require.NoError(e.t, err)
		requireTimers(e.t, want, again)
		due, err := e.store.TimersDue(e.ctx, t0.Add(100*time.Hour), 10)
		require.NoError(e.t, err)
		requireTimers(e.t, want, due)
		must(due[0].Timer.Stop(t0.Add(time.Hour), "changed after reading"))
		again, err = e.store.Timers(e.ctx, rec.Ref())
		require.NoError(e.t, err)
		requireTimers(e.t, want, again)
	}},
	{"JournalAndLinks", func(e *env) {
		a, b := e.fixture(1), e.fixture(2)
		e.create(a, b)
		en := entry(record.Comment, "carol", t0, "It is down.")
		l := link(record.RelatedTo.Name, a.Ref(), b.Ref())
		e.tx(func(ctx context.Context, tx record.Tx) {
			require.NoError(e.t, tx.AppendJournal(ctx, a.Ref(), en))
			require.NoError(e.t, tx.AddLinks(ctx, l))
		})
		journal, err := e.store.Journal(e.ctx, a.Ref())
		require.NoError(e.t, err)
		journal[0].Text = "mutated"
		links, err := e.store.Links(e.ctx, a.Ref())
		require.NoError(e.t, err)
		links[0].CreatedBy = "mutated"
		journal, err = e.store.Journal(e.ctx, a.Ref())
		require.NoError(e.t, err)
		require.Equal(e.t, []record.Entry{en}, journal)
		links, err = e.store.Links(e.ctx, b.Ref())
		require.NoError(e.t, err)
		requireLinks(e.t, []record.Link{l}, links, b.Ref().String())
	}},
}

// mutate changes every part of rec that a store could share with its own
// copy.
func mutate(rec *record.Record) {
	rec.Title = "mutated"
	if len(rec.Requester.Roles) > 0 {
		rec.Requester.Roles[0] = "mutated"
	}
	if len(rec.Watchers) > 0 {
		rec.Watchers[0] = "mutated"
	}
	if len(rec.ConfigItems) > 0 {
		rec.ConfigItems[0] = "mutated"
	}
	for k := range rec.Attrs {
		rec.Attrs[k] = record.Text("mutated")
	}
	if rec.Attrs != nil {
		rec.Attrs["storagetest_mutated"] = record.Int(1)
	}
	if len(rec.Body) > 2 {
		rec.Body[1] = 'X'
	}
	if len(rec.SLA) > 0 {
		rec.SLA[0].Policy = "mutated"
		rec.SLA[0].BreachAt = time.Time{}
	}
}
