package imports

import (
	"fmt"
	"math"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Limits on single values.
const (
	maxCellLen     = 1000   // characters in any cell this package reads
	maxIDLen       = 64     // characters in an employee id
	maxCodeLen     = 100    // characters in a course code
	maxEmailLen    = 254    // characters in an email address
	maxDuration    = 525600 // minutes (one year)
	maxDueDays     = 3650   // ten years
	maxRecertMonth = 240    // twenty years
)

// trimCell trims spaces, including non-breaking and zero-width ones and a
// stray byte-order mark, from both ends of a cell.
func trimCell(s string) string {
	return strings.TrimFunc(s, func(r rune) bool {
		return unicode.IsSpace(r) || r == '\u200b' || r == '\ufeff' || r == '\u200e' || r == '\u200f'
	})
}

// collapseSpace trims s and turns every run of white space inside it (line
// breaks and tabs included) into one space.
func collapseSpace(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

// hasControl reports whether s holds a control character other than tab,
// line feed and carriage return.
func hasControl(s string) bool {
	for _, r := range s {
		if unicode.IsControl(r) && r != '\t' && r != '\n' && r != '\r' {
			return true
		}
	}
	return false
}

// excelErrors are the values a spreadsheet shows for a broken formula.
var excelErrors = map[string]bool{
	"#N/A": true, "#REF!": true, "#VALUE!": true, "#DIV/0!": true, "#NAME?": true,
	"#NULL!": true, "#NUM!": true, "#SPILL!": true, "#CALC!": true, "#GETTING_DATA": true,
}

// checkID validates an employee id and returns a reason if it is unusable.
func checkID(s string) string {
	if utf8.RuneCountInString(s) > maxIDLen {
		return fmt.Sprintf("employee id is longer than %d characters", maxIDLen)
	}
	for _, r := range s {
		if unicode.IsControl(r) {
			return "employee id contains a line break, tab or other control character"
		}
	}
	return ""
}

// checkCode validates a course code.
func checkCode(s string) string {
	if utf8.RuneCountInString(s) > maxCodeLen {
		return fmt.Sprintf("course code is longer than %d characters", maxCodeLen)
	}
	for _, r := range s {
		if unicode.IsControl(r) {
			return "course code contains a line break, tab or other control character"
		}
	}
	return ""
}

// looksLikeIRI reports whether a course reference is meant as an IRI rather
// than a course code.
func looksLikeIRI(s string) bool {
	l := strings.ToLower(s)
	return strings.Contains(l, "://") || strings.HasPrefix(l, "urn:") || strings.HasPrefix(l, "tag:")
}

var reScheme = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9+.-]+$`)

// checkIRI validates an absolute IRI and returns a reason if it is not one.
func checkIRI(s string) string {
	for _, r := range s {
		if unicode.IsSpace(r) || unicode.IsControl(r) {
			return "not an absolute IRI: it must not contain spaces or line breaks"
		}
	}
	u, err := url.Parse(s)
	if err != nil || !u.IsAbs() || !reScheme.MatchString(u.Scheme) {
		return "not an absolute IRI: start it with a scheme, e.g. https://example.com/courses/fire-safety"
	}
	switch strings.ToLower(u.Scheme) {
	case "http", "https":
		if u.Host == "" {
			return "not an absolute IRI: no host after " + u.Scheme + "://"
		}
	default:
		if u.Host == "" && u.Opaque == "" && u.Path == "" {
			return "not an absolute IRI: nothing after the scheme"
		}
	}
	return ""
}

// normaliseEmail lower-cases an email address and checks its shape
// (something@domain.tld). It returns the address or a reason.
func normaliseEmail(s string) (string, string) {
	e := strings.ToLower(s)
	e = strings.TrimPrefix(e, "mailto:")
	const shape = "not an email address: expected name@example.com"
	if utf8.RuneCountInString(e) > maxEmailLen {
		return "", fmt.Sprintf("email address is longer than %d characters", maxEmailLen)
	}
	at := strings.IndexByte(e, '@')
	if at <= 0 || strings.Count(e, "@") != 1 {
		return "", shape
	}
	for _, r := range e {
		if unicode.IsSpace(r) || unicode.IsControl(r) || strings.ContainsRune(`<>()[]\,;:"`, r) {
			return "", shape
		}
	}
	local, domain := e[:at], e[at+1:]
	if len(local) > 64 || strings.HasPrefix(local, ".") || strings.HasSuffix(local, ".") || strings.Contains(local, "..") {
		return "", shape
	}
	labels := strings.Split(domain, ".")
	if len(labels) < 2 {
		return "", shape
	}
	for _, l := range labels {
		if l == "" || strings.HasPrefix(l, "-") || strings.HasSuffix(l, "-") {
			return "", shape
		}
	}
	tld := labels[len(labels)-1]
	if utf8.RuneCountInString(tld) < 2 || strings.Trim(tld, "0123456789") == "" {
		return "", shape
	}
	return e, ""
}

// splitList splits a cell holding several values separated by ";", "," or
// "|" (or line breaks) and drops empty entries.
func splitList(s string) []string {
	parts := strings.FieldsFunc(s, func(r rune) bool {
		return r == ';' || r == ',' || r == '|' || r == '\n' || r == '\r'
	})
	out := parts[:0]
	for _, p := range parts {
		if p = trimCell(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// wordKey lower-cases a word cell and drops spaces, underscores, hyphens and
// dots, so "On Leave", "on-leave" and "on_leave" compare equal.
func wordKey(s string) string { return normaliseHeader(s) }

// statusWords maps roster status words to "active" or "inactive".
var statusWords = map[string]string{
	"": "active", "active": "active", "leave": "active", "onleave": "active", "enabled": "active", "current": "active",
	"terminated": "inactive", "left": "inactive", "leaver": "inactive", "inactive": "inactive", "disabled": "inactive",
	"deactivated": "inactive", "former": "inactive",
}

// parseStatus normalises a roster status.
func parseStatus(s string) (string, string) {
	if v, ok := statusWords[wordKey(s)]; ok {
		return v, ""
	}
	return "", "unknown status: use active or inactive (terminated, left, leaver and disabled also mean inactive; on leave means active)"
}

// boolWords maps yes/no words to booleans.
var boolWords = map[string]bool{
	"yes": true, "y": true, "true": true, "t": true, "1": true, "x": true,
	"no": false, "n": false, "false": false, "f": false, "0": false,
}

// parseRequired reads the courses "required" cell; empty means false.
func parseRequired(s string) (bool, string) {
	k := wordKey(s)
	switch k {
	case "":
		return false, ""
	case "required", "mandatory", "compulsory":
		return true, ""
	case "optional", "elective", "notrequired":
		return false, ""
	}
	if v, ok := boolWords[k]; ok {
		return v, ""
	}
	return false, "not yes or no: use yes/no, true/false, 1/0, y/n, required/optional"
}

// parsePassed reads the enrolments "passed" cell; empty means unknown (nil).
func parsePassed(s string) (*bool, string) {
	k := wordKey(s)
	if k == "" {
		return nil, ""
	}
	v, ok := boolWords[k]
	if !ok {
		switch k {
		case "pass", "passed", "success", "successful", "satisfied":
			v, ok = true, true
		case "fail", "failed", "failure", "unsuccessful", "notpassed":
			v, ok = false, true
		}
	}
	if !ok {
		return nil, "not pass or fail: use yes/no, true/false, 1/0, y/n or pass/fail"
	}
	return &v, ""
}

// parseNumber parses a decimal number, accepting a comma as the decimal
// separator when there is no dot ("85,5").
func parseNumber(s string) (float64, bool) {
	if strings.Contains(s, ",") && !strings.Contains(s, ".") && strings.Count(s, ",") == 1 {
		s = strings.Replace(s, ",", ".", 1)
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		return 0, false
	}
	for _, r := range s { // reject "0x10", "Inf", "1_000" and friends
		if !(r >= '0' && r <= '9') && r != '.' && r != '-' && r != '+' && r != 'e' && r != 'E' {
			return 0, false
		}
	}
	return f, true
}

// parseScore reads a score and normalises it to a scaled score 0..1:
// "85" and "85%" give 0.85, "0.85" gives 0.85 (values above 1 and up to 100
// are percentages). Empty gives nil.
func parseScore(s string) (*float64, string) {
	if s == "" {
		return nil, ""
	}
	const bad = "not a score: use a percentage 0-100 (85 or 85%) or a fraction 0-1 (0.85)"
	pct := strings.HasSuffix(s, "%")
	f, ok := parseNumber(trimCell(strings.TrimSuffix(s, "%")))
	if !ok {
		return nil, bad
	}
	if f < 0 || f > 100 {
		return nil, "score out of range: use 0-100 or 0-1"
	}
	if pct || f > 1 {
		f /= 100
	}
	return &f, ""
}

var (
	reClock = regexp.MustCompile(`^(\d+):([0-5]\d)(?::([0-5]\d))?$`)
	reISO   = regexp.MustCompile(`^(?i:P(?:(\d+(?:[.,]\d+)?)D)?(?:T(?:(\d+(?:[.,]\d+)?)H)?(?:(\d+(?:[.,]\d+)?)M)?(?:(\d+(?:[.,]\d+)?)S)?)?)$`)
	reUnit  = regexp.MustCompile(`(?i)(\d+(?:[.,]\d+)?)\s*(hours|hour|hrs|hr|h|minutes|minute|mins|min|m)`)
	reUnits = regexp.MustCompile(`(?i)^(?:\s*\d+(?:[.,]\d+)?\s*(?:hours|hour|hrs|hr|h|minutes|minute|mins|min|m)\s*)+$`)
	reHnM   = regexp.MustCompile(`(?i)^(\d+)\s*h\s*(\d+)$`)
)

const reasonDuration = "not a duration: use minutes (90), 1h30m, 1:30 or PT1H30M"

// parseDuration reads a course duration in minutes: "90", "90 min",
// "1h30m", "1.5h", "1:30", "1:30:00" or ISO 8601 "PT1H30M". Empty gives 0.
func parseDuration(s string) (int, string) {
	if s == "" {
		return 0, ""
	}
	num := func(t string) float64 {
		f, _ := strconv.ParseFloat(strings.Replace(t, ",", ".", 1), 64)
		return f
	}
	var minutes float64
	switch {
	case reClock.MatchString(s):
		m := reClock.FindStringSubmatch(s)
		minutes = num(m[1])*60 + num(m[2])
		if m[3] != "" {
			minutes += num(m[3]) / 60
		}
	case len(s) > 1 && reISO.MatchString(s) && !strings.HasSuffix(strings.ToUpper(s), "T"):
		m := reISO.FindStringSubmatch(s)
		minutes = num(m[1])*24*60 + num(m[2])*60 + num(m[3]) + num(m[4])/60
	case reHnM.MatchString(s):
		m := reHnM.FindStringSubmatch(s)
		minutes = num(m[1])*60 + num(m[2])
	case reUnits.MatchString(s):
		for _, m := range reUnit.FindAllStringSubmatch(s, -1) {
			if strings.HasPrefix(strings.ToLower(m[2]), "h") {
				minutes += num(m[1]) * 60
			} else {
				minutes += num(m[1])
			}
		}
	default:
		f, ok := parseNumber(s)
		if !ok {
			return 0, reasonDuration
		}
		if f != math.Trunc(f) {
			return 0, "not a whole number of minutes: use minutes (90), 1h30m, 1:30 or PT1H30M"
		}
		minutes = f
	}
	if minutes < 0 {
		return 0, "duration cannot be negative"
	}
	if minutes > maxDuration {
		return 0, "duration is longer than a year: give it in minutes (90), 1h30m, 1:30 or PT1H30M"
	}
	return int(math.Round(minutes)), ""
}

var reCount = regexp.MustCompile(`^(\d+(?:[.,]0+)?)\s*([A-Za-z]*)$`)

// parseCount reads a whole number of days or months, allowing a unit word:
// "30", "30 days", "4 weeks" (days); "12", "12 months", "1 year" (months).
// Empty gives 0.
func parseCount(s string, months bool) (int, string) {
	if s == "" {
		return 0, ""
	}
	unitName := "days"
	if months {
		unitName = "months"
		switch wordKey(s) {
		case "", "never", "none", "no", "n/a", "na":
			return 0, ""
		}
	}
	m := reCount.FindStringSubmatch(s)
	if m == nil {
		return 0, fmt.Sprintf("not a whole number of %s", unitName)
	}
	n, err := strconv.Atoi(strings.SplitN(strings.Replace(m[1], ",", ".", 1), ".", 2)[0])
	if err != nil {
		return 0, fmt.Sprintf("not a whole number of %s", unitName)
	}
	unit := strings.ToLower(m[2])
	mult := 0
	if months {
		switch unit {
		case "", "m", "mo", "mos", "mth", "mths", "month", "months":
			mult = 1
		case "y", "yr", "yrs", "year", "years":
			mult = 12
		}
	} else {
		switch unit {
		case "", "d", "day", "days":
			mult = 1
		case "w", "wk", "wks", "week", "weeks":
			mult = 7
		}
	}
	if mult == 0 {
		return 0, fmt.Sprintf("not a whole number of %s", unitName)
	}
	return n * mult, ""
}

// parseDueFrom normalises the requirement's due_from cell: "hire" or
// "assignment" (the default).
func parseDueFrom(s string) (string, string) {
	switch wordKey(s) {
	case "", "assignment", "assignmentdate", "assigned", "assigneddate", "enrollment", "enrolment", "enrollmentdate", "enrolmentdate", "assign":
		return "assignment", ""
	case "hire", "hiredate", "hired", "hiring", "start", "startdate", "joining", "joined", "joindate", "joiningdate":
		return "hire", ""
	}
	return "", "not a due_from value: use hire or assignment"
}
