// Package charts draws server-rendered SVG charts and KPI tiles for the
// dashboards. No JavaScript is involved: every chart is an <svg> with a
// viewBox (so it scales with its container), hover tooltips from <title>
// elements, a screen-reader description, and a "Table view" disclosure with
// the same numbers as a plain table.
//
// Components take plain view-model structs (see BarChart, StackedBarChart,
// LineChart, HeatmapChart, HistogramChart and KPI); the geometry is computed
// in Go (layout.go) and the .templ files only print it.
//
// Every chart renders inside a .card whose root carries
// data-testid="chart-<ID>"; its table has data-testid="chart-<ID>-table" and
// an empty chart shows data-testid="chart-<ID>-empty". Each drawn bar,
// segment, point and heatmap cell carries data-value with the raw number, so
// browser tests can read values without parsing text.
//
// Colours are Tailwind classes written out in full in palette.go; the CSS
// must be rebuilt (make css) after classes are added here.
package charts

// BarChart is a single-series bar chart.
type BarChart struct {
	// ID is unique on the page; it names the element ids and test ids
	// (chart-<ID>, chart-<ID>-table). Characters other than letters, digits,
	// '-' and '_' are replaced by '-'.
	ID string
	// Title is shown as the chart's <h3>.
	Title string
	// Description tells screen-reader users what the chart shows, e.g.
	// "Completions per course in the last 30 days". A short summary of the
	// data (highest and lowest bar) is appended automatically.
	Description string
	// Unit follows every value, e.g. "completed" gives "42 completed"; "%"
	// is written without a space and with one decimal where useful.
	Unit string
	// Category names the labels' column in the table view, e.g. "Course";
	// empty means "Category".
	Category string
	// Bars are drawn in order (top to bottom, or left to right).
	Bars []Bar
	// Horizontal draws one row per bar with its label above it: best for
	// long labels such as course names, and on phones.
	Horizontal bool
	// Max is the value of a full-length bar; 0 means the largest value
	// (rounded up to a nice number on a vertical chart's axis). Larger
	// values are drawn at Max; the tooltip and table show the real value.
	Max float64
	// Color of the bars; the zero value is the tenant's brand colour.
	Color Color
	// Legend, when bars have colours of their own, says what each colour
	// means (e.g. on track, behind, lagging).
	Legend []LegendEntry
}

// LegendEntry is one line of a BarChart's legend.
type LegendEntry struct {
	Name  string
	Color Color
}

// defaultHxTarget is where a drill-down's htmx response goes when the
// link names no target: the layout's <main id="main">.
const defaultHxTarget = "#main"

// Bar is one bar of a BarChart. A bar with an Href is a link (drill-down):
// the bar in the chart and its label in the table view both point to it.
type Bar struct {
	Label string
	// Value must be zero or more; a NaN or infinite value is shown as
	// format.Missing ("—") and not drawn.
	Value float64
	// Color, when not Auto, colours this bar instead of the chart's Color
	// (e.g. by how far a team is behind).
	Color Color
	// Href is the full-page URL of the drill-down, if any.
	Href string
	// HxGet, when set, makes the link an htmx request for that URL; the
	// response replaces the content of HxTarget (a CSS selector; empty
	// means "#main", the layout's <main>) and Href is pushed to the
	// browser history, so a reload shows the same page.
	HxGet    string
	HxTarget string
}

// StackedBarChart shows several series per category, stacked, e.g. per
// course the learners who completed, are in progress and are overdue.
type StackedBarChart struct {
	// ID, Title, Description, Unit and Category are as in BarChart.
	ID, Title, Description string
	Unit                   string
	Category               string
	// Categories label the stacks, in order.
	Categories []string
	// Series are stacked in order (first at the baseline/left); each has one
	// value per category. Missing values count as zero.
	Series []Series
	// Horizontal draws one row per category with its label above it.
	Horizontal bool
	// Max is the value of a full-length stack; 0 means the largest total.
	Max float64
}

// Series is one named row of values, aligned with a chart's categories or
// x labels.
type Series struct {
	Name string
	// Values has one entry per category or x label. In a LineChart a NaN
	// value is a gap in the line.
	Values []float64
	// Color picks the series' colour; the zero value (Auto) takes the next
	// colour of the palette (brand, emerald, amber, rose, sky, slate).
	Color Color
	// Dashed draws a LineChart series as a dashed comparison line (e.g. the
	// previous period); an Auto colour then means slate. Ignored by
	// StackedBars.
	Dashed bool
}

// LineChart shows one or more series over ordered x labels (usually dates).
type LineChart struct {
	// ID, Title, Description and Unit are as in BarChart.
	ID, Title, Description string
	Unit                   string
	// XName names the labels' column in the table view, e.g. "Week"; empty
	// means "Date".
	XName string
	// Labels are the x values in order, e.g. "3 Mar"; each series has one
	// value per label.
	Labels []string
	Series []Series
	// Max is the top of the y axis; 0 means automatic (a nice number above
	// the largest value). The axis starts at 0 unless a value is negative.
	Max float64
}

// HeatmapChart shows a value per weekday and hour, e.g. learning activity.
type HeatmapChart struct {
	// ID, Title, Description and Unit are as in BarChart.
	ID, Title, Description string
	Unit                   string
	// Values[day][hour]: day 0 is Monday, 6 is Sunday; hour 0 is 00:00 to
	// 01:00 in the zone the Description names. Negative, NaN and infinite
	// values count as zero. A heatmap of zeros is shown as empty.
	Values [7][24]float64
}

// HistogramChart shows how many learners fall into each score band.
type HistogramChart struct {
	// ID, Title, Description and Unit are as in BarChart; Unit is the unit
	// of the counts, e.g. "learners".
	ID, Title, Description string
	Unit                   string
	// Category names the bins' column in the table view; empty means
	// "Score".
	Category string
	// Bins in ascending order.
	Bins []Bin
	// PassMark draws a dashed vertical line at that score (in the bins'
	// From/To units, e.g. 70 for 70%); 0 means no line.
	PassMark float64
	// PassLabel labels the line; empty means "Pass mark <PassMark>" (a
	// percentage, as format.Percent writes it).
	PassLabel string
}

// Bin is one bar of a HistogramChart: the Count of scores from From
// (inclusive) to To (exclusive, except in the last bin).
type Bin struct {
	Label    string // e.g. "70–80%"
	From, To float64
	Count    float64
}
