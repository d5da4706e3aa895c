package imports

import (
	"strconv"
	"strings"
	"testing"
)

func BenchmarkRosterCSV(b *testing.B) {
	var sb strings.Builder
	sb.WriteString("employee_id,email,name,department,location,job_title,manager_employee_id,hire_date,status\n")
	const n = 100_000
	for i := 0; i < n; i++ {
		mgr := ""
		if i > 0 {
			mgr = "E" + strconv.Itoa(i/10)
		}
		sb.WriteString("E" + strconv.Itoa(i) + ",user" + strconv.Itoa(i) + "@acme.test,Person " + strconv.Itoa(i) + ",Sales,London,Rep," + mgr + ",2024-01-05,active\n")
	}
	data := []byte(sb.String())
	b.SetBytes(int64(len(data)))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		res, err := Parse(KindRoster, "r.csv", data)
		if err != nil || len(res.Roster) != n {
			b.Fatal(err, len(res.Errors))
		}
	}
}
