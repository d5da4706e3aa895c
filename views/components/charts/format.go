package charts

import (
	"github.com/learnlens/learnlens/views/format"

	"math"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// columnHeader is the table view's value column heading: the unit with a
// capital first letter, or "Value".
func columnHeader(unit string) string {
	switch unit {
	case "", "%":
		return "Value"
	}
	r, size := utf8.DecodeRuneInString(unit)
	return string(unicode.ToUpper(r)) + unit[size:]
}

// orDefault returns s, or def when s is empty.
func orDefault(s, def string) string {
	if strings.TrimSpace(s) == "" {
		return def
	}
	return s
}

// truncate shortens s to at most max characters, ending in "…".
func truncate(s string, max int) string {
	if max < 1 {
		return ""
	}
	if utf8.RuneCountInString(s) <= max {
		return s
	}
	if max == 1 {
		return "…"
	}
	r := []rune(s)
	return strings.TrimRightFunc(string(r[:max-1]), unicode.IsSpace) + "…"
}

// textWidth estimates the width of s in viewBox units at font size fs. The
// glyph widths are those of a wide sans-serif (DejaVu Sans, the fallback on
// Linux), so the estimate is generous for Segoe UI or San Francisco.
func textWidth(s string, fs float64) float64 {
	w := 0.0
	for _, r := range s {
		w += runeWidth(r)
	}
	return w * fs
}

// runeWidth is a glyph's advance as a fraction of the font size.
func runeWidth(r rune) float64 {
	switch {
	case strings.ContainsRune("iljtfrI.,:;'!|() ", r):
		return 0.34
	case strings.ContainsRune("MWmw%…—", r):
		return 0.95
	case r >= '0' && r <= '9':
		return 0.64
	case unicode.IsUpper(r):
		return 0.72
	case r < utf8.RuneSelf:
		return 0.58
	}
	return 0.7
}

// fitText shortens s with "…" so that it fits into width at font size fs;
// it returns "" when not even one character and the ellipsis fit.
func fitText(s string, width, fs float64) string {
	if textWidth(s, fs) <= width {
		return s
	}
	r := []rune(s)
	for n := len(r) - 1; n >= 1; n-- {
		if t := truncate(s, n); textWidth(t, fs) <= width {
			return t
		}
	}
	return ""
}

// slug makes id safe for element ids: letters, digits, '-' and '_' are
// kept, anything else becomes '-'. An empty id becomes "chart".
func slug(id string) string {
	var b strings.Builder
	for _, r := range strings.TrimSpace(id) {
		if r < utf8.RuneSelf && (unicode.IsLetter(r) || unicode.IsDigit(r) || r == '-' || r == '_') {
			b.WriteRune(r)
		} else {
			b.WriteByte('-')
		}
	}
	if b.Len() == 0 {
		return "chart"
	}
	return b.String()
}

// num writes an svg coordinate with at most two decimals; a NaN or
// infinite coordinate (which a correct layout never produces) becomes 0 so
// the svg stays valid.
func num(v float64) string {
	if !format.Finite(v) {
		return "0"
	}
	r := math.Round(v*100) / 100
	if r == 0 {
		return "0"
	}
	return strconv.FormatFloat(r, 'f', -1, 64)
}

// raw writes a value for a data-value attribute: the number as given, or
// the empty string when it is format.Missing.
func raw(v float64) string {
	if !format.Finite(v) {
		return ""
	}
	return strconv.FormatFloat(v, 'f', -1, 64)
}
