package imports

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"
)

// csvData joins lines with "\n" and adds a final line feed.
func csvData(lines ...string) []byte {
	return []byte(strings.Join(lines, "\n") + "\n")
}

// sheet is one worksheet of a test workbook.
type sheet struct {
	name string
	rows [][]any
}

// serial marks a cell to be written as a plain number (an Excel serial
// date without a date format).
type serial float64

// timeOfDay marks a cell to be written as a fraction of a day with the
// h:mm number format, as Excel stores a typed "1:30".
type timeOfDay float64

// xlsxData builds a workbook. time.Time cells become real date cells (a
// serial number with a date format); serial cells become plain numbers.
func xlsxData(t testing.TB, sheets ...sheet) []byte {
	t.Helper()
	f := excelize.NewFile()
	defer f.Close()
	dateStyle, err := f.NewStyle(&excelize.Style{NumFmt: 14})
	if err != nil {
		t.Fatal(err)
	}
	timeStyle, err := f.NewStyle(&excelize.Style{NumFmt: 20})
	if err != nil {
		t.Fatal(err)
	}
	for i, s := range sheets {
		if i == 0 {
			if err := f.SetSheetName("Sheet1", s.name); err != nil {
				t.Fatal(err)
			}
		} else if _, err := f.NewSheet(s.name); err != nil {
			t.Fatal(err)
		}
		for r, row := range s.rows {
			for c, v := range row {
				if v == nil {
					continue
				}
				cell, _ := excelize.CoordinatesToCellName(c+1, r+1)
				switch v := v.(type) {
				case time.Time:
					err = f.SetCellValue(s.name, cell, v)
					if err == nil {
						err = f.SetCellStyle(s.name, cell, cell, dateStyle)
					}
				case serial:
					err = f.SetCellFloat(s.name, cell, float64(v), -1, 64)
				case timeOfDay:
					err = f.SetCellFloat(s.name, cell, float64(v), -1, 64)
					if err == nil {
						err = f.SetCellStyle(s.name, cell, cell, timeStyle)
					}
				default:
					err = f.SetCellValue(s.name, cell, v)
				}
				if err != nil {
					t.Fatal(err)
				}
			}
		}
	}
	var buf bytes.Buffer
	if err := f.Write(&buf); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// mustParse parses data and fails the test on a file error.
func mustParse(t *testing.T, kind Kind, name string, data []byte) *Result {
	t.Helper()
	res, err := Parse(kind, name, data)
	if err != nil {
		t.Fatalf("Parse(%s, %s): %v", kind, name, err)
	}
	return res
}

// wantErr describes an expected row error.
type wantErr struct {
	line   int
	column string
	reason string // a substring of RowError.Reason
}

// checkErrors compares a result's errors with the expected ones, in order.
func checkErrors(t *testing.T, res *Result, want []wantErr) {
	t.Helper()
	if len(res.Errors) != len(want) {
		t.Errorf("got %d errors, want %d:", len(res.Errors), len(want))
		for _, e := range res.Errors {
			t.Errorf("  %v", e)
		}
		return
	}
	for i, w := range want {
		e := res.Errors[i]
		if e.Line != w.line || e.Column != w.column || !strings.Contains(e.Reason, w.reason) {
			t.Errorf("error %d = %v (line %d, column %q); want line %d, column %q, reason containing %q",
				i, e, e.Line, e.Column, w.line, w.column, w.reason)
		}
	}
}

// noErrors fails the test if the result has errors.
func noErrors(t *testing.T, res *Result) {
	t.Helper()
	for _, e := range res.Errors {
		t.Errorf("unexpected error: %v", e)
	}
}

func fp(f float64) *float64 { return &f }
func bp(b bool) *bool       { return &b }

func d(y int, m time.Month, day int) Date { return Date{y, m, day} }
