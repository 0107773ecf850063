package incident_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/itsmkit/itsmkit/incident"
	"github.com/itsmkit/itsmkit/itsm"
	"github.com/itsmkit/itsmkit/outbox"
	"github.com/itsmkit/itsmkit/record"
	"github.com/itsmkit/itsmkit/sla"
	"github.com/itsmkit/itsmkit/storage"
	"github.com/itsmkit/itsmkit/storage/memory"
	"github.com/itsmkit/itsmkit/storage/postgres"
	"github.com/itsmkit/itsmkit/storage/sqlite"
)

// usCalendars returns the calendars of newFixture's SLA policy, for
// stores whose SLA worker binds timers.
func usCalendars(t testing.TB) sla.Calendars {
	t.Helper()
	var spec sla.CalendarSpec
	require.NoError(t, jsonUnmarshal(usCalendar, &spec))
	cal, err := sla.NewCalendar(spec)
	require.NoError(t, err)
	return sla.Calendars{"us-9-5": cal}
}

// workerStores are the stores, each knowing the calendars its SLA worker
// needs.
var workerStores = map[string]storeFactory{
	"memory": func(t testing.TB) record.Store { return memory.New(memory.WithCalendars(usCalendars(t))) },
	"sqlite": func(t testing.TB) record.Store {
		s, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "itsm.db"), sqlite.WithCalendars(usCalendars(t)))
		require.NoError(t, err)
		t.Cleanup(func() { _ = s.Close() })
		return s
	},
	"postgres": func(t testing.TB) record.Store { return postgresStoreWith(t, postgres.WithCalendars(usCalendars(t))) },
}

// breach opens an incident, lets its SLA targets pass, and has the SLA
// worker record the crossings; it returns the incident.
func (f *fixture) breach(t *testing.T) *incident.Incident {
	t.Helper()
	inc := f.open(t, p2)
	f.clock.Advance(30 * 24 * time.Hour)
	w := storage.Worker{Processor: f.store.(storage.TimerProcessor), Clock: f.clock}
	pass, err := w.RunOnce(context.Background())
	require.NoError(t, err)
	require.Positive(t, pass.Recorded, "the worker recorded the breaches")
	return inc
}

// TestSubscriberEscalates has a subscriber escalate each breach by
// calling the service: it reassigns the incident on a breach of its
// resolution target and adds a work note on any breach. Deliveries run
// outside every transaction, so the service's own writes go through on
// every store.
func TestSubscriberEscalates(t *testing.T) {
	t.Parallel()
	for _, name := range sortedKeys(workerStores) {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t, workerStores[name])
			inc := f.breach(t)
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			escalated := 0
			escalate := outbox.HandlerFunc(func(ctx context.Context, m record.Message) error {
				c, ok := storage.CrossingFromEvent(m.Event)
				if !ok || !c.Breach() {
					return nil
				}
				escalated++
				note := fmt.Sprintf("Escalated: %s %s target breached.", c.Policy, c.Metric)
				if _, err := f.svc.AddWorkNote(ctx, agent, c.Record.ID, note); err != nil {
					return err
				}
				if c.Metric != sla.MetricResolution {
					return nil
				}
				_, err := f.svc.Assign(ctx, agent, c.Record.ID, incident.AssignInput{AssignmentGroup: "major-incident-team"})
				return err
			})
			d := &outbox.Deliverer{Store: f.store, Subscribers: map[string]outbox.Handler{"escalate": escalate}, Clock: f.clock}
			stats, err := d.RunOnce(ctx)
			require.NoError(t, err)
			require.Zero(t, stats.Deferred+stats.Buried, "every delivery succeeded at once")
			require.Equal(t, 2, escalated, "the response and the resolution breaches")
			got, err := f.svc.Get(ctx, inc.ID)
			require.NoError(t, err)
			require.Equal(t, "major-incident-team", got.AssignmentGroup)
			require.Len(t, got.Journal, 2)
			dead, err := f.store.DeadLetters(ctx, "escalate", 0, 10)
			require.NoError(t, err)
			require.Empty(t, dead)
			// The escalation's own events reach the subscriber too, and
			// set off nothing more.
			stats, err = d.RunOnce(ctx)
			require.NoError(t, err)
			require.Equal(t, 2, escalated)
			require.Zero(t, stats.Deferred+stats.Buried)
		})
	}
}

// writerEnv names the SQLite file TestHelperProcessWriter writes to.
const writerEnv = "ITSM_TEST_WRITER_DB"

// TestSlowSubscriberLeavesSQLiteWritable delivers an SLA breach to a
// subscriber that takes six seconds, during which another process opens
// an incident in the same SQLite file (the subscriber waits for it, up to
// a minute, so that no timing decides the outcome). The
// delivery holds no transaction, so the other process writes while it
// runs; when the hook ran inside the worker's write transaction, the
// other process waited for the write lock in vain.
func TestSlowSubscriberLeavesSQLiteWritable(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "itsm.db")
	f := newFixture(t, func(t testing.TB) record.Store {
		s, err := sqlite.Open(context.Background(), path, sqlite.WithCalendars(usCalendars(t)))
		require.NoError(t, err)
		t.Cleanup(func() { _ = s.Close() })
		return s
	})
	f.breach(t)
	var writerErr error
	var writerOut []byte
	slow := outbox.HandlerFunc(func(ctx context.Context, m record.Message) error {
		if c, ok := storage.CrossingFromEvent(m.Event); !ok || !c.Breach() || writerOut != nil {
			return nil
		}
		// The hook lasts six seconds, or as long as the other process
		// takes to write if that is longer.
		six := time.After(6 * time.Second)
		cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^TestHelperProcessWriter$", "-test.count=1")
		cmd.Env = append(os.Environ(), writerEnv+"="+path)
		writerOut, writerErr = cmd.CombinedOutput()
		<-six
		return nil
	})
	d := &outbox.Deliverer{Store: f.store, Subscribers: map[string]outbox.Handler{"slow": slow}, Clock: f.clock, Timeout: time.Minute}
	_, err := d.RunOnce(context.Background())
	require.NoError(t, err)
	require.NoError(t, writerErr, "the other process wrote while the subscriber ran:\n%s", writerOut)
	page, err := f.svc.List(context.Background(), incident.Query{})
	require.NoError(t, err)
	require.Len(t, page.Incidents, 2, "the other process's incident is stored")
}

// TestHelperProcessWriter is the other process of
// TestSlowSubscriberLeavesSQLiteWritable: it opens an incident in the
// SQLite file writerEnv names. It does nothing in a normal test run.
func TestHelperProcessWriter(t *testing.T) {
	path := os.Getenv(writerEnv)
	if path == "" {
		t.Skip("the other process of TestSlowSubscriberLeavesSQLiteWritable")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Second)
	defer cancel()
	s, err := sqlite.Open(ctx, path)
	require.NoError(t, err)
	defer s.Close()
	svc, err := incident.NewService(ctx, s, incident.Config{})
	require.NoError(t, err)
	_, err = svc.Open(ctx, itsm.Actor{ID: "bob"}, incident.OpenInput{Title: "Printer is down", Impact: itsm.ImpactLow, Urgency: itsm.UrgencyLow})
	require.NoError(t, err)
}

// auditLog is what the SQL stores verify their audit log with.
type auditLog interface {
	VerifyAuditLog(ctx context.Context, cp *storage.Checkpoint) (*storage.AuditReport, error)
}

// TestWorkerEventsVerify runs an incident through its breach, its
// escalation and its resolution on the SQL stores with a seal key: the
// events the SLA worker and the timer writes record are sealed and
// logged like the service's own, so the whole audit log verifies.
func TestWorkerEventsVerify(t *testing.T) {
	t.Parallel()
	key := []byte("an application key of 32 bytes..")
	stores := map[string]storeFactory{
		"sqlite": func(t testing.TB) record.Store {
			s, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "itsm.db"),
				sqlite.WithCalendars(usCalendars(t)), sqlite.WithAuditSeal(key))
			require.NoError(t, err)
			t.Cleanup(func() { _ = s.Close() })
			return s
		},
		"postgres": func(t testing.TB) record.Store {
			return postgresStoreWith(t, postgres.WithCalendars(usCalendars(t)), postgres.WithAuditSeal(key))
		},
	}
	for _, name := range sortedKeys(stores) {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			f := newFixture(t, stores[name])
			inc := f.breach(t)
			started, err := f.svc.StartWork(ctx, agent, inc.ID, 0)
			require.NoError(t, err)
			_, err = f.svc.Resolve(ctx, agent, inc.ID, incident.ResolveInput{Version: started.Version, Code: "solved", Notes: "Relay replaced."})
			require.NoError(t, err)
			history, err := f.svc.History(ctx, inc.ID)
			require.NoError(t, err)
			crossings := 0
			for _, ev := range history {
				if _, ok := storage.CrossingFromEvent(ev); ok {
					crossings++
				}
			}
			require.Positive(t, crossings)
			report, err := f.store.(auditLog).VerifyAuditLog(ctx, nil)
			require.NoError(t, err)
			require.NoError(t, report.Err())
		})
	}
}
