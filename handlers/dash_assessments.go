package handlers

import (
	"context"

	"fmt"
	"math"
	"strconv"

	"github.com/a-h/templ"

	"github.com/gofiber/fiber/v2"

	"github.com/learnlens/learnlens/analytics"
	"github.com/learnlens/learnlens/views/components/charts"
	"github.com/learnlens/learnlens/views/pages/dash"
)

func scoreHistogram(id string, s analytics.ScoreBins, desc string) charts.HistogramChart {
	hc := charts.HistogramChart{ID: id, Title: "Score distribution", Unit: "attempts", Description: desc}
	for b, n := range s.Bins {
		hc.Bins = append(hc.Bins, charts.Bin{Label: fmt.Sprintf("%d–%d%%", b*10, b*10+10), From: float64(b * 10), To: float64(b*10 + 10), Count: float64(n)})
	}
	return hc
}

func assessmentKPIs(v *viewCtx, k analytics.AssessmentKPIs) []charts.KPI {
	return []charts.KPI{
		withPrevious(kpi(v, "pass-rate", "Pass rate", k.PassRate, "%"), k.PassRatePrevious, v),
		withPrevious(kpi(v, "attempts", "Attempts", float64(k.Attempts), ""), float64(k.AttemptsPrevious), v),
		kpi(v, "passed", "Passed", float64(k.Passed), ""),
		upIsBad(kpi(v, "failed", "Failed", float64(k.Failed), "")),
	}
}

var assessmentsDashboard = dashboard[analytics.AssessmentsView]{name: "assessments", title: "Assessment performance",
	intro: "Pass rates, scores and attempts; open a course for its attempts and question-level results.",
	view:  func(q *analytics.Q) (analytics.AssessmentsView, error) { return q.AssessmentsView() },
	body: func(v *viewCtx, f *dash.Frame, d analytics.AssessmentsView) templ.Component {
		return dash.AssessmentsBody(dash.Assessments{KPIs: assessmentKPIs(v, d.KPIs),
			Courses: pageTable(d.Courses, v.r, analytics.Params{}, "No assessment attempts match these filters."),
			Scores:  scoreHistogram("scores", d.Scores, "Scored attempts by score band, "+v.r.Filters.RangeLabel())})
	},
}

func (h *Handlers) assessmentCoursePage(c *fiber.Ctx) error {
	course, err := pathID(c, "course")
	if err != nil {
		return err
	}
	v, err := h.newView(c)
	if err != nil {
		return err
	}
	return h.showView(c, v, "", func(ctx context.Context) (dash.Frame, templ.Component, error) {
		d, err := computePage(h, ctx, v, "assessment-course:"+strconv.FormatInt(course, 10), v.pageFilters(),
			func(q *analytics.Q) (analytics.AssessmentCourseView, error) { return q.AssessmentCourseView(course) })
		if err != nil {
			return dash.Frame{}, nil, err
		}
		f, err := h.frame(ctx, v, d.Title, "This course's attempts, scores and question-level results.", "/dashboards/assessments/courses/"+strconv.FormatInt(course, 10))
		if err != nil {
			return dash.Frame{}, nil, err
		}
		f.ShowCourse = false
		f.Crumbs = []dash.Crumb{{Label: "Assessment performance", Href: "/dashboards/assessments" + v.r.Filters.Query()}}
		kpis := append(assessmentKPIs(v, d.KPIs), kpi(v, "attempts-to-pass", "Average attempts to pass", math.Round(d.AttemptsToPass.Average*10)/10, ""))
		bars := charts.BarChart{ID: "attempts-to-pass", Title: "Attempts to pass", Unit: "learners", Category: "Attempts",
			Description: "Learners who passed, by the attempts it took (all time)"}
		for i, n := range d.AttemptsToPass.Bins {
			label := strconv.Itoa(i + 1)
			if i == 4 {
				label = "5 or more"
			}
			bars.Bars = append(bars.Bars, charts.Bar{Label: label, Value: float64(n)})
		}
		p := analytics.Params{Course: course}
		r := v.r
		r.Filters.Course, r.Filters.Category = 0, "" // the course is the page's; its tables keep the other filters
		return f, dash.AssessmentCourseBody(dash.AssessmentCourse{KPIs: kpis, AttemptsToPass: bars,
			Scores:    scoreHistogram("course-scores", d.Scores, "Scored attempts by score band, "+v.r.Filters.RangeLabel()),
			Attempts:  pageTable(d.Attempts, r, p, "No attempts in this period."),
			Questions: pageTable(d.Questions, r, p, "No question-level results (cmi.interaction statements) in this period.")}), nil
	})
}
