package charts

import (
	"github.com/learnlens/learnlens/views/format"

	"math"
	"reflect"
	"testing"
)

func TestNiceTicks(t *testing.T) {
	tests := []struct {
		min, max float64
		n        int
		want     []float64
	}{
		{0, 42, 5, []float64{0, 10, 20, 30, 40, 50}},
		{0, 100, 5, []float64{0, 20, 40, 60, 80, 100}},
		{0, 7, 5, []float64{0, 2, 4, 6, 8}},
		{0, 1, 5, []float64{0, 0.2, 0.4, 0.6, 0.8, 1}},
		{0, 0.3, 4, []float64{0, 0.2, 0.4}},
		{0, 1725, 5, []float64{0, 500, 1000, 1500, 2000}},
		{-3, 7, 5, []float64{-4, -2, 0, 2, 4, 6, 8}},
		{0, 0, 5, []float64{0, 0.2, 0.4, 0.6, 0.8, 1}},
		{5, 5, 5, []float64{0, 1, 2, 3, 4, 5}},
		{-5, -5, 5, []float64{-5, -4, -3, -2, -1, 0}},
		{42, 0, 5, []float64{0, 10, 20, 30, 40, 50}}, // swapped
		{0, 42, 0, []float64{0, 50}},                 // n < 2 means 2
		{12, 13, 3, []float64{12, 12.5, 13}},
		{math.NaN(), 10, 5, []float64{0, 1}},
		{0, math.Inf(1), 5, []float64{0, 1}},
	}
	for _, tt := range tests {
		got := niceTicks(tt.min, tt.max, tt.n)
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("niceTicks(%v, %v, %d) = %v, want %v", tt.min, tt.max, tt.n, got, tt.want)
		}
	}
}

func TestNiceTicksProperties(t *testing.T) {
	for _, r := range [][2]float64{{0, 1}, {0, 3}, {0, 9.99}, {0, 123456}, {-50, 50}, {0.001, 0.002}, {0, 1e12}, {1e-9, 3e-9}, {0, 1e300}} {
		ticks := niceTicks(r[0], r[1], 5)
		if len(ticks) < 2 || len(ticks) > 12 {
			t.Errorf("niceTicks%v: %d ticks %v", r, len(ticks), ticks)
			continue
		}
		if ticks[0] > r[0] || ticks[len(ticks)-1] < r[1]*(1-1e-12) {
			t.Errorf("niceTicks%v = %v does not cover the range", r, ticks)
		}
		for i, v := range ticks {
			if !format.Finite(v) {
				t.Errorf("niceTicks%v: tick %d is %v", r, i, v)
			}
			if i > 0 && v <= ticks[i-1] {
				t.Errorf("niceTicks%v = %v not increasing", r, ticks)
			}
		}
	}
}

func TestTickDecimals(t *testing.T) {
	for step, want := range map[float64]int{10: 0, 1: 0, 500: 0, 0.5: 1, 0.2: 1, 0.25: 2, 0.05: 2, 0: 0, -1: 0} {
		if got := tickDecimals(step); got != want {
			t.Errorf("tickDecimals(%v) = %d, want %d", step, got, want)
		}
	}
}

func TestValueTicks(t *testing.T) {
	tests := []struct {
		lo, hi  float64
		integer bool
		want    []float64
	}{
		{0, 3, true, []float64{0, 1, 2, 3}},
		{0, 1, true, []float64{0, 1}},
		{0, 0, true, []float64{0, 1}},
		{0, 1, false, []float64{0, 0.2, 0.4, 0.6, 0.8, 1}},
		{0, 42, true, []float64{0, 10, 20, 30, 40, 50}},
	}
	for _, tt := range tests {
		if got := valueTicks(tt.lo, tt.hi, tt.integer); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("valueTicks(%v, %v, %v) = %v, want %v", tt.lo, tt.hi, tt.integer, got, tt.want)
		}
	}
}

func TestLinearScale(t *testing.T) {
	s := linearScale{D0: 0, D1: 100, R0: 200, R1: 0} // y axis: 0 at the bottom
	tests := []struct{ in, want float64 }{{0, 200}, {100, 0}, {50, 100}, {25, 150}, {150, -100}}
	for _, tt := range tests {
		if got := s.at(tt.in); got != tt.want {
			t.Errorf("at(%v) = %v, want %v", tt.in, got, tt.want)
		}
	}
	if got := s.clamped(150); got != 0 {
		t.Errorf("clamped(150) = %v, want 0", got)
	}
	if got := s.clamped(-5); got != 200 {
		t.Errorf("clamped(-5) = %v, want 200", got)
	}
	for _, bad := range []linearScale{{D0: 5, D1: 5, R0: 1, R1: 9}, {D0: 0, D1: math.NaN(), R0: 1, R1: 9}, {D0: 0, D1: 1e-320, R0: 1, R1: 9e307}} {
		for _, v := range []float64{0, 1, math.NaN(), math.Inf(1), 1e308} {
			if got := bad.at(v); !format.Finite(got) {
				t.Errorf("%+v.at(%v) = %v", bad, v, got)
			}
		}
	}
}

func TestBand(t *testing.T) {
	b := band{Start: 40, Length: 400, N: 4}
	if b.width() != 100 || b.at(2) != 240 || b.center(0) != 90 {
		t.Errorf("width %v at(2) %v center(0) %v", b.width(), b.at(2), b.center(0))
	}
	if x, w := b.inner(1, 0.7, 64); w != 64 || x != 140+18 {
		t.Errorf("inner capped = %v, %v", x, w)
	}
	if x, w := b.inner(1, 0.5, 0); w != 50 || x != 165 {
		t.Errorf("inner = %v, %v", x, w)
	}
	if (band{N: 0}).width() != 0 {
		t.Error("empty band has width")
	}
}

// TestCategoryLabels checks that the visible labels never overlap or leave
// the viewBox, at either text size.
func TestCategoryLabels(t *testing.T) {
	months := []string{"Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec", "Jan", "Feb", "Mar"}
	days := sampleDays(90)
	courses := sampleCourses
	for _, tc := range []struct {
		name    string
		labels  []string
		ordered bool
	}{
		{"months", months, false},
		{"days", days, true},
		{"courses", courses, false},
		{"one", []string{"Manual handling"}, false},
		{"weeks", []string{"W1", "W2", "W3", "W4", "W5", "W6", "W7", "W8", "W9", "W10", "W11", "W12"}, true},
	} {
		bd := band{Start: 44, Length: 432, N: len(tc.labels)}
		xs := make([]float64, len(tc.labels))
		for i := range xs {
			xs[i] = bd.center(i)
		}
		labels := categoryLabels(tc.labels, xs, bd.width(), 250, tc.ordered)
		if len(labels) == 0 {
			t.Errorf("%s: no labels", tc.name)
		}
		for _, size := range []struct {
			fs   float64
			hide string
		}{{fontMobile, onlyDesktop}, {fontDesktop, onlyMobile}} {
			prevEnd := math.Inf(-1)
			for _, l := range labels {
				if l.Class == size.hide {
					continue
				}
				w := textWidth(l.Text, size.fs)
				start, end := l.X-w/2, l.X+w/2
				if start < 0 || end > vbWidth {
					t.Errorf("%s at %v: %q (%v–%v) leaves the viewBox", tc.name, size.fs, l.Text, start, end)
				}
				if start < prevEnd {
					t.Errorf("%s at %v: %q overlaps the previous label", tc.name, size.fs, l.Text)
				}
				prevEnd = end
			}
		}
	}
	// Ordered labels always show the last one.
	bd := band{Start: 44, Length: 432, N: len(days)}
	xs := make([]float64, len(days))
	for i := range xs {
		xs[i] = bd.center(i)
	}
	labels := categoryLabels(days, xs, bd.width(), 250, true)
	if last := labels[len(labels)-1]; last.Text != days[len(days)-1] {
		t.Errorf("last label = %q, want %q", last.Text, days[len(days)-1])
	}
}

func TestAutoColors(t *testing.T) {
	tests := []struct {
		in   []Series
		want []Color
	}{
		{[]Series{{}, {}, {}}, []Color{Brand, Emerald, Amber}},
		{[]Series{{Color: Emerald}, {}, {}}, []Color{Emerald, Brand, Amber}},
		{[]Series{{}, {Dashed: true}}, []Color{Brand, Slate}},
		{[]Series{{}, {Dashed: true, Color: Rose}}, []Color{Brand, Rose}},
		{make([]Series, 8), []Color{Brand, Emerald, Amber, Rose, Sky, Slate, Brand, Emerald}},
	}
	for _, tt := range tests {
		if got := autoColors(tt.in); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("autoColors = %v, want %v", got, tt.want)
		}
	}
	// Every colour has its own complete class names.
	seen := map[string]bool{}
	for _, c := range []Color{Auto, Brand, Emerald, Amber, Rose, Sky, Slate} {
		for _, cls := range []string{c.fill(), c.stroke(), c.swatch()} {
			if cls == "" {
				t.Errorf("colour %d has an empty class", c)
			}
		}
		if c != Auto {
			if seen[c.fill()] {
				t.Errorf("colour %d repeats %s", c, c.fill())
			}
			seen[c.fill()] = true
		}
	}
}

func TestHeatLevel(t *testing.T) {
	tests := []struct {
		v, max float64
		want   int
	}{
		{0, 100, 0}, {-3, 100, 0}, {math.NaN(), 100, 0}, {5, 0, 0},
		{1, 100, 1}, {20, 100, 1}, {21, 100, 2}, {60, 100, 3}, {80, 100, 4}, {81, 100, 5}, {100, 100, 5}, {150, 100, 5},
	}
	for _, tt := range tests {
		if got := heatLevel(tt.v, tt.max); got != tt.want {
			t.Errorf("heatLevel(%v, %v) = %d, want %d", tt.v, tt.max, got, tt.want)
		}
	}
	for lv := 0; lv <= heatLevels; lv++ {
		if heatFill(lv) == "" || heatSwatch(lv) == "" {
			t.Errorf("level %d has no class", lv)
		}
	}
}

func TestHeatSteps(t *testing.T) {
	ranges := func(steps []heatStep) []string {
		var out []string
		for _, s := range steps {
			out = append(out, s.Range)
		}
		return out
	}
	tests := []struct {
		max     float64
		integer bool
		unit    string
		want    []string
	}{
		{225, true, "statements", []string{"0", "1–45", "46–90", "91–135", "136–180", "181–225 statements"}},
		{3, true, "", []string{"0", "1", "2", "3"}},
		{1, true, "", []string{"0", "1"}},
		{2.5, false, "h", []string{"0", "≤ 0.5", "≤ 1", "≤ 1.5", "≤ 2", "≤ 2.5 h"}},
	}
	for _, tt := range tests {
		if got := ranges(heatSteps(tt.max, tt.integer, tt.unit)); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("heatSteps(%v) = %q, want %q", tt.max, got, tt.want)
		}
	}
}

func TestPassX(t *testing.T) {
	bins := scoreBins(nil)
	bd := band{Start: 0, Length: 100, N: 10}
	tests := []struct {
		pm   float64
		want float64
		ok   bool
	}{
		{70, 70, true}, {75, 75, true}, {0, 0, true}, {100, 100, true}, {101, 0, false}, {-1, 0, false}, {math.NaN(), 0, false},
	}
	for _, tt := range tests {
		got, ok := passX(bins, tt.pm, bd)
		if ok != tt.ok || (ok && math.Abs(got-tt.want) > 1e-9) {
			t.Errorf("passX(%v) = %v, %v; want %v, %v", tt.pm, got, ok, tt.want, tt.ok)
		}
	}
	if _, ok := passX([]Bin{{Label: "a"}, {Label: "b"}}, 70, bd); ok {
		t.Error("bins without bounds have no pass mark")
	}
}

func TestKPIChange(t *testing.T) {
	tests := []struct {
		name string
		k    KPI
		want change
	}{
		{"no previous", KPI{Value: 10}, change{}},
		{"up good", KPI{Value: 1284, Previous: 1190, HasPrevious: true},
			change{Show: true, Arrow: "▲", Text: "7.9%", SR: "Up 7.9%, better", Class: toneGood}},
		{"down good", KPI{Value: 37, Previous: 52, HasPrevious: true, UpIsBad: true},
			change{Show: true, Arrow: "▼", Text: "28.8%", SR: "Down 28.8%, better", Class: toneGood}},
		{"up bad", KPI{Value: 60, Previous: 52, HasPrevious: true, UpIsBad: true},
			change{Show: true, Arrow: "▲", Text: "15.4%", SR: "Up 15.4%, worse", Class: toneBad}},
		{"down bad", KPI{Value: 40, Previous: 50, HasPrevious: true},
			change{Show: true, Arrow: "▼", Text: "20.0%", SR: "Down 20.0%, worse", Class: toneBad}},
		{"points", KPI{Value: 72.4, Previous: 68.1, Unit: "%", HasPrevious: true},
			change{Show: true, Arrow: "▲", Text: "4.3 pp", SR: "Up 4.3 percentage points, better", Class: toneGood}},
		{"from zero", KPI{Value: 12, Previous: 0, HasPrevious: true},
			change{Show: true, Arrow: "▲", Text: "12", SR: "Up 12, better", Class: toneGood}},
		{"whole points", KPI{Value: 84, Previous: 81, Unit: "%", HasPrevious: true},
			change{Show: true, Arrow: "▲", Text: "3.0 pp", SR: "Up 3.0 percentage points, better", Class: toneGood}},
		{"same", KPI{Value: 12, Previous: 12, HasPrevious: true},
			change{Show: true, Text: "No change", SR: "No change", Class: toneNeutral}},
		{"rounds to nothing", KPI{Value: 72.01, Previous: 72.0, Unit: "%", HasPrevious: true},
			change{Show: true, Text: "No change", SR: "No change", Class: toneNeutral}},
		{"negative previous", KPI{Value: -5, Previous: -10, HasPrevious: true},
			change{Show: true, Arrow: "▲", Text: "50.0%", SR: "Up 50.0%, better", Class: toneGood}},
		{"format.Missing value", KPI{Value: math.NaN(), Previous: 3, HasPrevious: true}, change{}},
	}
	for _, tt := range tests {
		if got := kpiChange(tt.k); got != tt.want {
			t.Errorf("%s: kpiChange = %+v, want %+v", tt.name, got, tt.want)
		}
	}
}

func TestKPIGridClass(t *testing.T) {
	for n, want := range map[int]string{
		1: "grid grid-cols-1 gap-3 sm:gap-4",
		2: "grid grid-cols-2 gap-3 sm:gap-4",
		3: "grid grid-cols-2 gap-3 sm:gap-4 lg:grid-cols-3",
		7: "grid grid-cols-2 gap-3 sm:gap-4 lg:grid-cols-4",
	} {
		if got := kpiGridClass(n); got != want {
			t.Errorf("kpiGridClass(%d) = %q", n, got)
		}
	}
}
