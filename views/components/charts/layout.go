package charts

import (
	"github.com/learnlens/learnlens/views/format"

	"fmt"
	"math"
	"strings"
)

// Geometry shared by the charts, in viewBox units. The viewBox is vbWidth
// wide: about 1:1 with the screen in a half-width dashboard card on a
// desktop, and about 0.65:1 on a 360–390 px phone, where axisText enlarges
// the labels.
const (
	vbWidth = 480.0
	// vbHeight is the height of the vertical charts (bars, histogram, line).
	vbHeight = 260.0
	// rowHeight is one row of a horizontal bar chart: label, then bar.
	rowHeight = 52.0
	barHeight = 18.0
)

// frame is what every chart's wrapper needs.
type frame struct {
	ID    string // safe for element ids
	Title string
	Desc  string // Description plus a generated summary
	Empty bool
	W, H  float64
	// Rows is a horizontal chart (a bar per row): it is kept at most 42rem
	// wide, so on a full-width card its bars stay bars (18 units scaled
	// with the width became 40 px blocks 120 px apart at 1280 px).
	Rows   bool
	Legend []legendItem
	Table  table
}

func newFrame(id, title, desc, summary string) frame {
	if id == "" {
		id = title
	}
	return frame{
		ID:    slug(id),
		Title: title,
		Desc:  strings.TrimSpace(strings.TrimSpace(desc) + " " + summary),
		W:     vbWidth,
	}
}

func (f frame) viewBox() string    { return "0 0 " + num(f.W) + " " + num(f.H) }
func (f frame) testID() string     { return "chart-" + f.ID }
func (f frame) titleID() string    { return "chart-" + f.ID + "-title" }
func (f frame) descID() string     { return "chart-" + f.ID + "-desc" }
func (f frame) tableID() string    { return "chart-" + f.ID + "-table" }
func (f frame) emptyID() string    { return "chart-" + f.ID + "-empty" }
func (f frame) labelledBy() string { return f.titleID() + " " + f.descID() }

// legendItem is one entry of a chart's legend.
type legendItem struct {
	Name   string
	Swatch string // background class of the square
	Stroke string // line charts: stroke class of the sample line
	Dashed bool
}

// table is the "Table view" of a chart.
type table struct {
	Caption string
	Head    []string
	Rows    []tableRow
}

// tableRow is one row; its first cell is the row header, a link when Href
// is set.
type tableRow struct {
	Cells              []string
	Href, HxGet, HxTgt string
}

// mark is one drawn data element (bar, segment, point or cell) with its
// hover/click area.
type mark struct {
	X, Y, W, H float64 // the rectangle (for points: centre X, Y and radius W)
	HitX, HitY float64 // the hover area (for points: radius HitW)
	HitW, HitH float64
	Fill       string
	Value      string // data-value
	Tip        string // <title>
	Href       string
	HxGet      string
	HxTarget   string
}

// gridLine is a horizontal value-axis line with its label.
type gridLine struct {
	Y     float64
	Label string
}

// valueAxis is the y axis of the vertical charts.
type valueAxis struct {
	Left, Right float64 // x span of the grid lines
	Top, Base   float64 // y of the highest tick and of the baseline (value 0 or the lowest tick)
	Lines       []gridLine
	Scale       linearScale
}

// newValueAxis builds a y axis for values from lo to hi between y top and
// bottom. The left margin is wide enough for the tick labels at the mobile
// text size.
func newValueAxis(lo, hi float64, integer bool, unit string, top, bottom float64) valueAxis {
	ticks := valueTicks(lo, hi, integer)
	d := 0
	if len(ticks) > 1 {
		d = tickDecimals(ticks[1] - ticks[0])
	}
	labels := make([]string, len(ticks))
	left := 24.0
	for i, t := range ticks {
		labels[i] = format.Fixed(t, d)
		if unit == "%" {
			labels[i] += "%"
		}
		if w := textWidth(labels[i], fontMobile) + 8; w > left {
			left = w
		}
	}
	left = math.Min(left, vbWidth/3)
	first, last := ticks[0], ticks[len(ticks)-1]
	s := linearScale{D0: first, D1: last, R0: bottom, R1: top}
	a := valueAxis{Left: left, Right: vbWidth - 4, Top: top, Scale: s}
	a.Base = s.clamped(math.Max(0, first))
	for i, t := range ticks {
		a.Lines = append(a.Lines, gridLine{Y: s.at(t), Label: labels[i]})
	}
	return a
}

// labelX is where the tick labels end (they are right-aligned).
func (a valueAxis) labelX() float64 { return a.Left - 6 }

// shortValue is a value as printed on the chart itself: without the unit,
// except "%".
func shortValue(v float64, unit string) string {
	if unit == "%" {
		return format.Percent(v)
	}
	return format.Number(v)
}

// tip is a tooltip: "Series · Label: 42 completed" (no series part when
// series is empty).
func tip(series, label string, v float64, unit string) string {
	s := label + ": " + format.Value(v, unit)
	if series != "" {
		s = series + " · " + s
	}
	return s
}

// ---------------------------------------------------------------- Bars

// barsLayout is a BarChart ready to print.
type barsLayout struct {
	frame
	Horizontal bool
	Axis       valueAxis // vertical only
	Marks      []mark
	Labels     []axisLabel // category labels (under the bars, or above each row)
	Values     []axisLabel // value labels
	Tracks     []mark      // horizontal only: the light background of each row
}

func layoutBars(c BarChart) barsLayout {
	l := barsLayout{frame: newFrame(c.ID, c.Title, c.Description, barsSummary(c)), Horizontal: c.Horizontal}
	l.Table = table{
		Caption: c.Title,
		Head:    []string{orDefault(c.Category, "Category"), columnHeader(c.Unit)},
	}
	for _, b := range c.Bars {
		l.Table.Rows = append(l.Table.Rows, tableRow{
			Cells: []string{b.Label, format.Value(b.Value, c.Unit)},
			Href:  b.Href, HxGet: b.HxGet, HxTgt: b.HxTarget,
		})
	}
	if len(c.Bars) == 0 {
		l.Empty = true
		return l
	}
	values := make([]float64, len(c.Bars))
	labels := make([]string, len(c.Bars))
	for i, b := range c.Bars {
		values[i], labels[i] = b.Value, b.Label
	}
	for _, e := range c.Legend {
		l.Legend = append(l.Legend, legendItem{Name: e.Name, Swatch: e.Color.swatch()})
	}
	fill := func(b Bar) string {
		if b.Color != Auto {
			return b.Color.fill()
		}
		return c.Color.fill()
	}
	if c.Horizontal {
		l.layoutRows(labels, len(c.Bars), c.Max, values, c.Unit)
		for i, b := range c.Bars {
			m := &l.Marks[i]
			m.Fill, m.Tip = fill(b), tip("", b.Label, b.Value, c.Unit)
			m.Href, m.HxGet, m.HxTarget = b.Href, b.HxGet, b.HxTarget
		}
		return l
	}
	l.H = vbHeight
	top := maxFinite(values)
	if c.Max > 0 {
		top = c.Max
	}
	l.Axis = newValueAxis(0, top, allIntegers(values), c.Unit, 22, vbHeight-28)
	bd := band{Start: l.Axis.Left, Length: l.Axis.Right - l.Axis.Left, N: len(c.Bars)}
	xs := make([]float64, len(c.Bars))
	for i, b := range c.Bars {
		xs[i] = bd.center(i)
		x, w := bd.inner(i, 0.7, 64)
		y, h := l.Axis.barSpan(b.Value)
		l.Marks = append(l.Marks, mark{
			X: x, Y: y, W: w, H: h,
			HitX: bd.at(i), HitY: l.Axis.Top, HitW: bd.width(), HitH: l.Axis.Base - l.Axis.Top,
			Fill: fill(b), Value: raw(b.Value), Tip: tip("", b.Label, b.Value, c.Unit),
			Href: b.Href, HxGet: b.HxGet, HxTarget: b.HxTarget,
		})
		if format.Finite(b.Value) {
			l.Values = append(l.Values, axisLabel{X: xs[i], Y: y - 5, Text: shortValue(b.Value, c.Unit), Anchor: "middle"})
		}
	}
	l.Values = fitValues(l.Values, bd.width())
	l.Labels = categoryLabels(labels, xs, bd.width(), l.Axis.Base+20, false)
	return l
}

// barSpan is the top and height of a vertical bar of value v: values are
// clamped to the axis, and a positive value is at least 1 unit tall.
func (a valueAxis) barSpan(v float64) (y, h float64) {
	if !format.Finite(v) || v <= 0 {
		return a.Base, 0
	}
	y = a.Scale.clamped(v)
	h = a.Base - y
	if h < 1 {
		h, y = 1, a.Base-1
	}
	return y, h
}

// fitValues keeps the values printed above bars at each text size where
// all of them fit into their bands: labelling only some bars would look
// like the others had no value.
func fitValues(values []axisLabel, bandW float64) []axisLabel {
	widest := func(fs float64) float64 {
		w := 0.0
		for _, v := range values {
			w = math.Max(w, textWidth(v.Text, fs))
		}
		return w
	}
	class, ok := visibility(widest(fontMobile) <= bandW-2, widest(fontDesktop) <= bandW-2)
	if !ok {
		return nil
	}
	for i := range values {
		values[i].Class = class
	}
	return values
}

// layoutRows lays out a horizontal chart: one row per category, its label
// above a light track, the bar (or stack) on the track and the value after
// it. totals are the bar lengths; the caller fills in marks' details.
func (l *barsLayout) layoutRows(labels []string, n int, max float64, totals []float64, unit string) {
	l.Rows = true
	texts := make([]string, n)
	valueW := 0.0
	for i := range texts {
		texts[i] = shortValue(totals[i], unit)
		valueW = math.Max(valueW, textWidth(texts[i], fontMobile))
	}
	// Room for the values after the bars, but never more than a third of
	// the width (an absurdly long value then runs past the edge).
	plotW := vbWidth - math.Min(valueW, vbWidth/3) - 10
	if max <= 0 {
		max = maxFinite(totals)
	}
	s := linearScale{D0: 0, D1: max, R0: 0, R1: plotW}
	if max <= 0 {
		s.D1 = 1
	}
	l.H = float64(n)*rowHeight - 4
	for i := 0; i < n; i++ {
		rowTop := 4 + float64(i)*rowHeight
		barY := rowTop + 24
		w := 0.0
		if format.Finite(totals[i]) && totals[i] > 0 {
			w = math.Max(1, s.clamped(totals[i]))
		}
		l.Tracks = append(l.Tracks, mark{X: 0, Y: barY, W: plotW, H: barHeight})
		l.Marks = append(l.Marks, mark{
			X: 0, Y: barY, W: w, H: barHeight,
			HitX: 0, HitY: rowTop, HitW: vbWidth, HitH: rowHeight,
			Value: raw(totals[i]),
		})
		l.Labels = append(l.Labels, rowLabels(labels[i], rowTop+16)...)
		l.Values = append(l.Values, axisLabel{X: w + 6, Y: barY + barHeight/2, Text: texts[i], Anchor: "start"})
	}
}

// rowLabels is a horizontal chart's row label, shortened to the chart's
// width at each text size.
func rowLabels(label string, y float64) []axisLabel {
	m := fitText(label, vbWidth-4, fontMobile)
	d := fitText(label, vbWidth-4, fontRowDesktop)
	if m == d {
		return []axisLabel{{X: 0, Y: y, Text: m, Anchor: "start"}}
	}
	return []axisLabel{
		{X: 0, Y: y, Text: m, Anchor: "start", Class: onlyMobile},
		{X: 0, Y: y, Text: d, Anchor: "start", Class: onlyDesktop},
	}
}

func maxFinite(values []float64) float64 {
	m := 0.0
	for _, v := range values {
		if format.Finite(v) && v > m {
			m = v
		}
	}
	return m
}

func minFinite(values []float64) float64 {
	m := 0.0
	for _, v := range values {
		if format.Finite(v) && v < m {
			m = v
		}
	}
	return m
}

func barsSummary(c BarChart) string {
	hi, lo := -1, -1
	for i, b := range c.Bars {
		if !format.Finite(b.Value) {
			continue
		}
		if hi < 0 || b.Value > c.Bars[hi].Value {
			hi = i
		}
		if lo < 0 || b.Value < c.Bars[lo].Value {
			lo = i
		}
	}
	switch {
	case hi < 0:
		return ""
	case len(c.Bars) == 1:
		return fmt.Sprintf("%s: %s.", c.Bars[0].Label, format.Value(c.Bars[0].Value, c.Unit))
	}
	return fmt.Sprintf("%d bars. Highest: %s, %s. Lowest: %s, %s.", len(c.Bars),
		c.Bars[hi].Label, format.Value(c.Bars[hi].Value, c.Unit),
		c.Bars[lo].Label, format.Value(c.Bars[lo].Value, c.Unit))
}

// ---------------------------------------------------------------- StackedBars

// stackedLayout is a StackedBarChart ready to print. It reuses barsLayout;
// Marks holds the segments.
type stackedLayout struct {
	barsLayout
}

func layoutStacked(c StackedBarChart) stackedLayout {
	colors := autoColors(c.Series)
	totals := make([]float64, len(c.Categories))
	for i := range c.Categories {
		for _, s := range c.Series {
			if v := at(s.Values, i); v > 0 {
				totals[i] += v
			}
		}
	}
	l := stackedLayout{barsLayout{frame: newFrame(c.ID, c.Title, c.Description, stackedSummary(c, totals)), Horizontal: c.Horizontal}}
	head := []string{orDefault(c.Category, "Category")}
	for i, s := range c.Series {
		head = append(head, s.Name)
		l.Legend = append(l.Legend, legendItem{Name: s.Name, Swatch: colors[i].swatch()})
	}
	l.Table = table{Caption: c.Title, Head: append(head, "Total")}
	for i, cat := range c.Categories {
		row := []string{cat}
		for _, s := range c.Series {
			row = append(row, format.Value(atOr(s.Values, i), c.Unit))
		}
		l.Table.Rows = append(l.Table.Rows, tableRow{Cells: append(row, format.Value(totals[i], c.Unit))})
	}
	if len(c.Categories) == 0 || len(c.Series) == 0 {
		l.Empty = true
		return l
	}
	integer := allIntegers(totals)
	// segments lays out the stack of category i along a scale, from base.
	type span struct{ from, to float64 }
	segments := func(i int, scale func(float64) float64) []span {
		var out []span
		sum := 0.0
		for _, s := range c.Series {
			v := at(s.Values, i)
			out = append(out, span{scale(sum), scale(sum + v)})
			sum += v
		}
		return out
	}
	if c.Horizontal {
		l.layoutRows(c.Categories, len(c.Categories), c.Max, totals, c.Unit)
		tracks := l.Marks
		l.Marks = nil
		max := c.Max
		if max <= 0 {
			max = maxFinite(totals)
		}
		s := linearScale{D0: 0, D1: math.Max(max, 1e-9), R0: 0, R1: l.Tracks[0].W}
		for i, cat := range c.Categories {
			tr := tracks[i]
			l.Tracks[i].Tip = cat + ": " + format.Value(totals[i], c.Unit) + " in total"
			for j, sp := range segments(i, s.clamped) {
				if sp.to-sp.from <= 0 {
					continue
				}
				v := at(c.Series[j].Values, i)
				l.Marks = append(l.Marks, mark{
					X: sp.from, Y: tr.Y, W: sp.to - sp.from, H: tr.H,
					HitX: sp.from, HitY: tr.Y, HitW: sp.to - sp.from, HitH: tr.H,
					Fill: colors[j].fill() + segmentEdge, Value: raw(v), Tip: tip(c.Series[j].Name, cat, v, c.Unit),
				})
			}
		}
		return l
	}
	l.H = vbHeight
	top := maxFinite(totals)
	if c.Max > 0 {
		top = c.Max
	}
	l.Axis = newValueAxis(0, top, integer, c.Unit, 22, vbHeight-28)
	bd := band{Start: l.Axis.Left, Length: l.Axis.Right - l.Axis.Left, N: len(c.Categories)}
	xs := make([]float64, len(c.Categories))
	for i, cat := range c.Categories {
		xs[i] = bd.center(i)
		x, w := bd.inner(i, 0.7, 64)
		for j, sp := range segments(i, l.Axis.Scale.clamped) {
			if sp.from-sp.to <= 0 { // y grows downwards
				continue
			}
			v := at(c.Series[j].Values, i)
			l.Marks = append(l.Marks, mark{
				X: x, Y: sp.to, W: w, H: sp.from - sp.to,
				HitX: x, HitY: sp.to, HitW: w, HitH: sp.from - sp.to,
				Fill: colors[j].fill() + segmentEdge, Value: raw(v), Tip: tip(c.Series[j].Name, cat, v, c.Unit),
			})
		}
		y, _ := l.Axis.barSpan(totals[i])
		l.Values = append(l.Values, axisLabel{X: xs[i], Y: y - 5, Text: shortValue(totals[i], c.Unit), Anchor: "middle"})
	}
	l.Values = fitValues(l.Values, bd.width())
	l.Labels = categoryLabels(c.Categories, xs, bd.width(), l.Axis.Base+20, false)
	return l
}

// segmentEdge outlines stacked segments in white so that neighbouring
// colours stay apart.
const segmentEdge = " stroke-white"

// at is values[i] when it exists and is a finite number, else 0.
func at(values []float64, i int) float64 {
	if i < len(values) && format.Finite(values[i]) {
		return values[i]
	}
	return 0
}

// atOr is values[i], or NaN (shown as format.Missing) when there is none.
func atOr(values []float64, i int) float64 {
	if i < len(values) {
		return values[i]
	}
	return math.NaN()
}

func stackedSummary(c StackedBarChart, totals []float64) string {
	if len(c.Categories) == 0 || len(c.Series) == 0 {
		return ""
	}
	names := make([]string, len(c.Series))
	for i, s := range c.Series {
		names[i] = s.Name
	}
	hi := 0
	for i, t := range totals {
		if t > totals[hi] {
			hi = i
		}
	}
	return fmt.Sprintf("%d categories, each split into %s. Largest total: %s, %s.",
		len(c.Categories), strings.Join(names, ", "), c.Categories[hi], format.Value(totals[hi], c.Unit))
}

// ---------------------------------------------------------------- Line

// lineLayout is a LineChart ready to print.
type lineLayout struct {
	frame
	Axis   valueAxis
	Lines  []linePath
	Labels []axisLabel
}

// linePath is one series: its path and points.
type linePath struct {
	D      string // path data; "M" starts a new piece after a gap
	Stroke string
	Dashed bool
	Points []mark // X, Y centre; W radius; HitW hover radius
}

func layoutLine(c LineChart) lineLayout {
	colors := autoColors(c.Series)
	var all [][]float64
	finiteCount := 0
	for _, s := range c.Series {
		all = append(all, s.Values)
		for i, v := range s.Values {
			if i < len(c.Labels) && format.Finite(v) {
				finiteCount++
			}
		}
	}
	l := lineLayout{frame: newFrame(c.ID, c.Title, c.Description, lineSummary(c))}
	head := []string{orDefault(c.XName, "Date")}
	for i, s := range c.Series {
		head = append(head, s.Name)
		if len(c.Series) > 1 {
			l.Legend = append(l.Legend, legendItem{Name: s.Name, Stroke: colors[i].stroke(), Dashed: s.Dashed})
		}
	}
	l.Table = table{Caption: c.Title, Head: head}
	for i, x := range c.Labels {
		row := []string{x}
		for _, s := range c.Series {
			row = append(row, format.Value(atOr(s.Values, i), c.Unit))
		}
		l.Table.Rows = append(l.Table.Rows, tableRow{Cells: row})
	}
	if finiteCount == 0 {
		l.Empty = true
		return l
	}
	n := len(c.Labels)
	lo, hi := 0.0, 0.0
	for _, vs := range all {
		lo = math.Min(lo, minFinite(vs[:min(len(vs), n)]))
		hi = math.Max(hi, maxFinite(vs[:min(len(vs), n)]))
	}
	if c.Max > 0 {
		hi = c.Max
	}
	l.H = vbHeight
	l.Axis = newValueAxis(lo, hi, allIntegers(all...), c.Unit, 12, vbHeight-28)
	// Points run from edge to edge of the plot, inset so that a point and
	// the first and last labels (centred on their points) stay inside.
	x0 := math.Max(l.Axis.Left+8, textWidth(c.Labels[0], fontMobile)/2+2)
	x1 := math.Min(l.Axis.Right-6, vbWidth-textWidth(c.Labels[n-1], fontMobile)/2-2)
	if x1-x0 < vbWidth/4 { // absurdly long labels: they are shortened anyway
		x0, x1 = l.Axis.Left+8, l.Axis.Right-6
	}
	step := x1 - x0
	if n > 1 {
		step = (x1 - x0) / float64(n-1)
	}
	xs := make([]float64, n)
	for i := range xs {
		if n == 1 {
			xs[i] = (x0 + x1) / 2
		} else {
			xs[i] = x0 + float64(i)*step
		}
	}
	dotR := math.Max(1.5, math.Min(3.5, step/3))
	hitR := math.Max(3, math.Min(10, step/2))
	for j, s := range c.Series {
		p := linePath{Stroke: colors[j].stroke(), Dashed: s.Dashed}
		var d strings.Builder
		pen := false
		for i := 0; i < n; i++ {
			v := atOr(s.Values, i)
			if !format.Finite(v) {
				pen = false
				continue
			}
			y := l.Axis.Scale.clamped(v)
			if pen {
				d.WriteString(" L")
			} else {
				if d.Len() > 0 {
					d.WriteByte(' ')
				}
				d.WriteString("M")
			}
			d.WriteString(num(xs[i]) + " " + num(y))
			pen = true
			fill := colors[j].fill()
			if s.Dashed {
				fill = "fill-white " + colors[j].stroke()
			}
			p.Points = append(p.Points, mark{
				X: xs[i], Y: y, W: dotR, HitW: hitR,
				Fill: fill, Value: raw(v), Tip: tip(s.Name, c.Labels[i], v, c.Unit),
			})
		}
		p.D = d.String()
		l.Lines = append(l.Lines, p)
	}
	l.Labels = categoryLabels(c.Labels, xs, step, l.Axis.Base+20, true)
	// Negative values: the category labels go under the lowest tick.
	if lowest := l.Axis.Scale.R0; lowest > l.Axis.Base {
		for i := range l.Labels {
			l.Labels[i].Y = lowest + 20
		}
	}
	return l
}

func lineSummary(c LineChart) string {
	if len(c.Labels) == 0 || len(c.Series) == 0 {
		return ""
	}
	parts := []string{fmt.Sprintf("%d points from %s to %s.", len(c.Labels), c.Labels[0], c.Labels[len(c.Labels)-1])}
	if len(c.Labels) == 1 {
		parts[0] = "One point: " + c.Labels[0] + "."
	}
	for _, s := range c.Series {
		last, hi := -1, -1
		for i := 0; i < len(c.Labels) && i < len(s.Values); i++ {
			if !format.Finite(s.Values[i]) {
				continue
			}
			last = i
			if hi < 0 || s.Values[i] > s.Values[hi] {
				hi = i
			}
		}
		if last < 0 {
			continue
		}
		name := orDefault(s.Name, c.Title)
		parts = append(parts, fmt.Sprintf("%s: latest %s (%s), highest %s (%s).", name,
			format.Value(s.Values[last], c.Unit), c.Labels[last], format.Value(s.Values[hi], c.Unit), c.Labels[hi]))
	}
	return strings.Join(parts, " ")
}

// ---------------------------------------------------------------- Heatmap

var (
	dayShort = [7]string{"Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"}
	dayLong  = [7]string{"Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"}
)

// heatmapLayout is a HeatmapChart ready to print.
type heatmapLayout struct {
	frame
	Cells    []mark
	Days     []axisLabel
	Hours    []axisLabel
	Steps    []heatStep
	MaxValue float64
}

// heatStep is one entry of a heatmap's legend.
type heatStep struct {
	Swatch string
	Range  string
}

// heatLevel is the intensity step of v on a heatmap whose largest value is
// max: 0 for no activity, else 1 to heatLevels by equal fifths of max.
func heatLevel(v, max float64) int {
	if !format.Finite(v) || v <= 0 || !format.Finite(max) || max <= 0 {
		return 0
	}
	l := int(math.Ceil(v / max * heatLevels))
	return min(heatLevels, max1(l))
}

func max1(n int) int {
	if n < 1 {
		return 1
	}
	return n
}

// heatSteps is the legend: the value range of each level. For whole-number
// data a range is written "3–5"; levels no whole number falls into are left
// out.
func heatSteps(max float64, integer bool, unit string) []heatStep {
	steps := []heatStep{{Swatch: heatSwatch(0), Range: "0"}}
	for lv := 1; lv <= heatLevels; lv++ {
		lo, hi := max*float64(lv-1)/heatLevels, max*float64(lv)/heatLevels
		var r string
		if integer {
			from, to := math.Floor(lo)+1, math.Floor(hi)
			switch {
			case from > to:
				continue
			case from == to:
				r = format.Number(from)
			default:
				r = format.Number(from) + "–" + format.Number(to)
			}
		} else {
			r = "≤ " + format.Number(hi)
		}
		steps = append(steps, heatStep{Swatch: heatSwatch(lv), Range: r})
	}
	if unit != "" && unit != "%" && len(steps) > 0 {
		steps[len(steps)-1].Range += " " + unit
	}
	return steps
}

// hourRange is "14:00–15:00".
func hourRange(h int) string { return fmt.Sprintf("%02d:00–%02d:00", h, h+1) }

func layoutHeatmap(c HeatmapChart) heatmapLayout {
	var values [7][24]float64
	max, total := 0.0, 0.0
	busyD, busyH := 0, 0
	var flat []float64
	for d := range values {
		for h := range values[d] {
			v := c.Values[d][h]
			if !format.Finite(v) || v < 0 {
				v = 0
			}
			values[d][h] = v
			flat = append(flat, v)
			total += v
			if v > max {
				max, busyD, busyH = v, d, h
			}
		}
	}
	summary := ""
	if max > 0 {
		summary = fmt.Sprintf("Busiest hour: %s %s, %s. Total: %s.", dayLong[busyD], hourRange(busyH),
			format.Value(max, c.Unit), format.Value(total, c.Unit))
	}
	l := heatmapLayout{frame: newFrame(c.ID, c.Title, c.Description, summary), MaxValue: max}
	head := []string{"Day"}
	for h := 0; h < 24; h++ {
		head = append(head, fmt.Sprintf("%02d", h))
	}
	caption := c.Title
	if c.Unit != "" {
		caption += " (" + c.Unit + ")"
	}
	l.Table = table{Caption: caption, Head: head}
	for d := range values {
		row := []string{dayShort[d]}
		for h := range values[d] {
			row = append(row, format.Number(values[d][h]))
		}
		l.Table.Rows = append(l.Table.Rows, tableRow{Cells: row})
	}
	if max <= 0 {
		l.Empty = true
		return l
	}
	const left, top, gap = 40.0, 22.0, 2.0
	cell := (vbWidth - left - 2) / 24
	l.H = top + 7*cell + 2
	for h := 0; h < 24; h++ {
		class, ok := visibility(h%6 == 0, h%3 == 0)
		if ok {
			l.Hours = append(l.Hours, axisLabel{X: left + (float64(h)+0.5)*cell, Y: top - 7, Text: fmt.Sprintf("%02d", h), Anchor: "middle", Class: class})
		}
	}
	for d := range values {
		y := top + float64(d)*cell
		l.Days = append(l.Days, axisLabel{X: 0, Y: y + cell/2, Text: dayShort[d], Anchor: "start"})
		for h, v := range values[d] {
			x := left + float64(h)*cell
			l.Cells = append(l.Cells, mark{
				X: x + gap/2, Y: y + gap/2, W: cell - gap, H: cell - gap,
				Fill: heatFill(heatLevel(v, max)), Value: raw(v),
				Tip: tip("", dayLong[d]+" "+hourRange(h), v, c.Unit),
			})
		}
	}
	l.Steps = heatSteps(max, allIntegers(flat), c.Unit)
	return l
}

// ---------------------------------------------------------------- Histogram

// histogramLayout is a HistogramChart ready to print.
type histogramLayout struct {
	barsLayout
	Pass      bool
	PassX     float64
	PassLabel axisLabel
}

func layoutHistogram(c HistogramChart) histogramLayout {
	total, mode := 0.0, -1
	counts := make([]float64, len(c.Bins))
	labels := make([]string, len(c.Bins))
	for i, b := range c.Bins {
		counts[i], labels[i] = b.Count, b.Label
		if format.Finite(b.Count) && b.Count > 0 {
			total += b.Count
			if mode < 0 || b.Count > c.Bins[mode].Count {
				mode = i
			}
		}
	}
	passLabel := orDefault(c.PassLabel, "Pass mark "+format.Percent(c.PassMark))
	summary := ""
	if total > 0 {
		summary = fmt.Sprintf("%s in %d bins. Most common: %s, %s.", format.Value(total, c.Unit), len(c.Bins),
			c.Bins[mode].Label, format.Value(c.Bins[mode].Count, c.Unit))
		if c.PassMark > 0 {
			passed, aligned := 0.0, false
			for _, b := range c.Bins {
				if b.From == c.PassMark {
					aligned = true
				}
				if b.From >= c.PassMark && format.Finite(b.Count) {
					passed += b.Count
				}
			}
			if aligned {
				summary += fmt.Sprintf(" %s: %s at or above it (%s).", passLabel,
					format.Value(passed, c.Unit), format.Percent(passed/total*100))
			}
		}
	}
	l := histogramLayout{barsLayout: barsLayout{frame: newFrame(c.ID, c.Title, c.Description, summary)}}
	l.Table = table{Caption: c.Title, Head: []string{orDefault(c.Category, "Score"), columnHeader(c.Unit)}}
	for _, b := range c.Bins {
		l.Table.Rows = append(l.Table.Rows, tableRow{Cells: []string{b.Label, format.Value(b.Count, c.Unit)}})
	}
	if total <= 0 {
		l.Empty = true
		return l
	}
	l.H = vbHeight
	l.Axis = newValueAxis(0, maxFinite(counts), allIntegers(counts), "", 30, vbHeight-28)
	// The last label (the latest is always shown) is wider than its bar on
	// a phone: narrow the plot so that it fits under it.
	if n := len(labels); n > 0 {
		half := textWidth(labels[n-1], fontMobile)/2 + 1
		l.Axis.Right -= math.Max(0, math.Min(vbWidth/4, half-(l.Axis.Right-l.Axis.Left)/float64(n)/2))
	}
	bd := band{Start: l.Axis.Left, Length: l.Axis.Right - l.Axis.Left, N: len(c.Bins)}
	xs := make([]float64, len(c.Bins))
	for i, b := range c.Bins {
		xs[i] = bd.center(i)
		x, w := bd.inner(i, 0.92, 0)
		y, h := l.Axis.barSpan(b.Count)
		l.Marks = append(l.Marks, mark{
			X: x, Y: y, W: w, H: h,
			HitX: bd.at(i), HitY: l.Axis.Top, HitW: bd.width(), HitH: l.Axis.Base - l.Axis.Top,
			Fill: "fill-brand", Value: raw(b.Count), Tip: tip("", b.Label, b.Count, c.Unit),
		})
		if format.Finite(b.Count) && b.Count > 0 {
			l.Values = append(l.Values, axisLabel{X: xs[i], Y: y - 5, Text: shortValue(b.Count, ""), Anchor: "middle"})
		}
	}
	l.Values = fitValues(l.Values, bd.width())
	l.Labels = categoryLabels(labels, xs, bd.width(), l.Axis.Base+20, true)
	if x, ok := passX(c.Bins, c.PassMark, bd); ok && c.PassMark > 0 {
		l.Pass, l.PassX = true, x
		w := textWidth(passLabel, fontMobile)
		l.PassLabel = axisLabel{X: x + 4, Y: 13, Text: passLabel, Anchor: "start"}
		if x+4+w > vbWidth {
			l.PassLabel.X, l.PassLabel.Anchor = x-4, "end"
		}
	}
	return l
}

// passX is the x position of score pm on the bins' axis, interpolated
// within the bin that contains it; ok is false when pm is outside the bins
// or the bins have no From/To.
func passX(bins []Bin, pm float64, bd band) (x float64, ok bool) {
	if !format.Finite(pm) {
		return 0, false
	}
	for i, b := range bins {
		if b.To <= b.From {
			continue
		}
		last := i == len(bins)-1
		if pm >= b.From && (pm < b.To || (last && pm == b.To)) {
			return bd.at(i) + (pm-b.From)/(b.To-b.From)*bd.width(), true
		}
	}
	return 0, false
}

// href is the mark's link: Href, or HxGet when only that is set.
func (m mark) href() string { return orDefault(m.Href, m.HxGet) }

// href is the row's link: Href, or HxGet when only that is set.
func (r tableRow) href() string { return orDefault(r.Href, r.HxGet) }

// kpiHref is the tile's link: Href, or HxGet when only that is set.
func kpiHref(k KPI) string { return orDefault(k.Href, k.HxGet) }

// baselineAttr is the dominant-baseline of a text group.
func baselineAttr(central bool) string {
	if central {
		return "central"
	}
	return "auto"
}
