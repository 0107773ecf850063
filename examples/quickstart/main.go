// Command quickstart is the first program to run with itsmkit. It logs a
// P2 incident on a Friday afternoon, works it through the ITIL lifecycle on
// a New York 9-to-5 business calendar with an SLA policy, and prints the
// SLA clocks at every step and the audit trail at the end. Time comes from
// a test clock, so the run is the same every time.
//
// The data goes to an embedded SQLite database, by default a fresh file in
// the system's temporary directory; the program prints where it is.
//
//	go run ./examples/quickstart                       # fresh SQLite file
//	go run ./examples/quickstart -db ./desk.db         # this SQLite file
//	go run ./examples/quickstart -postgres "$URL"      # PostgreSQL instead
//
// The PostgreSQL URL may also come from ITSM_POSTGRES_URL. The program then
// works in the schema "itsmkit_quickstart", which it drops and recreates.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/itsmkit/itsmkit/incident"
	"github.com/itsmkit/itsmkit/itsm"
	"github.com/itsmkit/itsmkit/itsm/itsmtest"
	"github.com/itsmkit/itsmkit/record"
	"github.com/itsmkit/itsmkit/sla"
	"github.com/itsmkit/itsmkit/storage/postgres"
	"github.com/itsmkit/itsmkit/storage/sqlite"
)

// calendarJSON is the service desk's business hours: Monday to Friday,
// 09:00 to 17:00 in New York, closed on Thanksgiving and Christmas.
const calendarJSON = `{
  "name": "us-9-5",
  "time_zone": "America/New_York",
  "hours": {"mon": [["09:00", "17:00"]], "tue": [["09:00", "17:00"]], "wed": [["09:00", "17:00"]],
            "thu": [["09:00", "17:00"]], "fri": [["09:00", "17:00"]]},
  "holidays": ["2026-11-26", "2026-12-25"]
}`

// policyJSON is the SLA: response and resolution targets per priority, in
// business time on that calendar.
const policyJSON = `{
  "id": "gold", "name": "Gold service desk SLA", "calendar": "us-9-5",
  "targets": {
    "response":   {"1": "PT15M", "2": "PT30M", "3": "PT1H", "4": "PT4H", "5": "P1D"},
    "resolution": {"1": "PT4H",  "2": "PT8H",  "3": "P2D",  "4": "P5D",  "5": "P10D"}
  }
}`

// pgSchema is the PostgreSQL schema the quickstart owns.
const pgSchema = "itsmkit_quickstart"

func main() {
	dbPath := flag.String("db", "", "SQLite database `file` (default: a fresh file in the temporary directory)")
	pgURL := flag.String("postgres", os.Getenv("ITSM_POSTGRES_URL"), "PostgreSQL `URL`; use PostgreSQL instead of SQLite (default $ITSM_POSTGRES_URL)")
	flag.Parse()
	ctx := context.Background()
	store, where, closeStore, err := openStore(ctx, *dbPath, *pgURL)
	if err == nil {
		err = run(ctx, os.Stdout, store)
		closeStore()
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "quickstart:", err)
		os.Exit(1)
	}
	fmt.Printf("\nThe data lives in %s.\n", where)
}

// openStore opens the SQLite database at path (a fresh temporary file when
// empty) or, when pgURL is set, the PostgreSQL database in a fresh
// pgSchema. It returns the store, where its data lives and how to close it.
func openStore(ctx context.Context, path, pgURL string) (record.Store, string, func(), error) {
	if pgURL != "" {
		conn, err := pgx.Connect(ctx, pgURL)
		if err != nil {
			return nil, "", nil, err
		}
		_, err = conn.Exec(ctx, "DROP SCHEMA IF EXISTS "+pgSchema+" CASCADE")
		conn.Close(ctx)
		if err != nil {
			return nil, "", nil, err
		}
		st, err := postgres.Open(ctx, pgURL, postgres.WithSchema(pgSchema))
		if err != nil {
			return nil, "", nil, err
		}
		if err := st.Migrate(ctx); err != nil {
			st.Close()
			return nil, "", nil, err
		}
		return st, "PostgreSQL, schema " + pgSchema, st.Close, nil
	}
	if path == "" {
		dir, err := os.MkdirTemp("", "itsmkit-quickstart-")
		if err != nil {
			return nil, "", nil, err
		}
		path = filepath.Join(dir, "itsmkit.db")
	}
	st, err := sqlite.Open(ctx, path)
	if err != nil {
		return nil, "", nil, err
	}
	return st, "the SQLite file " + path, func() { _ = st.Close() }, nil
}

// run works one incident through its lifecycle on store, writing what
// happens to w.
func run(ctx context.Context, w io.Writer, store record.Store) error {
	var spec sla.CalendarSpec
	if err := json.Unmarshal([]byte(calendarJSON), &spec); err != nil {
		return err
	}
	cal, err := sla.NewCalendar(spec)
	if err != nil {
		return err
	}
	calendars := sla.Calendars{cal.Name(): cal}
	policy, err := sla.ParsePolicy([]byte(policyJSON), calendars)
	if err != nil {
		return err
	}

	ny := cal.Location()
	clock := itsmtest.NewClock(time.Date(2026, 11, 20, 15, 30, 0, 0, ny)) // Friday 15:30
	svc, err := incident.NewService(ctx, store, incident.Config{
		Clock:             clock,
		Policies:          incident.Policies{List: []*sla.Policy{policy}},
		Calendars:         calendars,
		AutoCloseCalendar: cal,
	})
	if err != nil {
		return err
	}

	matrix := itsm.DefaultPriorityMatrix()
	fmt.Fprintf(w, "Priority matrix (ITIL default):\n%s\n\n", matrix)

	desk := itsm.Actor{ID: "alice", Name: "Alice (service desk)"}
	caller := itsm.Actor{ID: "carol", Name: "Carol (payroll)"}
	show := func(what string, inc *incident.Incident) error {
		timers, err := svc.SLA(ctx, inc.ID)
		if err != nil {
			return err
		}
		fmt.Fprintf(w, "%s  %-34s %-11s", clock.Now().In(ny).Format("Mon Jan 02 15:04"), what, inc.State)
		for _, t := range timers {
			fmt.Fprintf(w, "  %s %s", t.Record.Timer.Metric(), describe(t.Status, ny))
		}
		fmt.Fprintln(w)
		return nil
	}

	inc, err := svc.Open(ctx, desk, incident.OpenInput{
		Title:   "Payroll export fails",
		Caller:  caller,
		Service: "payroll",
		Impact:  itsm.ImpactMedium,
		Urgency: itsm.UrgencyHigh,
	})
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "%s opened: %q, impact %s × urgency %s → %s\n\n", inc.Number, inc.Title,
		inc.Impact, inc.Urgency, inc.Priority.Label())
	friday := func(h, m int) time.Time { return time.Date(2026, 11, 20, h, m, 0, 0, ny) }
	monday := func(h, m int) time.Time { return time.Date(2026, 11, 23, h, m, 0, 0, ny) }
	steps := []struct {
		at   time.Time
		what string
		do   func() (*incident.Incident, error)
	}{
		{friday(15, 30), "opened", func() (*incident.Incident, error) { return inc, nil }},
		{friday(15, 40), "assigned to payroll / bob", func() (*incident.Incident, error) {
			return svc.Assign(ctx, desk, inc.ID, incident.AssignInput{AssignmentGroup: "payroll", Assignee: "bob", Version: inc.Version})
		}},
		{friday(16, 0), "on hold, awaiting the caller", func() (*incident.Incident, error) {
			return svc.Hold(ctx, desk, inc.ID, incident.HoldInput{Reason: incident.AwaitingCaller, Note: "asked for the failing file", Version: inc.Version})
		}},
		{monday(10, 0), "caller replied; work resumes", func() (*incident.Incident, error) {
			return svc.AddComment(ctx, caller, inc.ID, "the failing file is attached")
		}},
		{monday(11, 30), "resolved", func() (*incident.Incident, error) {
			return svc.Resolve(ctx, desk, inc.ID, incident.ResolveInput{Code: "solved", Notes: "fixed the export mapping", Version: inc.Version})
		}},
	}
	for _, s := range steps {
		clock.Set(s.at)
		if inc, err = s.do(); err != nil {
			return err
		}
		if err := show(s.what, inc); err != nil {
			return err
		}
	}

	// The auto-close job closes resolved incidents after three business
	// days: Tuesday, Wednesday and Friday (Thursday is Thanksgiving).
	clock.Set(time.Date(2026, 11, 27, 17, 0, 0, 0, ny))
	n, err := svc.CloseResolved(ctx)
	if err != nil {
		return err
	}
	if inc, err = svc.Get(ctx, inc.ID); err != nil {
		return err
	}
	if err := show(fmt.Sprintf("auto-close job closed %d", n), inc); err != nil {
		return err
	}

	history, err := svc.History(ctx, inc.ID)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "\nAudit trail of %s:\n", inc.Number)
	for _, ev := range history {
		fmt.Fprintf(w, "%2d %s %-7s %-9s %-11s → %-11s %s\n", ev.Sequence, ev.At.In(ny).Format("Mon 15:04"),
			ev.Actor.ID, ev.Action, orDash(ev.From), ev.To, changes(ev))
	}
	return nil
}

// describe renders a timer's status in a few words.
func describe(st sla.Status, loc *time.Location) string {
	s := fmt.Sprintf("%s %s/%s", st.Stage, short(st.Elapsed), short(st.TargetBusiness))
	if !st.Due.IsZero() && st.Stage == sla.StageRunning {
		s += " due " + st.Due.In(loc).Format("Mon 15:04")
	}
	return s
}

// short renders a duration as hours and minutes: "0m", "45m", "8h",
// "2h30m".
func short(d time.Duration) string {
	m := int(d.Round(time.Minute) / time.Minute)
	switch h, m := m/60, m%60; {
	case h == 0:
		return fmt.Sprintf("%dm", m)
	case m == 0:
		return fmt.Sprintf("%dh", h)
	default:
		return fmt.Sprintf("%dh%dm", h, m)
	}
}

func changes(ev itsm.Event) string {
	var parts []string
	for _, c := range ev.Changes {
		if strings.HasPrefix(c.Field, "sla.") {
			parts = append(parts, c.Field+"="+c.New)
		}
	}
	if ev.Reason != "" {
		parts = append(parts, fmt.Sprintf("(%s)", ev.Reason))
	}
	return strings.Join(parts, " ")
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
