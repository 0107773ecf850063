// Package holidays supplies national holiday sets for sla calendars. The
// definitions are those of github.com/rickar/cal/v2, a maintained
// collection of country rules (fixed dates with weekend substitutes, Nth
// weekdays, Easter offsets, year ranges); this package only expands them
// into plain dates, so package sla itself stays free of that dependency and
// a CalendarSpec carrying the result is ordinary, portable JSON.
//
// Use AddTo to put a country's holidays for a range of years into a
// CalendarSpec before calling sla.NewCalendar:
//
//	spec, err := holidays.AddTo(spec, "US", 2020, 2035)
//	cal, err := sla.NewCalendar(spec)
//
// Each holiday contributes its observed date: when a definition moves a
// weekend holiday to a weekday (US Independence Day on a Saturday is
// observed on the Friday), only the weekday is closed.
package holidays

import (
	"fmt"
	"slices"
	"sort"

	"github.com/itsmkit/itsmkit/itsm"
	"github.com/itsmkit/itsmkit/sla"
	"github.com/rickar/cal/v2"
	"github.com/rickar/cal/v2/at"
	"github.com/rickar/cal/v2/au"
	"github.com/rickar/cal/v2/be"
	"github.com/rickar/cal/v2/br"
	"github.com/rickar/cal/v2/ca"
	"github.com/rickar/cal/v2/ch"
	"github.com/rickar/cal/v2/cz"
	"github.com/rickar/cal/v2/de"
	"github.com/rickar/cal/v2/dk"
	"github.com/rickar/cal/v2/es"
	"github.com/rickar/cal/v2/fr"
	"github.com/rickar/cal/v2/gb"
	"github.com/rickar/cal/v2/ie"
	"github.com/rickar/cal/v2/it"
	"github.com/rickar/cal/v2/jp"
	"github.com/rickar/cal/v2/nl"
	"github.com/rickar/cal/v2/no"
	"github.com/rickar/cal/v2/nz"
	"github.com/rickar/cal/v2/pl"
	"github.com/rickar/cal/v2/se"
	"github.com/rickar/cal/v2/us"
	"github.com/rickar/cal/v2/za"
	"github.com/rickb777/date/v2"
)

// sets maps a set code to its definitions. It is never modified.
var sets = map[string][]*cal.Holiday{
	"AT": at.Holidays, "BE": be.Holidays, "BR": br.Holidays, "CA": ca.Holidays,
	"CH": ch.Holidays, "CZ": cz.Holidays, "DE": de.Holidays, "DK": dk.Holidays,
	"ES": es.Holidays, "FR": fr.Holidays, "GB": gb.Holidays, "IE": ie.Holidays,
	"IT": it.Holidays, "JP": jp.Holidays, "NL": nl.Holidays, "NO": no.Holidays,
	"NZ": nz.Holidays, "PL": pl.Holidays, "SE": se.Holidays, "US": us.Holidays,
	"ZA":     za.Holidays,
	"AU-ACT": au.HolidaysACT, "AU-NSW": au.HolidaysNSW, "AU-NT": au.HolidaysNT,
	"AU-QLD": au.HolidaysQLD, "AU-SA": au.HolidaysSA, "AU-TAS": au.HolidaysTAS,
	"AU-VIC": au.HolidaysVIC, "AU-WA": au.HolidaysWA,
}

// MaxYears is the widest year range Dates and AddTo expand.
const MaxYears = 1000

// Sets returns the codes of the available holiday sets, sorted: ISO 3166-1
// alpha-2 country codes ("US", "GB", "DE", …) and, for Australia, states
// ("AU-NSW", …).
func Sets() []string {
	out := make([]string, 0, len(sets))
	for k := range sets {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// Dates returns the observed dates of the holidays of set in the years
// fromYear through toYear (inclusive), sorted and without duplicates. A
// date observed in a neighbouring year (1 January on a Saturday observed
// on 31 December) is included when its holiday's year is in range. It
// returns a *itsm.ValidationError (matching itsm.ErrValidation) for an
// unknown set, a reversed range, a year outside 1–9999 or a range wider
// than MaxYears.
func Dates(set string, fromYear, toYear int) ([]date.Date, error) {
	defs, err := lookup(set, fromYear, toYear)
	if err != nil {
		return nil, err
	}
	var out []date.Date
	for y := fromYear; y <= toYear; y++ {
		for _, h := range defs {
			_, observed := h.Calc(y)
			if observed.IsZero() {
				continue
			}
			yy, mm, dd := observed.Date()
			out = append(out, date.New(yy, mm, dd))
		}
	}
	slices.Sort(out)
	return slices.Compact(out), nil
}

func lookup(set string, fromYear, toYear int) ([]*cal.Holiday, error) {
	v := &itsm.ValidationError{Subject: "holiday set " + set}
	defs, ok := sets[set]
	if !ok {
		v.Add("set", "unknown holiday set %q; see holidays.Sets", set)
	}
	switch {
	case fromYear < 1 || fromYear > 9999:
		v.Add("from_year", "%d is outside 1..9999", fromYear)
	case toYear < 1 || toYear > 9999:
		v.Add("to_year", "%d is outside 1..9999", toYear)
	case toYear < fromYear:
		v.Add("to_year", "%d is before from_year %d", toYear, fromYear)
	case toYear-fromYear >= MaxYears:
		v.Add("to_year", "the range is wider than %d years", MaxYears)
	}
	return defs, v.Err()
}

// AddTo returns a copy of spec whose Holidays also hold the dates of set
// for fromYear through toYear, as "YYYY-MM-DD", skipping dates already
// listed. The input spec is not modified. Errors are those of Dates.
func AddTo(spec sla.CalendarSpec, set string, fromYear, toYear int) (sla.CalendarSpec, error) {
	dates, err := Dates(set, fromYear, toYear)
	if err != nil {
		return spec, err
	}
	have := make(map[string]bool, len(spec.Holidays))
	for _, h := range spec.Holidays {
		have[h] = true
	}
	out := slices.Clone(spec.Holidays)
	for _, d := range dates {
		y, m, dd := d.Date()
		s := fmt.Sprintf("%04d-%02d-%02d", y, int(m), dd)
		if !have[s] {
			have[s] = true
			out = append(out, s)
		}
	}
	spec.Holidays = out
	return spec, nil
}
