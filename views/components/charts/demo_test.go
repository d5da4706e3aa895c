package charts

import (
	"bytes"
	"context"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/a-h/templ"
)

// sample data for the gallery: what a tenant's dashboards would show.

var sampleAsOf = time.Date(2026, time.March, 14, 9, 30, 0, 0, time.UTC)

func sampleKPIs() []KPI {
	return []KPI{
		{ID: "active-learners", Label: "Active learners", Value: 1284, Unit: "learners", Previous: 1190, HasPrevious: true,
			CompareLabel: "vs previous 30 days", AsOf: sampleAsOf, Href: "/reports/learners", HxGet: "/reports/learners", HxTarget: "#main"},
		{ID: "completion-rate", Label: "Completion rate", Value: 72.4, Unit: "%", Previous: 68.1, HasPrevious: true,
			CompareLabel: "vs previous 30 days", AsOf: sampleAsOf},
		{ID: "average-score", Label: "Average score", Value: 78.2, Unit: "%", Previous: 79.0, HasPrevious: true,
			CompareLabel: "vs previous 30 days", AsOf: sampleAsOf},
		{ID: "overdue", Label: "Overdue assignments", Value: 37, Previous: 52, HasPrevious: true, UpIsBad: true,
			CompareLabel: "vs previous 30 days", AsOf: sampleAsOf, Href: "/reports/overdue"},
	}
}

var sampleCourses = []string{
	"Data protection essentials (GDPR)",
	"Fire safety and evacuation",
	"Anti-bribery and corruption",
	"Information security awareness 2026 – annual refresher for all staff",
	"Manual handling",
	"Equality, diversity and inclusion",
}

func sampleCourseBars() BarChart {
	values := []float64{1432, 1187, 964, 2210, 301, 655}
	var bars []Bar
	for i, c := range sampleCourses {
		href := "/reports/courses/" + string(rune('1'+i))
		bars = append(bars, Bar{Label: c, Value: values[i], Href: href, HxGet: href, HxTarget: "#main"})
	}
	return BarChart{
		ID: "completions-by-course", Title: "Completions by course",
		Description: "Completions per course in the last 30 days.", Unit: "completed", Category: "Course",
		Bars: bars, Horizontal: true,
	}
}

var sampleMonths = []string{"Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec", "Jan", "Feb", "Mar"}

func sampleMonthlyBars() BarChart {
	values := []float64{812, 934, 1021, 640, 515, 1380, 1502, 1433, 988, 1610, 1725, 1198}
	var bars []Bar
	for i, m := range sampleMonths {
		bars = append(bars, Bar{Label: m, Value: values[i]})
	}
	return BarChart{
		ID: "completions-by-month", Title: "Completions per month",
		Description: "Course completions per calendar month, April 2025 to March 2026.", Unit: "completed",
		Category: "Month", Bars: bars,
	}
}

func sampleStatus() StackedBarChart {
	return StackedBarChart{
		ID: "status-by-course", Title: "Learner status by course",
		Description: "Learners per course by status.", Unit: "learners", Category: "Course",
		Categories: sampleCourses[:5],
		Series: []Series{
			{Name: "Completed", Values: []float64{1432, 1187, 964, 2210, 301}, Color: Emerald},
			{Name: "In progress", Values: []float64{210, 95, 180, 640, 44}, Color: Sky},
			{Name: "Not started", Values: []float64{120, 60, 75, 410, 12}, Color: Slate},
			{Name: "Overdue", Values: []float64{37, 4, 22, 96, 0}, Color: Rose},
		},
		Horizontal: true,
	}
}

func sampleDepartments() StackedBarChart {
	return StackedBarChart{
		ID: "status-by-department", Title: "Status by department",
		Description: "Assignments per department by status.", Unit: "assignments", Category: "Department",
		Categories: []string{"Sales", "Finance", "HR", "IT", "Operations", "Legal"},
		Series: []Series{
			{Name: "Completed", Values: []float64{420, 310, 120, 505, 690, 88}, Color: Emerald},
			{Name: "In progress", Values: []float64{80, 45, 30, 120, 150, 12}, Color: Amber},
			{Name: "Overdue", Values: []float64{25, 10, 3, 40, 61, 2}, Color: Rose},
		},
	}
}

func sampleDays(n int) []string {
	start := time.Date(2026, time.February, 13, 0, 0, 0, 0, time.UTC)
	labels := make([]string, n)
	for i := range labels {
		labels[i] = start.AddDate(0, 0, i).Format("2 Jan")
	}
	return labels
}

func sampleLine() LineChart {
	labels := sampleDays(30)
	cur, prev := make([]float64, 30), make([]float64, 30)
	for i := range cur {
		weekday := (i + 4) % 7 // 13 Feb 2026 is a Friday
		weekend := 1.0
		if weekday >= 5 {
			weekend = 0.35
		}
		cur[i] = math.Round((420 + 6*float64(i) + 60*math.Sin(float64(i)/3)) * weekend)
		prev[i] = math.Round((380 + 3*float64(i) + 40*math.Cos(float64(i)/4)) * weekend)
	}
	cur[29] = math.NaN() // today: not complete yet
	return LineChart{
		ID:          "daily-active",
		Title:       "Daily active learners",
		Description: "Learners with at least one statement per day, last 30 days, compared with the 30 days before.",
		Unit:        "learners",
		XName:       "Day",
		Labels:      labels,
		Series: []Series{
			{Name: "Last 30 days", Values: cur},
			{Name: "Previous 30 days", Values: prev, Dashed: true},
		},
	}
}

func sampleRateLine() LineChart {
	labels := []string{"W1", "W2", "W3", "W4", "W5", "W6", "W7", "W8", "W9", "W10", "W11", "W12"}
	return LineChart{
		ID: "weekly-rates", Title: "Pass and completion rate per week",
		Description: "Share of attempts passed and of assignments completed, per week.", Unit: "%", XName: "Week",
		Labels: labels, Max: 100,
		Series: []Series{
			{Name: "Completion rate", Values: []float64{61.2, 63.5, 62.8, 66.1, 68.4, 67.9, 70.2, 71.5, 69.8, 72.4, 73.1, 74.6}},
			{Name: "Pass rate", Values: []float64{81.5, 79.2, 83.4, 84.1, 82.7, 85.9, 86.3, 84.8, 87.2, 88.1, 87.5, 89.3}},
		},
	}
}

func sampleHeatmap() HeatmapChart {
	var v [7][24]float64
	for d := 0; d < 7; d++ {
		for h := 0; h < 24; h++ {
			work := math.Exp(-math.Pow(float64(h)-10.5, 2)/10) + 0.8*math.Exp(-math.Pow(float64(h)-14.5, 2)/6)
			evening := 0.35 * math.Exp(-math.Pow(float64(h)-20, 2)/4)
			scale := 1.0
			if d >= 5 {
				scale, work = 0.25, work*0.3
			}
			if d == 1 || d == 2 {
				scale = 1.15
			}
			v[d][h] = math.Round(180 * scale * (work + evening))
		}
	}
	return HeatmapChart{
		ID: "activity-heatmap", Title: "When learners learn",
		Description: "xAPI statements per weekday and hour, last 90 days, Europe/London time.", Unit: "statements",
		Values: v,
	}
}

func sampleScores() HistogramChart {
	// Deterministic scores: a bell around 74% with a tail of low scores.
	var scores []float64
	seed := uint32(7)
	next := func() float64 { seed = seed*1664525 + 1013904223; return float64(seed>>8) / float64(1<<24) }
	for i := 0; i < 640; i++ {
		s := 74 + 12*(next()+next()+next()-1.5)*2
		if i%9 == 0 {
			s = 20 + 40*next()
		}
		scores = append(scores, math.Round(s))
	}
	scores = append(scores, 100, 100, 100)
	return HistogramChart{
		ID: "score-distribution", Title: "Score distribution",
		Description: "Final scores of all attempts at the Data protection essentials assessment.", Unit: "learners",
		Bins: scoreBins(scores), PassMark: 70,
	}
}

// scoreBins sorts percentage scores (0–100) into the ten bins the
// assessments dashboard shows, "0–10%" … "90–100%" (100 in the last).
func scoreBins(scores []float64) []Bin {
	bins := make([]Bin, 10)
	for i := range bins {
		bins[i] = Bin{Label: fmt.Sprintf("%d–%d%%", i*10, i*10+10), From: float64(i * 10), To: float64(i*10 + 10)}
	}
	for _, s := range scores {
		bins[min(int(s)/10, 9)].Count++
	}
	return bins
}

// gallery is every component with sample data, including single-item and
// empty variants, in page order.
func gallery() []struct {
	Name string
	C    templ.Component
} {
	single := BarChart{ID: "single-bar", Title: "Completions (one course)", Unit: "completed",
		Bars: []Bar{{Label: "Manual handling", Value: 301}}}
	singleLine := LineChart{ID: "single-point", Title: "Active learners today", Unit: "learners",
		Labels: []string{"14 Mar"}, Series: []Series{{Name: "Today", Values: []float64{212}}}}
	return []struct {
		Name string
		C    templ.Component
	}{
		{"Completions by course (horizontal, drill-down links)", Bars(sampleCourseBars())},
		{"Completions per month (vertical)", Bars(sampleMonthlyBars())},
		{"Learner status by course (stacked, horizontal)", StackedBars(sampleStatus())},
		{"Status by department (stacked, vertical)", StackedBars(sampleDepartments())},
		{"Daily active learners (line with comparison)", Line(sampleLine())},
		{"Weekly rates (line, percent)", Line(sampleRateLine())},
		{"Activity heatmap", Heatmap(sampleHeatmap())},
		{"Score distribution (histogram)", Histogram(sampleScores())},
		{"Single bar", Bars(single)},
		{"Single point", Line(singleLine)},
		{"Empty bars", Bars(BarChart{ID: "empty-bars", Title: "Completions by course"})},
		{"Empty heatmap", Heatmap(HeatmapChart{ID: "empty-heatmap", Title: "When learners learn"})},
	}
}

// TestRenderGallery renders every component into
// tests/artifacts/charts-gallery.html for a human to look at and, when
// Chromium is installed (and not -short), screenshots it at 1280 and 390 px.
// CHARTS_GALLERY_CSS overrides the stylesheet, e.g. with a Tailwind build
// that includes classes added since static/css/app.css was last built.
func TestRenderGallery(t *testing.T) {
	root := repoRoot(t)
	dir := filepath.Join(root, "tests", "artifacts")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	css := "../../static/css/app.css"
	if v := os.Getenv("CHARTS_GALLERY_CSS"); v != "" {
		css = v
	}
	ctx := context.Background()
	var b bytes.Buffer
	b.WriteString(`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>LearnLens chart gallery</title>
<link rel="stylesheet" href="` + templ.EscapeString(css) + `">
</head>
<body class="min-h-screen bg-gray-50 text-gray-900">
<main id="main" class="mx-auto w-full max-w-6xl px-4 py-6 sm:px-6 lg:px-8">
<h1 class="text-2xl font-bold tracking-tight">Chart gallery</h1>
<p class="mt-1 text-gray-700">Every component of views/components/charts with sample data (generated by TestRenderGallery).</p>
<h2 class="mt-6 text-lg font-semibold">KPI tiles</h2>
<div class="mt-3">`)
	if err := KPIGrid(sampleKPIs()).Render(ctx, &b); err != nil {
		t.Fatal(err)
	}
	b.WriteString(`</div>
<h2 class="mt-6 text-lg font-semibold">Charts</h2>
<div class="mt-3 grid items-start gap-4 lg:grid-cols-2">`)
	for i, g := range gallery() {
		var c bytes.Buffer
		if err := g.C.Render(ctx, &c); err != nil {
			t.Fatalf("%s: %v", g.Name, err)
		}
		html := c.String()
		if i == 1 { // show one table view opened
			html = strings.Replace(html, `<details class="mt-3">`, `<details class="mt-3" open>`, 1)
		}
		b.WriteString("\n<!-- " + g.Name + " -->\n" + html)
	}
	b.WriteString("\n</div>\n</main>\n</body>\n</html>\n")
	page := filepath.Join(dir, "charts-gallery.html")
	if err := os.WriteFile(page, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("wrote %s", page)

	const chromium = "/usr/bin/chromium"
	if _, err := os.Stat(chromium); err != nil || testing.Short() {
		return
	}
	for _, shot := range []struct {
		name          string
		width, height int
	}{
		{"charts-gallery-1280.png", 1280, 4200},
		{"charts-gallery-390.png", 390, 10400},
	} {
		out := filepath.Join(dir, shot.name)
		ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
		cmd := exec.CommandContext(ctx, chromium, "--headless", "--no-sandbox", "--disable-gpu",
			"--disable-background-networking", "--disable-component-update", "--hide-scrollbars",
			"--user-data-dir="+t.TempDir(),
			"--screenshot="+out, "--window-size="+itoa(shot.width)+","+itoa(shot.height),
			"file://"+page)
		if msg, err := cmd.CombinedOutput(); err != nil {
			t.Logf("screenshot %s failed (not an error of the charts): %v\n%s", shot.name, err, msg)
		} else {
			t.Logf("wrote %s", out)
		}
		cancel()
	}
}

func itoa(n int) string { return strconv.Itoa(n) }

// repoRoot is the directory holding go.mod.
func repoRoot(t *testing.T) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("go.mod not found")
		}
		dir = parent
	}
}

// readSources is the text of the package's .templ and non-test .go files.
func readSources(t *testing.T) string {
	t.Helper()
	var b strings.Builder
	for _, pattern := range []string{"*.templ", "*.go"} {
		files, err := filepath.Glob(pattern)
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range files {
			if strings.HasSuffix(f, "_test.go") || strings.HasSuffix(f, "_templ.go") {
				continue
			}
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			b.Write(data)
			b.WriteByte('\n')
		}
	}
	return b.String()
}
