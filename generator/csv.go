package generator

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"strconv"
	"strings"
	"time"
)

func writeCSV(rows [][]string) []byte {
	var b bytes.Buffer
	w := csv.NewWriter(&b)
	w.WriteAll(rows) // a bytes.Buffer does not fail
	return b.Bytes()
}

func date(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.Format("2006-01-02")
}

// rosterCSV is the HR export: as it was when the history started (old
// teams, leavers still active) or as it is now (with the effective date of
// each team move).
func (g *gen) rosterCSV(current bool) []byte {
	rows := [][]string{{"Employee ID", "First Name", "Last Name", "Work Email", "Department", "Location", "Job Title",
		"Manager Employee ID", "Dotted Line Manager IDs", "Hire Date", "Employment Status", "Effective Date"}}
	ppl := g.org.people
	for _, p := range ppl {
		manager, dept, effective, status := "", p.dept, "", "Active"
		parent := p.parent
		if p.mover {
			if current {
				effective = date(p.movedAt)
			} else {
				parent, dept = p.oldParent, p.oldDept
			}
		}
		if parent >= 0 {
			manager = ppl[parent].empID
		}
		if current && p.leaver {
			status = "Terminated"
		}
		var dotted []string
		for _, d := range p.dotted {
			dotted = append(dotted, ppl[d].empID)
		}
		rows = append(rows, []string{p.empID, p.first, p.last, p.email, dept, p.loc, p.title,
			manager, strings.Join(dotted, ";"), date(p.hire), status, effective})
	}
	return writeCSV(rows)
}

func (g *gen) coursesCSV() []byte {
	rows := [][]string{{"Course Code", "Activity IRI", "Title", "Category", "Duration (minutes)", "Mandatory"}}
	for _, c := range g.courses {
		req := "No"
		if c.required {
			req = "Yes"
		}
		rows = append(rows, []string{c.code, c.iri, c.spec.title, c.spec.category, strconv.Itoa(c.spec.minutes), req})
	}
	return writeCSV(rows)
}

func (g *gen) requirementsCSV() []byte {
	rows := [][]string{{"Course Code", "Audience", "Due Within Days", "Due From", "Recertify Months", "In Force From"}}
	for _, c := range g.courses {
		if !c.required {
			continue
		}
		aud := "All employees"
		if c.req.department != "" {
			aud = "department=" + c.req.department
		}
		from := "Hire date"
		if c.req.dueFrom == "assignment" {
			from = "Assignment"
		}
		recert := "Never"
		if c.req.recertify > 0 {
			recert = strconv.Itoa(c.req.recertify)
		}
		rows = append(rows, []string{c.code, aud, strconv.Itoa(c.req.dueDays), from, recert, date(g.inForceFrom(c))})
	}
	return writeCSV(rows)
}

// inForceFrom is the day a required course's requirement applies from:
// its first campaign in the history (the compliance team launched it
// then), or the history's start when it has none.
func (g *gen) inForceFrom(c *course) time.Time {
	if ts := g.campaigns[c.idx]; len(ts) > 0 {
		return dayOf(ts[0], g.loc)
	}
	return g.start
}

func (g *gen) enrollmentsCSV() []byte {
	rows := [][]string{{"Employee ID", "Course Code", "Enrolled On", "Started On", "Completed On", "Due Date", "Score", "Passed"}}
	for _, h := range g.history {
		score, passed := "", ""
		if h.score >= 0 {
			score = fmt.Sprintf("%d%%", int(h.score*100+0.5))
		}
		switch h.passed {
		case 0:
			passed = "Fail"
		case 1:
			passed = "Pass"
		}
		rows = append(rows, []string{g.org.people[h.p].empID, g.courses[h.c].code, date(h.enrolled), date(h.started),
			date(h.completed), date(h.due), score, passed})
	}
	return writeCSV(rows)
}
