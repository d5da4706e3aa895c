package imports

import (
	"reflect"
	"testing"
)

// FuzzParse checks that no input makes Parse panic, that every valid row
// and error is consistent, and that parsing is deterministic.
func FuzzParse(f *testing.F) {
	f.Add(0, []byte("employee_id,email,name,manager_employee_id,hire_date\nE1,a@x.io,Ann,E2,2024-01-05\nE2,b@x.io,Bo,E1,31/01/2024\n"))
	f.Add(1, []byte("code;title;duration;required\nC1;\"Intro\n2\";1:30;yes\n"))
	f.Add(2, []byte("employee_id,course,enrolled_at,completed_at,score,passed\nE1,C1,2024-01-05,2024-01-01,85%,y\n"))
	f.Add(3, []byte("course,audience,due_within_days\nC1,\"department=Sales, EMEA, location=London\",30\n"))
	f.Add(0, []byte("sep=;\n\xEF\xBB\xBFemployee_id;email;name\n\"E1\";a@x.io;\"A\"\"B\"\n"))
	f.Add(0, xlsxData(f, sheet{"Roster", [][]any{{"Employee ID", "Email", "Name", "Hire Date"}, {"E1", "a@x.io", "Ann", serial(45296)}}}))
	f.Fuzz(func(t *testing.T, k int, data []byte) {
		kind := Kinds[(k%4+4)%4]
		res, err := Parse(kind, "fuzz.csv", data)
		if err != nil {
			if res != nil {
				t.Fatal("result with error")
			}
			return
		}
		bad := map[int]bool{}
		for i, e := range res.Errors {
			bad[e.Line] = true
			if e.Line < 1 || e.Reason == "" || (i > 0 && e.Line < res.Errors[i-1].Line) {
				t.Fatalf("bad error %d: %+v", i, e)
			}
		}
		for _, line := range validLines(res) {
			if bad[line] {
				t.Fatalf("line %d is both valid and in error", line)
			}
		}
		if res.Valid() > res.Rows {
			t.Fatalf("%d valid rows of %d", res.Valid(), res.Rows)
		}
		again, _ := Parse(kind, "fuzz.csv", data)
		if !reflect.DeepEqual(res, again) {
			t.Fatal("not deterministic")
		}
	})
}
