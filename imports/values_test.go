package imports

import (
	"strings"
	"testing"
	"time"
)

func TestParseKind(t *testing.T) {
	tests := []struct {
		in   string
		want Kind
		ok   bool
	}{
		{"roster", KindRoster, true},
		{"Roster", KindRoster, true},
		{" COURSES ", KindCourses, true},
		{"enrollments", KindEnrollments, true},
		{"Completions", KindEnrollments, true},
		{"requirements", KindRequirements, true},
		{"COMPLIANCE", KindRequirements, true},
		{"enrolments", "", false},
		{"", "", false},
		{"users", "", false},
	}
	for _, tt := range tests {
		got, err := ParseKind(tt.in)
		if (err == nil) != tt.ok || got != tt.want {
			t.Errorf("ParseKind(%q) = %q, %v; want %q, ok=%v", tt.in, got, err, tt.want, tt.ok)
		}
	}
}

func TestRowErrorString(t *testing.T) {
	tests := []struct {
		e    RowError
		want string
	}{
		{RowError{File: "roster.csv", Line: 7, Column: "hire_date", Value: "31/02/2024", Reason: "not a date: use YYYY-MM-DD"},
			`roster.csv line 7, column hire_date: not a date: use YYYY-MM-DD (got "31/02/2024")`},
		{RowError{File: "roster.csv", Line: 3, Reason: "row has 2 cells but the header has 3"},
			`roster.csv line 3: row has 2 cells but the header has 3`},
		{RowError{Line: 2, Column: "email", Reason: "required but empty"},
			`line 2, column email: required but empty`},
	}
	for _, tt := range tests {
		if got := tt.e.Error(); got != tt.want {
			t.Errorf("Error() = %s\nwant      %s", got, tt.want)
		}
	}
	long := truncate(strings.Repeat("é", 500))
	if n := len([]rune(long)); n != maxValueLen || !strings.HasSuffix(long, "…") {
		t.Errorf("truncate: %d runes, %q", n, long[len(long)-8:])
	}
}

func TestDate(t *testing.T) {
	if s := d(2024, time.March, 5).String(); s != "2024-03-05" {
		t.Errorf("String() = %q", s)
	}
	if !(Date{}).IsZero() || d(2024, 1, 1).IsZero() {
		t.Error("IsZero wrong")
	}
	if !d(2024, 1, 31).Before(d(2024, 2, 1)) || d(2024, 2, 1).Before(d(2024, 2, 1)) || d(2025, 1, 1).Before(d(2024, 12, 31)) {
		t.Error("Before wrong")
	}
	if got := d(2024, 2, 29).Time(); !got.Equal(time.Date(2024, 2, 29, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("Time() = %v", got)
	}
}

func TestParseDate(t *testing.T) {
	tests := []struct {
		in     string
		want   Date
		reason string // substring; "" means valid
	}{
		{"", Date{}, ""},
		{"2024-01-05", d(2024, 1, 5), ""},
		{"2024/01/05", d(2024, 1, 5), ""},
		{"2024-1-5", d(2024, 1, 5), ""},
		{"2024.01.05", d(2024, 1, 5), ""},
		{"2024-02-29", d(2024, 2, 29), ""},
		{"2024-01-05T10:30:00Z", d(2024, 1, 5), ""},
		{"2024-01-05T23:30:00-05:00", d(2024, 1, 5), ""},
		{"2024-01-05 10:30", d(2024, 1, 5), ""},
		{"2024-01-05T10:30:00.123+0200", d(2024, 1, 5), ""},
		{"45296", d(2024, 1, 5), ""},    // Excel serial
		{"45296.75", d(2024, 1, 5), ""}, // serial with a time
		{"2024-02-30", Date{}, "February 2024 has 29 days"},
		{"2023-02-29", Date{}, "February 2023 has 28 days"},
		{"2024-13-01", Date{}, "month must be 01 to 12"},
		{"2024-04-31", Date{}, "April 2024 has 30 days"},
		{"31/02/2024", Date{}, "use YYYY-MM-DD; day/month order is ambiguous"},
		{"05/01/2024", Date{}, "use YYYY-MM-DD; day/month order is ambiguous"},
		{"1-5-24", Date{}, "ambiguous"},
		{"05.01.2024", Date{}, "ambiguous"},
		{"2024-01/05", Date{}, "not a date: use YYYY-MM-DD"},
		{"2024-01-05Tnoon", Date{}, "not a date"},
		{"Jan 5 2024", Date{}, "not a date: use YYYY-MM-DD"},
		{"yesterday", Date{}, "not a date"},
		{"0224-01-05", Date{}, "year must be between 1900 and 2199"},
		{"0", Date{}, "not a date"},
		{"2024", Date{}, "not a date"}, // a year, not serial 2024 (1905-07-16)
		{"10000", d(1927, 5, 18), ""},
		{"20240105", Date{}, "not a date"}, // too large for a serial
		{"-45296", Date{}, "not a date"},
	}
	for _, tt := range tests {
		got, reason := parseDate(tt.in, false)
		if got != tt.want || (tt.reason == "") != (reason == "") || !strings.Contains(reason, tt.reason) {
			t.Errorf("parseDate(%q) = %v, %q; want %v, %q", tt.in, got, reason, tt.want, tt.reason)
		}
	}
	// The 1904 date system (old Mac workbooks) counts from 1904-01-01.
	if got, _ := parseDate("43834", true); got != d(2024, 1, 5) {
		t.Errorf("1904 serial: got %v", got)
	}
}

func TestParseScore(t *testing.T) {
	tests := []struct {
		in     string
		want   float64
		null   bool
		reason string
	}{
		{"", 0, true, ""},
		{"85", 0.85, false, ""},
		{"85%", 0.85, false, ""},
		{"85 %", 0.85, false, ""},
		{"0.85", 0.85, false, ""},
		{"0,85", 0.85, false, ""},
		{"85.5", 0.855, false, ""},
		{"100", 1, false, ""},
		{"100%", 1, false, ""},
		{"1", 1, false, ""},
		{"1%", 0.01, false, ""},
		{"0", 0, false, ""},
		{"0.5%", 0.005, false, ""},
		{"101", 0, true, "out of range"},
		{"-1", 0, true, "out of range"},
		{"150%", 0, true, "out of range"},
		{"A", 0, true, "not a score"},
		{"NaN", 0, true, "not a score"},
		{"Inf", 0, true, "not a score"},
		{"0x10", 0, true, "not a score"},
	}
	for _, tt := range tests {
		got, reason := parseScore(tt.in)
		if !strings.Contains(reason, tt.reason) || (tt.reason == "") != (reason == "") {
			t.Errorf("parseScore(%q) reason %q, want %q", tt.in, reason, tt.reason)
			continue
		}
		if (got == nil) != tt.null || (got != nil && abs(*got-tt.want) > 1e-12) {
			t.Errorf("parseScore(%q) = %v, want %v (nil=%v)", tt.in, got, tt.want, tt.null)
		}
	}
}

func abs(f float64) float64 {
	if f < 0 {
		return -f
	}
	return f
}

func TestParseDuration(t *testing.T) {
	tests := []struct {
		in     string
		want   int
		reason string
	}{
		{"", 0, ""},
		{"90", 90, ""},
		{"0", 0, ""},
		{"90.0", 90, ""},
		{"90 min", 90, ""},
		{"90 minutes", 90, ""},
		{"90m", 90, ""},
		{"1h30m", 90, ""},
		{"1h 30m", 90, ""},
		{"1 hour 30 minutes", 90, ""},
		{"1h30", 90, ""},
		{"2h", 120, ""},
		{"1.5h", 90, ""},
		{"1:30", 90, ""},
		{"0:45", 45, ""},
		{"10:05", 605, ""},
		{"1:30:00", 90, ""},
		{"PT1H30M", 90, ""},
		{"pt90m", 90, ""},
		{"PT45M", 45, ""},
		{"PT2H", 120, ""},
		{"PT5400S", 90, ""},
		{"P1D", 1440, ""},
		{"P1DT1H", 1500, ""},
		{"P", 0, "not a duration"},
		{"PT", 0, "not a duration"},
		{"1.5", 0, "whole number of minutes"},
		{"-5", 0, "negative"},
		{"1:75", 0, "not a duration"},
		{"ninety", 0, "not a duration"},
		{"90 seconds", 0, "not a duration"},
		{"1000000", 0, "longer than a year"},
	}
	for _, tt := range tests {
		got, reason := parseDuration(tt.in)
		if got != tt.want || (tt.reason == "") != (reason == "") || !strings.Contains(reason, tt.reason) {
			t.Errorf("parseDuration(%q) = %d, %q; want %d, %q", tt.in, got, reason, tt.want, tt.reason)
		}
	}
}

func TestParseAudience(t *testing.T) {
	tests := []struct {
		in     string
		want   Audience
		reason string
	}{
		{"", Audience{All: true}, ""},
		{"all", Audience{All: true}, ""},
		{"All", Audience{All: true}, ""},
		{"Everyone", Audience{All: true}, ""},
		{"all staff", Audience{All: true}, ""},
		{"*", Audience{All: true}, ""},
		{"department=Sales", Audience{Department: "Sales"}, ""},
		{"department=Sales; location=London", Audience{Department: "Sales", Location: "London"}, ""},
		{"Department: Sales;Location : London ;", Audience{Department: "Sales", Location: "London"}, ""},
		{"dept=Sales, location=London", Audience{Department: "Sales", Location: "London"}, ""},
		{"department=Sales, EMEA, location=London", Audience{Department: "Sales, EMEA", Location: "London"}, ""},
		{"department=Sales, EMEA", Audience{Department: "Sales, EMEA"}, ""},
		{"job_title=Engineer; site=Leeds", Audience{JobTitle: "Engineer", Location: "Leeds"}, ""},
		{"Job Title = Senior  Engineer", Audience{JobTitle: "Senior Engineer"}, ""},
		{"role=Nurse\nteam=Ward 5", Audience{JobTitle: "Nurse", Department: "Ward 5"}, ""},
		{"Sales", Audience{}, "has no key"},
		{"grade=5", Audience{}, `unknown audience key "grade"`},
		{"department=", Audience{}, "has no value"},
		{"department=Sales; department=HR", Audience{}, "names department twice"},
	}
	for _, tt := range tests {
		got, reason := parseAudience(tt.in)
		if got != tt.want || (tt.reason == "") != (reason == "") || !strings.Contains(reason, tt.reason) {
			t.Errorf("parseAudience(%q) = %+v, %q; want %+v, %q", tt.in, got, reason, tt.want, tt.reason)
		}
	}
	if s := (Audience{Department: "Sales", JobTitle: "Rep"}).String(); s != "department=Sales; job_title=Rep" {
		t.Errorf("Audience.String() = %q", s)
	}
}

func TestParseCount(t *testing.T) {
	tests := []struct {
		in     string
		months bool
		want   int
		reason string
	}{
		{"30", false, 30, ""},
		{"30 days", false, 30, ""},
		{"30d", false, 30, ""},
		{"2 weeks", false, 14, ""},
		{"30.0", false, 30, ""},
		{"30.5", false, 0, "whole number of days"},
		{"-3", false, 0, "whole number of days"},
		{"3 months", false, 0, "whole number of days"},
		{"12", true, 12, ""},
		{"12 months", true, 12, ""},
		{"1 year", true, 12, ""},
		{"2y", true, 24, ""},
		{"never", true, 0, ""},
		{"None", true, 0, ""},
		{"-", true, 0, ""},
		{"n/a", true, 0, ""},
		{"annually", true, 0, "whole number of months"},
	}
	for _, tt := range tests {
		got, reason := parseCount(tt.in, tt.months)
		if got != tt.want || (tt.reason == "") != (reason == "") || !strings.Contains(reason, tt.reason) {
			t.Errorf("parseCount(%q, %v) = %d, %q; want %d, %q", tt.in, tt.months, got, reason, tt.want, tt.reason)
		}
	}
}

func TestWords(t *testing.T) {
	status := map[string]string{
		"": "active", "Active": "active", "leave": "active", "On Leave": "active", "on-leave": "active",
		"terminated": "inactive", "Left": "inactive", "LEAVER": "inactive", "inactive": "inactive", "disabled": "inactive",
	}
	for in, want := range status {
		if got, reason := parseStatus(in); got != want || reason != "" {
			t.Errorf("parseStatus(%q) = %q, %q; want %q", in, got, reason, want)
		}
	}
	if _, reason := parseStatus("retired?"); !strings.Contains(reason, "use active or inactive") {
		t.Errorf("parseStatus: reason %q", reason)
	}
	required := map[string]bool{
		"": false, "yes": true, "No": false, "TRUE": true, "false": false, "1": true, "0": false,
		"y": true, "N": false, "Required": true, "optional": false, "Mandatory": true,
	}
	for in, want := range required {
		if got, reason := parseRequired(in); got != want || reason != "" {
			t.Errorf("parseRequired(%q) = %v, %q; want %v", in, got, reason, want)
		}
	}
	if _, reason := parseRequired("maybe"); !strings.Contains(reason, "not yes or no") {
		t.Errorf("parseRequired: reason %q", reason)
	}
	passed := map[string]*bool{
		"": nil, "yes": bp(true), "no": bp(false), "Pass": bp(true), "FAILED": bp(false), "1": bp(true), "0": bp(false), "true": bp(true),
	}
	for in, want := range passed {
		got, reason := parsePassed(in)
		if reason != "" || (got == nil) != (want == nil) || (got != nil && *got != *want) {
			t.Errorf("parsePassed(%q) = %v, %q; want %v", in, got, reason, want)
		}
	}
	if _, reason := parsePassed("incomplete"); !strings.Contains(reason, "not pass or fail") {
		t.Errorf("parsePassed: reason %q", reason)
	}
	from := map[string]string{"": "assignment", "Assignment": "assignment", "assigned": "assignment", "hire": "hire", "Hire Date": "hire", "start date": "hire"}
	for in, want := range from {
		if got, reason := parseDueFrom(in); got != want || reason != "" {
			t.Errorf("parseDueFrom(%q) = %q, %q; want %q", in, got, reason, want)
		}
	}
}

func TestCheckers(t *testing.T) {
	emails := map[string]string{
		"Ann.Lee@Example.COM":      "ann.lee@example.com",
		"mailto:bob@example.co.uk": "bob@example.co.uk",
		"a+tag@sub.example.org":    "a+tag@sub.example.org",
		"ann":                      "",
		"ann@example":              "",
		"ann@@example.com":         "",
		"@example.com":             "",
		"ann@.example.com":         "",
		"ann@example.c":            "",
		"ann@example.123":          "",
		"ann lee@example.com":      "",
		"Ann <ann@example.com>":    "",
		"ann..lee@example.com":     "",
	}
	for in, want := range emails {
		got, reason := normaliseEmail(in)
		if got != want || (want == "") != (reason != "") {
			t.Errorf("normaliseEmail(%q) = %q, %q; want %q", in, got, reason, want)
		}
	}
	iris := map[string]bool{
		"https://example.com/courses/fire": true,
		"http://lms.example.com/a?b=c#d":   true,
		"urn:uuid:6e8bc430-9c3a-11d9-9669": true,
		"tag:example.com,2024:course/1":    true,
		"https://例え.jp/コース":                true,
		"example.com/courses/fire":         false,
		"/courses/fire":                    false,
		"https:///courses/fire":            false,
		"https://example.com/a b":          false,
		"c:/courses":                       false,
		"fire-safety":                      false,
	}
	for in, want := range iris {
		if reason := checkIRI(in); (reason == "") != want {
			t.Errorf("checkIRI(%q) = %q, want valid=%v", in, reason, want)
		}
	}
	if checkID(strings.Repeat("x", 64)) != "" || checkID(strings.Repeat("x", 65)) == "" || checkID("E\t1") == "" {
		t.Error("checkID limits wrong")
	}
}

func TestHeaderNormalisation(t *testing.T) {
	for in, want := range map[string]string{
		"Employee ID":            "employeeid",
		"employee_id":            "employeeid",
		"EmployeeID":             "employeeid",
		" employee-id ":          "employeeid",
		"Employee.ID":            "employeeid",
		"Hire date (YYYY-MM-DD)": "hiredate",
		"Email*":                 "email",
		"Score (%)":              "score",
		"\ufeffEmail":            "email",
		"Due within [days]:":     "duewithin",
		"Duration (minutes) *":   "duration",
	} {
		if got := normaliseHeader(in); got != want {
			t.Errorf("normaliseHeader(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestColumnsDocumented(t *testing.T) {
	for _, kind := range Kinds {
		cols := Columns(kind)
		if len(cols) == 0 {
			t.Fatalf("Columns(%s) is empty", kind)
		}
		required := 0
		for _, c := range cols {
			if c.Accepted[0] != c.Name {
				t.Errorf("%s %s: accepted names start with %q", kind, c.Name, c.Accepted[0])
			}
			if _, ok := headerIndex[kind][normaliseHeader(c.Name)]; !ok {
				t.Errorf("%s %s: canonical name not accepted", kind, c.Name)
			}
			if c.Required != "" {
				required++
			}
		}
		if required == 0 {
			t.Errorf("%s: no required columns", kind)
		}
	}
}
