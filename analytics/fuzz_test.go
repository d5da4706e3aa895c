package analytics

import (
	"net/url"
	"reflect"
	"testing"
	"time"
)

// FuzzParseFilters checks that the dashboards' filter parser never panics,
// that what it accepts is a sane range, and that accepted filters survive
// their canonical encoding unchanged: the shared view cache keys results
// by Values().Encode(), so two different filter sets with one encoding
// would be served each other's numbers.
func FuzzParseFilters(f *testing.F) {
	for _, seed := range []string{"", "range=7d", "range=12m&department=Sales&location=Berlin", "range=custom&from=2026-01-01&to=2026-03-01",
		"from=2026-02-30", "course=12&manager=7&sort=course&dir=desc&page=3&q=safety", "range=custom&from=1969-12-31&to=9999-12-31",
		"department=%20Sales%20&category=x&page=0", "manager=-1", "dir=up"} {
		f.Add(seed)
	}
	today := time.Date(2026, 12, 6, 0, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, query string) {
		q, err := url.ParseQuery(query)
		if err != nil {
			return
		}
		got, err := ParseFilters(q, today)
		if err != nil {
			if _, ok := err.(*InputError); !ok {
				t.Fatalf("%q: error %v is not an InputError (it would not become a 400)", query, err)
			}
			return
		}
		if got.To.Before(got.From) || got.Days() < 1 || got.Days() > MaxRangeDays+1 || got.Page < 1 {
			t.Fatalf("%q: accepted from %v to %v (%d days), page %d", query, got.From, got.To, got.Days(), got.Page)
		}
		again, err := ParseFilters(got.Values(), today)
		if err != nil {
			t.Fatalf("%q: its canonical form %q is refused: %v", query, got.Values().Encode(), err)
		}
		if !reflect.DeepEqual(got, again) {
			t.Fatalf("%q: canonical form %q reads back as %+v, not %+v", query, got.Values().Encode(), again, got)
		}
	})
}
