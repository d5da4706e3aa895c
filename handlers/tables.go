package handlers

import (
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/learnlens/learnlens/analytics"
	"github.com/learnlens/learnlens/views/format"
	"github.com/learnlens/learnlens/views/pages/dash"
)

// tableLayout is how a table of the analytics package is presented: its
// title, column labels and drill-down links. Links are paths with {key}
// placeholders filled from the row's columns.
type tableLayout struct {
	title  string
	labels map[string]string // column key → label, over columnLabels
	links  map[string]string // column key → link pattern
}

// columnLabels are the labels columns have unless a table says otherwise.
var columnLabels = map[string]string{
	"course": "Course", "category": "Category", "learner": "Learner", "email": "Email", "department": "Department",
	"location": "Location", "status": "Status", "requirement": "Requirement", "team": "Team of",
	"enrolled": "Enrolled", "not_started": "Not started", "in_progress": "In progress", "completed": "Completed",
	"overdue": "Overdue", "completion_rate": "Completion rate", "completed_in_period": "Completed in period",
	"median_days": "Median days", "enrolled_at": "Enrolled", "completed_at": "Completed", "due_on": "Due",
	"best_score": "Best score", "attempts": "Attempts", "passed": "Passed", "failed": "Failed", "pass_rate": "Pass rate",
	"scored": "Scored attempts", "median_score": "Median score band", "at": "When", "score": "Score", "result": "Result",
	"question": "Question", "answers": "Answers", "correct": "Correct", "correct_rate": "Correct rate",
	"top_response": "Most common answer", "assigned": "Assigned", "compliant": "Compliant", "due_soon": "Due soon",
	"expired": "Expired", "not_due": "Not yet due", "compliance_rate": "Compliance rate", "assigned_on": "Assigned",
	"expires_on": "Expires", "statements": "Statements", "minutes": "Learning minutes", "active_days": "Active days",
	"last_active": "Last active",
}

const learnerLink = "/learners/{learner_id}"

// assignmentLayout is the compliance tables of people's assignments.
func assignmentLayout(title string) tableLayout {
	return tableLayout{title: title, labels: map[string]string{"learner": "Person"}, links: map[string]string{"learner": learnerLink}}
}

var tableLayouts = map[string]tableLayout{
	"completion/courses":  {title: "Courses", links: map[string]string{"course": "/dashboards/completion/courses/{course_id}"}},
	"completion/teams":    {title: "Teams", links: map[string]string{"team": "/dashboards/completion/courses/{course_id}/teams/{manager_id}"}},
	"completion/learners": {title: "Learners", links: map[string]string{"learner": learnerLink}},
	"completion/enrolments": {title: "All enrolments", links: map[string]string{"learner": learnerLink,
		"course": "/dashboards/completion/courses/{course_id}"}},
	"engagement/courses":  {title: "Course activity", links: map[string]string{"course": "/dashboards/completion/courses/{course_id}"}},
	"engagement/inactive": {title: "Inactive learners", links: map[string]string{"learner": learnerLink}},
	"compliance/requirements": {title: "Requirements",
		links: map[string]string{"requirement": "/dashboards/compliance/requirements/{requirement_id}"}},
	"compliance/teams": {title: "Teams",
		links: map[string]string{"team": "/dashboards/compliance/requirements/{requirement_id}/teams/{manager_id}"}},
	"compliance/people":      assignmentLayout("People"),
	"compliance/at-risk":     assignmentLayout("People at risk"),
	"compliance/assignments": assignmentLayout("All assignments (audit)"),
	"assessments/courses": {title: "Assessed courses",
		links: map[string]string{"course": "/dashboards/assessments/courses/{course_id}"}},
	"assessments/attempts":  {title: "Attempts", links: map[string]string{"learner": learnerLink}},
	"assessments/questions": {title: "Question results"},
	"learner/enrollments":   {title: "Courses"},
	"learner/attempts":      {title: "Assessment attempts"},
	"learner/certificates":  {title: "Required training and certificates"},
}

// tableTitle is table id's title.
func tableTitle(id string) string { return tableLayouts[id].title }

// columnLabel is the label of column key in table id.
func columnLabel(id, key string) string {
	if l, ok := tableLayouts[id].labels[key]; ok {
		return l
	}
	if l, ok := columnLabels[key]; ok {
		return l
	}
	return key
}

// link fills table id's link pattern of column key from a row.
func link(id, key string, cols []analytics.Column, row []any) string {
	l := tableLayouts[id].links[key]
	if l == "" {
		return ""
	}
	for i, c := range cols {
		if p := "{" + c.Key + "}"; strings.Contains(l, p) {
			l = strings.ReplaceAll(l, p, analytics.Format(c, row[i], nil))
		}
	}
	return l
}

// cellText writes a value of column c for people: the one formatter's
// numbers, dates as YYYY-MM-DD and times in the tenant's zone.
func cellText(c analytics.Column, v any, loc *time.Location) string {
	if v == nil {
		if c.Numeric() {
			return format.Missing
		}
		return ""
	}
	switch c.Kind {
	case analytics.Int:
		switch x := v.(type) {
		case int64:
			return format.Int(x)
		case int32:
			return format.Int(int64(x))
		}
	case analytics.Percent:
		if x, ok := v.(float64); ok {
			return format.Percent(x)
		}
	case analytics.Number:
		if x, ok := v.(float64); ok {
			return format.Number(x)
		}
	}
	return analytics.Format(c, v, loc)
}

// tableView presents a table page: url is the fragment's address and
// query the filters and drill ids its links keep; linkQuery is appended
// to drill-down links.
func tableView(t analytics.Table, loc *time.Location, query url.Values, linkQuery, empty string) dash.Table {
	v := dash.Table{ID: t.ID, Title: tableTitle(t.ID), Page: t.Page, Pages: t.Pages(), Sort: t.Sort, Desc: t.Desc,
		Search: t.Search, URL: "/tables/" + t.ID, Query: query, Empty: empty, Range: "No rows"}
	if t.Total > 0 {
		from := (t.Page-1)*analytics.PageSize + 1
		v.Range = format.Int(int64(from)) + "–" + format.Int(int64(min(t.Total, from+len(t.Rows)-1))) + " of " + format.Int(int64(t.Total))
	}
	shown := visibleColumns(t.Columns)
	for _, i := range shown {
		c := t.Columns[i]
		v.Columns = append(v.Columns, dash.Column{Key: c.Key, Label: columnLabel(t.ID, c.Key), Numeric: c.Numeric()})
	}
	for _, row := range t.Rows {
		cells := make([]dash.Cell, len(shown))
		for j, i := range shown {
			cells[j] = dash.Cell{Text: cellText(t.Columns[i], row[i], loc)}
			if l := link(t.ID, t.Columns[i].Key, t.Columns, row); l != "" {
				cells[j].Link = l + linkQuery
			}
		}
		v.Rows = append(v.Rows, cells)
	}
	return v
}

// drillQuery is the drill-down ids a table's links and fragments carry.
func drillQuery(p analytics.Params) url.Values {
	v := url.Values{}
	for name, id := range map[string]int64{"course_id": p.Course, "team_id": p.Team, "requirement_id": p.Requirement, "learner_id": p.Learner} {
		if id != 0 {
			v.Set(name, strconv.FormatInt(id, 10))
		}
	}
	return v
}

// pageTable presents a table of a page: it starts at its first page and
// default sort, keeping the page's filters and the drill ids.
func pageTable(t analytics.Table, r analytics.Request, p analytics.Params, empty string) dash.Table {
	f := r.Filters.WithoutTable()
	query := f.Values()
	for k, vs := range drillQuery(p) {
		query[k] = vs
	}
	return tableView(t, r.Loc, query, f.Query(), empty)
}
