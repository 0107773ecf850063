package record

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/stretchr/testify/require"

	"github.com/itsmkit/itsmkit/itsm"
)

func TestRef(t *testing.T) {
	t.Parallel()
	require.True(t, Ref{}.IsZero())
	require.Equal(t, "", Ref{}.String())
	r := Ref{Kind: "incident", ID: "42"}
	require.False(t, r.IsZero())
	require.Equal(t, "incident/42", r.String())
	require.False(t, Ref{Kind: "incident"}.IsZero())
	h := Header{Kind: "incident", ID: "42"}
	require.Equal(t, r, h.Ref())
}

func TestDocumentRoundTrip(t *testing.T) {
	t.Parallel()
	rec := validTicket()
	require.NoError(t, CheckKeys(rec))
	require.NoError(t, ticketSchema(t).Check(rec))

	doc, err := rec.Document()
	require.NoError(t, err)
	require.NotContains(t, string(doc), "sla", "the SLA summary is not part of the document")
	require.NotContains(t, string(doc), "+01:00", "instants are written in UTC")
	require.Contains(t, string(doc), `"resolved_at":"2026-01-12T09:00:00.123456789Z"`)
	require.Contains(t, string(doc), `"priority":"high"`)
	require.Contains(t, string(doc), `"state_category":"active"`)

	got, err := ParseDocument(doc)
	require.NoError(t, err)
	want := rec.Clone()
	want.SLA = nil
	require.Empty(t, cmp.Diff(want, got))
	for _, at := range []time.Time{got.OpenedAt, got.UpdatedAt, got.ResolvedAt, got.ClosedAt} {
		require.Equal(t, time.UTC, at.Location())
	}

	// The document is canonical: encoding the parsed record gives it back.
	again, err := got.Document()
	require.NoError(t, err)
	require.Equal(t, string(doc), string(again))

	// The caller's record is left as it was.
	require.Equal(t, plusOne, rec.ResolvedAt.Location())
	require.Len(t, rec.SLA, 2)
}

func TestDocumentMinimal(t *testing.T) {
	t.Parallel()
	rec := &Record{Header: Header{
		Kind: "ticket", ID: "1", Number: "TKT1", State: "new", StateCategory: itsm.CategoryNew,
		OpenedAt: t0, UpdatedAt: t0, Version: 1,
	}}
	doc, err := rec.Document()
	require.NoError(t, err)
	require.JSONEq(t, `{"kind":"ticket","id":"1","number":"TKT1","title":"","state":"new","state_category":"new",
		"requester":{"id":""},"opened_at":"2026-01-10T09:00:00Z","updated_at":"2026-01-10T09:00:00Z","version":1}`, string(doc))
	got, err := ParseDocument(doc)
	require.NoError(t, err)
	require.Empty(t, cmp.Diff(rec, got))
	require.True(t, got.ResolvedAt.IsZero())
	require.True(t, got.Parent.IsZero())
}

func TestDocumentInstants(t *testing.T) {
	t.Parallel()
	amsterdam := mustLoad("Europe/Amsterdam")
	for _, at := range []time.Time{
		// Before 1937 Amsterdam was 19 min 32 s ahead of UTC; RFC 3339
		// offsets have no seconds.
		time.Date(1900, 1, 1, 12, 0, 0, 0, amsterdam),
		time.Date(1200, 5, 6, 7, 8, 9, 10, berlin),
		time.Date(1, 1, 1, 0, 0, 0, 1, time.UTC),
		// UTC year 9999, local year 10000.
		time.Date(9999, 12, 31, 23, 30, 0, 0, time.UTC).In(plusOne),
		// UTC year 1, local year 1 too but at an offset.
		time.Date(1, 1, 1, 0, 30, 0, 0, time.UTC).In(time.FixedZone("west", -3600)),
	} {
		rec := validTicket()
		rec.OpenedAt, rec.UpdatedAt, rec.ClosedAt = at, at, at
		require.NoError(t, CheckKeys(rec), at)
		doc, err := rec.Document()
		require.NoError(t, err, at)
		got, err := ParseDocument(doc)
		require.NoError(t, err)
		require.True(t, got.OpenedAt.Equal(at), "%v became %v", at, got.OpenedAt)
		require.True(t, got.ClosedAt.Equal(at), "%v became %v", at, got.ClosedAt)
	}
}

func TestDocumentBody(t *testing.T) {
	t.Parallel()
	rec := validTicket()
	rec.Body = []byte("{ \"b\" : [1, 2],\n \"a\": \"<x>\" }")
	doc, err := rec.Document()
	require.NoError(t, err)
	got, err := ParseDocument(doc)
	require.NoError(t, err)
	var compact bytes.Buffer
	require.NoError(t, json.Compact(&compact, rec.Body))
	require.JSONEq(t, compact.String(), string(got.Body))
	require.Equal(t, `{"b":[1,2],"a":"\u003cx\u003e"}`, string(got.Body), "compacted and HTML-escaped")

	for _, body := range []string{"", "null", `"text"`, `[]`, `12`} {
		rec.Body = json.RawMessage(body)
		doc, err := rec.Document()
		require.NoError(t, err)
		got, err := ParseDocument(doc)
		require.NoError(t, err)
		require.Equal(t, body, string(got.Body))
	}
}

func TestDocumentRefuses(t *testing.T) {
	t.Parallel()
	rec := validTicket()
	rec.Attrs["none"] = Value{}
	_, err := rec.Document()
	require.Error(t, err)

	rec = validTicket()
	rec.Body = []byte("{")
	_, err = rec.Document()
	require.Error(t, err)

	for _, doc := range []string{``, `[]`, `{"kind":1}`, `{"attrs":{"a":null}}`, `{"attrs":{"a":1.5}}`,
		`{"priority":"P9"}`, `{"state_category":"done"}`, `{"opened_at":"yesterday"}`, `{"version":"1"}`} {
		_, err := ParseDocument([]byte(doc))
		require.Error(t, err, doc)
	}
}

func TestClone(t *testing.T) {
	t.Parallel()
	require.Nil(t, (*Record)(nil).Clone())

	rec := validTicket()
	c := rec.Clone()
	require.Empty(t, cmp.Diff(rec, c))

	c.Requester.Roles[0] = "changed"
	c.Requester.Roles = append(c.Requester.Roles, "more")
	c.Watchers[0] = "changed"
	c.ConfigItems[1] = "changed"
	c.Attrs["risk"] = Text("low")
	c.Attrs["extra"] = Int(1)
	delete(c.Attrs, "count")
	c.Body[2] = 'X'
	c.SLA[0].ID = "changed"
	c.SLA[1].BreachAt = time.Time{}
	c.Parent.ID = "changed"
	c.Title = "changed"
	require.Empty(t, cmp.Diff(validTicket(), rec), "the original is unchanged")

	// Nil and empty collections stay as they are.
	empty := &Record{}
	require.Empty(t, cmp.Diff(empty, empty.Clone()))
	require.Nil(t, empty.Clone().Attrs)
	require.Nil(t, empty.Clone().Body)
}

func TestCheckKeys(t *testing.T) {
	t.Parallel()
	require.NoError(t, CheckKeys(validTicket()))
	require.Equal(t, []string{"record"}, fieldsOf(t, CheckKeys(nil)))

	// The limits themselves are accepted: CheckKeys holds title and
	// description to the ceiling of every kind's limits only.
	rec := validTicket()
	ceiling := strings.Repeat("d", MaxTextLimit)
	rec.ID = strings.Repeat("i", MaxIDLen)
	rec.Title = ceiling
	rec.Description = ceiling
	rec.OpenedAt = time.Date(1, 1, 1, 0, 0, 0, 1, time.UTC) // the zero time means unset
	rec.ClosedAt = time.Date(9999, 12, 31, 23, 59, 59, 999999999, time.UTC).In(plusOne)
	rec.Parent = Ref{}
	rec.Impact, rec.Urgency, rec.Priority = 0, 0, 0
	rec.Body = json.RawMessage(`{"emoji":"\ud83d\ude00","escaped":"\\u0000","raw":"é","null":null}`)
	require.NoError(t, CheckKeys(rec))

	long := strings.Repeat("x", MaxIDLen+1)
	overCeiling := ceiling + "x"
	tests := []struct {
		name   string
		mutate func(r *Record)
		fields []string
	}{
		{"no kind", func(r *Record) { r.Kind = "" }, []string{"kind"}},
		{"malformed kind", func(r *Record) { r.Kind = "Ticket" }, []string{"kind"}},
		{"no ID", func(r *Record) { r.ID = "" }, []string{"id"}},
		{"no number", func(r *Record) { r.Number = "" }, []string{"number"}},
		{"no state", func(r *Record) { r.State = "" }, []string{"state"}},
		{"no state category", func(r *Record) { r.StateCategory = 0 }, []string{"state_category"}},
		{"invalid state category", func(r *Record) { r.StateCategory = 9 }, []string{"state_category"}},
		{"no opening instant", func(r *Record) { r.OpenedAt = time.Time{} }, []string{"opened_at"}},
		{"ID not UTF-8", func(r *Record) { r.ID = "a\xff" }, []string{"id"}},
		{"ID with NUL", func(r *Record) { r.ID = "a\x00" }, []string{"id"}},
		{"ID too long", func(r *Record) { r.ID = long }, []string{"id"}},
		{"number too long", func(r *Record) { r.Number = long }, []string{"number"}},
		{"title too long", func(r *Record) { r.Title = overCeiling }, []string{"title"}},
		{"title not UTF-8", func(r *Record) { r.Title = "\xc3" }, []string{"title"}},
		{"description too long", func(r *Record) { r.Description = overCeiling }, []string{"description"}},
		{"description with NUL", func(r *Record) { r.Description = "a\x00b" }, []string{"description"}},
		{"state too long", func(r *Record) { r.State = long }, []string{"state"}},
		{"requester ID with NUL", func(r *Record) { r.Requester.ID = "\x00" }, []string{"requester.id"}},
		{"requester name not UTF-8", func(r *Record) { r.Requester.Name = "\xff" }, []string{"requester.name"}},
		{"empty role", func(r *Record) { r.Requester.Roles[1] = "" }, []string{"requester.roles[1]"}},
		{"role with NUL", func(r *Record) { r.Requester.Roles[0] = "a\x00" }, []string{"requester.roles[0]"}},
		{"group too long", func(r *Record) { r.AssignmentGroup = long }, []string{"assignment_group"}},
		{"assignee with NUL", func(r *Record) { r.Assignee = "a\x00" }, []string{"assignee"}},
		{"service not UTF-8", func(r *Record) { r.Service = "\xff" }, []string{"service"}},
		{"category too long", func(r *Record) { r.Category = long }, []string{"category"}},
		{"empty configuration item", func(r *Record) { r.ConfigItems[1] = "" }, []string{"config_items[1]"}},
		{"configuration item too long", func(r *Record) { r.ConfigItems[0] = long }, []string{"config_items[0]"}},
		{"empty watcher", func(r *Record) { r.Watchers[0] = "" }, []string{"watchers[0]"}},
		{"watcher with NUL", func(r *Record) { r.Watchers[1] = "\x00" }, []string{"watchers[1]"}},
		{"parent with only a kind", func(r *Record) { r.Parent.ID = "" }, []string{"parent"}},
		{"parent with only an ID", func(r *Record) { r.Parent.Kind = "" }, []string{"parent"}},
		{"parent with a malformed kind", func(r *Record) { r.Parent.Kind = "Ticket" }, []string{"parent.kind"}},
		{"parent ID too long", func(r *Record) { r.Parent.ID = long }, []string{"parent.id"}},
		{"own parent", func(r *Record) { r.Parent = r.Ref() }, []string{"parent"}},
		{"negative impact", func(r *Record) { r.Impact = -1 }, []string{"impact"}},
		{"negative urgency", func(r *Record) { r.Urgency = -2 }, []string{"urgency"}},
		{"priority 6", func(r *Record) { r.Priority = 6 }, []string{"priority"}},
		{"negative priority", func(r *Record) { r.Priority = -1 }, []string{"priority"}},
		{"opened in year 0", func(r *Record) { r.OpenedAt = time.Date(0, 12, 31, 0, 0, 0, 0, time.UTC) }, []string{"opened_at"}},
		{"updated in year 10000", func(r *Record) { r.UpdatedAt = time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC) }, []string{"updated_at"}},
		{"resolved in UTC year 0", func(r *Record) { r.ResolvedAt = time.Date(1, 1, 1, 0, 30, 0, 0, plusOne) }, []string{"resolved_at"}},
		{"closed in UTC year 10000", func(r *Record) {
			r.ClosedAt = time.Date(9999, 12, 31, 23, 30, 0, 0, time.FixedZone("west", -3600))
		}, []string{"closed_at"}},
		{"body not JSON", func(r *Record) { r.Body = []byte(`{"a":`) }, []string{"body"}},
		{"body with two values", func(r *Record) { r.Body = []byte(`{} {}`) }, []string{"body"}},
		{"body not UTF-8", func(r *Record) { r.Body = []byte("\"\xff\"") }, []string{"body"}},
		{"body escapes NUL", func(r *Record) { r.Body = []byte(`{"a":"x\u0000"}`) }, []string{"body"}},
		{"body escapes a lone high surrogate", func(r *Record) { r.Body = []byte(`["\ud800"]`) }, []string{"body"}},
		{"body escapes a high surrogate and a letter", func(r *Record) { r.Body = []byte(`["\uD800\u0041"]`) }, []string{"body"}},
		{"body escapes a lone low surrogate", func(r *Record) { r.Body = []byte(`["\udc00x"]`) }, []string{"body"}},
		{"body in a key", func(r *Record) { r.Body = []byte(`{"\u0000":1}`) }, []string{"body"}},
		{"body escapes NUL after a backslash", func(r *Record) { r.Body = []byte(`["\\\u0000"]`) }, []string{"body"}},
		{"body ends in a high surrogate", func(r *Record) { r.Body = []byte(`"\ud83d"`) }, []string{"body"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			rec := validTicket()
			tc.mutate(rec)
			require.Equal(t, tc.fields, fieldsOf(t, CheckKeys(rec)))
		})
	}

	t.Run("every problem at once", func(t *testing.T) {
		t.Parallel()
		rec := &Record{
			Header: Header{
				ID: "a\x00", Title: "\xff", State: long,
				Requester:   itsm.Actor{ID: long, Roles: []itsm.Role{""}},
				ConfigItems: []string{""}, Watchers: []string{"\xff"},
				Parent: Ref{Kind: "Bad"},
				Impact: -1, Urgency: -1, Priority: 9,
				UpdatedAt:  time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC),
				ResolvedAt: time.Date(0, 1, 1, 0, 0, 0, 0, time.UTC),
			},
			Body: []byte("nope"),
		}
		err := CheckKeys(rec)
		require.Equal(t, []string{
			"kind", "id", "number", "title", "state", "requester.id", "requester.roles[0]",
			"config_items[0]", "watchers[0]", "parent.kind", "parent", "impact", "urgency", "priority",
			"state_category", "opened_at", "updated_at", "resolved_at", "body",
		}, fieldsOf(t, err))
		require.Contains(t, err.Error(), "invalid record:")
	})
}

func TestSchemaCheck(t *testing.T) {
	t.Parallel()
	s := ticketSchema(t)
	require.NoError(t, s.Check(validTicket()))
	require.Equal(t, []string{"record"}, fieldsOf(t, s.Check(nil)))

	// Every state passes with its own category.
	for _, st := range s.States() {
		rec := validTicket()
		rec.State, rec.StateCategory = st.Name, st.Category
		require.NoError(t, s.Check(rec), st.Name)
	}

	tests := []struct {
		name   string
		mutate func(r *Record)
		fields []string
	}{
		{"wrong kind", func(r *Record) { r.Kind = "incident" }, []string{"kind"}},
		{"unknown state", func(r *Record) { r.State = "in_progress" }, []string{"state"}},
		{"wrong category", func(r *Record) { r.StateCategory = itsm.CategoryPending }, []string{"state_category"}},
		{"undeclared attribute", func(r *Record) { r.Attrs["colour"] = Text("red") }, []string{"attrs.colour"}},
		{"ill-typed attribute", func(r *Record) { r.Attrs["count"] = Text("5") }, []string{"attrs.count"}},
		{"no attributes", func(r *Record) { r.Attrs = nil }, nil},
		{"everything", func(r *Record) {
			r.Kind = "incident"
			r.State = "gone"
			r.Attrs["risk"] = Text("none")
			r.Attrs["cost"] = Text("2.0")
		}, []string{"kind", "state", "attrs.cost", "attrs.risk"}},
		{"state and category", func(r *Record) {
			r.State = "closed"
			r.Attrs["urgent"] = Int(1)
		}, []string{"state_category", "attrs.urgent"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			rec := validTicket()
			tc.mutate(rec)
			err := s.Check(rec)
			if tc.fields == nil {
				require.NoError(t, err)
				return
			}
			require.Equal(t, tc.fields, fieldsOf(t, err))
		})
	}
}

// cmpRecord compares records as documents keep them: empty and nil
// collections alike, bodies by their compact, HTML-escaped form (as
// Document writes them).
var cmpRecord = []cmp.Option{
	cmp.FilterPath(func(p cmp.Path) bool { return p.Last().Type() != reflect.TypeFor[json.RawMessage]() }, cmpopts.EquateEmpty()),
	cmp.Comparer(func(a, b json.RawMessage) bool {
		if len(a) == 0 || len(b) == 0 {
			return len(a) == len(b)
		}
		var ca, cb, ea, eb bytes.Buffer
		if json.Compact(&ca, a) != nil || json.Compact(&cb, b) != nil {
			return bytes.Equal(a, b)
		}
		json.HTMLEscape(&ea, ca.Bytes())
		json.HTMLEscape(&eb, cb.Bytes())
		return bytes.Equal(ea.Bytes(), eb.Bytes())
	}),
}
