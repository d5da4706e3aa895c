package imports

import (
	"bytes"
	"errors"
	"reflect"
	"strings"
	"testing"
	"unicode/utf16"

	"github.com/xuri/excelize/v2"
)

func TestHeaderAliases(t *testing.T) {
	tests := []struct {
		kind   Kind
		header string
		row    string
		check  func(r *Result) bool
	}{
		{KindRoster, "Employee ID,E-mail,Full Name", "E1,a@x.io,Ann",
			func(r *Result) bool { return r.Roster[0].EmployeeID == "E1" && r.Roster[0].Name == "Ann" }},
		{KindRoster, "employeeid,email address,display name", "E1,a@x.io,Ann",
			func(r *Result) bool { return r.Roster[0].Email == "a@x.io" }},
		{KindRoster, "EMP ID,Mail,Name,Reports To,Start Date,Dotted Line Manager", "E1,a@x.io,Ann,E0,2024-01-02,E7",
			func(r *Result) bool {
				x := r.Roster[0]
				return x.ManagerEmployeeID == "E0" && x.HireDate == d(2024, 1, 2) && reflect.DeepEqual(x.DottedManagerEmployeeIDs, []string{"E7"})
			}},
		{KindRoster, "Staff ID,Work Email,Given Name,Surname,Supervisor ID,Date Hired", "E1,a@x.io,Ann,Lee,E0,2024-01-02",
			func(r *Result) bool { return r.Roster[0].Name == "Ann Lee" && r.Roster[0].ManagerEmployeeID == "E0" }},
		{KindRoster, "person_id,email,name,line-manager-id,joined,Status", "E1,a@x.io,Ann,E0,2024-01-02,on leave",
			func(r *Result) bool { return r.Roster[0].ManagerEmployeeID == "E0" && r.Roster[0].Status == "active" }},
		{KindRoster, "Worker ID,Email,Name,Manager Employee ID,Hire Date (YYYY-MM-DD)", "E1,a@x.io,Ann,E0,2024-01-02",
			func(r *Result) bool { return r.Roster[0].HireDate == d(2024, 1, 2) }},
		{KindRoster, "Employee Number,Email,Name,Manager,Manager ID", "E1,a@x.io,Ann,Zoe Boss,E0",
			func(r *Result) bool { return r.Roster[0].ManagerEmployeeID == "E0" }}, // the more specific alias wins
		{KindRoster, "Employee Number,Email,Work Email,Name", "E1,ann@home.io,ann@x.io,Ann",
			func(r *Result) bool { return r.Roster[0].Email == "ann@x.io" }},
		{KindRoster, "employee_id,email,name,notes,Employee ID Legacy", "E1,a@x.io,Ann,whatever,zzz",
			func(r *Result) bool { return r.Roster[0].EmployeeID == "E1" }}, // unknown columns are ignored
		{KindCourses, "ID,Name,Length,Compulsory", "C1,Intro,2h,no",
			func(r *Result) bool {
				x := r.Courses[0]
				return x.Code == "C1" && x.Title == "Intro" && x.DurationMinutes == 120
			}},
		{KindCourses, "course_id,course title,duration,required", "C1,Intro,90,1",
			func(r *Result) bool { return r.Courses[0].Required && r.Courses[0].DurationMinutes == 90 }},
		{KindCourses, "IRI,Title,Topic", "https://x.io/c1,Intro,Safety",
			func(r *Result) bool {
				return r.Courses[0].ActivityIRI == "https://x.io/c1" && r.Courses[0].Category == "Safety"
			}},
		{KindEnrollments, "Staff Number,Course Code,Assigned Date,Completed On,Deadline,Grade,Result", "E1,C1,2024-01-01,2024-01-02,2024-01-31,90,pass",
			func(r *Result) bool {
				x := r.Enrollments[0]
				return x.Course == "C1" && x.CompletedAt == d(2024, 1, 2) && x.DueAt == d(2024, 1, 31) && *x.Score == 0.9 && *x.Passed
			}},
		{KindEnrollments, "learner id,activity id,date completed", "E1,https://x.io/c1,2024-01-02",
			func(r *Result) bool { return r.Enrollments[0].Course == "https://x.io/c1" }},
		{KindEnrollments, "Employee ID,Course,Course ID,Completion Date", "E1,Fire Safety,C1,2024-01-02",
			func(r *Result) bool { return r.Enrollments[0].Course == "C1" }},
		{KindRequirements, "Course Code,Title,Due in days", "C1,Fire Safety,30",
			func(r *Result) bool { return r.Requirements[0].Audience == Audience{All: true} }},
		{KindRequirements, "Course,Applies To,Days to complete,Relative to,Renewal months", "C1,department=Ops,10,hire,6",
			func(r *Result) bool {
				x := r.Requirements[0]
				return x.Audience == Audience{Department: "Ops"} && x.DueWithinDays == 10 && x.DueFrom == "hire" && x.RecertifyMonths == 6
			}},
	}
	for _, tt := range tests {
		t.Run(string(tt.kind)+" "+tt.header, func(t *testing.T) {
			res := mustParse(t, tt.kind, "f.csv", csvData(tt.header, tt.row))
			noErrors(t, res)
			if res.Valid() != 1 || !tt.check(res) {
				t.Errorf("unexpected result %+v", res)
			}
		})
	}
}

func TestCSVEncodings(t *testing.T) {
	want := []RosterRow{
		{Line: 2, EmployeeID: "E1", Email: "a@x.io", Name: "Zoë Smith, Jr", Status: "active", HireDate: d(2024, 1, 2)},
		{Line: 4, EmployeeID: "E2", Email: "b@x.io", Name: "Bo", Status: "active"},
	}
	comma := "employee_id,email,name,hire_date\nE1,a@x.io,\"Zoë Smith, Jr\",2024-01-02\n\nE2,b@x.io,Bo,\n"
	semi := "Employee ID;Email;Name;Hire Date\nE1;a@x.io;Zoë Smith, Jr;2024-01-02\n\nE2;b@x.io;Bo;\n"
	utf16le := func(s string) []byte {
		out := []byte{0xFF, 0xFE}
		for _, u := range utf16.Encode([]rune(s)) {
			out = append(out, byte(u), byte(u>>8))
		}
		return out
	}
	tests := map[string][]byte{
		"plain":           []byte(comma),
		"bom":             []byte("\xEF\xBB\xBF" + comma),
		"crlf":            []byte(strings.ReplaceAll(comma, "\n", "\r\n")),
		"bom crlf":        []byte("\xEF\xBB\xBF" + strings.ReplaceAll(comma, "\n", "\r\n")),
		"semicolon":       []byte(semi),
		"semicolon crlf":  []byte("\xEF\xBB\xBF" + strings.ReplaceAll(semi, "\n", "\r\n")),
		"tab":             []byte("employee_id\temail\tname\thire_date\nE1\ta@x.io\tZoë Smith, Jr\t2024-01-02\n\nE2\tb@x.io\tBo\t\n"),
		"utf-16":          utf16le(strings.ReplaceAll(comma, "\n", "\r\n")),
		"no final eol":    []byte(strings.TrimSuffix(comma, "\n")),
		"cr only":         []byte(strings.ReplaceAll(comma, "\n", "\r")),
		"spaces in cells": []byte("employee_id, email, name, hire_date\n E1 , a@x.io , \"Zoë  Smith, Jr\", 2024-01-02\n\nE2,b@x.io,Bo,\n"),
	}
	for name, data := range tests {
		t.Run(name, func(t *testing.T) {
			res := mustParse(t, KindRoster, "roster.csv", data)
			noErrors(t, res)
			if !reflect.DeepEqual(res.Roster, want) || res.Rows != 2 {
				t.Errorf("got %+v (rows %d)", res.Roster, res.Rows)
			}
		})
	}
	// A title line without separators does not decide the separator.
	res := mustParse(t, KindRoster, "roster.csv", []byte("Acme roster\n\nemployee_id;email;name\nE1;a@x.io;Ann, B\n"))
	if len(res.Roster) != 1 || res.Roster[0].Name != "Ann, B" || res.Roster[0].Line != 4 {
		t.Errorf("title line: %+v %v", res.Roster, res.Errors)
	}
	// An Excel "sep=" hint line sets the separator and still counts as line 1.
	res = mustParse(t, KindRoster, "roster.csv", []byte("sep=;\nemployee_id;email;name\nE1;a@x.io;Ann, B\nE2;bad;Bo\n"))
	if len(res.Roster) != 1 || res.Roster[0].Name != "Ann, B" || res.Roster[0].Line != 3 {
		t.Errorf("sep= line: %+v", res.Roster)
	}
	checkErrors(t, res, []wantErr{{4, colEmail, "not an email address"}})
}

func TestMultilineLineNumbers(t *testing.T) {
	data := csvData(
		"code,title,category,notes",
		`C1,"Fire`,
		`Safety",H&S,"line one`,
		`line two`,
		`line three"`,
		``,
		`C2,Intro,,`,
		`C3,,,"a ""quoted""`,
		`note"`,
		`C1,Again,,`,
	)
	res := mustParse(t, KindCourses, "courses.csv", data)
	if len(res.Courses) != 2 || res.Courses[0].Line != 2 || res.Courses[0].Title != "Fire Safety" || res.Courses[1].Line != 7 {
		t.Errorf("courses: %+v", res.Courses)
	}
	checkErrors(t, res, []wantErr{
		{8, colTitle, "required but empty"},
		{10, colCode, "duplicate course code: already on line 2"},
	})
	if res.Rows != 4 {
		t.Errorf("Rows = %d, want 4", res.Rows)
	}
}

func TestCSVQuoteErrors(t *testing.T) {
	data := csvData(
		"code,title",
		`C1,The "Best" Course`,
		`C2,"Closed" early`,
		`C3,Fine`,
		`C4,"never closed`,
		`C5,swallowed`,
	)
	res := mustParse(t, KindCourses, "courses.csv", data)
	if len(res.Courses) != 1 || res.Courses[0].Code != "C3" {
		t.Errorf("courses: %+v", res.Courses)
	}
	checkErrors(t, res, []wantErr{
		{2, "", `a quote (") in the middle of a cell`},
		{3, "", "text after the closing quote"},
		{5, "", "a quoted cell is never closed"},
	})
}

func TestFileErrors(t *testing.T) {
	tests := []struct {
		name string
		kind Kind
		data []byte
		want error
		msg  []string // substrings of the message
	}{
		{"empty", KindRoster, nil, ErrEmptyFile, []string{"roster.csv: file is empty"}},
		{"blank lines", KindRoster, []byte("\n \r\n\t\n"), ErrEmptyFile, nil},
		{"bom only", KindRoster, []byte("\xEF\xBB\xBF"), ErrEmptyFile, nil},
		{"commas only", KindRoster, []byte(",,,\n,,\n"), ErrEmptyFile, nil},
		{"binary", KindRoster, []byte("\x00\x01\x02garbage"), ErrUnsupportedFormat, []string{"binary"}},
		{"legacy xls", KindRoster, append([]byte{0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1}, make([]byte, 100)...), ErrUnsupportedFormat, []string{".xls"}},
		{"broken zip", KindRoster, []byte("PK\x03\x04not really a zip"), ErrUnsupportedFormat, []string{"XLSX"}},
		{"html", KindRoster, []byte("<html><table><tr><td>employee_id</td></tr></table></html>"), ErrUnsupportedFormat, []string{"HTML"}},
		{"latin-1", KindRoster, []byte("employee_id,email,name\nE1,a@x.io,Zo\xeb\n"), ErrUnsupportedFormat, []string{"line 2 is not UTF-8", "CSV UTF-8"}},
		{"no header", KindRoster, csvData("E1,a@x.io,Ann", "E2,b@x.io,Bo"), ErrNoHeader, []string{"first row (line 1)", "employee_id, email, name"}},
		{"header too far down", KindRoster, csvData("x", "x", "x", "x", "x", "x", "x", "x", "x", "x", "employee_id,email,name"), ErrNoHeader, []string{"line 1"}},
		{"header after title", KindRoster, csvData("\n", "Roster export", "x", "x", "employee_id,name", "E1,Ann"), ErrMissingColumns, []string{"email"}},
		{"header quote error", KindRoster, csvData(`employee_id,"email`, "E1"), ErrNoHeader, []string{"never closed"}},
		{"missing one", KindRoster, csvData("employee id,name,department", "E1,Ann,Sales"), ErrMissingColumns,
			[]string{"roster.csv: missing required column: email (accepted names:", `"email"`, `"e-mail"`, `"work email"`, `"email address"`, `"mail"`}},
		{"missing two", KindEnrollments, csvData("email,score", "a@x.io,5"), ErrMissingColumns,
			[]string{"employee_id (accepted names: ", `"staff id"`, "; course (accepted names:", " or activity_iri (accepted names:"}},
		{"missing name", KindRoster, csvData("employee_id,email", "E1,a@x.io"), ErrMissingColumns, []string{"name (accepted names:", "or first_name", "or last_name"}},
		{"missing due", KindRequirements, csvData("course,audience", "C1,all"), ErrMissingColumns, []string{"due_within_days"}},
		{"unknown kind", Kind("people"), csvData("a"), ErrUnknownKind, []string{`"people"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := Parse(tt.kind, "roster.csv", tt.data)
			if err == nil {
				t.Fatalf("no error; result %+v", res)
			}
			if res != nil {
				t.Error("result returned with a file error")
			}
			if !errors.Is(err, tt.want) {
				t.Errorf("error %v is not %v", err, tt.want)
			}
			for _, m := range tt.msg {
				if !strings.Contains(err.Error(), m) {
					t.Errorf("error %q does not contain %q", err, m)
				}
			}
		})
	}
}

func TestXLSXFileErrors(t *testing.T) {
	empty := xlsxData(t, sheet{"Sheet1", nil})
	if _, err := Parse(KindRoster, "r.xlsx", empty); !errors.Is(err, ErrEmptyFile) {
		t.Errorf("empty sheet: %v", err)
	}
	missing := xlsxData(t, sheet{"Sheet1", [][]any{nil, {"Employee ID", "Name"}, {"E1", "Ann"}}})
	if _, err := Parse(KindRoster, "r.xlsx", missing); !errors.Is(err, ErrMissingColumns) || !strings.Contains(err.Error(), "r.xlsx: missing required column: email") {
		t.Errorf("missing column: %v", err)
	}
}

func TestMaxRows(t *testing.T) {
	old := maxRows
	maxRows = 3
	defer func() { maxRows = old }()
	ok := csvData("code,title", "C1,A", "", "C2,B", "C3,C", "", "")
	if res, err := Parse(KindCourses, "c.csv", ok); err != nil || res.Rows != 3 {
		t.Fatalf("3 rows: %v", err)
	}
	tooMany := csvData("code,title", "C1,A", "C2,B", "C3,C", "C4,D")
	if _, err := Parse(KindCourses, "c.csv", tooMany); !errors.Is(err, ErrTooManyRows) || !strings.Contains(err.Error(), "more than 3 data rows") {
		t.Errorf("4 rows: %v", err)
	}
	x := xlsxData(t, sheet{"Sheet1", [][]any{{"code", "title"}, {"C1", "A"}, {"C2", "B"}, {"C3", "C"}, {"C4", "D"}}})
	if _, err := Parse(KindCourses, "c.xlsx", x); !errors.Is(err, ErrTooManyRows) {
		t.Errorf("xlsx 4 rows: %v", err)
	}
}

func TestFormatByContent(t *testing.T) {
	x := xlsxData(t, sheet{"Sheet1", [][]any{{"code", "title"}, {"C1", "A"}}})
	// An XLSX named .csv is read as XLSX; CSV text named .xlsx is read as CSV.
	if res := mustParse(t, KindCourses, "upload.csv", x); len(res.Courses) != 1 {
		t.Errorf("xlsx named csv: %+v", res)
	}
	if res := mustParse(t, KindCourses, "upload.xlsx", csvData("code,title", "C1,A")); len(res.Courses) != 1 {
		t.Errorf("csv named xlsx: %+v", res)
	}
}

func TestXLSXSheetSelection(t *testing.T) {
	data := xlsxData(t,
		sheet{"Instructions", [][]any{{"Fill in the Roster sheet"}}},
		sheet{"Roster", [][]any{nil, nil, {"Employee ID", "Email", "Name"}, {"E1", "a@x.io", "Ann"}, nil, {"E2", "b@x.io", nil}}},
	)
	res := mustParse(t, KindRoster, "hr.xlsx", data)
	if len(res.Roster) != 1 || res.Roster[0].Line != 4 || res.Rows != 2 {
		t.Errorf("roster: %+v rows %d", res.Roster, res.Rows)
	}
	checkErrors(t, res, []wantErr{{6, colName, "required but empty"}})
	// A title row above the header is skipped.
	titled := xlsxData(t, sheet{"Sheet1", [][]any{{"Acme roster, exported 2024-05-01"}, nil, {"Employee ID", "Email", "Name"}, {"E1", "a@x.io", "Ann"}}})
	if res := mustParse(t, KindRoster, "t.xlsx", titled); len(res.Roster) != 1 || res.Rows != 1 || res.Roster[0].Line != 4 {
		t.Errorf("titled: %+v", res)
	}
	// Without a sheet named like the kind, the first sheet is read.
	if _, err := Parse(KindCourses, "hr.xlsx", data); !errors.Is(err, ErrNoHeader) {
		t.Errorf("first sheet: %v", err)
	}
}

func TestXLSXCells(t *testing.T) {
	data := xlsxData(t, sheet{"Sheet1", [][]any{
		{"employee_id", "course", "enrolled_at", "completed_at", "score", "passed"},
		{12345, "C1", serial(45292), "05/01/2024", 1, 1},
		{"E2", "C1", "#N/A", nil, "85%", nil},
		{"E3", "C1", serial(20240105), nil, 0.5, "maybe"},
	}})
	res := mustParse(t, KindEnrollments, "e.xlsx", data)
	if len(res.Enrollments) != 0 {
		t.Errorf("valid rows: %+v", res.Enrollments)
	}
	checkErrors(t, res, []wantErr{
		{2, colCompletedAt, "day/month order is ambiguous"},
		{3, colEnrolledAt, "spreadsheet error value"},
		{4, colEnrolledAt, "not a date"},
		{4, colPassed, "not pass or fail"},
	})
	res = mustParse(t, KindEnrollments, "e.xlsx", xlsxData(t, sheet{"Sheet1", [][]any{
		{"employee_id", "course", "enrolled_at", "score", "passed"},
		{12345, "C1", serial(45292), 1, true},
	}}))
	noErrors(t, res)
	want := []EnrollmentRow{{Line: 2, EmployeeID: "12345", Course: "C1", EnrolledAt: d(2024, 1, 1), Score: fp(1), Passed: bp(true)}}
	if !reflect.DeepEqual(res.Enrollments, want) {
		t.Errorf("got %+v", res.Enrollments)
	}
}

func TestHeaderOnlyAndColumns(t *testing.T) {
	res := mustParse(t, KindRoster, "r.csv", csvData("Name,Notes,Employee ID,Email,Department"))
	if res.Rows != 0 || res.Valid() != 0 || len(res.Errors) != 0 {
		t.Errorf("header only: %+v", res)
	}
	if want := []string{colName, colEmployeeID, colEmail, colDepartment}; !reflect.DeepEqual(res.Columns, want) {
		t.Errorf("Columns = %v, want %v", res.Columns, want)
	}
	if !res.HasColumn(colDepartment) || res.HasColumn(colLocation) || res.HasColumn(colStatus) {
		t.Error("HasColumn wrong")
	}
}

func TestXLSXDate1904(t *testing.T) {
	f := excelize.NewFile()
	defer f.Close()
	on := true
	if err := f.SetWorkbookProps(&excelize.WorkbookPropsOptions{Date1904: &on}); err != nil {
		t.Fatal(err)
	}
	for i, row := range [][]any{{"employee_id", "email", "name", "hire_date"}, {"E1", "a@x.io", "Ann", 43834}} {
		cell, _ := excelize.CoordinatesToCellName(1, i+1)
		if err := f.SetSheetRow("Sheet1", cell, &row); err != nil {
			t.Fatal(err)
		}
	}
	var buf bytes.Buffer
	if err := f.Write(&buf); err != nil {
		t.Fatal(err)
	}
	res := mustParse(t, KindRoster, "mac.xlsx", buf.Bytes())
	noErrors(t, res)
	if len(res.Roster) != 1 || res.Roster[0].HireDate != d(2024, 1, 5) {
		t.Errorf("roster: %+v", res.Roster)
	}
}
