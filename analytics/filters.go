// Package analytics answers the dashboards' questions from gold (and, for
// lists of people, indexed silver): one Scope decides whose data a request
// may see, Filters narrow it, and every section — page fragment, JSON and
// export alike — is computed by the same functions here.
package analytics

import (
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Ranges are the date-range presets, in the order the filter bar offers them.
var Ranges = []struct{ Key, Label string }{
	{"7d", "Last 7 days"},
	{"30d", "Last 30 days"},
	{"90d", "Last 90 days"},
	{"12m", "Last 12 months"},
	{"custom", "Custom"},
}

// DefaultRange is the range of a dashboard opened without one.
const DefaultRange = "90d"

// MaxRangeDays bounds a custom range.
const MaxRangeDays = 3 * 366

// Filters narrow a dashboard: a date range of the tenant's local days and
// the org and catalogue dimensions. The zero value of each dimension means
// "all". Table state (sort, page, search) travels with them.
type Filters struct {
	Range      string
	From, To   time.Time // local dates (midnight UTC carrying the date), both inclusive
	Department string
	Location   string
	Manager    int64 // a learner id: everyone reporting to them, directly or not
	Course     int64
	Category   string

	Sort string
	Desc bool
	Page int
	Q    string
}

// InputError is a filter a user got wrong; it becomes a 400 naming it.
type InputError struct{ Param, Reason string }

func (e *InputError) Error() string { return fmt.Sprintf("%s: %s", e.Param, e.Reason) }

// ParseFilters reads filters from a query string. today is the tenant's
// local date. Unknown parameters are ignored; malformed ones are errors.
func ParseFilters(q url.Values, today time.Time) (Filters, error) {
	f := Filters{Range: q.Get("range"), Department: strings.TrimSpace(q.Get("department")),
		Location: strings.TrimSpace(q.Get("location")), Category: strings.TrimSpace(q.Get("category")),
		Sort: q.Get("sort"), Q: strings.TrimSpace(q.Get("q")), Page: 1}
	if f.Range == "" {
		f.Range = DefaultRange
		if q.Get("from") != "" || q.Get("to") != "" {
			f.Range = "custom"
		}
	}
	switch f.Range {
	case "7d", "30d", "90d":
		n, _ := strconv.Atoi(strings.TrimSuffix(f.Range, "d"))
		f.To, f.From = today, today.AddDate(0, 0, 1-n)
	case "12m":
		f.To, f.From = today, today.AddDate(-1, 0, 1)
	case "custom":
		var err error
		if f.From, err = parseDate(q, "from"); err != nil {
			return f, err
		}
		if f.To, err = parseDate(q, "to"); err != nil {
			return f, err
		}
		if f.To.Before(f.From) {
			return f, &InputError{"to", "must not be before from"}
		}
		if f.To.Sub(f.From) > MaxRangeDays*24*time.Hour {
			return f, &InputError{"to", fmt.Sprintf("a range may span at most %d days", MaxRangeDays)}
		}
	default:
		return f, &InputError{"range", "must be one of 7d, 30d, 90d, 12m or custom"}
	}
	var err error
	if f.Manager, err = parseID(q, "manager"); err != nil {
		return f, err
	}
	if f.Course, err = parseID(q, "course"); err != nil {
		return f, err
	}
	switch q.Get("dir") {
	case "", "asc":
	case "desc":
		f.Desc = true
	default:
		return f, &InputError{"dir", "must be asc or desc"}
	}
	if p := q.Get("page"); p != "" {
		n, err := strconv.Atoi(p)
		if err != nil || n < 1 || n > 1_000_000 {
			return f, &InputError{"page", "must be a whole number from 1"}
		}
		f.Page = n
	}
	for param, v := range map[string]string{"department": f.Department, "location": f.Location, "category": f.Category, "q": f.Q} {
		if len(v) > 200 {
			return f, &InputError{param, "must be at most 200 characters"}
		}
	}
	return f, nil
}

func parseDate(q url.Values, param string) (time.Time, error) {
	v := q.Get(param)
	if v == "" {
		return time.Time{}, &InputError{param, "is required for a custom range (YYYY-MM-DD)"}
	}
	d, err := time.Parse(time.DateOnly, v)
	if err != nil || d.Year() < 1970 || d.Year() > 9999 {
		return time.Time{}, &InputError{param, "must be a date as YYYY-MM-DD"}
	}
	return d, nil
}

func parseID(q url.Values, param string) (int64, error) {
	v := q.Get(param)
	if v == "" {
		return 0, nil
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 1 {
		return 0, &InputError{param, "must be a positive whole number (an id)"}
	}
	return n, nil
}

// Days is the number of days in the range.
func (f Filters) Days() int { return int(f.To.Sub(f.From).Hours()/24) + 1 }

// Previous is the same filters over the period of equal length just before.
func (f Filters) Previous() Filters {
	p := f
	p.To = f.From.AddDate(0, 0, -1)
	p.From = p.To.AddDate(0, 0, 1-f.Days())
	return p
}

// Values encodes the filters as a canonical query string: only what
// differs from the defaults, so links stay short and bookmarkable.
func (f Filters) Values() url.Values {
	v := url.Values{}
	if f.Range != DefaultRange {
		v.Set("range", f.Range)
	}
	if f.Range == "custom" {
		v.Set("from", f.From.Format(time.DateOnly))
		v.Set("to", f.To.Format(time.DateOnly))
	}
	set := func(k, s string) {
		if s != "" {
			v.Set(k, s)
		}
	}
	set("department", f.Department)
	set("location", f.Location)
	set("category", f.Category)
	if f.Manager != 0 {
		v.Set("manager", strconv.FormatInt(f.Manager, 10))
	}
	if f.Course != 0 {
		v.Set("course", strconv.FormatInt(f.Course, 10))
	}
	set("sort", f.Sort)
	if f.Desc {
		v.Set("dir", "desc")
	}
	if f.Page > 1 {
		v.Set("page", strconv.Itoa(f.Page))
	}
	set("q", f.Q)
	return v
}

// Query is Values as "?…", or "" when every filter is at its default.
func (f Filters) Query() string {
	if e := f.Values().Encode(); e != "" {
		return "?" + e
	}
	return ""
}

// Undated is the filters without their date range (its dates are zero),
// for views that show everything as of today whatever the range
// (compliance, the team tree), so that viewers of every range share them.
// Only such views may be computed with it.
func (f Filters) Undated() Filters {
	f.Range, f.From, f.To = DefaultRange, time.Time{}, time.Time{}
	return f
}

// WithoutTable is the filters without table state, for links to another
// view that starts at its first page with its own sort.
func (f Filters) WithoutTable() Filters {
	f.Sort, f.Desc, f.Page, f.Q = "", false, 1, ""
	return f
}

// RangeLabel describes the range, e.g. "Last 30 days" or "1 Mar 2026 – 31 Mar 2026".
func (f Filters) RangeLabel() string {
	for _, r := range Ranges {
		if r.Key == f.Range && r.Key != "custom" {
			return r.Label
		}
	}
	return f.From.Format("2 Jan 2006") + " – " + f.To.Format("2 Jan 2006")
}
