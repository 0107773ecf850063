// Package sla holds itsmkit's service level management: business
// calendars and the business-time arithmetic built on them, and the SLA
// policies, timers and compliance reports that use it.
//
// # Business calendars
//
// A Calendar says when a service desk works. It is built from a
// CalendarSpec, which decodes from JSON:
//
//	{"name": "emea-service-desk", "time_zone": "Europe/London",
//	 "hours": {"mon": [["09:00", "17:00"]], "tue": [["09:00", "12:00"], ["13:00", "17:00"]]},
//	 "shifts": {"2026-12-24": [["09:00", "12:00"]]},
//	 "breaks": {"2026-06-03": [["12:15", "12:45"]]},
//	 "holidays": ["2026-12-25", "2026-12-28"],
//	 "holiday_rules": [{"name": "Spring bank holiday", "month": 5, "weekday": "mon", "nth": -1}]}
//
// One IANA zone; weekly hours with any number of intervals per weekday
// ("24:00" may end one; an end before the start makes an overnight
// interval belonging to the date it starts on); shifts that replace one
// date's hours; breaks that remove time from one date's hours after any
// shift; holidays that close whole local dates, even shifted ones; and
// recurring HolidayRules (fixed dates with weekend observance, Nth or last
// weekday of a month, Easter offsets). Subpackage sla/holidays adds the
// national holidays of many countries from github.com/rickar/cal/v2.
//
// NewCalendar validates everything at once and reports each problem as a
// field of an *itsm.ValidationError (matching itsm.ErrValidation). A
// calendar is immutable and safe for concurrent use; its queries do not
// allocate:
//
//   - IsOpen(t), NextOpen(t), NextClose(t) and Periods(from, to), an
//     iter.Seq of open periods;
//   - Elapsed(from, to): real open time in [from, to), negative when to is
//     before from;
//   - Add(t, d): the earliest instant with d of open time since t (a due
//     time that exactly fills a day ends at that day's close); Sub(t, d):
//     the latest instant with d of open time until t;
//   - AddDays(t, n): the close of the n-th open date after t's date, for
//     "N business days" rules.
//
// Openness is decided on the wall clock of the calendar's zone, and all
// durations are real time, so DST changes neither invent nor double time:
// a spring-forward day's 00:00–24:00 lasts 23 hours, a fall-back day's 25,
// and an interval inside a repeated hour is open on each pass. Results
// are instants in the Location of the argument; compare them with Equal.
// Searches stop at SearchHorizon (250 years) instead of running forever.
//
// AlwaysOpen(loc) is the 24×7 calendar. Intersect and Union combine two
// calendars of one zone as set operations on their open instants.
//
// # Policies and timers
//
// A Policy (an SLA, an OLA or an underpinning contract) names a calendar
// and gives, per metric ("response", "resolution" or one of the user's
// own) and per priority, a Target written as an ISO 8601 duration: "PT4H"
// is four hours of open time, "P2D" means by the close of the second open
// day after the start. Policies load from JSON (ParsePolicy) and validate
// with typed errors; warning thresholds default to 50 % and 75 %, and the
// breach is at 100 %.
//
// A Timer is rebuilt from its own history of events (start, pause, resume,
// stop, cancel, reset to a new cycle, retarget), so Timer.Status(now) is a
// pure function of that history, the calendar and the instant asked
// about: the stage (running, paused, met, breached, cancelled), business
// and actual elapsed time, the due time, the breach instant, each
// threshold with the instant it is or was reached, and the next instant a
// scheduler must wake up for. Status does not allocate. Impossible
// histories are refused with a *HistoryError. Timers know nothing of
// incidents; the record packages drive them.
//
// # Compliance and availability
//
// Compliance summarises timers (met, breached, percentage met, mean,
// median and 90th percentile business time) grouped by policy, metric,
// priority, a key of the caller's and calendar month. Availability
// measures agreed service hours against outages, and a CreditTable turns
// the result into a service credit. Percentages and money are
// shopspring/decimal values, computed exactly.
package sla
