package imports

import (
	"fmt"
	"sort"
	"strings"
	"unicode"
)

// Canonical column names. RowError.Column is always one of these.
const (
	colEmployeeID     = "employee_id"
	colEmail          = "email"
	colName           = "name"
	colFirstName      = "first_name"
	colLastName       = "last_name"
	colDepartment     = "department"
	colLocation       = "location"
	colJobTitle       = "job_title"
	colManager        = "manager_employee_id"
	colDotted         = "dotted_manager_employee_ids"
	colHireDate       = "hire_date"
	colStatus         = "status"
	colEffectiveDate  = "effective_date"
	colCode           = "code"
	colActivityIRI    = "activity_iri"
	colTitle          = "title"
	colCategory       = "category"
	colDuration       = "duration_minutes"
	colRequired       = "required"
	colCourse         = "course"
	colEnrolledAt     = "enrolled_at"
	colStartedAt      = "started_at"
	colCompletedAt    = "completed_at"
	colDueAt          = "due_at"
	colScore          = "score"
	colPassed         = "passed"
	colAudience       = "audience"
	colDueWithinDays  = "due_within_days"
	colDueFrom        = "due_from"
	colRecertifyMonth = "recertify_months"
	colInForceFrom    = "in_force_from"
)

// column is one column a kind understands: its canonical name and the header
// texts accepted for it (compared after normaliseHeader), most specific
// first. When a header holds several different aliases of one column (say
// "Manager" and "Manager ID"), the one earliest in this list is used and the
// others are ignored like unknown columns; only a header that repeats the
// same name is an error.
type column struct {
	name    string
	aliases []string
}

// Shared alias lists.
var (
	aliasEmployeeID = []string{"employee id", "employee number", "employee no", "emp id", "emp no", "emp number", "staff id", "staff number", "staff no", "person id", "person number", "personnel number", "personnel id", "worker id", "worker number"}
	aliasDepartment = []string{"department", "department name", "dept", "team", "division", "business unit", "org unit", "organisation unit", "organization unit"}
	aliasLocation   = []string{"location", "work location", "office location", "office", "site", "base location", "city"}
	aliasJobTitle   = []string{"job title", "position title", "title", "position", "job", "job name", "role", "designation"}
	// In a requirements file a bare "title" or "job" column is more likely
	// the course's title than an audience filter.
	aliasReqJobTitle = []string{"job title", "position title", "position", "job name", "role", "designation"}
	aliasCourse      = []string{"course code", "course id", "code", "course number", "course no", "course ref", "course reference", "course"}
	aliasCourseIRI   = []string{"activity iri", "activity id", "course iri", "iri", "xapi activity id", "xapi id", "object id"}
)

func join(lists ...[]string) []string {
	var out []string
	for _, l := range lists {
		out = append(out, l...)
	}
	return out
}

// columnsByKind lists, per kind, every column it understands, in the order
// used for documentation and error messages.
var columnsByKind = map[Kind][]column{
	KindRoster: {
		{colEmployeeID, aliasEmployeeID},
		{colEmail, []string{"work email", "work email address", "business email", "email", "email address", "e-mail", "e-mail address", "mail"}},
		{colName, []string{"full name", "name", "display name", "employee name", "person name"}},
		{colFirstName, []string{"first name", "given name", "forename"}},
		{colLastName, []string{"last name", "surname", "family name"}},
		{colDepartment, aliasDepartment},
		{colLocation, aliasLocation},
		{colJobTitle, aliasJobTitle},
		{colManager, []string{"manager employee id", "manager id", "manager employee number", "manager number", "supervisor id", "line manager id", "reports to id", "manager", "supervisor", "line manager", "reports to"}},
		{colDotted, []string{"dotted manager employee ids", "dotted line manager ids", "dotted line manager id", "dotted manager ids", "dotted manager id", "matrix manager ids", "matrix manager id", "secondary manager id", "functional manager id", "dotted line managers", "dotted line manager", "dotted managers", "dotted manager", "matrix managers", "matrix manager", "secondary manager", "functional manager"}},
		{colHireDate, []string{"hire date", "date hired", "hired on", "start date", "employment start date", "join date", "joining date", "date joined", "joined", "hired", "original hire date"}},
		{colStatus, []string{"employment status", "employee status", "worker status", "status"}},
		{colEffectiveDate, []string{"effective date", "effective from", "as of date", "as of", "valid from", "effective"}},
	},
	KindCourses: {
		{colCode, []string{"course code", "code", "course id", "course number", "course no", "course ref", "course reference", "id"}},
		{colActivityIRI, aliasCourseIRI},
		{colTitle, []string{"title", "course title", "course name", "name"}},
		{colCategory, []string{"category", "course category", "topic", "subject", "catalog", "catalogue"}},
		{colDuration, []string{"duration minutes", "duration mins", "duration min", "duration", "length minutes", "length", "course length", "estimated duration", "minutes", "mins", "time"}},
		{colRequired, []string{"required", "is required", "mandatory", "is mandatory", "compulsory", "required course"}},
	},
	KindEnrollments: {
		{colEmployeeID, join(aliasEmployeeID, []string{"learner id", "student id", "participant id"})},
		{colCourse, aliasCourse},
		{colActivityIRI, aliasCourseIRI},
		{colEnrolledAt, []string{"enrolled at", "enrolled on", "enrolled date", "date enrolled", "enrollment date", "enrolment date", "assigned at", "assigned on", "assigned date", "assignment date", "date assigned", "registration date", "registered on"}},
		{colStartedAt, []string{"started at", "started on", "started date", "date started", "start date", "first accessed", "first access date"}},
		{colCompletedAt, []string{"completed at", "completed on", "completed date", "date completed", "completion date", "finished at", "finished on", "finish date", "date finished", "completion"}},
		{colDueAt, []string{"due at", "due date", "due on", "due by", "date due", "deadline", "due"}},
		{colScore, []string{"score", "scaled score", "score scaled", "final score", "score percent", "percentage", "percent", "grade", "mark"}},
		{colPassed, []string{"passed", "pass", "pass fail", "pass/fail", "result", "outcome", "success"}},
	},
	KindRequirements: {
		{colCourse, aliasCourse},
		{colActivityIRI, aliasCourseIRI},
		{colAudience, []string{"audience", "target audience", "applies to", "assign to", "assigned to", "scope"}},
		{colDepartment, aliasDepartment},
		{colLocation, aliasLocation},
		{colJobTitle, aliasReqJobTitle},
		{colDueWithinDays, []string{"due within days", "due within", "due in days", "due in", "due days", "days to complete", "days allowed", "deadline days", "within days", "days"}},
		{colDueFrom, []string{"due from", "due relative to", "relative to", "due after", "counted from", "from", "anchor"}},
		{colRecertifyMonth, []string{"recertify months", "recertify every months", "recertify every", "recertify", "recertification months", "recertification period", "recertification", "renew every months", "renew every", "renewal months", "validity months", "valid for months", "valid for", "expires after months", "refresh months", "retrain months", "frequency months"}},
		{colInForceFrom, []string{"in force from", "in force since", "effective from", "applies from", "required from", "start date"}},
	},
}

// requiredColumns lists, per kind, groups of columns of which at least one
// must be in the header.
var requiredColumns = map[Kind][][]string{
	KindRoster:       {{colEmployeeID}, {colEmail}, {colName, colFirstName, colLastName}},
	KindCourses:      {{colCode, colActivityIRI}, {colTitle}},
	KindEnrollments:  {{colEmployeeID}, {colCourse, colActivityIRI}},
	KindRequirements: {{colCourse, colActivityIRI}, {colDueWithinDays}},
}

// ColumnInfo describes one column of an import kind, for documentation and
// for help text in the user interface.
type ColumnInfo struct {
	Name     string   // canonical name, as used in RowError.Column
	Required string   // "yes", "" (optional) or "one of name, first_name, last_name"
	Accepted []string // header texts accepted for it, canonical name first
}

// Columns returns the columns Parse understands for kind, in a stable order.
// Headers are compared ignoring case, spaces, underscores, hyphens and dots,
// and a trailing note in brackets such as "Hire date (YYYY-MM-DD)".
func Columns(kind Kind) []ColumnInfo {
	var out []ColumnInfo
	for _, c := range columnsByKind[kind] {
		info := ColumnInfo{Name: c.name, Accepted: acceptedNames(c)}
		for _, group := range requiredColumns[kind] {
			for _, name := range group {
				if name != c.name {
					continue
				}
				if len(group) == 1 {
					info.Required = "yes"
				} else {
					info.Required = "one of " + strings.Join(group, ", ")
				}
			}
		}
		out = append(out, info)
	}
	return out
}

// acceptedNames lists the header texts for c: its canonical name first,
// then its aliases.
func acceptedNames(c column) []string {
	seen := map[string]bool{}
	var out []string
	for _, a := range append([]string{c.name}, c.aliases...) {
		k := strings.ToLower(a)
		if seen[k] {
			continue
		}
		seen[k] = true
		out = append(out, a)
	}
	return out
}

// headerRef is where a normalised header text points: a canonical column
// and the alias's rank (lower is more specific).
type headerRef struct {
	col  string
	rank int
}

// headerIndex maps normalised header text to canonical column, per kind.
var headerIndex = func() map[Kind]map[string]headerRef {
	idx := map[Kind]map[string]headerRef{}
	for kind, cols := range columnsByKind {
		m := map[string]headerRef{}
		for _, c := range cols {
			// The canonical name ranks with its equivalent alias, or last.
			for rank, a := range append(append([]string{}, c.aliases...), c.name) {
				k := normaliseHeader(a)
				if other, ok := m[k]; ok {
					if other.col != c.name {
						panic(fmt.Sprintf("imports: header alias %q of %s is also an alias of %s for %s", a, c.name, other.col, kind))
					}
					continue
				}
				m[k] = headerRef{c.name, rank}
			}
		}
		idx[kind] = m
	}
	return idx
}()

// normaliseHeader lower-cases a header cell, drops a trailing bracketed note
// ("Hire date (YYYY-MM-DD)"), a trailing "*" or ":" and every space,
// underscore, hyphen and dot, so that "Employee ID", "employee_id" and
// "EmployeeID" compare equal.
func normaliseHeader(s string) string {
	s = strings.ToLower(trimCell(s))
	for {
		before := s
		s = strings.TrimRight(s, " *:")
		if strings.HasSuffix(s, ")") {
			if i := strings.LastIndexByte(s, '('); i > 0 {
				s = s[:i]
			}
		} else if strings.HasSuffix(s, "]") {
			if i := strings.LastIndexByte(s, '['); i > 0 {
				s = s[:i]
			}
		}
		s = strings.TrimSpace(s)
		if s == before {
			break
		}
	}
	return strings.Map(func(r rune) rune {
		switch {
		case r == '_' || r == '-' || r == '.' || unicode.IsSpace(r):
			return -1
		}
		return r
	}, s)
}

// header is the column layout of a file.
type header struct {
	line  int
	cols  map[string][]int // canonical column → cell indices (several if the header repeats it)
	texts []string         // header cell texts as written
	width int              // index of the last non-blank header cell + 1
}

// names returns the canonical columns of the header in header order.
func (h *header) names() []string {
	names := make([]string, 0, len(h.cols))
	for name := range h.cols {
		names = append(names, name)
	}
	sort.Slice(names, func(i, j int) bool { return h.cols[names[i]][0] < h.cols[names[j]][0] })
	return names
}

// has reports whether the header has the column.
func (h *header) has(col string) bool { return len(h.cols[col]) > 0 }

// mapHeader works out the column layout of the header row cells. It returns
// the header, the problems with it that still let the rows be read (a
// repeated column name), and a file error if a required column is missing
// (with the header as mapped, for a preview).
func mapHeader(kind Kind, file string, line int, cells []string) (*header, []RowError, error) {
	h := &header{line: line, cols: map[string][]int{}, texts: cells}
	idx := headerIndex[kind]
	best := map[string]int{} // column → rank of the alias in h.cols
	for i, c := range cells {
		if trimCell(c) != "" {
			h.width = i + 1
		}
		k := normaliseHeader(c)
		ref, ok := idx[k]
		if !ok || k == "" {
			continue
		}
		switch r, seen := best[ref.col]; {
		case !seen || ref.rank < r:
			best[ref.col] = ref.rank
			h.cols[ref.col] = []int{i}
		case ref.rank == r:
			h.cols[ref.col] = append(h.cols[ref.col], i)
		}
	}
	var missing []string
	for _, group := range requiredColumns[kind] {
		if !hasAny(h, group) {
			missing = append(missing, describeMissing(kind, group))
		}
	}
	if len(missing) > 0 {
		return h, nil, fmt.Errorf("%s: %w: %s", displayName(file), ErrMissingColumns, strings.Join(missing, "; "))
	}
	var errs []RowError
	for _, name := range h.names() {
		is := h.cols[name]
		for _, i := range is[1:] {
			errs = append(errs, RowError{
				File: file, Line: line, Column: name, Value: truncate(trimCell(cells[i])),
				Reason: fmt.Sprintf("repeated column: %q (column %s) and %q (column %s) are both %s; remove one (rows where they differ are rejected)",
					trimCell(cells[is[0]]), columnLetter(is[0]), trimCell(cells[i]), columnLetter(i), name),
			})
		}
	}
	return h, errs, nil
}

// describeMissing names a group of missing columns and the headers accepted
// for them.
func describeMissing(kind Kind, group []string) string {
	var parts []string
	for _, name := range group {
		for _, c := range columnsByKind[kind] {
			if c.name != name {
				continue
			}
			var quoted []string
			for _, a := range acceptedNames(c) {
				quoted = append(quoted, fmt.Sprintf("%q", a))
			}
			parts = append(parts, fmt.Sprintf("%s (accepted names: %s)", name, strings.Join(quoted, ", ")))
		}
	}
	return strings.Join(parts, " or ")
}

// columnLetter returns the spreadsheet letter of a 0-based column index.
func columnLetter(i int) string {
	s := ""
	for i++; i > 0; i = (i - 1) / 26 {
		s = string(rune('A'+(i-1)%26)) + s
	}
	return s
}

// displayName is the file name used in file-level errors.
func displayName(file string) string {
	if file == "" {
		return "file"
	}
	return file
}
