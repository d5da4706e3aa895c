package imports

import (
	"reflect"
	"strings"
	"testing"
)

func TestRowRules(t *testing.T) {
	long := strings.Repeat("x", 1001)
	tests := []struct {
		name  string
		kind  Kind
		lines []string
		valid int
		want  []wantErr
	}{
		{"roster required", KindRoster, []string{
			"employee_id,email,name",
			",a@x.io,Ann",
			"E2,,Bo",
			"E3,c@x.io,",
			"E4,d@x.io,Di",
		}, 1, []wantErr{{2, colEmployeeID, "required but empty"}, {3, colEmail, "required but empty"}, {4, colName, "required but empty"}}},
		{"roster first and last name", KindRoster, []string{
			"employee_id,email,first_name,last_name",
			"E1,a@x.io,Ann,",
			"E2,b@x.io,,",
		}, 1, []wantErr{{3, colFirstName, "required but empty"}}},
		{"roster email shape", KindRoster, []string{
			"employee_id,email,name",
			"E1,ann,Ann",
			"E2,b@x,Bo",
			"E3,c@x.io d,Cy",
			"E4,D@X.IO,Di",
		}, 1, []wantErr{{2, colEmail, "not an email address"}, {3, colEmail, "not an email address"}, {4, colEmail, "not an email address"}}},
		{"roster employee id", KindRoster, []string{
			"employee_id,email,name",
			strings.Repeat("9", 65) + ",a@x.io,Ann",
			"\"E\n2\",b@x.io,Bo",
			"E3,c@x.io,Cy",
		}, 1, []wantErr{{2, colEmployeeID, "longer than 64 characters"}, {3, colEmployeeID, "control character"}}},
		{"roster own manager", KindRoster, []string{
			"employee_id,email,name,manager_employee_id,dotted_manager_employee_ids",
			"E1,a@x.io,Ann,E1,",
			"E2,b@x.io,Bo,E1,E2;E1",
			"E3,c@x.io,Cy,E404,E1",
		}, 1, []wantErr{{2, colManager, "cannot be their own manager"}, {3, colDotted, "own dotted-line manager"}}},
		{"roster status and dates", KindRoster, []string{
			"employee_id,email,name,hire_date,status,effective_date",
			"E1,a@x.io,Ann,31/02/2024,active,",
			"E2,b@x.io,Bo,2024-02-30,retired,2024-13-01",
			"E3,c@x.io,Cy,,disabled,",
		}, 1, []wantErr{
			{2, colHireDate, "not a date: use YYYY-MM-DD; day/month order is ambiguous"},
			{3, colHireDate, "not a real date: February 2024 has 29 days"},
			{3, colStatus, "unknown status"},
			{3, colEffectiveDate, "month must be 01 to 12"},
		}},
		{"roster duplicates", KindRoster, []string{
			"employee_id,email,name",
			"E1,a@x.io,Ann",
			"E2,b@x.io,Bo",
			"E1,c@x.io,Cy",
			"E4,A@X.IO,Di",
			"E1,a@x.io,Ed",
		}, 2, []wantErr{
			{4, colEmployeeID, "duplicate employee_id: already on line 2"},
			{5, colEmail, "duplicate email: already on line 2"},
			{6, colEmployeeID, "duplicate employee_id: already on line 2"},
			{6, colEmail, "duplicate email: already on line 2"},
		}},
		{"roster duplicate of an invalid row", KindRoster, []string{
			"employee_id,email,name,hire_date",
			"E1,a@x.io,Ann,soon",
			"E1,b@x.io,Bo,",
		}, 0, []wantErr{{2, colHireDate, "not a date"}, {3, colEmployeeID, "duplicate employee_id: already on line 2"}}},
		{"courses rules", KindCourses, []string{
			"code,activity_iri,title,duration_minutes,required",
			",,No Code,,",
			"C2,lms/courses/c2,Bad IRI,,",
			"C3,,,,",
			"C4,,Bad Duration,ninety,",
			"C5,,Bad Required,,maybe",
			"C6,https://x.io/c6,Good,90,yes",
			"C6,,Dup Code,,",
			"C8,https://x.io/c6,Dup IRI,,",
		}, 1, []wantErr{
			{2, colCode, "give a course code or an activity IRI"},
			{3, colActivityIRI, "not an absolute IRI"},
			{4, colTitle, "required but empty"},
			{5, colDuration, "not a duration"},
			{6, colRequired, "not yes or no"},
			{8, colCode, "duplicate course code: already on line 7"},
			{9, colActivityIRI, "duplicate activity IRI: already on line 7"},
		}},
		{"courses iri only column", KindCourses, []string{
			"activity_iri,title",
			",Nothing",
		}, 0, []wantErr{{2, colActivityIRI, "give a course code or an activity IRI"}}},
		{"enrollment required", KindEnrollments, []string{
			"employee_id,course",
			",C1",
			"E1,",
			"E1,C1",
		}, 1, []wantErr{{2, colEmployeeID, "required but empty"}, {3, colCourse, "required but empty"}}},
		{"enrollment dates", KindEnrollments, []string{
			"employee_id,course,enrolled_at,started_at,completed_at,due_at",
			"E1,C1,2024-03-01,2024-02-01,,",
			"E2,C1,2024-03-01,,2024-02-28,",
			"E3,C1,2024-03-01,,,2024-02-28",
			"E4,C1,2024-03-01,2024-03-05,2024-03-04,",
			"E5,C1,,2024-03-05,2024-03-04,",
			"E6,C1,2024-03-01,2024-03-01,2024-03-01,2024-03-01",
			"E7,C1,,,2024-03-01,2020-01-01",
		}, 2, []wantErr{
			{2, colStartedAt, "started_at is before enrolled_at (2024-03-01)"},
			{3, colCompletedAt, "completed_at is before enrolled_at (2024-03-01)"},
			{4, colDueAt, "due_at is before enrolled_at (2024-03-01)"},
			{5, colCompletedAt, "completed_at is before started_at (2024-03-05)"},
			{6, colCompletedAt, "completed_at is before started_at"},
		}},
		{"enrollment score and passed", KindEnrollments, []string{
			"employee_id,course,score,passed",
			"E1,C1,101,",
			"E2,C1,-5,",
			"E3,C1,high,",
			"E4,C1,50,perhaps",
			"E5,C1,50%,no",
		}, 1, []wantErr{
			{2, colScore, "out of range"},
			{3, colScore, "out of range"},
			{4, colScore, "not a score"},
			{5, colPassed, "not pass or fail"},
		}},
		{"enrollment course refs", KindEnrollments, []string{
			"employee_id,course,activity_iri",
			"E1,https://,",
			"E2,,not-an-iri",
			"E3,C1,https://x.io/c1",
			"E4,,https://x.io/c1",
			"E5,urn:course:c9,",
		}, 3, []wantErr{{2, colCourse, "not an absolute IRI"}, {3, colActivityIRI, "not an absolute IRI"}}},
		{"enrollment duplicates", KindEnrollments, []string{
			"employee_id,course,completed_at",
			"E1,C1,2024-01-01",
			"E1,C2,2024-01-01",
			"E2,C1,2024-01-01",
			"E1,C1,2024-06-01",
		}, 3, []wantErr{{5, "", "duplicate enrollment of employee E1 in course C1: already on line 2"}}},
		{"requirement rules", KindRequirements, []string{
			"course,audience,due_within_days,due_from,recertify_months",
			",all,30,,",
			"C1,all,,,",
			"C2,all,0,,",
			"C3,all,-3,,",
			"C4,grade=5,30,,",
			"C5,all,30,tomorrow,",
			"C6,all,30,,often",
			"C7,all,30 days,hire,never",
			"C8,all,99999,,",
			"C9,all,10,,999",
		}, 1, []wantErr{
			{2, colCourse, "required but empty"},
			{3, colDueWithinDays, "required but empty"},
			{4, colDueWithinDays, "must be more than 0"},
			{5, colDueWithinDays, "not a whole number of days"},
			{6, colAudience, `unknown audience key "grade"`},
			{7, colDueFrom, "use hire or assignment"},
			{8, colRecertifyMonth, "not a whole number of months"},
			{10, colDueWithinDays, "more than 3650"},
			{11, colRecertifyMonth, "more than 240"},
		}},
		{"requirement duplicates", KindRequirements, []string{
			"course,audience,department,due_within_days",
			"C1,all,,30",
			"C1,department=Sales,,30",
			"C1,,Sales,14",
			"C1,everyone,,7",
			"C1,DEPARTMENT = sales,,7",
			"C2,all,,30",
		}, 3, []wantErr{
			{4, "", "duplicate requirement for course C1 and audience department=Sales: already on line 3"},
			{5, "", "duplicate requirement for course C1 and audience all: already on line 2"},
			{6, "", "already on line 3"},
		}},
		{"requirement audience columns", KindRequirements, []string{
			"course,audience,department,location,due_within_days",
			"C1,department=Sales,Sales,London,30",
			"C2,department=Sales,HR,,30",
			"C3,all,HR,,30",
		}, 1, []wantErr{
			{3, colDepartment, "disagrees with the audience column (department=Sales)"},
			{4, colDepartment, `the audience is "all" but department is also set`},
		}},
		{"wrong number of cells", KindCourses, []string{
			"code,title,category",
			"C1,Intro",
			"C2,Intro,Misc,extra",
			"C3,Intro,Misc,,",
			"C4,Intro,Misc",
		}, 2, []wantErr{{2, "", "row has 2 cells but the header has 3"}, {3, "", "row has 4 cells but the header has 3"}}},
		{"cell limits", KindCourses, []string{
			"code,title,category,notes",
			"C1," + long + ",,",
			"C2,Ok,#REF!,",
			"C3,Bell\a,,",
			"C4,Ok,," + long,
		}, 1, []wantErr{
			{2, colTitle, "longer than 1000 characters"},
			{3, colCategory, "spreadsheet error value"},
			{4, colTitle, "control characters"},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := mustParse(t, tt.kind, "f.csv", csvData(tt.lines...))
			checkErrors(t, res, tt.want)
			if res.Valid() != tt.valid {
				t.Errorf("valid rows = %d, want %d", res.Valid(), tt.valid)
			}
			if res.Rows != len(tt.lines)-1 {
				t.Errorf("Rows = %d, want %d", res.Rows, len(tt.lines)-1)
			}
			// No line with an error is among the valid rows.
			bad := map[int]bool{}
			for _, e := range res.Errors {
				bad[e.Line] = true
				if e.File != "f.csv" {
					t.Errorf("error without the file name: %+v", e)
				}
				if len([]rune(e.Value)) > maxValueLen {
					t.Errorf("value not truncated: %d runes", len([]rune(e.Value)))
				}
			}
			for _, line := range validLines(res) {
				if bad[line] {
					t.Errorf("line %d has an error but is valid", line)
				}
			}
		})
	}
}

func validLines(res *Result) []int {
	var lines []int
	for _, r := range res.Roster {
		lines = append(lines, r.Line)
	}
	for _, r := range res.Courses {
		lines = append(lines, r.Line)
	}
	for _, r := range res.Enrollments {
		lines = append(lines, r.Line)
	}
	for _, r := range res.Requirements {
		lines = append(lines, r.Line)
	}
	return lines
}

func TestRepeatedHeaderColumn(t *testing.T) {
	res := mustParse(t, KindRoster, "r.csv", csvData(
		"employee_id,email,name,Email",
		"E1,a@x.io,Ann,a@x.io",
		"E2,b@x.io,Bo,",
		"E3,c@x.io,Cy,other@x.io",
	))
	checkErrors(t, res, []wantErr{
		{1, colEmail, `repeated column: "email" (column B) and "Email" (column D) are both email`},
		{4, colEmail, "column D repeats email but disagrees with column B"},
	})
	if len(res.Roster) != 2 {
		t.Errorf("roster: %+v", res.Roster)
	}
}

func TestManagerCycle(t *testing.T) {
	res := mustParse(t, KindRoster, "r.csv", csvData(
		"employee_id,email,name,manager_employee_id",
		"CEO,ceo@x.io,Top,",
		"A,a@x.io,Ann,B",
		"B,b@x.io,Bo,A",
		"C,c@x.io,Cy,A", // reports into the loop but is not part of it
		"D,d@x.io,Di,E",
		"E,e@x.io,Ed,F",
		"F,f@x.io,Flo,D",
		"G,g@x.io,Gus,CEO",
		"H,h@x.io,Hal,NOT-IN-FILE",
	))
	checkErrors(t, res, []wantErr{
		{3, colManager, "manager chain loops back to this employee: A → B → A"},
		{4, colManager, "manager chain loops back to this employee: B → A → B"},
		{6, colManager, "D → E → F → D"},
		{7, colManager, "E → F → D → E"},
		{8, colManager, "F → D → E → F"},
	})
	var ids []string
	for _, r := range res.Roster {
		ids = append(ids, r.EmployeeID)
	}
	if !reflect.DeepEqual(ids, []string{"CEO", "C", "G", "H"}) {
		t.Errorf("valid: %v", ids)
	}
	if got := describeChain([]string{"1", "2", "3", "4", "5", "6", "7", "8", "9", "10", "1"}); got != "1 → 2 → 3 → 4 → 5 → 6 → … (4 more) → 1" {
		t.Errorf("describeChain = %q", got)
	}
}

func TestDeterministic(t *testing.T) {
	var lines []string
	lines = append(lines, "employee_id,email,name,manager_employee_id,hire_date")
	for i := 0; i < 300; i++ {
		mgr := ""
		if i > 0 {
			mgr = "E" + itoa((i*7)%300)
		}
		date := "2024-01-05"
		if i%13 == 0 {
			date = "13/01/2024"
		}
		lines = append(lines, "E"+itoa(i)+",u"+itoa(i%250)+"@x.io,Name "+itoa(i)+","+mgr+","+date)
	}
	data := csvData(lines...)
	first := mustParse(t, KindRoster, "r.csv", data)
	if len(first.Errors) == 0 {
		t.Fatal("expected errors")
	}
	for i := 0; i < 5; i++ {
		if again := mustParse(t, KindRoster, "r.csv", data); !reflect.DeepEqual(first, again) {
			t.Fatal("results differ between runs")
		}
	}
	for i := 1; i < len(first.Errors); i++ {
		if first.Errors[i].Line < first.Errors[i-1].Line {
			t.Fatalf("errors out of line order at %d", i)
		}
	}
}

func itoa(i int) string {
	if i == 0 {
		return "0"
	}
	s := ""
	for ; i > 0; i /= 10 {
		s = string(rune('0'+i%10)) + s
	}
	return s
}
