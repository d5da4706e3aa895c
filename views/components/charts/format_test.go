package charts

import (
	"github.com/learnlens/learnlens/views/format"

	"math"
	"testing"
)

func TestFormatInt(t *testing.T) {
	tests := []struct {
		in   int64
		want string
	}{
		{0, "0"},
		{7, "7"},
		{999, "999"},
		{1000, "1,000"},
		{12345, "12,345"},
		{1234567, "1,234,567"},
		{-1234, "-1,234"},
		{-999, "-999"},
		{math.MaxInt64, "9,223,372,036,854,775,807"},
		{math.MinInt64, "-9,223,372,036,854,775,808"},
	}
	for _, tt := range tests {
		if got := format.Int(tt.in); got != tt.want {
			t.Errorf("format.Int(%d) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestFormatFixed(t *testing.T) {
	tests := []struct {
		in   float64
		d    int
		want string
	}{
		{1234.5, 1, "1,234.5"},
		{1234.56, 0, "1,235"},
		{0.25, 2, "0.25"},
		{-1234567.891, 2, "-1,234,567.89"},
		{-0.04, 1, "0.0"},
		{-0.0, 0, "0"},
		{12, -3, "12"},
		{math.NaN(), 1, format.Missing},
		{math.Inf(-1), 0, format.Missing},
	}
	for _, tt := range tests {
		if got := format.Fixed(tt.in, tt.d); got != tt.want {
			t.Errorf("format.Fixed(%v, %d) = %q, want %q", tt.in, tt.d, got, tt.want)
		}
	}
}

func TestFormatNumber(t *testing.T) {
	tests := []struct {
		in   float64
		want string
	}{
		{0, "0"},
		{42, "42"},
		{1234, "1,234"},
		{1234.56, "1,234.6"},
		{2.04, "2"},
		{2.05, "2.1"},
		{-3.25, "-3.3"}, // math.Round rounds half away from zero
		{1e9, "1,000,000,000"},
		{math.NaN(), format.Missing},
		{math.Inf(1), format.Missing},
	}
	for _, tt := range tests {
		if got := format.Number(tt.in); got != tt.want {
			t.Errorf("format.Number(%v) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestFormatPercent(t *testing.T) {
	tests := []struct {
		in   float64
		want string
	}{
		{0, "0.0%"},
		{12.5, "12.5%"},
		{12.04, "12.0%"},
		{81, "81.0%"},
		{84.66, "84.7%"},
		{99.96, "100.0%"},
		{100, "100.0%"},
		{0.02, "<0.1%"},
		{-0.02, ">-0.1%"},
		{0.05, "0.1%"},
		{-7.25, "-7.3%"},
		{1234.5, "1,234.5%"},
		{math.NaN(), format.Missing},
	}
	for _, tt := range tests {
		if got := format.Percent(tt.in); got != tt.want {
			t.Errorf("format.Percent(%v) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestFormatMeasure(t *testing.T) {
	for in, want := range map[float64]string{0: "0.0", 1068: "1,068.0", 7891.94: "7,891.9", -2.25: "-2.3", math.NaN(): format.Missing} {
		if got := format.Measure(in); got != want {
			t.Errorf("format.Measure(%v) = %q, want %q", in, got, want)
		}
	}
}

func TestFormatPoints(t *testing.T) {
	tests := []struct {
		in   float64
		want string
	}{
		{0, "0.0 pp"},
		{3, "3.0 pp"},
		{2.54, "2.5 pp"},
		{2.55, "2.6 pp"},
		{math.Inf(-1), format.Missing},
	}
	for _, tt := range tests {
		if got := format.Points(tt.in); got != tt.want {
			t.Errorf("format.Points(%v) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestFormatValue(t *testing.T) {
	tests := []struct {
		v    float64
		unit string
		want string
	}{
		{42, "completed", "42 completed"},
		{1234, "learners", "1,234 learners"},
		{72.45, "%", "72.5%"},
		{72, "%", "72.0%"},
		{42, "", "42"},
		{math.NaN(), "learners", format.Missing},
	}
	for _, tt := range tests {
		if got := format.Value(tt.v, tt.unit); got != tt.want {
			t.Errorf("format.Value(%v, %q) = %q, want %q", tt.v, tt.unit, got, tt.want)
		}
	}
}

func TestColumnHeader(t *testing.T) {
	for in, want := range map[string]string{"": "Value", "%": "Value", "learners": "Learners", "écoles": "Écoles", "h": "H"} {
		if got := columnHeader(in); got != want {
			t.Errorf("columnHeader(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestTruncate(t *testing.T) {
	tests := []struct {
		in   string
		max  int
		want string
	}{
		{"Manual handling", 20, "Manual handling"},
		{"Manual handling", 15, "Manual handling"},
		{"Manual handling", 8, "Manual…"},
		{"Manual handling", 1, "…"},
		{"Manual handling", 0, ""},
		{"Ärztliche Übung", 4, "Ärz…"},
	}
	for _, tt := range tests {
		if got := truncate(tt.in, tt.max); got != tt.want {
			t.Errorf("truncate(%q, %d) = %q, want %q", tt.in, tt.max, got, tt.want)
		}
	}
}

func TestTextWidthAndFitText(t *testing.T) {
	if w := textWidth("", 12); w != 0 {
		t.Errorf("textWidth(\"\") = %v", w)
	}
	if textWidth("WWW", 12) <= textWidth("iii", 12) {
		t.Error("W should be wider than i")
	}
	if a, b := textWidth("1,234", 16), textWidth("1,234", 12); a <= b {
		t.Errorf("larger font should be wider: %v <= %v", a, b)
	}
	long := "Information security awareness 2026 – annual refresher for all staff"
	for _, width := range []float64{0, 5, 40, 100, 300, 2000} {
		got := fitText(long, width, 12)
		if got != "" && textWidth(got, 12) > width {
			t.Errorf("fitText(%v) = %q is %v wide", width, got, textWidth(got, 12))
		}
	}
	if got := fitText(long, 2000, 12); got != long {
		t.Errorf("fitText with room = %q", got)
	}
	if got := fitText(long, 100, 12); got == "" || got[len(got)-3:] != "…" {
		t.Errorf("fitText(100) = %q, want a shortened text ending in …", got)
	}
}

func TestSlug(t *testing.T) {
	tests := map[string]string{
		"completions-by-course": "completions-by-course",
		"Score_dist 2":          "Score_dist-2",
		"a/b\"c<d>":             "a-b-c-d-",
		"":                      "chart",
		"  ":                    "chart",
		"Übersicht":             "-bersicht",
	}
	for in, want := range tests {
		if got := slug(in); got != want {
			t.Errorf("slug(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestNum(t *testing.T) {
	tests := []struct {
		in   float64
		want string
	}{
		{0, "0"},
		{12, "12"},
		{12.3456, "12.35"},
		{-0.001, "0"},
		{math.NaN(), "0"},
		{math.Inf(1), "0"},
	}
	for _, tt := range tests {
		if got := num(tt.in); got != tt.want {
			t.Errorf("num(%v) = %q, want %q", tt.in, got, tt.want)
		}
	}
	if raw(math.NaN()) != "" || raw(2.5) != "2.5" || raw(1e6) != "1000000" {
		t.Errorf("raw: %q %q %q", raw(math.NaN()), raw(2.5), raw(1e6))
	}
}
