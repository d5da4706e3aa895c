package charts

// Color is one of the chart palette's colours. Tailwind only generates the
// classes it finds written out in full in the sources, so every class below
// is a complete string literal: do not build class names by concatenation.
type Color int

// The palette. Shades are chosen for at least 3:1 contrast against white
// (WCAG 1.4.11), except the brand colour, which the tenant chooses.
const (
	// Auto takes the next unused colour in palette order.
	Auto Color = iota
	// Brand is the tenant's colour (CSS variable --brand-rgb).
	Brand
	// Emerald is emerald-600, e.g. for "completed".
	Emerald
	// Amber is amber-600, e.g. for "in progress".
	Amber
	// Rose is rose-600, e.g. for "overdue" or "failed".
	Rose
	// Sky is sky-600.
	Sky
	// Slate is slate-500, e.g. for "not started" or a comparison period.
	Slate
	// Violet is violet-700, e.g. for "expired": a certificate that lapsed
	// is not the same news as training never done ("overdue", Rose).
	Violet
)

// Hex is each colour's sRGB value (Brand: the default indigo-600), for the
// colour-blind check in palette_test.go and for docs/DASHBOARDS.md.
var Hex = map[Color]string{Brand: "#4f46e5", Emerald: "#059669", Amber: "#d97706", Rose: "#e11d48",
	Sky: "#0284c7", Slate: "#64748b", Violet: "#6d28d9"}

// palette is the order in which Auto colours are handed out (Violet is
// kept for "expired").
var palette = [...]Color{Brand, Emerald, Amber, Rose, Sky, Slate}

// autoColors resolves Auto colours: the n-th Auto series gets the n-th
// palette colour not chosen explicitly by another series; dashed Auto
// series are slate.
func autoColors(series []Series) []Color {
	used := map[Color]bool{}
	for _, s := range series {
		if s.Color != Auto {
			used[s.Color] = true
		}
	}
	out := make([]Color, len(series))
	next := 0
	for i, s := range series {
		switch {
		case s.Color != Auto:
			out[i] = s.Color
		case s.Dashed:
			out[i] = Slate
		default:
			// Skip colours taken explicitly; wrap around when the palette
			// runs out.
			for tries := 0; tries < len(palette) && used[palette[next%len(palette)]]; tries++ {
				next++
			}
			out[i] = palette[next%len(palette)]
			next++
		}
	}
	return out
}

func (c Color) fill() string {
	switch c {
	case Emerald:
		return "fill-emerald-600"
	case Amber:
		return "fill-amber-600"
	case Rose:
		return "fill-rose-600"
	case Sky:
		return "fill-sky-600"
	case Slate:
		return "fill-slate-500"
	case Violet:
		return "fill-violet-700"
	default:
		return "fill-brand"
	}
}

func (c Color) stroke() string {
	switch c {
	case Emerald:
		return "stroke-emerald-600"
	case Amber:
		return "stroke-amber-600"
	case Rose:
		return "stroke-rose-600"
	case Sky:
		return "stroke-sky-600"
	case Slate:
		return "stroke-slate-500"
	case Violet:
		return "stroke-violet-700"
	default:
		return "stroke-brand"
	}
}

// swatch is the legend's background class.
func (c Color) swatch() string {
	switch c {
	case Emerald:
		return "bg-emerald-600"
	case Amber:
		return "bg-amber-600"
	case Rose:
		return "bg-rose-600"
	case Sky:
		return "bg-sky-600"
	case Slate:
		return "bg-slate-500"
	case Violet:
		return "bg-violet-700"
	default:
		return "bg-brand"
	}
}

// heatLevels is the number of non-zero intensity steps of a heatmap.
const heatLevels = 5

// heatFill is the class of heatmap level 0 (no activity) to heatLevels.
func heatFill(level int) string {
	switch level {
	case 1:
		return "fill-brand/20"
	case 2:
		return "fill-brand/40"
	case 3:
		return "fill-brand/60"
	case 4:
		return "fill-brand/80"
	case 5:
		return "fill-brand"
	default:
		return "fill-slate-100"
	}
}

// heatSwatch is the legend's class for heatmap level 0 to heatLevels.
func heatSwatch(level int) string {
	switch level {
	case 1:
		return "bg-brand/20"
	case 2:
		return "bg-brand/40"
	case 3:
		return "bg-brand/60"
	case 4:
		return "bg-brand/80"
	case 5:
		return "bg-brand"
	default:
		return "bg-slate-100"
	}
}

// Text classes. The svg scales with its container, so text is drawn larger
// (in viewBox units) below Tailwind's sm breakpoint, where the chart is
// shrunk to phone width, and the layout reserves room for the larger size.
const (
	// axisText is the group class of axis labels and value labels.
	axisText = "fill-slate-600 text-[16px] sm:text-xs tabular-nums"
	// valueText is the group class of the values printed at bars.
	valueText = "fill-slate-800 text-[16px] sm:text-xs font-medium tabular-nums"
	// rowText is the group class of a horizontal chart's row labels.
	rowText = "fill-slate-900 text-[16px] sm:text-[13px]"
	// passText is the histogram's pass-mark label.
	passText = "fill-rose-700 text-[16px] sm:text-xs font-semibold"
	// onlyMobile and onlyDesktop show a label at one of the two sizes.
	onlyMobile  = "sm:hidden"
	onlyDesktop = "max-sm:hidden"
)

// Font sizes in viewBox units matching axisText.
const (
	fontMobile  = 16.0
	fontDesktop = 12.0
	// fontRowDesktop is rowText's desktop size.
	fontRowDesktop = 13.0
)
