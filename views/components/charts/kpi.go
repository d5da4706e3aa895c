package charts

import (
	"github.com/learnlens/learnlens/views/format"

	"math"
	"strings"
	"time"
)

// KPI is one key figure shown as a tile: label, value, unit, the change
// against the previous period and how fresh the data is.
type KPI struct {
	// ID names the tile's test id, kpi-<ID> (sanitised like a chart ID).
	ID    string
	Label string
	// Value is the figure; NaN shows "—" (e.g. an average of nothing).
	Value float64
	// Unit follows the value, e.g. "learners"; "%" is attached to it
	// ("72.5%") and makes the change read in percentage points.
	Unit string
	// Previous is the value of the comparison period; it is shown only when
	// HasPrevious is true.
	Previous    float64
	HasPrevious bool
	// CompareLabel follows the change, e.g. "vs previous 30 days"; empty
	// means "vs previous period".
	CompareLabel string
	// UpIsBad colours a rise red and a fall green (e.g. overdue
	// assignments); by default a rise is good (green).
	UpIsBad bool
	// AsOf is when the data was computed, shown as "Data as of 14 Mar 2026,
	// 09:30" in AsOf's location; the zero time hides the line.
	AsOf time.Time
	// Href makes the label a link to the details; HxGet and HxTarget make
	// it an htmx request as in Bar.
	Href, HxGet, HxTarget string
}

// change is a KPI's comparison with the previous period.
type change struct {
	Show  bool
	Arrow string // "▲", "▼" or ""
	Text  string // e.g. "12.5%", "4.2 pp", "No change"
	SR    string // what a screen reader says, e.g. "Up 12.5%, better"
	Class string // text colour
}

// Tones of a change.
const (
	toneGood    = "text-emerald-700"
	toneBad     = "text-rose-700"
	toneNeutral = "text-gray-600"
)

// kpiChange compares k.Value with k.Previous: the relative change in
// percent, or the difference in percentage points when the unit is "%", or
// the absolute difference when the previous value is 0.
func kpiChange(k KPI) change {
	if !k.HasPrevious || !format.Finite(k.Value) || !format.Finite(k.Previous) {
		return change{}
	}
	diff := k.Value - k.Previous
	var text, spoken string
	switch {
	case k.Unit == "%":
		text = format.Points(math.Abs(diff))
		spoken = strings.TrimSuffix(text, " pp") + " percentage points"
	case k.Previous == 0:
		text = format.Number(math.Abs(diff))
	default:
		text = format.Percent(math.Abs(diff / k.Previous * 100))
	}
	if spoken == "" {
		spoken = text
	}
	// A change that rounds to nothing is no change.
	if text == "0" || text == "0.0%" || text == "0.0 pp" {
		diff = 0
	}
	switch {
	case diff == 0:
		return change{Show: true, Text: "No change", SR: "No change", Class: toneNeutral}
	case (diff > 0) != k.UpIsBad:
		if diff > 0 {
			return change{Show: true, Arrow: "▲", Text: text, SR: "Up " + spoken + ", better", Class: toneGood}
		}
		return change{Show: true, Arrow: "▼", Text: text, SR: "Down " + spoken + ", better", Class: toneGood}
	default:
		if diff > 0 {
			return change{Show: true, Arrow: "▲", Text: text, SR: "Up " + spoken + ", worse", Class: toneBad}
		}
		return change{Show: true, Arrow: "▼", Text: text, SR: "Down " + spoken + ", worse", Class: toneBad}
	}
}

// kpiValue is the big number: "1,234" or "72.5%".
func kpiValue(k KPI) string {
	if k.Unit == "%" {
		return format.Percent(k.Value)
	}
	return format.Number(k.Value)
}

// kpiUnit is the unit printed after the big number ("" for "%", which is
// part of the number).
func kpiUnit(k KPI) string {
	if k.Unit == "%" || !format.Finite(k.Value) {
		return ""
	}
	return k.Unit
}

// asOf is "14 Mar 2026, 09:30".
func asOf(t time.Time) string { return t.Format("2 Jan 2006, 15:04") }

// kpiGridClass sets the grid's columns so a short row of tiles fills the
// width: two columns on phones, up to four on large screens.
func kpiGridClass(n int) string {
	switch {
	case n <= 1:
		return "grid grid-cols-1 gap-3 sm:gap-4"
	case n == 2:
		return "grid grid-cols-2 gap-3 sm:gap-4"
	case n == 3:
		return "grid grid-cols-2 gap-3 sm:gap-4 lg:grid-cols-3"
	default:
		return "grid grid-cols-2 gap-3 sm:gap-4 lg:grid-cols-4"
	}
}
