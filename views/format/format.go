// Package format is the one way LearnLens writes numbers for people: on
// pages, in tables, in charts and on tiles. The rules:
//
//   - counts are whole numbers with thousands separators (Int): "1,234";
//   - rates and every other percentage always carry one decimal and %
//     (Percent), so "81.0%" stands next to "84.7%", never "81%";
//     differences of rates are percentage points with one decimal
//     (Points): "2.5 pp";
//   - other measures (minutes, days, scores) are rounded to one decimal,
//     shown only when it is not zero (Number): a median of 8 or 8.5 days;
//     in a table column of measures always shown (Measure), so the column
//     reads "1,068.0" above "7,891.9", as the XLSX number format does;
//   - a value that cannot be computed is one sign (Missing).
//
// CSV and JSON keep raw numbers; XLSX cells carry the same rules as
// number formats (see XLSX*).
package format

import (
	"math"
	"strconv"
	"strings"
	"time"
)

// Missing is shown for a value that is NaN or infinite.
const Missing = "—"

// Finite reports whether v is a number that can be shown.
func Finite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }

// Int writes n with comma thousands separators: 1234567 → "1,234,567".
func Int(n int64) string {
	s := strconv.FormatInt(n, 10)
	neg := strings.HasPrefix(s, "-")
	if neg {
		s = s[1:]
	}
	s = GroupThousands(s)
	if neg {
		return "-" + s
	}
	return s
}

// GroupThousands inserts commas into a string of digits.
func GroupThousands(digits string) string {
	if len(digits) <= 3 {
		return digits
	}
	var b strings.Builder
	head := len(digits) % 3
	if head > 0 {
		b.WriteString(digits[:head])
	}
	for i := head; i < len(digits); i += 3 {
		if b.Len() > 0 {
			b.WriteByte(',')
		}
		b.WriteString(digits[i : i+3])
	}
	return b.String()
}

// Fixed writes v with exactly decimals digits after the point and
// thousands separators: (1234.5, 1) → "1,234.5". Negative zero is "0".
func Fixed(v float64, decimals int) string {
	if !Finite(v) {
		return Missing
	}
	if decimals < 0 {
		decimals = 0
	}
	s := strconv.FormatFloat(math.Abs(v), 'f', decimals, 64)
	intPart, frac, _ := strings.Cut(s, ".")
	out := GroupThousands(intPart)
	if frac != "" {
		out += "." + frac
	}
	if v < 0 && strings.Trim(s, "0.") != "" {
		out = "-" + out
	}
	return out
}

// Number writes v rounded to one decimal, without the decimal when it
// is zero: 42 → "42", 1234.56 → "1,234.6", 2.04 → "2".
func Number(v float64) string {
	if !Finite(v) {
		return Missing
	}
	r := math.Round(v*10) / 10
	if r == math.Trunc(r) {
		return Fixed(r, 0)
	}
	return Fixed(r, 1)
}

// Measure writes v rounded to one decimal, always shown: 1068 →
// "1,068.0", 7891.94 → "7,891.9". Tables use it for columns of measures.
func Measure(v float64) string {
	if !Finite(v) {
		return Missing
	}
	return oneDecimal(v)
}

// Percent writes p (already in percent, 12.5 for 12.5%) with always one
// decimal: 12.5 → "12.5%", 81 → "81.0%", 0.02 → "<0.1%".
func Percent(p float64) string {
	if !Finite(p) {
		return Missing
	}
	if p != 0 && math.Abs(p) < 0.05 {
		if p < 0 {
			return ">-0.1%"
		}
		return "<0.1%"
	}
	return oneDecimal(p) + "%"
}

// Points writes a difference of two rates in percentage points with
// always one decimal: 2.54 → "2.5 pp", 3 → "3.0 pp".
func Points(d float64) string {
	if !Finite(d) {
		return Missing
	}
	return oneDecimal(d) + " pp"
}

// oneDecimal rounds half away from zero (as Number does) and always
// writes the decimal.
func oneDecimal(v float64) string { return Fixed(math.Round(v*10)/10, 1) }

// Value writes v followed by its unit: "42 completed", "72.5%", "42".
func Value(v float64, unit string) string {
	if !Finite(v) {
		return Missing
	}
	switch unit {
	case "%":
		return Percent(v)
	case "":
		return Number(v)
	default:
		return Number(v) + " " + unit
	}
}

// Date writes a local date: "14 Mar 2026".
func Date(t time.Time) string { return t.Format("2 Jan 2006") }

// DateTime writes a time in loc: "14 Mar 2026, 09:30".
func DateTime(t time.Time, loc *time.Location) string {
	if loc == nil {
		loc = time.UTC
	}
	return t.In(loc).Format("2 Jan 2006, 15:04")
}

// XLSX number formats for spreadsheet cells, matching Int, Number and
// Percent (percent cells hold the percentage, 12.5 for 12.5%).
const (
	XLSXInt     = "#,##0"
	XLSXNumber  = "#,##0.0"
	XLSXPercent = `#,##0.0"%"`
	XLSXDate    = "yyyy-mm-dd"
	XLSXTime    = "yyyy-mm-dd hh:mm"
)
