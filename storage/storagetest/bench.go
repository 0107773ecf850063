package storagetest

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/itsmkit/itsmkit/itsm"
	"github.com/itsmkit/itsmkit/record"
	"github.com/itsmkit/itsmkit/sla"
)

// BenchmarkAgainstFloor runs op and then floor once in each iteration of
// b and reports the mean time of each (op-µs, floor-µs) and their ratio
// (x-floor), and the median time of each (op-p50-µs, floor-p50-µs) and
// their ratio (x-floor-p50); ns/op is the time of both together. Adapters
// use it to compare a service operation with the least a durable write
// costs on the same database: interleaving the two keeps the ratio steady
// on a machine whose disk speed drifts between runs, where two separate
// benchmarks would each see a different disk, and the medians are not
// moved by the few calls that wait behind a slow sync of the disk. The
// first error of either fails b.
func BenchmarkAgainstFloor(b *testing.B, op, floor func(context.Context) error) {
	b.Helper()
	ctx := b.Context()
	var opTimes, floorTimes []time.Duration
	for b.Loop() {
		t0 := time.Now()
		if err := op(ctx); err != nil {
			b.Fatal(err)
		}
		t1 := time.Now()
		if err := floor(ctx); err != nil {
			b.Fatal(err)
		}
		opTimes, floorTimes = append(opTimes, t1.Sub(t0)), append(floorTimes, time.Since(t1))
	}
	var opTime, floorTime time.Duration
	for i := range opTimes {
		opTime, floorTime = opTime+opTimes[i], floorTime+floorTimes[i]
	}
	n := float64(len(opTimes))
	b.ReportMetric(float64(opTime.Microseconds())/n, "op-µs")
	b.ReportMetric(float64(floorTime.Microseconds())/n, "floor-µs")
	if floorTime > 0 {
		b.ReportMetric(float64(opTime)/float64(floorTime), "x-floor")
	}
	slices.Sort(opTimes)
	slices.Sort(floorTimes)
	opMid, floorMid := opTimes[len(opTimes)/2], floorTimes[len(floorTimes)/2]
	b.ReportMetric(float64(opMid.Nanoseconds())/1e3, "op-p50-µs")
	b.ReportMetric(float64(floorMid.Nanoseconds())/1e3, "floor-p50-µs")
	if floorMid > 0 {
		b.ReportMetric(float64(opMid)/float64(floorMid), "x-floor-p50")
	}
}

// loadNow is the instant LoadRecords judges its timers at and returns.
var loadNow = time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC)

// loadBatch is the number of records LoadRecords stores in one
// transaction.
const loadBatch = 2000

// loadParent is the index of the record that every 97th record is a
// child of, for the Parent filter of BenchmarkList.
const loadParent = 5

// LoadRecords declares schema in store and stores n records of its kind
// generated from it (as TestStore generates them, seeded by seed, so
// that two loads with the same arguments store the same records), with
// their SLA timers, in transactions of 2,000 records. It returns the
// instant the data is judged at, to pass to BenchmarkList.
//
// The mix is that of a service desk that has run for a while: the
// records are opened over the three years before that instant, about 80
// % of them are finished (in a resolved, closed or cancelled state) with
// a stopped resolution timer, met or (5 % of all records) breached; the
// rest are open, with running response and resolution timers, and of
// those about half are healthy, a quarter have their response at risk
// and a quarter their response breached at that instant.
// Every 97th record is a child of the same parent. n must not be
// negative; the first error of the store is returned, with what was
// committed before it kept.
func LoadRecords(ctx context.Context, store record.Store, schema *record.Schema, n int, seed int64) (now time.Time, err error) {
	if n < 0 {
		return time.Time{}, itsm.NewValidationError("storagetest load", "n", "must not be negative")
	}
	if err := store.Declare(ctx, schema); err != nil {
		return time.Time{}, err
	}
	g := newGen(schema, uint64(seed))
	var finished, open []record.StateDef
	for _, st := range g.states {
		if st.Category.Open() {
			open = append(open, st)
		} else {
			finished = append(finished, st)
		}
	}
	if len(finished) == 0 {
		finished = g.states
	}
	if len(open) == 0 {
		open = g.states
	}
	spacing := max(time.Second, (3 * 365 * 24 * time.Hour / time.Duration(max(n, 1))).Truncate(time.Second))
	for first := 0; first < n; first += loadBatch {
		var recs []*record.Record
		var timers []record.TimerRecord
		for i := first; i < min(first+loadBatch, n); i++ {
			rec, trs := loadRecord(g, i, n, spacing, finished, open)
			recs = append(recs, rec)
			timers = append(timers, trs...)
		}
		err := store.InTx(ctx, func(ctx context.Context, tx record.Tx) error {
			for _, rec := range recs {
				if err := tx.Create(ctx, rec); err != nil {
					return err
				}
			}
			return tx.PutTimers(ctx, timers...)
		})
		if err != nil {
			return time.Time{}, fmt.Errorf("storagetest: loading records %d to %d: %w", first, first+len(recs)-1, err)
		}
	}
	return loadNow, nil
}

// loadRecord returns the i-th of n records of LoadRecords and its timers.
func loadRecord(g *gen, i, n int, spacing time.Duration, finished, open []record.StateDef) (*record.Record, []record.TimerRecord) {
	rec := g.record(i)
	r := g.rng(i + 1<<40)
	opened := loadNow.Add(-time.Duration(n-i) * spacing)
	rec.OpenedAt, rec.UpdatedAt = opened, opened.Add(time.Hour)
	rec.Parent = record.Ref{}
	if i%97 == loadParent && i != loadParent {
		rec.Parent = g.ref(loadParent)
	}
	variant := r.IntN(6)
	policy, kind := policies[variant%len(policies)], policyKinds[variant%len(policyKinds)]
	timer := func(metric sla.Metric, target time.Duration, start time.Time) *sla.Timer {
		return newTimer(policy, metric, target, start)
	}
	save := func(metric sla.Metric, tm *sla.Timer, saved time.Time) record.TimerRecord {
		return timerRecord(rec.Ref(), policy+"/"+string(metric), kind, tm, saved)
	}
	h := func(x float64) time.Time { return loadNow.Add(time.Duration(x * float64(time.Hour))) }
	switch u := r.IntN(100); {
	case u < 80:
		g.setState(rec, pick(r, finished), opened.Add(time.Duration(1+r.IntN(72))*time.Hour), opened.Add(time.Duration(73+r.IntN(240))*time.Hour))
		tm := timer(sla.MetricResolution, 8*time.Hour, opened)
		stop := opened.Add(time.Duration(1+r.IntN(7)) * time.Hour)
		if u < 5 {
			stop = opened.Add(time.Duration(9+r.IntN(40)) * time.Hour) // after the breach
		}
		must(tm.Stop(stop, "resolved"))
		return rec, []record.TimerRecord{save(sla.MetricResolution, tm, stop)}
	default:
		g.setState(rec, pick(r, open), time.Time{}, time.Time{})
		// A one-hour response target and an eight-hour resolution
		// target, started a quarter of an hour ago (healthy), 48 minutes
		// ago (the response at risk) or three hours ago (the response
		// breached).
		var start float64
		switch {
		case u < 90:
			start = -0.25
		case u < 95:
			start = -0.8
		default:
			start = -3
		}
		// Open records are recent: opened when their timers started.
		rec.OpenedAt = h(start).Add(-time.Duration(i%60) * time.Second)
		rec.UpdatedAt = rec.OpenedAt
		resp := timer(sla.MetricResponse, time.Hour, h(start))
		res := timer(sla.MetricResolution, 8*time.Hour, h(start))
		return rec, []record.TimerRecord{save(sla.MetricResponse, resp, loadNow), save(sla.MetricResolution, res, loadNow)}
	}
}

// benchCase is one query of BenchmarkList.
type benchCase struct {
	name string
	q    record.Query
}

// benchCases returns the queries of BenchmarkList for schema, with
// values that the records of LoadRecords hold.
func benchCases(schema *record.Schema, now time.Time) []benchCase {
	g := newGen(schema, 0)
	yes := true
	month := record.Range{From: now.AddDate(0, -1, 0)}
	year := record.Range{From: now.AddDate(-1, 0, 0), To: now.AddDate(0, -6, 0)}
	cs := []benchCase{
		{"None", record.Query{}},
		{"State", record.Query{States: []string{g.states[0].Name}}},
		{"StateCategory", record.Query{StateCategories: []itsm.StateCategory{itsm.CategoryNew, itsm.CategoryActive, itsm.CategoryPending}}},
		{"Priority", record.Query{Priorities: []itsm.Priority{itsm.PriorityCritical, itsm.PriorityHigh}}},
		{"Assignee", record.Query{Assignee: "dave"}},
		{"AssignmentGroup", record.Query{AssignmentGroup: "network-ops"}},
		{"Service", record.Query{Service: "email"}},
		{"ConfigItem", record.Query{ConfigItem: "mx-01"}},
		{"Category", record.Query{Category: "network"}},
		{"Requester", record.Query{Requester: "ann"}},
		{"Parent", record.Query{Parent: g.ref(loadParent)}},
		{"Major", record.Query{Major: &yes}},
		{"Opened", record.Query{Opened: month}},
		{"Resolved", record.Query{Resolved: year, Order: record.ByResolved}},
		{"Closed", record.Query{Closed: year, Order: record.ByClosed}},
		{"SLA/Breached", record.Query{SLA: record.SLAFilter{Breached: true}, Now: now}},
		{"SLA/AtRisk", record.Query{SLA: record.SLAFilter{AtRisk: true}, Now: now}},
		{"SLA/Metric", record.Query{SLA: record.SLAFilter{Metric: sla.MetricResponse}}},
		{"SLA/PolicyKind", record.Query{SLA: record.SLAFilter{PolicyKinds: []sla.PolicyKind{sla.KindOLA}}}},
		{"Text", record.Query{Text: "printer"}},
	}
	all := record.Query{
		StateCategories: []itsm.StateCategory{itsm.CategoryNew, itsm.CategoryActive, itsm.CategoryPending},
		Priorities:      []itsm.Priority{itsm.PriorityCritical, itsm.PriorityHigh, itsm.PriorityModerate},
		AssignmentGroup: "network-ops",
		Service:         "email",
		SLA:             record.SLAFilter{Breached: true, Metric: sla.MetricResolution},
		Now:             now,
		Opened:          month,
		Text:            "o",
	}
	for _, a := range g.attrs {
		f := benchAttr(a)
		cs = append(cs, benchCase{"Attr/" + a.Name, record.Query{Attrs: []record.AttrFilter{f}}})
		all.Attrs = append(all.Attrs, f)
	}
	return append(cs, benchCase{"All", all})
}

// benchAttr returns a filter on a that the generated values meet often.
func benchAttr(a record.Attribute) record.AttrFilter {
	f := record.AttrFilter{Name: a.Name}
	switch a.Type {
	case record.AttrInt:
		f.Min, f.Max = record.Int(0), record.Int(250)
	case record.AttrTime:
		f.Min, f.Max = record.Time(t0), record.Time(time.Date(2500, 12, 31, 0, 0, 0, 0, time.UTC))
	case record.AttrDecimal:
		f.In = []record.Value{record.Text(poolDecimals[1])}
	case record.AttrBool:
		f.In = []record.Value{record.Bool(true)}
	case record.AttrChoice:
		f.In = []record.Value{record.Text(a.Choices[0])}
	default:
		f.In = []record.Value{record.Text(poolTexts[0])}
	}
	return f
}

// BenchmarkList benchmarks List over records that LoadRecords stored for
// schema, judged at now (what LoadRecords returned). It runs one
// sub-benchmark per filter: every header filter, every declared
// attribute of the schema, the opened, resolved and closed ranges, the
// SLA filters (breached, at risk, by metric, by policy kind), text, and
// all of them combined ("All"); each for the first page ("page=1") and
// the twentieth ("page=20", reached by following Next 19 times before
// the timer starts) of DefaultPageSize records. Besides ns/op, it
// reports the median and 99th percentile latency of one List call as
// p50-ms and p99-ms. A sub-benchmark whose query has fewer than twenty
// pages is skipped; an error of List fails it.
func BenchmarkList(b *testing.B, store record.Store, schema *record.Schema, now time.Time) {
	b.Helper()
	for _, c := range benchCases(schema, now) {
		for _, page := range []int{1, 20} {
			b.Run(fmt.Sprintf("%s/page=%d", c.name, page), func(b *testing.B) {
				ctx := b.Context()
				q := c.q
				q.Kind = schema.Kind()
				for i := 1; i < page; i++ {
					p, err := store.List(ctx, q)
					if err != nil {
						b.Fatal(err)
					}
					if p.Next == "" {
						b.Skipf("the query has %d pages only", i)
					}
					q.After = p.Next
				}
				var lat []time.Duration
				for b.Loop() {
					start := time.Now()
					if _, err := store.List(ctx, q); err != nil {
						b.Fatal(err)
					}
					lat = append(lat, time.Since(start))
				}
				slices.Sort(lat)
				ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
				b.ReportMetric(ms(lat[len(lat)/2]), "p50-ms")
				b.ReportMetric(ms(lat[min(len(lat)-1, len(lat)*99/100)]), "p99-ms")
			})
		}
	}
}
