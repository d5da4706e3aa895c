package imports

import (
	"errors"
	"fmt"
	"strings"
)

// Preview is what a file's first rows look like to Parse: its header, how
// each header cell maps to a column, the required columns it lacks, and its
// first data rows as written.
type Preview struct {
	Kind       Kind
	HeaderLine int
	Header     []HeaderCell
	// Missing describes each required column (or group of alternatives)
	// the header lacks, with the names accepted for it; such a file cannot
	// be imported.
	Missing []string
	Rows    []PreviewRow // the first data rows, as many cells as the header
}

// HeaderCell is one header cell and what Parse does with it.
type HeaderCell struct {
	Letter string // the spreadsheet column letter: A, B, …
	Text   string // as written
	Column string // the canonical column it fills; "" when ignored
	// Note says why a cell is ignored: an unknown name, or a less specific
	// name of a column another cell fills.
	Note string
}

// PreviewRow is one data row as written.
type PreviewRow struct {
	Line  int
	Cells []string
}

// PreviewFile reads the header and up to n data rows of a file of kind. It
// returns an error only for a file that cannot be read at all (see Parse);
// a missing required column is reported in Preview.Missing.
func PreviewFile(kind Kind, filename string, data []byte, n int) (*Preview, error) {
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
	hdr, _, err := findHeader(kind, filename, src)
	if err != nil && !(errors.Is(err, ErrMissingColumns) && hdr != nil) {
		return nil, err
	}
	p := &Preview{Kind: kind, HeaderLine: hdr.line, Header: describeHeader(kind, hdr)}
	if err != nil {
		for _, group := range requiredColumns[kind] {
			if !hasAny(hdr, group) {
				p.Missing = append(p.Missing, describeMissing(kind, group))
			}
		}
		return p, nil
	}
	for len(p.Rows) < n {
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
		cells := make([]string, len(p.Header))
		for i := range cells {
			if i < len(rec.cells) {
				cells[i] = trimCell(rec.cells[i])
				if f, ok := src.formatted(rec.line, i); ok {
					cells[i] = f
				}
			}
		}
		p.Rows = append(p.Rows, PreviewRow{Line: rec.line, Cells: cells})
	}
	return p, nil
}

// describeHeader says what Parse does with each header cell up to the last
// non-blank one.
func describeHeader(kind Kind, h *header) []HeaderCell {
	filled := map[int]string{}
	for name, is := range h.cols {
		for _, i := range is {
			filled[i] = name
		}
	}
	out := make([]HeaderCell, 0, h.width)
	for i := 0; i < h.width; i++ {
		c := HeaderCell{Letter: columnLetter(i), Text: trimCell(h.texts[i]), Column: filled[i]}
		if c.Column == "" {
			ref, known := headerIndex[kind][normaliseHeader(h.texts[i])]
			switch {
			case c.Text == "":
				c.Note = "blank header: ignored"
			case known:
				c.Note = fmt.Sprintf("ignored: %s is taken from column %s", ref.col, columnLetter(h.cols[ref.col][0]))
			default:
				c.Note = fmt.Sprintf("ignored: not a %s column", kind)
			}
		} else if len(h.cols[c.Column]) > 1 {
			c.Note = "repeated column: rows where the copies differ are rejected"
		}
		out = append(out, c)
	}
	return out
}

// hasAny reports whether the header holds any column of group.
func hasAny(h *header, group []string) bool {
	for _, name := range group {
		if h.has(name) {
			return true
		}
	}
	return false
}

// MissingSummary joins Missing into one sentence for messages.
func (p *Preview) MissingSummary() string {
	return strings.Join(p.Missing, "; ")
}
