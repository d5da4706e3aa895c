package charts

import (
	"github.com/learnlens/learnlens/views/format"

	"bytes"
	"context"
	"math"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/a-h/templ"
	"golang.org/x/net/html"
)

// ---------------------------------------------------------------- helpers

// doc renders c and parses the result.
func doc(t *testing.T, c templ.Component) (*html.Node, string) {
	t.Helper()
	var buf bytes.Buffer
	if err := c.Render(context.Background(), &buf); err != nil {
		t.Fatalf("render: %v", err)
	}
	n, err := html.Parse(strings.NewReader(buf.String()))
	if err != nil {
		t.Fatalf("parse: %v", err)
	}
	return n, buf.String()
}

func attr(n *html.Node, key string) (string, bool) {
	for _, a := range n.Attr {
		if a.Key == key {
			return a.Val, true
		}
	}
	return "", false
}

func val(n *html.Node, key string) string { v, _ := attr(n, key); return v }

func findAll(n *html.Node, pred func(*html.Node) bool) []*html.Node {
	var out []*html.Node
	var walk func(*html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.ElementNode && pred(n) {
			out = append(out, n)
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(n)
	return out
}

func tag(name string) func(*html.Node) bool {
	return func(n *html.Node) bool { return n.Data == name }
}

func withAttr(key string) func(*html.Node) bool {
	return func(n *html.Node) bool { _, ok := attr(n, key); return ok }
}

func byTestID(t *testing.T, root *html.Node, id string) *html.Node {
	t.Helper()
	got := findAll(root, func(n *html.Node) bool { return val(n, "data-testid") == id })
	if len(got) != 1 {
		t.Fatalf("data-testid=%q: %d elements, want 1", id, len(got))
	}
	return got[0]
}

func byID(root *html.Node, id string) *html.Node {
	got := findAll(root, func(n *html.Node) bool { return val(n, "id") == id })
	if len(got) != 1 {
		return nil
	}
	return got[0]
}

func text(n *html.Node) string {
	var b strings.Builder
	var walk func(*html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.TextNode {
			b.WriteString(n.Data)
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(n)
	return strings.Join(strings.Fields(b.String()), " ")
}

// titleOf is the <title> tooltip of a drawn mark: its own or its
// enclosing group's.
func titleOf(n *html.Node) string {
	for p := n; p != nil; p = p.Parent {
		for c := p.FirstChild; c != nil; c = c.NextSibling {
			if c.Type == html.ElementNode && c.Data == "title" {
				return text(c)
			}
		}
		if p.Data == "svg" {
			break
		}
	}
	return ""
}

// marks are the drawn data elements (bars, segments, points, cells).
func marks(root *html.Node) []*html.Node { return findAll(root, withAttr("data-value")) }

// tableRows are the table view's body rows as cell texts.
func tableRows(t *testing.T, root *html.Node, id string) ([]string, [][]string) {
	t.Helper()
	tbl := byTestID(t, root, "chart-"+id+"-table")
	if !strings.Contains(" "+val(tbl, "class")+" ", " table ") {
		t.Errorf("table class = %q", val(tbl, "class"))
	}
	var head []string
	for _, th := range findAll(tbl, tag("th")) {
		if val(th, "scope") == "col" {
			head = append(head, text(th))
		}
	}
	var rows [][]string
	for _, tb := range findAll(tbl, tag("tbody")) {
		for _, tr := range findAll(tb, tag("tr")) {
			var cells []string
			for c := tr.FirstChild; c != nil; c = c.NextSibling {
				if c.Type == html.ElementNode {
					cells = append(cells, text(c))
				}
			}
			rows = append(rows, cells)
		}
	}
	return head, rows
}

// nanInfRE finds NaN or Inf written as a word (not "Information").
var nanInfRE = regexp.MustCompile(`(^|[^A-Za-z])(NaN|[+-]?Inf)([^A-Za-z]|$)`)

var numberRE = regexp.MustCompile(`-?[0-9]*\.?[0-9]+(?:e[-+]?[0-9]+)?`)

// checkChart asserts what every non-empty chart has: the heading, an
// accessible svg with viewBox and no fixed size, the description, finite
// coordinates, and no NaN or Inf anywhere.
func checkChart(t *testing.T, root *html.Node, out, id, title string) *html.Node {
	t.Helper()
	card := byTestID(t, root, "chart-"+id)
	h3 := findAll(card, tag("h3"))
	if len(h3) != 1 || text(h3[0]) != title || val(h3[0], "id") != "chart-"+id+"-title" {
		t.Fatalf("heading: %d h3, want one %q with id", len(h3), title)
	}
	svgs := findAll(card, func(n *html.Node) bool { return n.Data == "svg" && val(n, "role") == "img" })
	if len(svgs) != 1 {
		t.Fatalf("%d svg role=img, want 1", len(svgs))
	}
	svg := svgs[0]
	if got := val(svg, "aria-labelledby"); got != "chart-"+id+"-title chart-"+id+"-desc" {
		t.Errorf("aria-labelledby = %q", got)
	}
	for _, ref := range strings.Fields(val(svg, "aria-labelledby")) {
		if byID(root, ref) == nil {
			t.Errorf("aria-labelledby refers to format.Missing id %q", ref)
		}
	}
	desc := byID(root, "chart-"+id+"-desc")
	if desc == nil || desc.Data != "desc" || desc.Parent != svg || text(desc) == "" {
		t.Errorf("format.Missing <desc> in the svg")
	}
	cls := " " + val(svg, "class") + " "
	if !strings.Contains(cls, " w-full ") || !strings.Contains(cls, " h-auto ") {
		t.Errorf("svg class = %q", cls)
	}
	if _, ok := attr(svg, "width"); ok {
		t.Error("svg has a fixed width")
	}
	vb := strings.Fields(val(svg, "viewBox"))
	if len(vb) != 4 {
		t.Fatalf("viewBox = %q", val(svg, "viewBox"))
	}
	for i, s := range vb {
		f, err := strconv.ParseFloat(s, 64)
		if err != nil || !format.Finite(f) || (i >= 2 && f <= 0) {
			t.Errorf("viewBox value %q", s)
		}
	}
	if !strings.Contains(out, `viewBox="`) {
		t.Error("viewBox must be written in camel case")
	}
	if m := nanInfRE.FindString(out); m != "" {
		t.Errorf("output contains %q", m)
	}
	checkGeometry(t, svg)
	if len(findAll(card, withAttr("data-testid"))) == 0 {
		t.Error("no test ids")
	}
	return card
}

// checkGeometry parses every coordinate of the svg.
func checkGeometry(t *testing.T, svg *html.Node) {
	t.Helper()
	for _, n := range findAll(svg, func(*html.Node) bool { return true }) {
		for _, a := range n.Attr {
			switch a.Key {
			case "x", "y", "width", "height", "cx", "cy", "r", "x1", "x2", "y1", "y2", "rx":
				f, err := strconv.ParseFloat(a.Val, 64)
				if err != nil || !format.Finite(f) {
					t.Errorf("<%s %s=%q>", n.Data, a.Key, a.Val)
				}
				if (a.Key == "width" || a.Key == "height" || a.Key == "r") && f < 0 {
					t.Errorf("<%s %s=%q> is negative", n.Data, a.Key, a.Val)
				}
			case "d":
				if n.Data != "path" {
					continue
				}
				rest := numberRE.ReplaceAllString(a.Val, "")
				if strings.Trim(rest, "ML ") != "" {
					t.Errorf("path d=%q has unexpected content %q", a.Val, rest)
				}
				for _, s := range numberRE.FindAllString(a.Val, -1) {
					if f, err := strconv.ParseFloat(s, 64); err != nil || !format.Finite(f) {
						t.Errorf("path coordinate %q", s)
					}
				}
			}
		}
	}
}

// checkEmpty asserts the empty state: heading, message, no svg or table.
func checkEmpty(t *testing.T, root *html.Node, id, title string) {
	t.Helper()
	card := byTestID(t, root, "chart-"+id)
	if h3 := findAll(card, tag("h3")); len(h3) != 1 || text(h3[0]) != title {
		t.Errorf("empty chart lost its heading")
	}
	e := byTestID(t, card, "chart-"+id+"-empty")
	if !strings.Contains(text(e), "No data for these filters") {
		t.Errorf("empty text = %q", text(e))
	}
	if n := len(findAll(card, func(n *html.Node) bool { return val(n, "role") == "img" })); n != 0 {
		t.Errorf("empty chart has %d role=img", n)
	}
	if n := len(findAll(card, tag("table"))) + len(marks(card)); n != 0 {
		t.Errorf("empty chart has a table or marks")
	}
}

func values(ns []*html.Node) []string {
	var out []string
	for _, n := range ns {
		out = append(out, val(n, "data-value"))
	}
	return out
}

func floatAttr(t *testing.T, n *html.Node, key string) float64 {
	t.Helper()
	f, err := strconv.ParseFloat(val(n, key), 64)
	if err != nil {
		t.Fatalf("<%s %s=%q>: %v", n.Data, key, val(n, key), err)
	}
	return f
}

func equal(a, b []string) bool { return strings.Join(a, "\x00") == strings.Join(b, "\x00") }

// ---------------------------------------------------------------- Bars

func TestBarsVertical(t *testing.T) {
	c := sampleMonthlyBars()
	root, out := doc(t, Bars(c))
	card := checkChart(t, root, out, c.ID, c.Title)
	ms := marks(card)
	if len(ms) != len(c.Bars) {
		t.Fatalf("%d bars, want %d", len(ms), len(c.Bars))
	}
	for i, m := range ms {
		b := c.Bars[i]
		if got := val(m, "data-value"); got != strconv.FormatFloat(b.Value, 'f', -1, 64) {
			t.Errorf("bar %d data-value %q", i, got)
		}
		if want := b.Label + ": " + format.Number(b.Value) + " completed"; titleOf(m) != want {
			t.Errorf("bar %d tooltip %q, want %q", i, titleOf(m), want)
		}
		if !strings.Contains(val(m, "class"), "fill-brand") {
			t.Errorf("bar class %q", val(m, "class"))
		}
	}
	// Taller bars for bigger values, all on one baseline.
	base := floatAttr(t, ms[0], "y") + floatAttr(t, ms[0], "height")
	for i := range ms {
		for j := range ms {
			if c.Bars[i].Value > c.Bars[j].Value && floatAttr(t, ms[i], "height") <= floatAttr(t, ms[j], "height") {
				t.Errorf("bar %d (%v) not taller than bar %d (%v)", i, c.Bars[i].Value, j, c.Bars[j].Value)
			}
		}
		if b := floatAttr(t, ms[i], "y") + floatAttr(t, ms[i], "height"); math.Abs(b-base) > 0.02 {
			t.Errorf("bar %d ends at %v, others at %v", i, b, base)
		}
	}
	head, rows := tableRows(t, root, c.ID)
	if !equal(head, []string{"Month", "Completed"}) {
		t.Errorf("table head %q", head)
	}
	if len(rows) != len(c.Bars) {
		t.Fatalf("%d table rows", len(rows))
	}
	for i, r := range rows {
		if want := []string{c.Bars[i].Label, format.Value(c.Bars[i].Value, c.Unit)}; !equal(r, want) {
			t.Errorf("row %d = %q, want %q", i, r, want)
		}
	}
	if rows[8][1] != "988 completed" || rows[10][1] != "1,725 completed" {
		t.Errorf("thousands separators: %q %q", rows[8], rows[10])
	}
	// Axis ticks are round numbers.
	var ticks []string
	for _, g := range findAll(card, func(n *html.Node) bool { return n.Data == "g" && val(n, "text-anchor") == "end" }) {
		for _, tx := range findAll(g, tag("text")) {
			ticks = append(ticks, text(tx))
		}
	}
	if !equal(ticks, []string{"0", "500", "1,000", "1,500", "2,000"}) {
		t.Errorf("ticks %q", ticks)
	}
	if !strings.Contains(text(byID(root, "chart-"+c.ID+"-desc")), c.Description) {
		t.Error("description format.Missing from <desc>")
	}
	if !strings.Contains(text(byID(root, "chart-"+c.ID+"-desc")), "Highest: Feb, 1,725 completed") {
		t.Errorf("summary: %q", text(byID(root, "chart-"+c.ID+"-desc")))
	}
}

func TestBarsHorizontalLinks(t *testing.T) {
	c := sampleCourseBars()
	c.Bars[5].HxGet, c.Bars[5].HxTarget = "", "" // a plain link
	root, out := doc(t, Bars(c))
	card := checkChart(t, root, out, c.ID, c.Title)
	ms := marks(card)
	if len(ms) != len(c.Bars) {
		t.Fatalf("%d bars, want %d", len(ms), len(c.Bars))
	}
	svg := findAll(card, tag("svg"))[0]
	links := findAll(svg, tag("a"))
	if len(links) != len(c.Bars) {
		t.Fatalf("%d svg links, want %d", len(links), len(c.Bars))
	}
	for i, a := range links {
		b := c.Bars[i]
		if val(a, "href") != b.Href || val(a, "tabindex") != "-1" {
			t.Errorf("link %d: href %q tabindex %q", i, val(a, "href"), val(a, "tabindex"))
		}
		if b.HxGet != "" {
			if val(a, "hx-get") != b.HxGet || val(a, "hx-target") != "#main" || val(a, "hx-push-url") != b.Href {
				t.Errorf("link %d hx attributes: %v", i, a.Attr)
			}
		} else if _, ok := attr(a, "hx-get"); ok {
			t.Errorf("link %d has hx-get", i)
		}
		if len(findAll(a, withAttr("data-value"))) != 1 {
			t.Errorf("link %d does not wrap its bar", i)
		}
	}
	// The longest bar spans the track; the others are proportional.
	widths := make([]float64, len(ms))
	for i, m := range ms {
		widths[i] = floatAttr(t, m, "width")
	}
	for i := range widths {
		want := widths[3] * c.Bars[i].Value / c.Bars[3].Value
		if math.Abs(widths[i]-want) > 0.05 {
			t.Errorf("bar %d width %v, want %v", i, widths[i], want)
		}
	}
	// Labels: the long course name is shortened in the svg, whole in the tooltip and table.
	if !strings.Contains(out, "Information security awareness 2026") {
		t.Error("long label format.Missing")
	}
	if titleOf(ms[3]) != c.Bars[3].Label+": 2,210 completed" {
		t.Errorf("tooltip %q", titleOf(ms[3]))
	}
	_, rows := tableRows(t, root, c.ID)
	tbl := byTestID(t, root, "chart-"+c.ID+"-table")
	tlinks := findAll(tbl, tag("a"))
	if len(rows) != len(c.Bars) || len(tlinks) != len(c.Bars) {
		t.Fatalf("%d rows, %d links in the table", len(rows), len(tlinks))
	}
	if val(tlinks[0], "href") != c.Bars[0].Href || val(tlinks[0], "hx-get") != c.Bars[0].HxGet || val(tlinks[0], "hx-push-url") != c.Bars[0].Href {
		t.Errorf("table link attributes %v", tlinks[0].Attr)
	}
	if rows[3][0] != c.Bars[3].Label {
		t.Errorf("table label %q", rows[3][0])
	}
}

// TestBarsOwnColours: a bar with a colour of its own is drawn in it, the
// others in the chart's, and the legend names each colour.
func TestBarsOwnColours(t *testing.T) {
	c := BarChart{ID: "teams", Title: "Completion rate", Unit: "%", Max: 100, Horizontal: true, Color: Emerald,
		Bars:   []Bar{{Label: "North", Value: 91, Color: Emerald}, {Label: "South", Value: 33, Color: Rose}, {Label: "East", Value: 70}},
		Legend: []LegendEntry{{Name: "on track", Color: Emerald}, {Name: "lagging", Color: Rose}}}
	root, out := doc(t, Bars(c))
	card := checkChart(t, root, out, c.ID, c.Title)
	ms := marks(card)
	if len(ms) != 3 {
		t.Fatalf("%d bars", len(ms))
	}
	for i, want := range []string{"fill-emerald-600", "fill-rose-600", "fill-emerald-600"} {
		if !strings.Contains(val(ms[i], "class"), want) {
			t.Errorf("bar %d class %q, want %s", i, val(ms[i], "class"), want)
		}
	}
	legend := findAll(card, func(n *html.Node) bool { return n.Data == "ul" })
	if len(legend) != 1 {
		t.Fatalf("%d legends", len(legend))
	}
	items := findAll(legend[0], tag("li"))
	if len(items) != 2 || text(items[0]) != "on track" || text(items[1]) != "lagging" || !strings.Contains(out, "bg-rose-600") {
		t.Errorf("legend %q", text(legend[0]))
	}
	// Without a legend, a bar chart has none.
	c.Legend = nil
	root, out = doc(t, Bars(c))
	if n := len(findAll(checkChart(t, root, out, c.ID, c.Title), func(n *html.Node) bool { return n.Data == "ul" })); n != 0 {
		t.Errorf("%d legends without entries", n)
	}
}

func TestBarsUnsafeLink(t *testing.T) {
	c := BarChart{ID: "x", Title: "X", Bars: []Bar{{Label: "a", Value: 1, Href: "javascript:alert(1)"}}}
	_, out := doc(t, Bars(c))
	if strings.Contains(out, "javascript:") {
		t.Error("javascript: URL was not sanitised")
	}
}

func TestBarsSingleAndEmpty(t *testing.T) {
	for _, horizontal := range []bool{false, true} {
		c := BarChart{ID: "one", Title: "One course", Unit: "%", Horizontal: horizontal,
			Bars: []Bar{{Label: "Manual handling", Value: 72.45}}}
		root, out := doc(t, Bars(c))
		card := checkChart(t, root, out, "one", "One course")
		ms := marks(card)
		if len(ms) != 1 || titleOf(ms[0]) != "Manual handling: 72.5%" {
			t.Fatalf("single bar: %d marks, tooltip %q", len(ms), titleOf(ms[0]))
		}
		if w := floatAttr(t, ms[0], "width"); w <= 0 || w > vbWidth {
			t.Errorf("single bar width %v", w)
		}
		if _, rows := tableRows(t, root, "one"); len(rows) != 1 || !equal(rows[0], []string{"Manual handling", "72.5%"}) {
			t.Errorf("table %q", rows)
		}

		root, _ = doc(t, Bars(BarChart{ID: "none", Title: "Nothing", Horizontal: horizontal}))
		checkEmpty(t, root, "none", "Nothing")
	}
}

func TestBarsZerosAndBadValues(t *testing.T) {
	c := BarChart{ID: "z", Title: "Zeros", Unit: "learners", Bars: []Bar{
		{Label: "a", Value: 0}, {Label: "b", Value: 0}, {Label: "c", Value: math.NaN()},
		{Label: "d", Value: math.Inf(1)}, {Label: "e", Value: -4},
	}}
	for _, horizontal := range []bool{false, true} {
		c.Horizontal = horizontal
		root, out := doc(t, Bars(c))
		card := checkChart(t, root, out, "z", "Zeros")
		ms := marks(card)
		if len(ms) != 5 {
			t.Fatalf("%d marks", len(ms))
		}
		for i, m := range ms {
			if !horizontal && floatAttr(t, m, "height") != 0 {
				t.Errorf("bar %d has height %v", i, floatAttr(t, m, "height"))
			}
			if horizontal && floatAttr(t, m, "width") != 0 {
				t.Errorf("bar %d has width %v", i, floatAttr(t, m, "width"))
			}
		}
		if !equal(values(ms), []string{"0", "0", "", "", "-4"}) {
			t.Errorf("data-values %q", values(ms))
		}
		_, rows := tableRows(t, root, "z")
		if rows[2][1] != format.Missing || rows[3][1] != format.Missing || rows[0][1] != "0 learners" {
			t.Errorf("rows %q", rows)
		}
	}
}

func TestBarsMax(t *testing.T) {
	c := BarChart{ID: "m", Title: "M", Unit: "%", Max: 100, Bars: []Bar{{Label: "a", Value: 50}, {Label: "b", Value: 130}}}
	root, _ := doc(t, Bars(c))
	ms := marks(root)
	h0, h1 := floatAttr(t, ms[0], "height"), floatAttr(t, ms[1], "height")
	if math.Abs(h1-2*h0) > 0.05 {
		t.Errorf("Max=100: heights %v, %v; the 130%% bar should be clamped to twice the 50%% bar", h0, h1)
	}
	c.Horizontal = true
	root, _ = doc(t, Bars(c))
	ms = marks(root)
	w0, w1 := floatAttr(t, ms[0], "width"), floatAttr(t, ms[1], "width")
	if math.Abs(w1-2*w0) > 0.05 {
		t.Errorf("horizontal Max=100: widths %v, %v", w0, w1)
	}
}

// ---------------------------------------------------------------- StackedBars

func TestStackedBars(t *testing.T) {
	for _, c := range []StackedBarChart{sampleDepartments(), sampleStatus()} {
		root, out := doc(t, StackedBars(c))
		card := checkChart(t, root, out, c.ID, c.Title)
		var want []string
		for i, cat := range c.Categories {
			for _, s := range c.Series {
				if v := s.Values[i]; v > 0 {
					want = append(want, s.Name+" · "+cat+": "+format.Value(v, c.Unit))
				}
			}
		}
		ms := marks(card)
		var got []string
		for _, m := range ms {
			got = append(got, titleOf(m))
			if !strings.Contains(val(m, "class"), "stroke-white") {
				t.Errorf("segment without white edge: %q", val(m, "class"))
			}
		}
		if !equal(got, want) {
			t.Errorf("%s tooltips:\n got %q\nwant %q", c.ID, got, want)
		}
		// Legend: one entry per series, with its colour.
		legend := findAll(card, func(n *html.Node) bool { return n.Data == "ul" })
		if len(legend) != 1 {
			t.Fatalf("%d legends", len(legend))
		}
		items := findAll(legend[0], tag("li"))
		if len(items) != len(c.Series) {
			t.Fatalf("%d legend items", len(items))
		}
		for i, li := range items {
			if text(li) != c.Series[i].Name || !strings.Contains(out, c.Series[i].Color.swatch()) {
				t.Errorf("legend item %q", text(li))
			}
		}
		head, rows := tableRows(t, root, c.ID)
		if len(head) != len(c.Series)+2 || head[len(head)-1] != "Total" {
			t.Errorf("head %q", head)
		}
		for i, r := range rows {
			total := 0.0
			for j, s := range c.Series {
				total += s.Values[i]
				if r[j+1] != format.Value(s.Values[i], c.Unit) {
					t.Errorf("row %d col %d = %q", i, j+1, r[j+1])
				}
			}
			if r[0] != c.Categories[i] || r[len(r)-1] != format.Value(total, c.Unit) {
				t.Errorf("row %d = %q", i, r)
			}
		}
	}
}

func TestStackedSegmentsAddUp(t *testing.T) {
	c := sampleDepartments()
	root, _ := doc(t, StackedBars(c))
	ms := marks(root)
	// Sales: completed 420, in progress 80, overdue 25 — stacked upwards.
	s0, s1, s2 := ms[0], ms[1], ms[2]
	if y0, y1, h1 := floatAttr(t, s0, "y"), floatAttr(t, s1, "y"), floatAttr(t, s1, "height"); math.Abs(y1+h1-y0) > 0.02 {
		t.Errorf("segment 1 does not sit on segment 0: %v + %v != %v", y1, h1, y0)
	}
	h0, h2 := floatAttr(t, s0, "height"), floatAttr(t, s2, "height")
	if math.Abs(h0/h2-420.0/25) > 0.1 {
		t.Errorf("heights not proportional: %v / %v", h0, h2)
	}
}

func TestStackedSingleAndEmpty(t *testing.T) {
	c := StackedBarChart{ID: "s1", Title: "One", Unit: "learners", Categories: []string{"Only"},
		Series: []Series{{Name: "Done", Values: []float64{3}}, {Name: "Short", Values: nil}}}
	for _, h := range []bool{false, true} {
		c.Horizontal = h
		root, out := doc(t, StackedBars(c))
		checkChart(t, root, out, "s1", "One")
		if ms := marks(root); len(ms) != 1 || titleOf(ms[0]) != "Done · Only: 3 learners" {
			t.Errorf("marks %d", len(ms))
		}
		if _, rows := tableRows(t, root, "s1"); !equal(rows[0], []string{"Only", "3 learners", format.Missing, "3 learners"}) {
			t.Errorf("row %q", rows[0])
		}
	}
	for _, e := range []StackedBarChart{
		{ID: "e", Title: "E"},
		{ID: "e", Title: "E", Categories: []string{"a"}},
		{ID: "e", Title: "E", Series: []Series{{Name: "x"}}},
	} {
		root, _ := doc(t, StackedBars(e))
		checkEmpty(t, root, "e", "E")
	}
}

// ---------------------------------------------------------------- Line

func TestLine(t *testing.T) {
	c := sampleLine()
	root, out := doc(t, Line(c))
	card := checkChart(t, root, out, c.ID, c.Title)
	paths := findAll(card, func(n *html.Node) bool { return n.Data == "path" && val(n, "fill") == "none" })
	if len(paths) != 2 {
		t.Fatalf("%d paths", len(paths))
	}
	if _, ok := attr(paths[0], "stroke-dasharray"); ok {
		t.Error("main series is dashed")
	}
	if _, ok := attr(paths[1], "stroke-dasharray"); !ok {
		t.Error("comparison series is not dashed")
	}
	if !strings.Contains(val(paths[0], "class"), "stroke-brand") || !strings.Contains(val(paths[1], "class"), "stroke-slate-500") {
		t.Errorf("colours %q %q", val(paths[0], "class"), val(paths[1], "class"))
	}
	ms := marks(card)
	if len(ms) != 29+30 { // the last value of the main series is format.Missing
		t.Fatalf("%d points, want 59", len(ms))
	}
	if titleOf(ms[0]) != "Last 30 days · 13 Feb: "+format.Value(c.Series[0].Values[0], "learners") {
		t.Errorf("tooltip %q", titleOf(ms[0]))
	}
	if titleOf(ms[29]) != "Previous 30 days · 13 Feb: "+format.Value(c.Series[1].Values[0], "learners") {
		t.Errorf("tooltip %q", titleOf(ms[29]))
	}
	// Points left to right, higher values higher up.
	for i := 1; i < 29; i++ {
		if floatAttr(t, ms[i], "cx") <= floatAttr(t, ms[i-1], "cx") {
			t.Errorf("point %d not right of point %d", i, i-1)
		}
		a, b := c.Series[0].Values[i], c.Series[0].Values[i-1]
		if ya, yb := floatAttr(t, ms[i], "cy"), floatAttr(t, ms[i-1], "cy"); (a > b) != (ya < yb) && a != b {
			t.Errorf("point %d (%v at y %v) vs %d (%v at y %v)", i, a, ya, i-1, b, yb)
		}
	}
	legend := findAll(card, tag("li"))
	if len(legend) != 2 || text(legend[0]) != "Last 30 days" || text(legend[1]) != "Previous 30 days" {
		t.Errorf("legend %d", len(legend))
	}
	if len(findAll(legend[1], func(n *html.Node) bool { _, ok := attr(n, "stroke-dasharray"); return ok })) != 1 {
		t.Error("legend does not show the dashed line")
	}
	head, rows := tableRows(t, root, c.ID)
	if !equal(head, []string{"Day", "Last 30 days", "Previous 30 days"}) || len(rows) != 30 {
		t.Fatalf("head %q, %d rows", head, len(rows))
	}
	if rows[29][1] != format.Missing || rows[0][0] != "13 Feb" {
		t.Errorf("rows %q %q", rows[0], rows[29])
	}
	// Ticks: round numbers from 0.
	var ticks []string
	for _, g := range findAll(card, func(n *html.Node) bool { return n.Data == "g" && val(n, "text-anchor") == "end" }) {
		for _, tx := range findAll(g, tag("text")) {
			ticks = append(ticks, text(tx))
		}
	}
	if !equal(ticks, []string{"0", "200", "400", "600", "800"}) {
		t.Errorf("ticks %q", ticks)
	}
}

func TestLineGapsAndNegatives(t *testing.T) {
	c := LineChart{ID: "g", Title: "Gaps", Labels: []string{"a", "b", "c", "d", "e"},
		Series: []Series{{Name: "s", Values: []float64{1.5, math.NaN(), -2, 3}}}} // shorter than Labels
	root, out := doc(t, Line(c))
	card := checkChart(t, root, out, "g", "Gaps")
	paths := findAll(card, tag("path"))
	if d := val(paths[0], "d"); strings.Count(d, "M") != 2 || strings.Count(d, "L") != 1 {
		t.Errorf("path d=%q: want two pieces", d)
	}
	if ms := marks(card); len(ms) != 3 {
		t.Errorf("%d points", len(ms))
	}
	if !strings.Contains(out, ">-2<") {
		t.Error("negative tick format.Missing")
	}
	_, rows := tableRows(t, root, "g")
	if len(rows) != 5 || rows[4][1] != format.Missing || rows[0][1] != "1.5" {
		t.Errorf("rows %q", rows)
	}
}

func TestLinePercent(t *testing.T) {
	c := sampleRateLine()
	root, out := doc(t, Line(c))
	checkChart(t, root, out, c.ID, c.Title)
	if !strings.Contains(out, ">100%<") || !strings.Contains(out, ">0%<") {
		t.Error("percent ticks format.Missing")
	}
	if titleOf(marks(root)[0]) != "Completion rate · W1: 61.2%" {
		t.Errorf("tooltip %q", titleOf(marks(root)[0]))
	}
}

func TestLineSingleAndEmpty(t *testing.T) {
	c := LineChart{ID: "p", Title: "Today", Unit: "learners", Labels: []string{"14 Mar"}, Series: []Series{{Name: "Today", Values: []float64{212}}}}
	root, out := doc(t, Line(c))
	card := checkChart(t, root, out, "p", "Today")
	if ms := marks(card); len(ms) != 1 || titleOf(ms[0]) != "Today · 14 Mar: 212 learners" {
		t.Errorf("single point")
	}
	if len(findAll(card, tag("li"))) != 0 {
		t.Error("a single series needs no legend")
	}
	for _, e := range []LineChart{
		{ID: "e", Title: "E"},
		{ID: "e", Title: "E", Labels: []string{"a", "b"}},
		{ID: "e", Title: "E", Labels: []string{"a", "b"}, Series: []Series{{Name: "x", Values: []float64{math.NaN()}}}},
		{ID: "e", Title: "E", Series: []Series{{Name: "x", Values: []float64{1, 2}}}},
	} {
		root, _ := doc(t, Line(e))
		checkEmpty(t, root, "e", "E")
	}
}

// ---------------------------------------------------------------- Heatmap

func TestHeatmap(t *testing.T) {
	c := sampleHeatmap()
	root, out := doc(t, Heatmap(c))
	card := checkChart(t, root, out, c.ID, c.Title)
	cells := marks(card)
	if len(cells) != 7*24 {
		t.Fatalf("%d cells", len(cells))
	}
	max := 0.0
	for d := range c.Values {
		for h := range c.Values[d] {
			max = math.Max(max, c.Values[d][h])
		}
	}
	for i, cell := range cells {
		d, h := i/24, i%24
		v := c.Values[d][h]
		if val(cell, "data-value") != raw(v) {
			t.Errorf("cell %d,%d = %q", d, h, val(cell, "data-value"))
		}
		if want := heatFill(heatLevel(v, max)); val(cell, "class") != want {
			t.Errorf("cell %d,%d class %q, want %q", d, h, val(cell, "class"), want)
		}
	}
	if got := titleOf(cells[1*24+14]); got != "Tuesday 14:00–15:00: "+format.Value(c.Values[1][14], "statements") {
		t.Errorf("tooltip %q", got)
	}
	if got := titleOf(cells[6*24+23]); !strings.HasPrefix(got, "Sunday 23:00–24:00: ") {
		t.Errorf("tooltip %q", got)
	}
	// The busiest cell is the full brand colour, empty cells are grey.
	var full, zero int
	for _, cell := range cells {
		switch val(cell, "class") {
		case "fill-brand":
			full++
		case "fill-slate-100":
			zero++
		}
	}
	if full == 0 || zero == 0 {
		t.Errorf("full %d zero %d", full, zero)
	}
	// Day labels Mon–Sun.
	var days []string
	for _, tx := range findAll(card, func(n *html.Node) bool { return n.Data == "text" && val(n, "dominant-baseline") == "central" }) {
		days = append(days, text(tx))
	}
	if !equal(days, dayShort[:]) {
		t.Errorf("days %q", days)
	}
	legend := findAll(card, func(n *html.Node) bool { return n.Data == "ul" && val(n, "aria-label") == "Colour steps" })
	if len(legend) != 1 || len(findAll(legend[0], tag("li"))) != 6 {
		t.Fatalf("legend")
	}
	head, rows := tableRows(t, root, c.ID)
	if len(head) != 25 || head[0] != "Day" || head[1] != "00" || head[24] != "23" || len(rows) != 7 {
		t.Fatalf("table %d×%d", len(head), len(rows))
	}
	for d, r := range rows {
		if r[0] != dayShort[d] || len(r) != 25 {
			t.Errorf("row %d = %q", d, r)
		}
		for h := 0; h < 24; h++ {
			if r[h+1] != format.Number(c.Values[d][h]) {
				t.Errorf("row %d hour %d = %q", d, h, r[h+1])
			}
		}
	}
	if !strings.Contains(text(byID(root, "chart-"+c.ID+"-desc")), "Busiest hour: ") {
		t.Error("summary format.Missing")
	}
}

func TestHeatmapSingleAndEmpty(t *testing.T) {
	var v [7][24]float64
	v[2][9] = 5
	v[3][3] = math.NaN()
	v[4][4] = -7
	root, out := doc(t, Heatmap(HeatmapChart{ID: "h1", Title: "One", Unit: "statements", Values: v}))
	card := checkChart(t, root, out, "h1", "One")
	cells := marks(card)
	if len(cells) != 168 {
		t.Fatalf("%d cells", len(cells))
	}
	for i, cell := range cells {
		want := "fill-slate-100"
		if i == 2*24+9 {
			want = "fill-brand"
		}
		if val(cell, "class") != want {
			t.Errorf("cell %d class %q", i, val(cell, "class"))
		}
	}
	if titleOf(cells[2*24+9]) != "Wednesday 09:00–10:00: 5 statements" {
		t.Errorf("tooltip %q", titleOf(cells[2*24+9]))
	}
	root, _ = doc(t, Heatmap(HeatmapChart{ID: "h0", Title: "None"}))
	checkEmpty(t, root, "h0", "None")
}

// ---------------------------------------------------------------- Histogram

func TestHistogram(t *testing.T) {
	c := sampleScores()
	root, out := doc(t, Histogram(c))
	card := checkChart(t, root, out, c.ID, c.Title)
	ms := marks(card)
	if len(ms) != len(c.Bins) {
		t.Fatalf("%d bars", len(ms))
	}
	for i, m := range ms {
		if want := c.Bins[i].Label + ": " + format.Value(c.Bins[i].Count, "learners"); titleOf(m) != want {
			t.Errorf("tooltip %q, want %q", titleOf(m), want)
		}
	}
	pass := findAll(card, withAttr("data-pass-mark"))
	if len(pass) != 1 {
		t.Fatalf("%d pass-mark lines", len(pass))
	}
	x := floatAttr(t, pass[0], "x1")
	// 70% is the left edge of the 70–80% bin: between the 60–70% and 70–80% bars.
	if r6 := floatAttr(t, ms[6], "x") + floatAttr(t, ms[6], "width"); x < r6 {
		t.Errorf("pass mark at %v, left of the 60–70%% bar's end %v", x, r6)
	}
	if l7 := floatAttr(t, ms[7], "x"); x > l7 {
		t.Errorf("pass mark at %v, right of the 70–80%% bar's start %v", x, l7)
	}
	if !strings.Contains(out, ">Pass mark 70.0%<") {
		t.Error("pass-mark label format.Missing")
	}
	desc := text(byID(root, "chart-"+c.ID+"-desc"))
	if !strings.Contains(desc, "643 learners in 10 bins") || !strings.Contains(desc, "at or above it") {
		t.Errorf("summary %q", desc)
	}
	head, rows := tableRows(t, root, c.ID)
	if !equal(head, []string{"Score", "Learners"}) || len(rows) != 10 || rows[9][0] != "90–100%" {
		t.Errorf("table %q %d", head, len(rows))
	}
}

func TestHistogramSingleAndEmpty(t *testing.T) {
	c := HistogramChart{ID: "h", Title: "H", Unit: "learners", Bins: []Bin{{Label: "All", From: 0, To: 100, Count: 12}}}
	root, out := doc(t, Histogram(c))
	card := checkChart(t, root, out, "h", "H")
	if len(marks(card)) != 1 || len(findAll(card, withAttr("data-pass-mark"))) != 0 {
		t.Error("single bin")
	}
	c.PassMark, c.PassLabel = 50, "Pass"
	root, out = doc(t, Histogram(c))
	if len(findAll(root, withAttr("data-pass-mark"))) != 1 || !strings.Contains(out, ">Pass<") {
		t.Error("pass mark inside a single bin")
	}
	c.PassMark = 150 // outside the bins
	root, _ = doc(t, Histogram(c))
	if len(findAll(root, withAttr("data-pass-mark"))) != 0 {
		t.Error("pass mark outside the bins is drawn")
	}
	for _, e := range []HistogramChart{
		{ID: "e", Title: "E"},
		{ID: "e", Title: "E", Bins: scoreBins(nil), PassMark: 70},
	} {
		root, _ := doc(t, Histogram(e))
		checkEmpty(t, root, "e", "E")
	}
}

// ---------------------------------------------------------------- KPI

func TestKPITile(t *testing.T) {
	ks := sampleKPIs()
	root, out := doc(t, KPITile(ks[0]))
	tile := byTestID(t, root, "kpi-active-learners")
	if v := byTestID(t, tile, "kpi-active-learners-value"); text(v) != "1,284" {
		t.Errorf("value %q", text(v))
	}
	if !strings.Contains(text(tile), "1,284 learners") {
		t.Errorf("unit format.Missing: %q", text(tile))
	}
	ch := byTestID(t, tile, "kpi-active-learners-change")
	if !strings.Contains(val(ch, "class"), toneGood) || !strings.Contains(text(ch), "▲ 7.9%") || !strings.Contains(text(ch), "Up 7.9%, better") || !strings.Contains(text(ch), "vs previous 30 days") {
		t.Errorf("change %q class %q", text(ch), val(ch, "class"))
	}
	if !strings.Contains(text(tile), "Data as of 14 Mar 2026, 09:30") {
		t.Errorf("as of format.Missing: %q", text(tile))
	}
	times := findAll(tile, tag("time"))
	if len(times) != 1 || val(times[0], "datetime") != "2026-03-14T09:30:00Z" {
		t.Error("<time datetime> format.Missing")
	}
	links := findAll(tile, tag("a"))
	if len(links) != 1 || val(links[0], "href") != "/reports/learners" || val(links[0], "hx-get") != "/reports/learners" || val(links[0], "hx-target") != "#main" {
		t.Errorf("link %v", links)
	}
	if strings.Contains(out, "NaN") {
		t.Error("NaN")
	}

	// Up is bad: fewer overdue assignments is good news, in green with ▼.
	root, _ = doc(t, KPITile(ks[3]))
	ch = byTestID(t, root, "kpi-overdue-change")
	if !strings.Contains(val(ch, "class"), toneGood) || !strings.Contains(text(ch), "▼ 28.8%") {
		t.Errorf("overdue change %q %q", text(ch), val(ch, "class"))
	}
	// Percent: the value carries the %, the change is in points.
	root, _ = doc(t, KPITile(ks[2]))
	if v := byTestID(t, root, "kpi-average-score-value"); text(v) != "78.2%" {
		t.Errorf("value %q", text(v))
	}
	ch = byTestID(t, root, "kpi-average-score-change")
	if !strings.Contains(val(ch, "class"), toneBad) || !strings.Contains(text(ch), "▼ 0.8 pp") {
		t.Errorf("score change %q", text(ch))
	}
	// Minimal tile: no comparison, no time, no link; a format.Missing value.
	root, out = doc(t, KPITile(KPI{ID: "avg time", Label: "Average time", Value: math.NaN(), Unit: "min"}))
	tile = byTestID(t, root, "kpi-avg-time")
	if text(byTestID(t, tile, "kpi-avg-time-value")) != format.Missing || strings.Contains(out, "Data as of") ||
		strings.Contains(out, "kpi-avg-time-change") || len(findAll(tile, tag("a"))) != 0 || strings.Contains(out, "min<") {
		t.Errorf("minimal tile: %s", out)
	}
}

func TestKPIGrid(t *testing.T) {
	root, _ := doc(t, KPIGrid(sampleKPIs()))
	grid := byTestID(t, root, "kpi-grid")
	tiles := findAll(grid, func(n *html.Node) bool { return n.Parent == grid && strings.HasPrefix(val(n, "data-testid"), "kpi-") })
	if len(tiles) != 4 {
		t.Errorf("%d tiles", len(tiles))
	}
	if val(grid, "class") != kpiGridClass(4) {
		t.Errorf("class %q", val(grid, "class"))
	}
	root, _ = doc(t, KPIGrid(nil))
	if !strings.Contains(text(byTestID(t, root, "kpi-grid-empty")), "No data for these filters") {
		t.Error("empty grid")
	}
}

// ---------------------------------------------------------------- robustness

// TestHostileInput renders odd data and checks the svg stays valid.
func TestHostileInput(t *testing.T) {
	huge, tiny := 1e300, 1e-300
	many := make([]Bar, 200)
	for i := range many {
		many[i] = Bar{Label: strings.Repeat("x", i%40), Value: float64(i * i)}
	}
	labels := sampleDays(365)
	vals := make([]float64, 365)
	for i := range vals {
		vals[i] = math.Sin(float64(i)) * 1e6
	}
	var hv [7][24]float64
	hv[0][0], hv[6][23] = huge, math.Inf(1)
	cases := []struct {
		name string
		c    templ.Component
	}{
		{"huge bars", Bars(BarChart{ID: "a", Title: "a", Bars: []Bar{{Label: "a", Value: huge}, {Label: "b", Value: tiny}}})},
		{"huge horizontal", Bars(BarChart{ID: "a", Title: "a", Horizontal: true, Bars: []Bar{{Label: "", Value: huge}, {Label: "<script>", Value: -huge}}})},
		{"many bars", Bars(BarChart{ID: "a", Title: "a", Bars: many})},
		{"many rows", Bars(BarChart{ID: "a", Title: "a", Bars: many, Horizontal: true})},
		{"negative max", Bars(BarChart{ID: "a", Title: "a", Max: -5, Bars: []Bar{{Label: "a", Value: 3}}})},
		{"long line", Line(LineChart{ID: "a", Title: "a", Labels: labels, Series: []Series{{Name: "s", Values: vals}, {Name: "t", Dashed: true, Values: vals[:100]}}})},
		{"flat line", Line(LineChart{ID: "a", Title: "a", Labels: []string{"a", "b"}, Series: []Series{{Name: "s", Values: []float64{0, 0}}}})},
		{"tiny line", Line(LineChart{ID: "a", Title: "a", Labels: []string{"a", "b"}, Series: []Series{{Name: "s", Values: []float64{tiny, 2 * tiny}}}})},
		{"huge heatmap", Heatmap(HeatmapChart{ID: "a", Title: "a", Values: hv})},
		{"stacked mismatch", StackedBars(StackedBarChart{ID: "a", Title: "a", Categories: []string{"a", "b", "c"},
			Series: []Series{{Name: "x", Values: []float64{1, math.NaN(), -3, 4, 5}}, {Name: "y"}}})},
		{"odd histogram", Histogram(HistogramChart{ID: "a", Title: "a", PassMark: math.NaN(),
			Bins: []Bin{{Label: "x", Count: huge}, {Label: "y", From: 5, To: 5, Count: 1}}})},
	}
	for _, tc := range cases {
		root, out := doc(t, tc.c)
		if m := nanInfRE.FindString(out); m != "" {
			t.Errorf("%s: %q in the output", tc.name, m)
		}
		if strings.Contains(out, "<script>") {
			t.Errorf("%s: label not escaped", tc.name)
		}
		for _, svg := range findAll(root, tag("svg")) {
			checkGeometry(t, svg)
		}
	}
}

// TestIDsAreSafe checks that a hostile ID cannot break out of attributes.
func TestIDsAreSafe(t *testing.T) {
	root, out := doc(t, Bars(BarChart{ID: `x" onload="alert(1)`, Title: "T", Bars: []Bar{{Label: "a", Value: 1}}}))
	if strings.Contains(out, "onload") && !strings.Contains(out, "x--onload--alert-1-") {
		t.Errorf("unsafe id: %s", out)
	}
	checkChart(t, root, out, "x--onload--alert-1-", "T")
	// No ID: derived from the title.
	root, out = doc(t, Bars(BarChart{Title: "Completions by course", Bars: []Bar{{Label: "a", Value: 1}}}))
	checkChart(t, root, out, "Completions-by-course", "Completions by course")
}

// TestTailwindClassesAreLiterals guards against class names built by
// concatenation, which Tailwind cannot see: every class the components
// print must appear as a complete word in the package's sources.
func TestTailwindClassesAreLiterals(t *testing.T) {
	var all bytes.Buffer
	for _, g := range gallery() {
		if err := g.C.Render(context.Background(), &all); err != nil {
			t.Fatal(err)
		}
	}
	for _, k := range sampleKPIs() {
		_ = KPITile(k).Render(context.Background(), &all)
	}
	_ = KPIGrid(sampleKPIs()).Render(context.Background(), &all)
	_ = KPIGrid(nil).Render(context.Background(), &all)
	sources := readSources(t)
	root, err := html.Parse(&all)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, n := range findAll(root, withAttr("class")) {
		for _, cls := range strings.Fields(val(n, "class")) {
			if seen[cls] {
				continue
			}
			seen[cls] = true
			if !regexp.MustCompile(`(^|[\s"'{` + "`" + `])` + regexp.QuoteMeta(cls) + `($|[\s"'}` + "`" + `])`).MatchString(sources) {
				t.Errorf("class %q is not written out in full in the sources", cls)
			}
		}
	}
}
