package imports

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestPreviewFile(t *testing.T) {
	tests := []struct {
		name    string
		kind    Kind
		data    string
		columns []string // per header cell, "" for ignored
		missing string   // a fragment of Missing, "" when none
		rows    int
	}{
		{"mapped and ignored", KindRoster,
			"Acme roster\nEmployee ID,Work Email,Full Name,Shoe size,Manager,Manager ID\nE1,a@x.com,A,42,,\nE2,b@x.com,B,41,E1,E1\n",
			[]string{"employee_id", "email", "name", "", "", "manager_employee_id"}, "", 2},
		{"missing email", KindRoster, "employee_id,name\nE1,A\n",
			[]string{"employee_id", "name"}, "email (accepted names:", 0},
		{"courses", KindCourses, "code,title\nC1,Safety\nC2,Fire\nC3,First aid\n",
			[]string{"code", "title"}, "", 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := PreviewFile(tt.kind, "f.csv", []byte(tt.data), 2)
			if err != nil {
				t.Fatal(err)
			}
			if len(p.Header) != len(tt.columns) {
				t.Fatalf("header %+v, want %d cells", p.Header, len(tt.columns))
			}
			for i, c := range p.Header {
				if c.Column != tt.columns[i] {
					t.Errorf("cell %s %q maps to %q, want %q", c.Letter, c.Text, c.Column, tt.columns[i])
				}
				if c.Column == "" && c.Note == "" {
					t.Errorf("ignored cell %s has no note", c.Letter)
				}
			}
			if got := p.MissingSummary(); (tt.missing == "") != (got == "") || !strings.Contains(got, tt.missing) {
				t.Errorf("missing %q, want it to hold %q", got, tt.missing)
			}
			if len(p.Rows) != tt.rows {
				t.Errorf("%d rows, want %d", len(p.Rows), tt.rows)
			}
		})
	}
	if _, err := PreviewFile(KindRoster, "f.csv", []byte("a,b\n1,2\n"), 5); !errors.Is(err, ErrNoHeader) {
		t.Errorf("a file without a header: %v, want ErrNoHeader", err)
	}
}

// TestPreviewFileXLSX shows workbook cells as the spreadsheet displays them
// (a date, not its serial number), from the kind's own sheet.
func TestPreviewFileXLSX(t *testing.T) {
	data := xlsxData(t,
		sheet{"Notes", [][]any{{"not this sheet"}}},
		sheet{"Roster", [][]any{
			{"Employee ID", "Email", "Name", "Hire date"},
			{"E1", "a@x.com", "Ann", time.Date(2024, 3, 5, 0, 0, 0, 0, time.UTC)},
		}})
	p, err := PreviewFile(KindRoster, "r.xlsx", data, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Rows) != 1 || p.Rows[0].Line != 2 || p.Header[3].Column != "hire_date" {
		t.Fatalf("preview %+v", p)
	}
	if got := p.Rows[0].Cells[3]; got == "" || strings.HasPrefix(got, "45") {
		t.Errorf("hire date shown as %q, want the date as formatted", got)
	}
}
