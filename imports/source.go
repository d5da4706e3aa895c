package imports

import (
	"archive/zip"
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/xuri/excelize/v2"
)

// record is one row of a file as read, before any validation.
type record struct {
	line  int      // real line (CSV) or row number (XLSX)
	cells []string // cell texts; XLSX cells are raw values (dates as serials)
	err   string   // a problem reading the row itself (CSV quoting), if any
}

// blank reports whether every cell of the record is empty or white space.
func (r record) blank() bool {
	if r.err != "" {
		return false
	}
	for _, c := range r.cells {
		if trimCell(c) != "" {
			return false
		}
	}
	return true
}

// source yields the records of a file in order.
type source interface {
	// next returns the next record; ok is false at the end. err is a
	// problem that stops the file being read at all.
	next() (rec record, ok bool, err error)
	// formatted returns the cell as the spreadsheet displays it, for XLSX;
	// CSV returns "", false.
	formatted(line, col int) (string, bool)
	// isCSV reports whether the file is CSV (rows must match the header width).
	isCSV() bool
	// date1904 reports whether date serials count from 1904 (some Mac workbooks).
	date1904() bool
	close()
}

var (
	zipMagic = []byte("PK\x03\x04")
	cfbMagic = []byte{0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1}
)

// openSource decides the format from the content and opens the file.
func openSource(kind Kind, file string, data []byte) (source, error) {
	name := displayName(file)
	switch {
	case bytes.HasPrefix(data, zipMagic):
		return openXLSX(kind, name, data)
	case bytes.HasPrefix(data, cfbMagic):
		return nil, fmt.Errorf("%s: %w: this is a legacy .xls or password-protected workbook; save it as .xlsx (without a password) or as CSV UTF-8", name, ErrUnsupportedFormat)
	case bytes.HasPrefix(data, []byte("PK")):
		return nil, fmt.Errorf("%s: %w: this is an empty or unreadable ZIP archive, not an XLSX workbook", name, ErrUnsupportedFormat)
	}
	return openCSV(name, data)
}

// csvSource reads CSV text.
type csvSource struct {
	r *csv.Reader
}

func (s *csvSource) formatted(int, int) (string, bool) { return "", false }
func (s *csvSource) isCSV() bool                       { return true }
func (s *csvSource) date1904() bool                    { return false }
func (s *csvSource) close()                            {}

func (s *csvSource) next() (record, bool, error) {
	cells, err := s.r.Read()
	if err == io.EOF {
		return record{}, false, nil
	}
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		return record{line: pe.StartLine, err: explainCSVError(pe)}, true, nil
	}
	if err != nil {
		return record{}, false, err
	}
	line, _ := s.r.FieldPos(0)
	return record{line: line, cells: cells}, true, nil
}

// explainCSVError turns an encoding/csv parse error into plain English.
func explainCSVError(pe *csv.ParseError) string {
	switch {
	case errors.Is(pe.Err, csv.ErrBareQuote):
		return fmt.Sprintf(`a quote (") in the middle of a cell on line %d: put the whole cell in quotes and double the quote inside it ("")`, pe.Line)
	case errors.Is(pe.Err, csv.ErrQuote) && pe.Line > pe.StartLine:
		return fmt.Sprintf(`a quoted cell is never closed (still open on line %d): check the quotes (") on this row`, pe.Line)
	case errors.Is(pe.Err, csv.ErrQuote):
		return fmt.Sprintf(`text after the closing quote of a cell (line %d, character %d): put the whole cell in quotes and double the quotes inside it ("")`, pe.Line, pe.Column)
	}
	return "cannot read this row: " + pe.Err.Error()
}

// openCSV prepares CSV text: it decodes UTF-16, drops a byte-order mark,
// accepts CR-only line endings, honours an Excel "sep=;" first line and
// otherwise picks ";" or a tab as the separator when the header line has
// more of them than commas.
func openCSV(name string, data []byte) (source, error) {
	switch {
	case bytes.HasPrefix(data, []byte{0xFF, 0xFE}):
		data = decodeUTF16(data[2:], false)
	case bytes.HasPrefix(data, []byte{0xFE, 0xFF}):
		data = decodeUTF16(data[2:], true)
	}
	data = bytes.TrimPrefix(data, []byte("\xEF\xBB\xBF"))
	if bytes.IndexByte(data, '\n') < 0 && bytes.IndexByte(data, '\r') >= 0 {
		// Old Mac line endings (CR only).
		data = bytes.ReplaceAll(data, []byte("\r"), []byte("\n"))
	}
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, fmt.Errorf("%s: %w", name, ErrEmptyFile)
	}
	if bytes.IndexByte(data, 0) >= 0 {
		return nil, fmt.Errorf("%s: %w: it holds binary data; upload a .csv or .xlsx file", name, ErrUnsupportedFormat)
	}
	if !utf8.Valid(data) {
		i := 0
		for i < len(data) {
			r, n := utf8.DecodeRune(data[i:])
			if r == utf8.RuneError && n <= 1 {
				break
			}
			i += n
		}
		line := 1 + bytes.Count(data[:i], []byte("\n"))
		return nil, fmt.Errorf("%s: %w: line %d is not UTF-8 text; in Excel use Save As \"CSV UTF-8\"", name, ErrUnsupportedFormat, line)
	}
	head := strings.ToLower(strings.TrimSpace(string(data[:min(len(data), 512)])))
	for _, p := range []string{"<!doctype", "<html", "<?xml", "<table", "{", "%pdf"} {
		if strings.HasPrefix(head, p) {
			return nil, fmt.Errorf("%s: %w: it looks like %s; export the data as CSV UTF-8 or .xlsx", name, ErrUnsupportedFormat, describeText(p))
		}
	}

	comma := rune(0)
	first, rest := firstLine(data)
	if l := strings.TrimSpace(string(first)); len(l) == 5 && strings.HasPrefix(strings.ToLower(l), "sep=") && strings.ContainsRune(",;\t|", rune(l[4])) {
		comma = rune(l[4])
		// Keep the line feed so that line numbers stay true: line 1 becomes
		// an empty line, which the CSV reader skips.
		data = rest
	}
	if comma == 0 {
		line := headerLine(data)
		comma = ','
		c, sc, tab := bytes.Count(line, []byte(",")), bytes.Count(line, []byte(";")), bytes.Count(line, []byte("\t"))
		if sc > c && sc >= tab {
			comma = ';'
		} else if tab > c && tab > sc {
			comma = '\t'
		}
	}
	r := csv.NewReader(bytes.NewReader(data))
	r.Comma = comma
	r.FieldsPerRecord = -1
	r.LazyQuotes = false
	r.TrimLeadingSpace = comma != '\t'
	return &csvSource{r: r}, nil
}

func describeText(prefix string) string {
	switch prefix {
	case "{":
		return "JSON"
	case "%pdf":
		return "a PDF"
	case "<?xml":
		return "XML"
	}
	return "a web page (HTML)"
}

// firstLine splits data after its first line feed (the line keeps no "\n").
func firstLine(data []byte) (line, rest []byte) {
	if i := bytes.IndexByte(data, '\n'); i >= 0 {
		return data[:i], data[i:]
	}
	return data, nil
}

// headerLine returns the first of the first few non-blank lines that holds
// a comma, semicolon or tab (a title line above the header may hold none),
// or else the first non-blank line.
func headerLine(data []byte) []byte {
	var firstNonBlank []byte
	for n := 0; len(data) > 0 && n < maxHeaderSearch; {
		line, rest := firstLine(data)
		if len(bytes.TrimSpace(line)) > 0 {
			n++
			if firstNonBlank == nil {
				firstNonBlank = line
			}
			if bytes.ContainsAny(line, ",;\t") {
				return line
			}
		}
		if len(rest) == 0 {
			break
		}
		data = rest[1:]
	}
	return firstNonBlank
}

// decodeUTF16 converts UTF-16 text (without its byte-order mark) to UTF-8.
func decodeUTF16(b []byte, bigEndian bool) []byte {
	u := make([]uint16, len(b)/2)
	for i := range u {
		if bigEndian {
			u[i] = uint16(b[2*i])<<8 | uint16(b[2*i+1])
		} else {
			u[i] = uint16(b[2*i+1])<<8 | uint16(b[2*i])
		}
	}
	return []byte(string(utf16.Decode(u)))
}

// xlsxSource reads one worksheet of a workbook.
type xlsxSource struct {
	f     *excelize.File
	sheet string
	rows  *excelize.Rows
	n     int
	d1904 bool
}

// Limits on a workbook's unpacked size, against ZIP bombs (issue 14: a
// 520 KB upload whose styles.xml inflated to 512 MiB). They are checked on
// the sizes the ZIP directory declares, before anything is inflated;
// archive/zip refuses an entry that inflates past its declared size, so
// the declaration cannot lie. Worksheets and shared strings above
// xlsxPartInMemory are inflated to temporary files by excelize, every
// other part into memory.
const (
	xlsxUnzipLimit   = 256 << 20 // all parts together
	xlsxPartInMemory = 16 << 20  // one part read into memory
)

// ErrTooLarge means a file unpacks to more than the import allows.
var ErrTooLarge = errors.New("the file unpacks to more than the import allows")

// checkZipSizes refuses a workbook whose parts declare more than the limits.
func checkZipSizes(name string, data []byte) error {
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		return nil // not a readable ZIP: excelize says so in its own words
	}
	var total uint64
	for _, f := range zr.File {
		size := f.UncompressedSize64
		total += size
		part := strings.ToLower(strings.ReplaceAll(f.Name, "\\", "/"))
		streamed := strings.HasPrefix(part, "xl/worksheets/sheet") || part == "xl/sharedstrings.xml"
		switch {
		case total > xlsxUnzipLimit:
			return fmt.Errorf("%s: %w: its parts unpack to more than %d MiB", name, ErrTooLarge, xlsxUnzipLimit>>20)
		case !streamed && size > xlsxPartInMemory:
			return fmt.Errorf("%s: %w: part %s unpacks to %d MiB, more than the %d MiB allowed", name, ErrTooLarge, f.Name, size>>20, xlsxPartInMemory>>20)
		}
	}
	return nil
}

// openXLSX opens the workbook and picks the sheet named like the kind, or
// else the first sheet.
func openXLSX(kind Kind, name string, data []byte) (source, error) {
	if err := checkZipSizes(name, data); err != nil {
		return nil, err
	}
	f, err := excelize.OpenReader(bytes.NewReader(data), excelize.Options{UnzipSizeLimit: xlsxUnzipLimit, UnzipXMLSizeLimit: xlsxPartInMemory})
	if err != nil {
		return nil, fmt.Errorf("%s: %w: cannot open it as an XLSX workbook (%v)", name, ErrUnsupportedFormat, err)
	}
	sheets := f.GetSheetList()
	if len(sheets) == 0 {
		_ = f.Close()
		return nil, fmt.Errorf("%s: %w: the workbook has no sheets", name, ErrUnsupportedFormat)
	}
	sheet := sheets[0]
	wanted := map[string]bool{}
	for _, n := range kind.sheetNames() {
		wanted[n] = true
	}
	for _, s := range sheets {
		if wanted[normaliseHeader(s)] {
			sheet = s
			break
		}
	}
	rows, err := f.Rows(sheet)
	if err != nil {
		_ = f.Close()
		return nil, fmt.Errorf("%s: %w: cannot read sheet %q (%v)", name, ErrUnsupportedFormat, sheet, err)
	}
	s := &xlsxSource{f: f, sheet: sheet, rows: rows}
	if props, err := f.GetWorkbookProps(); err == nil && props.Date1904 != nil {
		s.d1904 = *props.Date1904
	}
	return s, nil
}

func (s *xlsxSource) isCSV() bool    { return false }
func (s *xlsxSource) date1904() bool { return s.d1904 }

func (s *xlsxSource) next() (record, bool, error) {
	if !s.rows.Next() {
		if err := s.rows.Error(); err != nil {
			return record{}, false, fmt.Errorf("sheet %q: %w", s.sheet, err)
		}
		return record{}, false, nil
	}
	s.n++
	cells, err := s.rows.Columns(excelize.Options{RawCellValue: true})
	if err != nil {
		return record{}, false, fmt.Errorf("sheet %q row %d: %w", s.sheet, s.n, err)
	}
	return record{line: s.n, cells: cells}, true, nil
}

func (s *xlsxSource) formatted(line, col int) (string, bool) {
	cell, err := excelize.CoordinatesToCellName(col+1, line)
	if err != nil {
		return "", false
	}
	v, err := s.f.GetCellValue(s.sheet, cell)
	if err != nil {
		return "", false
	}
	return v, true
}

func (s *xlsxSource) close() {
	_ = s.rows.Close()
	_ = s.f.Close()
}
