package imports

import (
	"fmt"
	"strings"
)

// Kind is what a file holds.
type Kind string

// The four kinds of import file.
const (
	// KindRoster is an HR roster: one row per employee.
	KindRoster Kind = "roster"
	// KindCourses is a course catalogue: one row per course.
	KindCourses Kind = "courses"
	// KindEnrollments is a list of enrolments and completions: one row per
	// employee and course.
	KindEnrollments Kind = "enrollments"
	// KindRequirements is a list of compliance requirements: one row per
	// course and audience.
	KindRequirements Kind = "requirements"
)

// Kinds lists every Kind in a stable order.
var Kinds = []Kind{KindRoster, KindCourses, KindEnrollments, KindRequirements}

// ParseKind accepts "roster", "courses", "enrollments" (alias
// "completions"), "requirements" (alias "compliance"), case-insensitive and
// ignoring surrounding spaces.
func ParseKind(s string) (Kind, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "roster":
		return KindRoster, nil
	case "courses":
		return KindCourses, nil
	case "enrollments", "completions":
		return KindEnrollments, nil
	case "requirements", "compliance":
		return KindRequirements, nil
	}
	return "", fmt.Errorf("unknown import kind %q: use roster, courses, enrollments (or completions) or requirements (or compliance)", s)
}

// String returns the kind's name.
func (k Kind) String() string { return string(k) }

// valid reports whether k is one of the four kinds.
func (k Kind) valid() bool {
	switch k {
	case KindRoster, KindCourses, KindEnrollments, KindRequirements:
		return true
	}
	return false
}

// sheetNames are the (normalised) worksheet names that identify a kind's
// sheet in a workbook with several sheets.
func (k Kind) sheetNames() []string {
	switch k {
	case KindRoster:
		return []string{"roster", "employees", "people", "staff"}
	case KindCourses:
		return []string{"courses", "course", "catalog", "catalogue", "coursecatalog", "coursecatalogue"}
	case KindEnrollments:
		return []string{"enrollments", "enrolments", "enrollment", "enrolment", "completions"}
	case KindRequirements:
		return []string{"requirements", "requirement", "compliance"}
	}
	return nil
}
