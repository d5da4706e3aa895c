package charts

import (
	"fmt"
	"math"
	"strconv"
	"testing"
)

// cvd simulates full protanopia, deuteranopia and tritanopia on linear
// sRGB (Machado, Oliveira and Fernandes 2009, severity 1.0).
var cvd = map[string][3][3]float64{
	"protanopia":   {{0.152286, 1.052583, -0.204868}, {0.114503, 0.786281, 0.099216}, {-0.003882, -0.048116, 1.051998}},
	"deuteranopia": {{0.367322, 0.860646, -0.227968}, {0.280085, 0.672501, 0.047413}, {-0.011820, 0.042940, 0.968881}},
	"tritanopia":   {{1.255528, -0.076749, -0.178779}, {-0.078411, 0.930809, 0.147602}, {0.004733, 0.691367, 0.303900}},
	"typical":      {{1, 0, 0}, {0, 1, 0}, {0, 0, 1}},
}

// minDeltaE is the smallest CIE76 distance two status colours may have
// under any simulated vision: about 20 is "clearly different colours"
// side by side in a stacked bar or legend.
const minDeltaE = 20

// TestStatusColoursStayApart checks that the colours of statuses shown
// side by side (compliance's five, completion's four, the team tree's
// bands) remain distinct for colour-blind viewers.
func TestStatusColoursStayApart(t *testing.T) {
	sets := map[string]map[string]Color{
		"compliance": {"compliant": Emerald, "not yet due": Slate, "due soon": Amber, "overdue": Rose, "expired": Violet},
		"completion": {"completed": Brand, "in progress": Emerald, "not started": Amber, "overdue": Rose},
		"team tree":  {"on track": Emerald, "behind": Amber, "lagging": Rose},
	}
	for set, colours := range sets {
		for vision, m := range cvd {
			for a, ca := range colours {
				for b, cb := range colours {
					if a >= b {
						continue
					}
					if d := deltaE(lab(simulate(Hex[ca], m)), lab(simulate(Hex[cb], m))); d < minDeltaE {
						t.Errorf("%s: %s (%s) and %s (%s) are %.1f apart under %s, want ≥ %d", set, a, Hex[ca], b, Hex[cb], d, vision, minDeltaE)
					}
				}
			}
		}
	}
}

// TestPaletteContrast checks every fixed colour against white (WCAG 1.4.11: 3:1).
func TestPaletteContrast(t *testing.T) {
	for c, hex := range Hex {
		if c == Brand {
			continue // the tenant's choice
		}
		rgb := simulate(hex, cvd["typical"])
		l := 0.2126*rgb[0] + 0.7152*rgb[1] + 0.0722*rgb[2]
		if ratio := 1.05 / (l + 0.05); ratio < 3 {
			t.Errorf("%s against white is %.2f:1, want ≥ 3:1", hex, ratio)
		}
	}
}

func simulate(hex string, m [3][3]float64) [3]float64 {
	var lin [3]float64
	for i := range lin {
		v, err := strconv.ParseUint(hex[1+2*i:3+2*i], 16, 8)
		if err != nil {
			panic(fmt.Sprintf("bad colour %q", hex))
		}
		c := float64(v) / 255
		if c <= 0.04045 {
			lin[i] = c / 12.92
		} else {
			lin[i] = math.Pow((c+0.055)/1.055, 2.4)
		}
	}
	var out [3]float64
	for i := range out {
		out[i] = math.Max(0, math.Min(1, m[i][0]*lin[0]+m[i][1]*lin[1]+m[i][2]*lin[2]))
	}
	return out
}

func lab(rgb [3]float64) [3]float64 {
	x := (0.4124*rgb[0] + 0.3576*rgb[1] + 0.1805*rgb[2]) / 0.95047
	y := 0.2126*rgb[0] + 0.7152*rgb[1] + 0.0722*rgb[2]
	z := (0.0193*rgb[0] + 0.1192*rgb[1] + 0.9505*rgb[2]) / 1.08883
	f := func(t float64) float64 {
		if t > 0.008856 {
			return math.Cbrt(t)
		}
		return 7.787*t + 16.0/116
	}
	return [3]float64{116*f(y) - 16, 500 * (f(x) - f(y)), 200 * (f(y) - f(z))}
}

func deltaE(a, b [3]float64) float64 {
	return math.Sqrt((a[0]-b[0])*(a[0]-b[0]) + (a[1]-b[1])*(a[1]-b[1]) + (a[2]-b[2])*(a[2]-b[2]))
}
