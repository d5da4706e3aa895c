package bench

import (
	"strings"
	"testing"
	"time"
)

// TestFreshnessRule checks the benchmark's freshness verdicts: a response
// may show an older version only while the next one is less than a second
// old at the request's start.
func TestFreshnessRule(t *testing.T) {
	t0 := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	at := func(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }
	log := freshnessLog{committed: true, polls: 100, hist: []versionAt{{10, at(0)}, {11, at(500)}, {12, at(2000)}}}
	resp := func(startMS int, version string) sample {
		return sample{ok: true, start: at(startMS), lat: 10 * time.Millisecond, version: version, date: "2026-12-01"}
	}
	for _, tc := range []struct {
		name    string
		samples []sample
		log     freshnessLog
		verdict string
		maxLag  string
	}{
		{"newest version", []sample{resp(600, "11"), resp(2100, "12")}, log, "PASS", "max lag 0.0 ms"},
		{"a version committed during the request", []sample{resp(1900, "12")}, log, "PASS", "max lag 0.0 ms"},
		{"one behind, successor 0.9 s old", []sample{resp(1400, "10")}, log, "PASS", "max lag 900.0 ms"},
		{"one behind, successor 1.5 s old", []sample{resp(1999, "11"), resp(2000, "10")}, log, "MISS", "max lag 1500.0 ms"},
		{"two behind: lag from the first version after the shown one", []sample{resp(2100, "10")}, log, "MISS", "max lag 1600.0 ms"},
		{"successor exactly 1 s old", []sample{resp(1500, "10")}, log, "MISS", "max lag 1000.0 ms"},
		{"no header on one response", []sample{resp(600, "11"), resp(700, "")}, log, "MISS", ""},
		{"no headers at all", []sample{resp(600, "")}, log, "n/a", ""},
		{"no version column", []sample{resp(600, "11")}, freshnessLog{missing: "no column"}, "n/a", ""},
		{"failed requests are not judged", []sample{resp(600, "11"), {start: at(1900), version: "10"}}, log, "PASS", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := checkFreshness(tc.samples, tc.log, time.UTC)
			if f.verdict != tc.verdict {
				t.Errorf("verdict %s, want %s (%s)", f.verdict, tc.verdict, f.detail)
			}
			if !strings.Contains(f.detail, tc.maxLag) {
				t.Errorf("detail %q, want %q", f.detail, tc.maxLag)
			}
		})
	}
}
