package imports

import (
	"reflect"
	"testing"
	"time"
)

func TestValidFiles(t *testing.T) {
	hire := time.Date(2021, 3, 15, 0, 0, 0, 0, time.UTC)
	wantRoster := []RosterRow{
		{Line: 2, EmployeeID: "E1", Email: "ceo@acme.test", Name: "Cara Boss", Department: "Exec", Location: "London", JobTitle: "CEO",
			HireDate: d(2019, 1, 7), Status: "active"},
		{Line: 3, EmployeeID: "E2", Email: "ann.lee@acme.test", Name: "Ann Lee", Department: "Sales", Location: "Leeds", JobTitle: "Rep",
			ManagerEmployeeID: "E1", DottedManagerEmployeeIDs: []string{"E3", "E9"}, HireDate: d(2021, 3, 15), Status: "active"},
		{Line: 4, EmployeeID: "E3", Email: "bo@acme.test", Name: "Bo Chan", Department: "Sales", Location: "London", JobTitle: "Head of Sales",
			ManagerEmployeeID: "E1", HireDate: d(2024, 1, 5), Status: "inactive", EffectiveDate: d(2024, 6, 30)},
	}
	wantCourses := []CourseRow{
		{Line: 2, Code: "SEC-101", Title: "Security Basics", Category: "Compliance", DurationMinutes: 90, Required: true},
		{Line: 3, Code: "GDPR", ActivityIRI: "https://lms.acme.test/courses/gdpr", Title: "GDPR in Practice", DurationMinutes: 45},
		{Line: 4, ActivityIRI: "https://lms.acme.test/courses/fire", Title: "Fire Safety", Category: "H&S", DurationMinutes: 30, Required: true},
	}
	wantEnrollments := []EnrollmentRow{
		{Line: 2, EmployeeID: "E2", Course: "SEC-101", EnrolledAt: d(2024, 1, 2), StartedAt: d(2024, 1, 3), CompletedAt: d(2024, 1, 5), DueAt: d(2024, 2, 1),
			Score: fp(0.85), Passed: bp(true)},
		{Line: 3, EmployeeID: "E3", Course: "https://lms.acme.test/courses/fire", EnrolledAt: d(2024, 1, 2)},
		{Line: 4, EmployeeID: "E3", Course: "SEC-101", EnrolledAt: d(2024, 1, 2), CompletedAt: d(2024, 1, 9), Score: fp(0.4), Passed: bp(false)},
	}
	wantRequirements := []RequirementRow{
		{Line: 2, Course: "SEC-101", Audience: Audience{All: true}, DueWithinDays: 30, DueFrom: "hire", RecertifyMonths: 12},
		{Line: 3, Course: "SEC-101", Audience: Audience{Department: "Sales", Location: "London"}, DueWithinDays: 14, DueFrom: "assignment"},
		{Line: 4, Course: "https://lms.acme.test/courses/fire", Audience: Audience{JobTitle: "Warden"}, DueWithinDays: 7, DueFrom: "assignment", RecertifyMonths: 24},
	}

	tests := []struct {
		name string
		kind Kind
		file string
		data func(t *testing.T) []byte
		want any
	}{
		{"roster csv", KindRoster, "roster.csv", func(*testing.T) []byte {
			return csvData(
				"employee_id,email,name,department,location,job_title,manager_employee_id,dotted_manager_employee_ids,hire_date,status,effective_date",
				"E1,CEO@acme.test,Cara Boss,Exec,London,CEO,,,2019-01-07,Active,",
				`E2, Ann.Lee@Acme.test ,"Ann  Lee",Sales,Leeds,Rep,E1,"E3; E9, E3",2021/03/15,,`,
				"E3,bo@acme.test,Bo Chan,Sales,London,Head of Sales,E1,,45296,terminated,2024-06-30T09:00:00Z",
			)
		}, wantRoster},
		{"roster xlsx", KindRoster, "roster.xlsx", func(t *testing.T) []byte {
			return xlsxData(t, sheet{"Sheet1", [][]any{
				{"Employee ID", "Work Email", "First Name", "Last Name", "Dept", "Site", "Job Title", "Manager ID", "Matrix Manager", "Hire Date", "Employment Status", "Effective Date"},
				{"E1", "CEO@acme.test", "Cara", "Boss", "Exec", "London", "CEO", nil, nil, "2019-01-07", "Active"},
				{"E2", "ann.lee@acme.test", "Ann", "Lee", "Sales", "Leeds", "Rep", "E1", "E3;E9", hire},
				{"E3", "bo@acme.test", "Bo", "Chan", "Sales", "London", "Head of Sales", "E1", nil, serial(45296), "Leaver", time.Date(2024, 6, 30, 0, 0, 0, 0, time.UTC)},
			}})
		}, wantRoster},
		{"courses csv", KindCourses, "courses.csv", func(*testing.T) []byte {
			return csvData(
				"code,activity_iri,title,category,duration_minutes,required",
				"SEC-101,,Security Basics,Compliance,1h30m,yes",
				"GDPR,https://lms.acme.test/courses/gdpr,GDPR in Practice,,PT45M,",
				",https://lms.acme.test/courses/fire,Fire Safety,H&S,0:30,Required",
			)
		}, wantCourses},
		{"courses xlsx", KindCourses, "courses.xlsx", func(t *testing.T) []byte {
			return xlsxData(t, sheet{"Catalogue", [][]any{
				{"Course Code", "Activity ID", "Course Title", "Category", "Duration (minutes)", "Mandatory"},
				{"SEC-101", nil, "Security Basics", "Compliance", timeOfDay(1.5 / 24), true},
				{"GDPR", "https://lms.acme.test/courses/gdpr", "GDPR in Practice", nil, "45"},
				{nil, "https://lms.acme.test/courses/fire", "Fire Safety", "H&S", 30, "y"},
			}})
		}, wantCourses},
		{"enrollments csv", KindEnrollments, "completions.csv", func(*testing.T) []byte {
			return csvData(
				"employee_id,course,enrolled_at,started_at,completed_at,due_at,score,passed",
				"E2,SEC-101,2024-01-02,2024-01-03,2024-01-05T16:20:00Z,2024-02-01,85%,yes",
				"E3,https://lms.acme.test/courses/fire,2024-01-02,,,,,",
				"E3,SEC-101,2024-01-02,,2024-01-09,,0.4,fail",
			)
		}, wantEnrollments},
		{"enrollments xlsx", KindEnrollments, "completions.xlsx", func(t *testing.T) []byte {
			return xlsxData(t, sheet{"Enrolments", [][]any{
				{"Employee Number", "Course Code", "Activity IRI", "Enrollment Date", "Started On", "Completion Date", "Due Date", "Score", "Pass/Fail"},
				{"E2", "SEC-101", nil, time.Date(2024, 1, 2, 0, 0, 0, 0, time.UTC), serial(45294), time.Date(2024, 1, 5, 16, 20, 0, 0, time.UTC), "2024-02-01", 85, true},
				{"E3", nil, "https://lms.acme.test/courses/fire", serial(45293)},
				{"E3", "SEC-101", nil, "2024-01-02", nil, "2024-01-09", nil, 0.4, "Failed"},
			}})
		}, wantEnrollments},
		{"requirements csv", KindRequirements, "compliance.csv", func(*testing.T) []byte {
			return csvData(
				"course,audience,due_within_days,due_from,recertify_months",
				"SEC-101,all,30,hire,12",
				`SEC-101,"department=Sales; location=London",14,,`,
				"https://lms.acme.test/courses/fire,job_title=Warden,7,assignment,2 years",
			)
		}, wantRequirements},
		{"requirements xlsx", KindRequirements, "compliance.xlsx", func(t *testing.T) []byte {
			return xlsxData(t, sheet{"Sheet1", [][]any{
				{"Course ID", "Department", "Location", "Role", "Due Within (days)", "Due From", "Recertify Every (months)"},
				{"SEC-101", nil, nil, nil, 30, "Hire date", 12},
				{"SEC-101", "Sales", "London", nil, 14},
				{"https://lms.acme.test/courses/fire", nil, nil, "Warden", "7", "assignment", 24},
			}})
		}, wantRequirements},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data := tt.data(t)
			res := mustParse(t, tt.kind, tt.file, data)
			noErrors(t, res)
			var got any
			switch tt.kind {
			case KindRoster:
				got = res.Roster
			case KindCourses:
				got = res.Courses
			case KindEnrollments:
				got = res.Enrollments
			case KindRequirements:
				got = res.Requirements
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("rows:\n got %+v\nwant %+v", got, tt.want)
			}
			if res.Rows != 3 || res.Valid() != 3 || res.Kind != tt.kind || res.File != tt.file {
				t.Errorf("Rows=%d Valid=%d Kind=%s File=%s", res.Rows, res.Valid(), res.Kind, res.File)
			}
			// Re-importing the same file gives an identical result.
			again := mustParse(t, tt.kind, tt.file, data)
			if !reflect.DeepEqual(res, again) {
				t.Error("second parse differs from the first")
			}
		})
	}
}
