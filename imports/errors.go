package imports

import (
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"
)

// Errors wrapped by the error Parse returns when a file cannot be read at
// all; test for them with errors.Is.
var (
	// ErrEmptyFile means the file has no bytes, or only blank lines.
	ErrEmptyFile = errors.New("file is empty")
	// ErrUnsupportedFormat means the file is neither CSV (UTF-8 or UTF-16
	// text) nor an XLSX workbook.
	ErrUnsupportedFormat = errors.New("not a CSV or XLSX file")
	// ErrNoHeader means no header row was found.
	ErrNoHeader = errors.New("no header row")
	// ErrMissingColumns means a required column is absent from the header.
	ErrMissingColumns = errors.New("missing required column")
	// ErrTooManyRows means the file has more than MaxRows data rows.
	ErrTooManyRows = errors.New("too many rows")
	// ErrUnknownKind means Parse was given a Kind that is not one of the
	// four kinds.
	ErrUnknownKind = errors.New("unknown import kind")
)

// maxValueLen is how many characters of a cell RowError.Value keeps.
const maxValueLen = 100

// RowError is one problem with one row (or with the header), as shown to
// the user: file, line, column, reason.
type RowError struct {
	File   string `json:"file"`
	Line   int    `json:"line"`   // 1-based line in CSV / row number in the XLSX sheet; the header is normally line 1
	Column string `json:"column"` // the canonical column name, e.g. "hire_date"; "" when the problem is the whole row
	Value  string `json:"value"`  // the offending cell text (truncated to 100 characters)
	Reason string `json:"reason"` // plain English, e.g. "not a date: use YYYY-MM-DD"
}

// Error formats the problem as
//
//	roster.csv line 7, column hire_date: not a date: use YYYY-MM-DD (got "31/02/2024")
func (e RowError) Error() string {
	var b strings.Builder
	if e.File != "" {
		b.WriteString(e.File)
		b.WriteByte(' ')
	}
	fmt.Fprintf(&b, "line %d", e.Line)
	if e.Column != "" {
		b.WriteString(", column ")
		b.WriteString(e.Column)
	}
	b.WriteString(": ")
	b.WriteString(e.Reason)
	if e.Value != "" {
		fmt.Fprintf(&b, " (got %q)", e.Value)
	}
	return b.String()
}

// truncate shortens s to at most maxValueLen characters, marking a cut
// with an ellipsis.
func truncate(s string) string {
	if utf8.RuneCountInString(s) <= maxValueLen {
		return s
	}
	n := 0
	for i := range s {
		if n == maxValueLen-1 {
			return s[:i] + "…"
		}
		n++
	}
	return s
}
