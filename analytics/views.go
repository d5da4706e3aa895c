package analytics

import "time"

// Meta is what every computed view carries: the gold version and the
// "data as of" it shows, and the tenant-local date it was computed for.
type Meta struct {
	Version int64     `json:"version"`
	AsOf    time.Time `json:"as_of"` // zero: no learning data yet
	Date    time.Time `json:"date"`
}

// Meta is the view's version, "data as of" and date.
func (q *Q) Meta() Meta { return Meta{Version: q.Version, AsOf: q.AsOf, Date: q.Today} }

// pageTable is the first page of table id for the page's filters: a page
// starts every table at its own default sort and first page.
func (q *Q) pageTable(id string, p Params) (Table, error) {
	f := q.F
	q.F = f.WithoutTable()
	defer func() { q.F = f }()
	return q.TablePage(id, p)
}

// CompletionView is the completion dashboard.
type CompletionView struct {
	KPIs    CompletionKPIs `json:"kpis"`
	Trend   Trend          `json:"trend"`
	Courses Table          `json:"courses"`
	// Status is the courses of the table's first page by status, for the
	// stacked bars.
	Status []CourseStatus `json:"status"`
}

// CourseStatus is one course's enrolments by status; overdue ones are
// counted as overdue only.
type CourseStatus struct {
	Course     string `json:"course"`
	Completed  int64  `json:"completed"`
	InProgress int64  `json:"in_progress"`
	NotStarted int64  `json:"not_started"`
	Overdue    int64  `json:"overdue"`
}

// CompletionView computes the completion dashboard.
func (q *Q) CompletionView() (v CompletionView, err error) {
	if v.KPIs, err = q.CompletionKPIs(); err != nil {
		return v, err
	}
	if v.Trend, err = q.CompletionTrend(); err != nil {
		return v, err
	}
	if v.Courses, err = q.pageTable("completion/courses", Params{}); err != nil {
		return v, err
	}
	for _, r := range v.Courses.Records() {
		overdue, notStarted, inProgress := r.Int("overdue"), r.Int("not_started"), r.Int("in_progress")
		v.Status = append(v.Status, CourseStatus{Course: r.Text("course"), Completed: r.Int("completed"), Overdue: overdue,
			NotStarted: max(0, notStarted-overdue), // overdue ones are shown as overdue
			InProgress: max(0, inProgress-max(0, overdue-notStarted))})
	}
	return v, nil
}

// EngagementView is the engagement dashboard.
type EngagementView struct {
	KPIs     EngagementKPIs `json:"kpis"`
	Trend    ActivityTrend  `json:"trend"`
	Heatmap  Heatmap        `json:"heatmap"`
	Courses  Table          `json:"courses"`
	Inactive Table          `json:"inactive"`
}

// EngagementView computes the engagement dashboard.
func (q *Q) EngagementView() (v EngagementView, err error) {
	if v.KPIs, err = q.EngagementKPIs(); err != nil {
		return v, err
	}
	if v.Trend, err = q.EngagementTrend(); err != nil {
		return v, err
	}
	if v.Heatmap, err = q.EngagementHeatmap(); err != nil {
		return v, err
	}
	if v.Courses, err = q.pageTable("engagement/courses", Params{}); err != nil {
		return v, err
	}
	v.Inactive, err = q.pageTable("engagement/inactive", Params{})
	return v, err
}

// ComplianceView is the compliance dashboard.
type ComplianceView struct {
	KPIs         ComplianceKPIs      `json:"kpis"`
	Requirements Table               `json:"requirements"`
	AtRisk       Table               `json:"at_risk"`
	Status       []RequirementStatus `json:"status"`
}

// RequirementStatus is one requirement's assignments by status today.
type RequirementStatus struct {
	Requirement string `json:"requirement"`
	Compliant   int64  `json:"compliant"`
	NotDue      int64  `json:"not_due"`
	DueSoon     int64  `json:"due_soon"`
	Overdue     int64  `json:"overdue"`
	Expired     int64  `json:"expired"`
}

// ComplianceView computes the compliance dashboard.
func (q *Q) ComplianceView() (v ComplianceView, err error) {
	if v.KPIs, err = q.ComplianceKPIs(); err != nil {
		return v, err
	}
	if v.Requirements, err = q.pageTable("compliance/requirements", Params{}); err != nil {
		return v, err
	}
	if v.AtRisk, err = q.pageTable("compliance/at-risk", Params{}); err != nil {
		return v, err
	}
	for _, r := range v.Requirements.Records() {
		v.Status = append(v.Status, RequirementStatus{Requirement: r.Text("requirement"), Compliant: r.Int("compliant"),
			NotDue: r.Int("not_due"), DueSoon: r.Int("due_soon"), Overdue: r.Int("overdue"), Expired: r.Int("expired")})
	}
	return v, nil
}

// AssessmentsView is the assessments dashboard.
type AssessmentsView struct {
	KPIs    AssessmentKPIs `json:"kpis"`
	Scores  ScoreBins      `json:"scores"`
	Courses Table          `json:"courses"`
}

// AssessmentsView computes the assessments dashboard.
func (q *Q) AssessmentsView() (v AssessmentsView, err error) {
	if v.KPIs, err = q.AssessmentKPIs(); err != nil {
		return v, err
	}
	if v.Scores, err = q.AssessmentScores(); err != nil {
		return v, err
	}
	v.Courses, err = q.pageTable("assessments/courses", Params{})
	return v, err
}

// AssessmentCourseView is one assessed course: its tiles, scores,
// attempts to pass, attempts and question results.
type AssessmentCourseView struct {
	Title          string         `json:"title"`
	KPIs           AssessmentKPIs `json:"kpis"`
	Scores         ScoreBins      `json:"scores"`
	AttemptsToPass AttemptsToPass `json:"attempts_to_pass"`
	Attempts       Table          `json:"attempts"`
	Questions      Table          `json:"questions"`
}

// AssessmentCourseView computes a course's assessment page; the course
// and category filters give way to the course.
func (q *Q) AssessmentCourseView(course int64) (v AssessmentCourseView, err error) {
	if v.Title, err = q.CourseTitle(course); err != nil {
		return v, err
	}
	f := q.F
	defer func() { q.F = f }()
	q.F.Course, q.F.Category = course, ""
	if v.KPIs, err = q.AssessmentKPIs(); err != nil {
		return v, err
	}
	if v.Scores, err = q.AssessmentScores(); err != nil {
		return v, err
	}
	if v.AttemptsToPass, err = q.CourseAttemptsToPass(course); err != nil {
		return v, err
	}
	q.F.Course = 0
	if v.Attempts, err = q.pageTable("assessments/attempts", Params{Course: course}); err != nil {
		return v, err
	}
	v.Questions, err = q.pageTable("assessments/questions", Params{Course: course})
	return v, err
}

// DrillView is one level of a drill-down: the object's title (a course,
// a requirement), the team's manager at the people level, and the table.
type DrillView struct {
	Title   string       `json:"title"`
	Manager string       `json:"manager,omitempty"`
	Table   Table        `json:"table"`
	Summary TableSummary `json:"summary"` // every row of Table, for tiles and a chart
}

// DrillView computes the drill level showing table for p; titleOf names
// the object (CourseTitle, RequirementTitle). With a team, the team's
// manager is named too.
func (q *Q) DrillView(table string, p Params, object int64, titleOf func(int64) (string, error), team bool) (v DrillView, err error) {
	if v.Title, err = titleOf(object); err != nil {
		return v, err
	}
	if v.Table, v.Summary, err = q.pageWithSummary(table, p); err != nil {
		return v, err
	}
	if team {
		v.Manager, err = q.PersonName(p.Team)
	}
	return v, err
}

// LearnerView is one person's page: profile, courses, required training
// and attempts.
type LearnerView struct {
	Profile      Learner `json:"profile"`
	Courses      Table   `json:"courses"`
	Certificates Table   `json:"certificates"`
	Attempts     Table   `json:"attempts"`
	// ManagerVisible says whether the viewer may open the manager's page.
	ManagerVisible bool `json:"-"`
}

// LearnerView computes a learner's page.
func (q *Q) LearnerView(id int64) (v LearnerView, err error) {
	if v.Profile, err = q.LearnerProfile(id); err != nil {
		return v, err
	}
	p := Params{Learner: id}
	if v.Courses, err = q.pageTable("learner/enrollments", p); err != nil {
		return v, err
	}
	if v.Certificates, err = q.pageTable("learner/certificates", p); err != nil {
		return v, err
	}
	if v.Attempts, err = q.pageTable("learner/attempts", p); err != nil {
		return v, err
	}
	v.ManagerVisible = v.Profile.ManagerID != 0 && q.CanSee(v.Profile.ManagerID) == nil
	return v, nil
}
