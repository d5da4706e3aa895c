package charts

import (
	"math"

	"github.com/learnlens/learnlens/views/format"
)

// niceTicks returns round tick values covering [min, max] with about n
// ticks (Heckbert's "nice numbers"): steps of 1, 2 or 5 × 10^k, the first
// tick at or below min and the last at or above max. niceTicks(0, 42, 5) is
// [0 10 20 30 40 50]. When min equals max the range is widened to include
// 0 (or to [0, 1] when both are 0); non-finite input gives [0 1].
func niceTicks(min, max float64, n int) []float64 {
	if n < 2 {
		n = 2
	}
	if !format.Finite(min) || !format.Finite(max) {
		return []float64{0, 1}
	}
	if min > max {
		min, max = max, min
	}
	if min == max {
		switch {
		case min > 0:
			min = 0
		case min < 0:
			max = 0
		default:
			max = 1
		}
	}
	step := niceNum(niceNum(max-min, false)/float64(n-1), true)
	if !format.Finite(step) || step <= 0 {
		return []float64{min, max}
	}
	lo := math.Floor(min/step) * step
	hi := math.Ceil(max/step) * step
	count := int(math.Round((hi-lo)/step)) + 1
	if !format.Finite(lo) || !format.Finite(hi) || count < 2 || count > 1000 {
		return []float64{min, max}
	}
	d := tickDecimals(step)
	p := math.Pow(10, float64(d))
	ticks := make([]float64, count)
	for i := range ticks {
		// Round away the float error of lo + i*step (0.30000000000000004).
		ticks[i] = math.Round((lo+float64(i)*step)*p) / p
		if ticks[i] == 0 {
			ticks[i] = 0 // no negative zero
		}
	}
	return ticks
}

// niceNum is a "nice" number (1, 2, 5 or 10 × 10^k) close to x: rounded to
// the nearest when round is true, otherwise the smallest not below x.
func niceNum(x float64, round bool) float64 {
	if x <= 0 || !format.Finite(x) {
		return 0
	}
	exp := math.Floor(math.Log10(x))
	pow := math.Pow(10, exp)
	f := x / pow
	var nice float64
	if round {
		switch {
		case f < 1.5:
			nice = 1
		case f < 3:
			nice = 2
		case f < 7:
			nice = 5
		default:
			nice = 10
		}
	} else {
		switch {
		case f <= 1:
			nice = 1
		case f <= 2:
			nice = 2
		case f <= 5:
			nice = 5
		default:
			nice = 10
		}
	}
	return nice * pow
}

// tickDecimals is the number of decimals needed to write multiples of
// step: 10 → 0, 0.5 → 1, 0.25 → 2.
func tickDecimals(step float64) int {
	if step <= 0 || !format.Finite(step) {
		return 0
	}
	for d := 0; d < 15; d++ {
		p := math.Pow(10, float64(d))
		if r := math.Round(step * p); r >= 1 && math.Abs(step*p-r) < 1e-6*step*p {
			return d
		}
	}
	return 15
}

// valueTicks is niceTicks with about 5 ticks for an axis from min to max;
// for whole-number data (counts) the step is at least 1, so an axis never
// reads "0.5 learners".
func valueTicks(min, max float64, integer bool) []float64 {
	ticks := niceTicks(min, max, 5)
	if integer && len(ticks) > 1 && ticks[1]-ticks[0] < 1 {
		lo, hi := math.Floor(ticks[0]), math.Ceil(ticks[len(ticks)-1])
		if hi-lo < 1 {
			hi = lo + 1
		}
		ticks = ticks[:0]
		for v := lo; v <= hi; v++ {
			ticks = append(ticks, v)
		}
	}
	return ticks
}

// allIntegers reports whether every finite value is a whole number.
func allIntegers(values ...[]float64) bool {
	for _, vs := range values {
		for _, v := range vs {
			if format.Finite(v) && v != math.Trunc(v) {
				return false
			}
		}
	}
	return true
}

// linearScale maps the domain [D0, D1] linearly onto the range [R0, R1].
type linearScale struct {
	D0, D1, R0, R1 float64
}

// at maps v; a degenerate domain maps everything to R0, and the result is
// always finite.
func (s linearScale) at(v float64) float64 {
	if !format.Finite(v) || s.D1 == s.D0 || !format.Finite(s.D0) || !format.Finite(s.D1) {
		return s.R0
	}
	r := s.R0 + (v-s.D0)/(s.D1-s.D0)*(s.R1-s.R0)
	if !format.Finite(r) {
		return s.R0
	}
	return r
}

// clamped maps v after limiting it to the domain.
func (s linearScale) clamped(v float64) float64 {
	lo, hi := math.Min(s.D0, s.D1), math.Max(s.D0, s.D1)
	return s.at(math.Max(lo, math.Min(hi, v)))
}

// band divides the length [start, start+length] into n equal bands.
type band struct {
	Start, Length float64
	N             int
}

// width of one band.
func (b band) width() float64 {
	if b.N <= 0 {
		return 0
	}
	return b.Length / float64(b.N)
}

// at is where band i starts.
func (b band) at(i int) float64 { return b.Start + float64(i)*b.width() }

// center of band i.
func (b band) center(i int) float64 { return b.at(i) + b.width()/2 }

// inner is the start and size of a bar in band i that fills the fraction
// fill of the band but is at most maxSize wide, centred in the band.
func (b band) inner(i int, fill, maxSize float64) (start, size float64) {
	size = b.width() * fill
	if maxSize > 0 && size > maxSize {
		size = maxSize
	}
	return b.at(i) + (b.width()-size)/2, size
}

// axisLabel is one text of a category axis.
type axisLabel struct {
	X, Y   float64
	Text   string
	Anchor string // text-anchor
	Class  string // "", onlyMobile or onlyDesktop
}

// categoryLabels places labels centred on xs (the centres of bands of
// width bandW) at height y. The two text sizes (fontMobile, fontDesktop)
// are laid out separately: unordered categories are shortened with "…" to
// fit their band while "Abc…" still fits; otherwise, and always for ordered
// labels such as dates, only every k-th label is shown (counted from the
// last one for ordered labels, so the latest is always labelled). Labels
// are kept inside the viewBox, and one that would then overlap its
// neighbour is dropped. A label that comes out the same at both sizes is
// emitted once.
func categoryLabels(labels []string, xs []float64, bandW, y float64, ordered bool) []axisLabel {
	type placed struct {
		text string // "" = hidden
		x    float64
	}
	layout := func(fs float64) []placed {
		out := make([]placed, len(labels))
		widest := 0.0
		for _, l := range labels {
			widest = math.Max(widest, textWidth(l, fs))
		}
		k := 1
		if ordered || (widest > bandW-6 && bandW-6 < textWidth("Abc…", fs)) {
			// Thin out to every k-th label, each up to ~12 characters.
			want := math.Min(widest, textWidth("Abcdefghijk…", fs))
			k = max(1, int(math.Ceil((want+8)/math.Max(bandW, 1e-9))))
		}
		room := float64(k)*bandW - 6
		for i, l := range labels {
			if (ordered && (len(labels)-1-i)%k == 0) || (!ordered && i%k == 0) {
				t := fitText(l, room, fs)
				out[i] = placed{t, inside(xs[i], textWidth(t, fs))}
			}
		}
		// Drop labels that overlap the one kept before them, walking from
		// the end for ordered labels so that the last one stays.
		const gap = 4
		kept := -1
		for n := range out {
			i := n
			if ordered {
				i = len(out) - 1 - n
			}
			if out[i].text == "" {
				continue
			}
			if kept >= 0 && math.Abs(out[i].x-out[kept].x) < (textWidth(out[i].text, fs)+textWidth(out[kept].text, fs))/2+gap {
				out[i].text = ""
				continue
			}
			kept = i
		}
		return out
	}
	mobile, desktop := layout(fontMobile), layout(fontDesktop)
	var out []axisLabel
	for i := range labels {
		m, d := mobile[i], desktop[i]
		if m == d {
			if m.text != "" {
				out = append(out, axisLabel{X: m.x, Y: y, Text: m.text, Anchor: "middle"})
			}
			continue
		}
		if m.text != "" {
			out = append(out, axisLabel{X: m.x, Y: y, Text: m.text, Anchor: "middle", Class: onlyMobile})
		}
		if d.text != "" {
			out = append(out, axisLabel{X: d.x, Y: y, Text: d.text, Anchor: "middle", Class: onlyDesktop})
		}
	}
	return out
}

// inside moves the centre x of a text of width w so that the text stays
// within the viewBox.
func inside(x, w float64) float64 {
	return math.Max(w/2+1, math.Min(vbWidth-w/2-1, x))
}

// visibility is the class for a text shown at the mobile size, the desktop
// size, or both; ok is false when it is shown at neither.
func visibility(mobile, desktop bool) (class string, ok bool) {
	switch {
	case mobile && desktop:
		return "", true
	case mobile:
		return onlyMobile, true
	case desktop:
		return onlyDesktop, true
	}
	return "", false
}
