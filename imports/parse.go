package imports

import (
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"
)

// MaxRows is the largest number of data rows a file may hold.
const MaxRows = 1_000_000

// maxRows is MaxRows; tests lower it.
var maxRows = MaxRows

// RosterRow is one employee from a roster file.
type RosterRow struct {
	Line                                                    int
	EmployeeID, Email, Name, Department, Location, JobTitle string
	// ManagerEmployeeID is the solid-line manager; "" for the top of the tree.
	ManagerEmployeeID string
	// DottedManagerEmployeeIDs are optional dotted-line managers (the cell
	// may hold several separated by ";" or ","), without repeats.
	DottedManagerEmployeeIDs []string
	HireDate                 Date   // zero if empty
	Status                   string // "active" or "inactive"
	// EffectiveDate is when this row's data took effect (zero = the
	// import's date).
	EffectiveDate Date
}

// CourseRow is one course from a course catalogue file.
type CourseRow struct {
	Line int
	// Code is the course code (column code, id, course_id, ...); required
	// unless ActivityIRI is given.
	Code string
	// ActivityIRI is an absolute IRI; when empty the storage layer derives one.
	ActivityIRI     string
	Title, Category string
	DurationMinutes int  // from "90", "1h30m", "1:30", "PT1H30M"; 0 if empty
	Required        bool // from yes/no, true/false, 1/0, y/n, required/optional; empty = false
}

// EnrollmentRow is one employee's enrolment in (or completion of) a course.
type EnrollmentRow struct {
	Line       int
	EmployeeID string
	// Course is a course code or activity IRI.
	Course                                    string
	EnrolledAt, StartedAt, CompletedAt, DueAt Date // zero when empty
	// Score is a scaled score 0..1 ("85", "85%" and "0.85" all give 0.85);
	// nil when empty.
	Score *float64
	// Passed is nil when empty.
	Passed *bool
}

// Audience is who a requirement applies to.
type Audience struct {
	All bool
	// Department, Location and JobTitle narrow the audience: empty means
	// any; when several are set all must match.
	Department, Location, JobTitle string
}

// String formats the audience as "all" or "department=Sales; location=London".
func (a Audience) String() string {
	if a.All {
		return "all"
	}
	var parts []string
	for _, kv := range [][2]string{{colDepartment, a.Department}, {colLocation, a.Location}, {colJobTitle, a.JobTitle}} {
		if kv[1] != "" {
			parts = append(parts, kv[0]+"="+kv[1])
		}
	}
	return strings.Join(parts, "; ")
}

// key identifies the audience for duplicate detection, ignoring case.
func (a Audience) key() string { return strings.ToLower(a.String()) }

// RequirementRow is one compliance requirement: a course an audience must
// complete.
type RequirementRow struct {
	Line int
	// Course is a course code or activity IRI.
	Course   string
	Audience Audience
	// DueWithinDays is how many days the learner has; always > 0.
	DueWithinDays int
	// DueFrom is "hire" or "assignment".
	DueFrom string
	// RecertifyMonths is how often the course must be repeated; 0 = never.
	RecertifyMonths int
	// InForceFrom is the day the requirement applies from (people hired
	// on or after it are new hires); zero: the day it is imported.
	InForceFrom Date
}

// Result is what a file held: the valid rows of its kind and every error.
type Result struct {
	Kind Kind
	File string
	// Columns lists the canonical names of the columns the header holds, in
	// header order, so that an absent column ("not given") can be told apart
	// from an empty cell.
	Columns      []string
	Rows         int // data rows seen (excluding header and blank lines)
	Roster       []RosterRow
	Courses      []CourseRow
	Enrollments  []EnrollmentRow
	Requirements []RequirementRow
	Errors       []RowError // in line order; a row with any error is not in the valid rows
}

// HasColumn reports whether the file's header holds the canonical column
// name (e.g. "department").
func (r *Result) HasColumn(name string) bool {
	for _, c := range r.Columns {
		if c == name {
			return true
		}
	}
	return false
}

// Valid returns the number of valid rows.
func (r *Result) Valid() int {
	return len(r.Roster) + len(r.Courses) + len(r.Enrollments) + len(r.Requirements)
}

// Parse reads a CSV or XLSX file of the given kind. The format is decided
// by content (XLSX is a ZIP archive starting "PK\x03\x04"), not by the name.
//
// The header is the first non-blank row that names a required column (title
// rows above it are skipped). Problems with single rows, and a header that
// repeats a column, are reported in Result.Errors. Parse returns an error instead of a Result only
// when the file cannot be read at all: an unknown kind, an empty file, a file
// that is neither CSV nor XLSX, no header row, a required column missing (the
// error names it and lists the accepted names), or more than MaxRows data
// rows. The returned error wraps one of the Err variables.
func Parse(kind Kind, filename string, data []byte) (*Result, error) {
	if !kind.valid() {
		return nil, fmt.Errorf("%w %q", ErrUnknownKind, string(kind))
	}
	name := displayName(filename)
	if len(data) == 0 {
		return nil, fmt.Errorf("%s: %w", name, ErrEmptyFile)
	}
	src, err := openSource(kind, filename, data)
	if err != nil {
		return nil, err
	}
	defer src.close()

	hdr, headerErrs, err := findHeader(kind, filename, src)
	if err != nil {
		return nil, err
	}

	p := &parser{
		kind: kind, file: filename, hdr: hdr, src: src,
		res:  &Result{Kind: kind, File: filename, Columns: hdr.names()},
		seen: map[string]map[string]int{},
	}
	p.errs = append(p.errs, headerErrs...)
	for {
		rec, ok, err := src.next()
		if err != nil {
			return nil, fmt.Errorf("%s: %w: %v", name, ErrUnsupportedFormat, err)
		}
		if !ok {
			break
		}
		if rec.blank() {
			continue
		}
		p.res.Rows++
		if p.res.Rows > maxRows {
			return nil, fmt.Errorf("%s: %w: more than %d data rows; split the file", name, ErrTooManyRows, maxRows)
		}
		p.row(rec)
	}
	p.finish()
	return p.res, nil
}

// findHeader reads src up to its header row and maps it. The header is the
// first non-blank row that names a required column (title rows above it
// are skipped). When a required column is missing, the error wraps
// ErrMissingColumns and the header is still returned, mapped as far as it
// goes, for a preview to show.
func findHeader(kind Kind, filename string, src source) (*header, []RowError, error) {
	name := displayName(filename)
	var first record
	seen := 0
	for {
		rec, ok, err := src.next()
		if err != nil {
			return nil, nil, fmt.Errorf("%s: %w: %v", name, ErrUnsupportedFormat, err)
		}
		if !ok && seen == 0 {
			return nil, nil, fmt.Errorf("%s: %w", name, ErrEmptyFile)
		}
		if !ok || seen == maxHeaderSearch {
			if knownColumns(kind, first.cells) > 0 {
				// A header without any required column: say which are missing.
				return mapHeader(kind, filename, first.line, first.cells)
			}
			return nil, nil, fmt.Errorf("%s: %w: the first row (line %d) names none of the %s columns; it must hold column names such as %s",
				name, ErrNoHeader, first.line, kind, strings.Join(exampleColumns(kind), ", "))
		}
		if rec.blank() {
			continue
		}
		if seen++; seen == 1 {
			first = rec
		}
		if rec.err != "" {
			return nil, nil, fmt.Errorf("%s: %w: cannot read line %d: %s", name, ErrNoHeader, rec.line, rec.err)
		}
		if namesRequiredColumn(kind, rec.cells) {
			return mapHeader(kind, filename, rec.line, rec.cells)
		}
	}
}

// maxHeaderSearch is how many non-blank rows may come before the header.
const maxHeaderSearch = 10

// knownColumns counts the cells that are header names of kind.
func knownColumns(kind Kind, cells []string) int {
	n := 0
	for _, c := range cells {
		if k := normaliseHeader(c); k != "" {
			if _, ok := headerIndex[kind][k]; ok {
				n++
			}
		}
	}
	return n
}

// namesRequiredColumn reports whether any cell is a header name of one of
// kind's required columns.
func namesRequiredColumn(kind Kind, cells []string) bool {
	required := map[string]bool{}
	for _, g := range requiredColumns[kind] {
		for _, c := range g {
			required[c] = true
		}
	}
	for _, c := range cells {
		if k := normaliseHeader(c); k != "" {
			if ref, ok := headerIndex[kind][k]; ok && required[ref.col] {
				return true
			}
		}
	}
	return false
}

// exampleColumns lists the required columns of a kind for messages.
func exampleColumns(kind Kind) []string {
	var out []string
	for _, g := range requiredColumns[kind] {
		out = append(out, g[0])
	}
	return out
}

// parser accumulates the rows and errors of one file.
type parser struct {
	kind Kind
	file string
	hdr  *header
	src  source
	res  *Result
	errs []RowError
	// seen maps a duplicate-key space (e.g. "email") to key → first line.
	seen map[string]map[string]int
	// roster manager graph, first occurrence of each employee id only.
	managerOf map[string]string
	lineOf    map[string]int
	order     []string
}

// rowCtx collects the values and problems of one row.
type rowCtx struct {
	p     *parser
	line  int
	cells []string
	errs  []RowError
	bad   map[string]bool // columns already reported on this row
}

// fail records a problem with col (or the whole row when col is "").
func (r *rowCtx) fail(col, value, reason string) {
	r.errs = append(r.errs, RowError{File: r.p.file, Line: r.line, Column: col, Value: truncate(value), Reason: reason})
	if r.bad == nil {
		r.bad = map[string]bool{}
	}
	r.bad[col] = true
}

// ok reports whether the row has no problems so far.
func (r *rowCtx) ok() bool { return len(r.errs) == 0 }

// cell returns the trimmed text of col ("" if the header lacks it) and
// whether it is usable. Cells that are too long, hold control characters or
// a spreadsheet error value are reported here.
func (r *rowCtx) cell(col string) (string, bool) {
	idx := r.p.hdr.cols[col]
	val, first := "", -1
	for _, i := range idx {
		v := ""
		if i < len(r.cells) {
			v = trimCell(r.cells[i])
		}
		if v == "" {
			continue
		}
		if first >= 0 && v != val {
			r.fail(col, v, fmt.Sprintf("column %s repeats %s but disagrees with column %s (%q)", columnLetter(i), col, columnLetter(first), truncate(val)))
			return "", false
		}
		if first < 0 {
			val, first = v, i
		}
	}
	switch {
	case utf8.RuneCountInString(val) > maxCellLen:
		r.fail(col, val, fmt.Sprintf("cell is longer than %d characters", maxCellLen))
		return "", false
	case hasControl(val):
		r.fail(col, val, "cell contains control characters")
		return "", false
	case strings.HasPrefix(val, "#") && excelErrors[strings.ToUpper(val)]:
		r.fail(col, val, "spreadsheet error value: fix the formula or type the value")
		return "", false
	}
	return val, true
}

// required reports an empty required cell.
func (r *rowCtx) required(col string) {
	r.fail(col, "", "required but empty")
}

// text returns a free-text cell with its white space collapsed.
func (r *rowCtx) text(col string) string {
	v, _ := r.cell(col)
	return collapseSpace(v)
}

// id returns an employee id cell.
func (r *rowCtx) id(col string, required bool) string {
	v, ok := r.cell(col)
	switch {
	case !ok:
		return ""
	case v == "":
		if required {
			r.required(col)
		}
		return ""
	}
	if reason := checkID(v); reason != "" {
		r.fail(col, v, reason)
		return ""
	}
	return v
}

// email returns a lower-cased, checked email address.
func (r *rowCtx) email(col string) string {
	v, ok := r.cell(col)
	switch {
	case !ok:
		return ""
	case v == "":
		r.required(col)
		return ""
	}
	e, reason := normaliseEmail(v)
	if reason != "" {
		r.fail(col, v, reason)
	}
	return e
}

// date returns a date cell and its text.
func (r *rowCtx) date(col string) (Date, string) {
	v, ok := r.cell(col)
	if !ok {
		return Date{}, ""
	}
	d, reason := parseDate(v, r.p.src.date1904())
	if reason != "" {
		r.fail(col, v, reason)
	}
	return d, v
}

// iri returns an activity IRI cell.
func (r *rowCtx) iri(col string) string {
	v, ok := r.cell(col)
	if !ok || v == "" {
		return ""
	}
	if reason := checkIRI(v); reason != "" {
		r.fail(col, v, reason)
		return ""
	}
	return v
}

// code returns a course code cell.
func (r *rowCtx) code(col string) string {
	v, ok := r.cell(col)
	if !ok || v == "" {
		return ""
	}
	if reason := checkCode(v); reason != "" {
		r.fail(col, v, reason)
		return ""
	}
	return v
}

// courseRef returns the course of an enrolment or requirement: the course
// column (a code or an IRI) or else the activity_iri column.
func (r *rowCtx) courseRef() string {
	course := ""
	if v, ok := r.cell(colCourse); ok && v != "" {
		if looksLikeIRI(v) {
			course = r.iri(colCourse)
		} else {
			course = r.code(colCourse)
		}
	}
	iri := r.iri(colActivityIRI)
	if course == "" {
		course = iri
	}
	if course == "" && !r.bad[colCourse] && !r.bad[colActivityIRI] {
		col := colCourse
		if !r.p.hdr.has(colCourse) {
			col = colActivityIRI
		}
		r.fail(col, "", "required but empty: give a course code or activity IRI")
	}
	return course
}

// duplicate reports whether key was already seen in space, recording the
// first line otherwise. It returns the first line.
func (p *parser) duplicate(space, key string, line int) (int, bool) {
	m := p.seen[space]
	if m == nil {
		m = map[string]int{}
		p.seen[space] = m
	}
	if first, ok := m[key]; ok {
		return first, true
	}
	m[key] = line
	return 0, false
}

// row validates one data record.
func (p *parser) row(rec record) {
	r := &rowCtx{p: p, line: rec.line, cells: rec.cells}
	if rec.err != "" {
		r.fail("", "", rec.err)
		p.errs = append(p.errs, r.errs...)
		return
	}
	if p.src.isCSV() {
		if n := len(rec.cells); n < p.hdr.width {
			r.fail("", "", fmt.Sprintf("row has %d cells but the header has %d: check for a missing separator or an unquoted line break", n, p.hdr.width))
		} else {
			for i := p.hdr.width; i < n; i++ {
				if trimCell(rec.cells[i]) != "" {
					r.fail("", "", fmt.Sprintf("row has %d cells but the header has %d: a cell with a comma or semicolon may need quotes", n, p.hdr.width))
					break
				}
			}
		}
		if !r.ok() {
			p.errs = append(p.errs, r.errs...)
			return
		}
	}
	switch p.kind {
	case KindRoster:
		p.roster(r)
	case KindCourses:
		p.course(r)
	case KindEnrollments:
		p.enrollment(r)
	case KindRequirements:
		p.requirement(r)
	}
	p.errs = append(p.errs, r.errs...)
}

func (p *parser) roster(r *rowCtx) {
	row := RosterRow{Line: r.line}
	row.EmployeeID = r.id(colEmployeeID, true)
	row.Email = r.email(colEmail)
	row.Name = r.text(colName)
	if row.Name == "" && !r.bad[colName] {
		row.Name = collapseSpace(r.text(colFirstName) + " " + r.text(colLastName))
		if row.Name == "" && !r.bad[colFirstName] && !r.bad[colLastName] {
			col := colName
			if !p.hdr.has(colName) {
				col = colFirstName
				if !p.hdr.has(colFirstName) {
					col = colLastName
				}
			}
			r.required(col)
		}
	}
	row.Department = r.text(colDepartment)
	row.Location = r.text(colLocation)
	row.JobTitle = r.text(colJobTitle)
	row.ManagerEmployeeID = r.id(colManager, false)
	if row.ManagerEmployeeID != "" && row.ManagerEmployeeID == row.EmployeeID {
		r.fail(colManager, row.ManagerEmployeeID, "an employee cannot be their own manager")
	}
	if v, ok := r.cell(colDotted); ok && v != "" {
		seen := map[string]bool{}
		for _, id := range splitList(v) {
			if reason := checkID(id); reason != "" {
				r.fail(colDotted, id, reason)
				continue
			}
			if id == row.EmployeeID {
				r.fail(colDotted, id, "an employee cannot be their own dotted-line manager")
				continue
			}
			if !seen[id] {
				seen[id] = true
				row.DottedManagerEmployeeIDs = append(row.DottedManagerEmployeeIDs, id)
			}
		}
	}
	row.HireDate, _ = r.date(colHireDate)
	if v, ok := r.cell(colStatus); ok {
		status, reason := parseStatus(v)
		if reason != "" {
			r.fail(colStatus, v, reason)
		}
		row.Status = status
	}
	row.EffectiveDate, _ = r.date(colEffectiveDate)

	if row.EmployeeID != "" {
		if first, dup := p.duplicate(colEmployeeID, row.EmployeeID, r.line); dup {
			r.fail(colEmployeeID, row.EmployeeID, fmt.Sprintf("duplicate employee_id: already on line %d", first))
		} else {
			if p.managerOf == nil {
				p.managerOf, p.lineOf = map[string]string{}, map[string]int{}
			}
			p.lineOf[row.EmployeeID] = r.line
			p.order = append(p.order, row.EmployeeID)
			if !r.bad[colManager] && row.ManagerEmployeeID != "" {
				p.managerOf[row.EmployeeID] = row.ManagerEmployeeID
			}
		}
	}
	if row.Email != "" && !r.bad[colEmail] {
		if first, dup := p.duplicate(colEmail, row.Email, r.line); dup {
			r.fail(colEmail, row.Email, fmt.Sprintf("duplicate email: already on line %d", first))
		}
	}
	if r.ok() {
		p.res.Roster = append(p.res.Roster, row)
	}
}

func (p *parser) course(r *rowCtx) {
	row := CourseRow{Line: r.line}
	row.Code = r.code(colCode)
	row.ActivityIRI = r.iri(colActivityIRI)
	if row.Code == "" && row.ActivityIRI == "" && !r.bad[colCode] && !r.bad[colActivityIRI] {
		col := colCode
		if !p.hdr.has(colCode) {
			col = colActivityIRI
		}
		r.fail(col, "", "required but empty: give a course code or an activity IRI")
	}
	row.Title = r.text(colTitle)
	if row.Title == "" && !r.bad[colTitle] {
		r.required(colTitle)
	}
	row.Category = r.text(colCategory)
	if v, ok := r.cell(colDuration); ok && v != "" {
		v = p.durationText(r, v)
		d, reason := parseDuration(v)
		if reason != "" {
			r.fail(colDuration, v, reason)
		}
		row.DurationMinutes = d
	}
	if v, ok := r.cell(colRequired); ok {
		b, reason := parseRequired(v)
		if reason != "" {
			r.fail(colRequired, v, reason)
		}
		row.Required = b
	}
	if row.Code != "" {
		if first, dup := p.duplicate(colCode, row.Code, r.line); dup {
			r.fail(colCode, row.Code, fmt.Sprintf("duplicate course code: already on line %d", first))
		}
	}
	if row.ActivityIRI != "" {
		if first, dup := p.duplicate(colActivityIRI, row.ActivityIRI, r.line); dup {
			r.fail(colActivityIRI, row.ActivityIRI, fmt.Sprintf("duplicate activity IRI: already on line %d", first))
		}
	}
	if r.ok() {
		p.res.Courses = append(p.res.Courses, row)
	}
}

// durationText returns the text to read a duration from. A spreadsheet
// cell formatted as a time (1:30) holds a fraction of a day (0.0625); for
// such a number the displayed text is used instead.
func (p *parser) durationText(r *rowCtx, raw string) string {
	f, err := strconv.ParseFloat(raw, 64)
	if err != nil || f == math.Trunc(f) {
		return raw
	}
	for _, i := range p.hdr.cols[colDuration] {
		if i < len(r.cells) && trimCell(r.cells[i]) == raw {
			if shown, ok := p.src.formatted(r.line, i); ok && reClock.MatchString(trimCell(shown)) {
				return trimCell(shown)
			}
		}
	}
	return raw
}

func (p *parser) enrollment(r *rowCtx) {
	row := EnrollmentRow{Line: r.line}
	row.EmployeeID = r.id(colEmployeeID, true)
	row.Course = r.courseRef()
	var started, completed, due string
	row.EnrolledAt, _ = r.date(colEnrolledAt)
	row.StartedAt, started = r.date(colStartedAt)
	row.CompletedAt, completed = r.date(colCompletedAt)
	row.DueAt, due = r.date(colDueAt)
	before := func(a, b Date) bool { return !a.IsZero() && !b.IsZero() && a.Before(b) }
	if before(row.StartedAt, row.EnrolledAt) {
		r.fail(colStartedAt, started, fmt.Sprintf("started_at is before enrolled_at (%s)", row.EnrolledAt))
	}
	if before(row.CompletedAt, row.EnrolledAt) {
		r.fail(colCompletedAt, completed, fmt.Sprintf("completed_at is before enrolled_at (%s)", row.EnrolledAt))
	} else if before(row.CompletedAt, row.StartedAt) {
		r.fail(colCompletedAt, completed, fmt.Sprintf("completed_at is before started_at (%s)", row.StartedAt))
	}
	if before(row.DueAt, row.EnrolledAt) {
		r.fail(colDueAt, due, fmt.Sprintf("due_at is before enrolled_at (%s)", row.EnrolledAt))
	}
	if v, ok := r.cell(colScore); ok {
		s, reason := parseScore(v)
		if reason != "" {
			r.fail(colScore, v, reason)
		}
		row.Score = s
	}
	if v, ok := r.cell(colPassed); ok {
		b, reason := parsePassed(v)
		if reason != "" {
			r.fail(colPassed, v, reason)
		}
		row.Passed = b
	}
	if row.EmployeeID != "" && row.Course != "" {
		if first, dup := p.duplicate("enrollment", row.EmployeeID+"\x00"+row.Course, r.line); dup {
			r.fail("", "", fmt.Sprintf("duplicate enrollment of employee %s in course %s: already on line %d", row.EmployeeID, row.Course, first))
		}
	}
	if r.ok() {
		p.res.Enrollments = append(p.res.Enrollments, row)
	}
}

func (p *parser) requirement(r *rowCtx) {
	row := RequirementRow{Line: r.line}
	row.Course = r.courseRef()
	row.Audience = p.audience(r)
	if v, ok := r.cell(colDueWithinDays); ok {
		n, reason := parseCount(v, false)
		switch {
		case reason != "":
			r.fail(colDueWithinDays, v, reason)
		case v == "":
			r.required(colDueWithinDays)
		case n <= 0:
			r.fail(colDueWithinDays, v, "due_within_days must be more than 0")
		case n > maxDueDays:
			r.fail(colDueWithinDays, v, fmt.Sprintf("due_within_days is more than %d (ten years)", maxDueDays))
		}
		row.DueWithinDays = n
	}
	if v, ok := r.cell(colDueFrom); ok {
		from, reason := parseDueFrom(v)
		if reason != "" {
			r.fail(colDueFrom, v, reason)
		}
		row.DueFrom = from
	}
	if v, ok := r.cell(colRecertifyMonth); ok {
		n, reason := parseCount(v, true)
		switch {
		case reason != "":
			r.fail(colRecertifyMonth, v, reason)
		case n > maxRecertMonth:
			r.fail(colRecertifyMonth, v, fmt.Sprintf("recertify_months is more than %d (twenty years)", maxRecertMonth))
		}
		row.RecertifyMonths = n
	}
	row.InForceFrom, _ = r.date(colInForceFrom)
	if row.Course != "" && !r.bad[colAudience] && !r.bad[colDepartment] && !r.bad[colLocation] && !r.bad[colJobTitle] {
		if first, dup := p.duplicate("requirement", row.Course+"\x00"+row.Audience.key(), r.line); dup {
			r.fail("", "", fmt.Sprintf("duplicate requirement for course %s and audience %s: already on line %d", row.Course, row.Audience, first))
		}
	}
	if r.ok() {
		p.res.Requirements = append(p.res.Requirements, row)
	}
}

// audience combines the audience column with the department, location and
// job_title columns.
func (p *parser) audience(r *rowCtx) Audience {
	v, ok := r.cell(colAudience)
	if !ok {
		return Audience{All: true}
	}
	aud, reason := parseAudience(v)
	if reason != "" {
		r.fail(colAudience, v, reason)
		return Audience{All: true}
	}
	explicitAll := aud.All && v != ""
	for _, f := range []struct {
		col string
		dst *string
	}{{colDepartment, &aud.Department}, {colLocation, &aud.Location}, {colJobTitle, &aud.JobTitle}} {
		t := r.text(f.col)
		switch {
		case t == "":
		case explicitAll:
			r.fail(f.col, t, fmt.Sprintf("the audience is %q but %s is also set: leave audience empty to narrow it, or clear %s", v, f.col, f.col))
		case *f.dst != "" && !strings.EqualFold(*f.dst, t):
			r.fail(f.col, t, fmt.Sprintf("disagrees with the audience column (%s=%s)", f.col, *f.dst))
		default:
			*f.dst = t
			aud.All = false
		}
	}
	return aud
}

// audienceKeys maps normalised audience keys to fields.
var audienceKeys = func() map[string]string {
	m := map[string]string{}
	for col, aliases := range map[string][]string{colDepartment: aliasDepartment, colLocation: aliasLocation, colJobTitle: aliasJobTitle} {
		m[normaliseHeader(col)] = col
		for _, a := range aliases {
			m[normaliseHeader(a)] = col
		}
	}
	return m
}()

// parseAudience reads the audience cell: "all", "everyone" or "" for
// everyone, otherwise key=value pairs separated by ";" (or "," when every
// part is a pair), e.g. "department=Sales; location=London". Keys are
// department, location and job_title (and their column aliases); ":" may be
// used instead of "=".
func parseAudience(s string) (Audience, string) {
	switch wordKey(s) {
	case "", "all", "everyone", "everybody", "any", "allstaff", "allemployees", "allusers":
		return Audience{All: true}, ""
	}
	const usage = `use "all", or key=value pairs such as "department=Sales; location=London" (keys: department, location, job_title)`
	segs := strings.FieldsFunc(s, func(r rune) bool { return r == ';' || r == '\n' || r == '\r' })
	if len(segs) == 1 && strings.Count(s, "=")+strings.Count(s, ":") > 1 {
		// "department=Sales, EMEA, location=London": split at commas, gluing
		// parts without a key back onto the value before them.
		var merged []string
		for _, part := range strings.Split(s, ",") {
			if !strings.ContainsAny(part, "=:") && len(merged) > 0 {
				merged[len(merged)-1] += "," + part
				continue
			}
			merged = append(merged, part)
		}
		segs = merged
	}
	var aud Audience
	set := map[string]bool{}
	for _, seg := range segs {
		seg = trimCell(seg)
		if seg == "" {
			continue
		}
		i := strings.IndexAny(seg, "=:")
		if i < 0 {
			return Audience{}, fmt.Sprintf("not an audience: %q has no key; %s", truncate(seg), usage)
		}
		key, val := trimCell(seg[:i]), collapseSpace(seg[i+1:])
		col, ok := audienceKeys[normaliseHeader(key)]
		if !ok {
			return Audience{}, fmt.Sprintf("unknown audience key %q: %s", truncate(key), usage)
		}
		if val == "" {
			return Audience{}, fmt.Sprintf("audience key %s has no value: %s", col, usage)
		}
		if set[col] {
			return Audience{}, fmt.Sprintf("audience names %s twice: a requirement row has one value per key; use one row per value", col)
		}
		set[col] = true
		switch col {
		case colDepartment:
			aud.Department = val
		case colLocation:
			aud.Location = val
		case colJobTitle:
			aud.JobTitle = val
		}
	}
	if !set[colDepartment] && !set[colLocation] && !set[colJobTitle] {
		return Audience{All: true}, ""
	}
	return aud, ""
}

// finish runs the whole-file checks and puts the errors in line order and,
// within a line, in column order (whole-row problems first).
func (p *parser) finish() {
	if p.kind == KindRoster {
		p.managerCycles()
	}
	pos := func(e RowError) int {
		if e.Column == "" {
			return -1
		}
		if is := p.hdr.cols[e.Column]; len(is) > 0 {
			return is[0]
		}
		return math.MaxInt
	}
	sort.SliceStable(p.errs, func(i, j int) bool {
		a, b := p.errs[i], p.errs[j]
		if a.Line != b.Line {
			return a.Line < b.Line
		}
		return pos(a) < pos(b)
	})
	p.res.Errors = p.errs
}

// managerCycles reports every row whose solid-line manager chain, within
// the file, leads back to itself, and drops those rows from the valid rows.
func (p *parser) managerCycles() {
	const (
		unvisited = iota
		onPath
		done
	)
	state := map[string]int{}
	inCycle := map[int]bool{}
	var cycleErrs []RowError
	for _, start := range p.order {
		if state[start] != unvisited {
			continue
		}
		var path []string
		id := start
		for {
			if _, inFile := p.lineOf[id]; !inFile || state[id] == done {
				break
			}
			if state[id] == onPath {
				// The cycle is the part of path from id onwards.
				i := 0
				for path[i] != id {
					i++
				}
				cycle := path[i:]
				for k, member := range cycle {
					chain := append(append([]string{}, cycle[k:]...), cycle[:k]...)
					chain = append(chain, member)
					line := p.lineOf[member]
					inCycle[line] = true
					cycleErrs = append(cycleErrs, RowError{
						File: p.file, Line: line, Column: colManager, Value: truncate(p.managerOf[member]),
						Reason: "manager chain loops back to this employee: " + describeChain(chain),
					})
				}
				break
			}
			state[id] = onPath
			path = append(path, id)
			next, ok := p.managerOf[id]
			if !ok {
				break
			}
			id = next
		}
		for _, v := range path {
			state[v] = done
		}
	}
	if len(cycleErrs) == 0 {
		return
	}
	p.errs = append(p.errs, cycleErrs...)
	kept := p.res.Roster[:0]
	for _, row := range p.res.Roster {
		if !inCycle[row.Line] {
			kept = append(kept, row)
		}
	}
	p.res.Roster = kept
}

// describeChain formats a manager chain "A → B → A", shortening long ones.
func describeChain(chain []string) string {
	const maxShown = 8
	if len(chain) > maxShown {
		shown := append(append([]string{}, chain[:maxShown-2]...), fmt.Sprintf("… (%d more)", len(chain)-maxShown+1), chain[len(chain)-1])
		chain = shown
	}
	return strings.Join(chain, " → ")
}
