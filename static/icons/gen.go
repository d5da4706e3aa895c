//go:build ignore

// Command gen draws the LearnLens app icons: a brand-indigo rounded square
// with a white magnifying lens framing a small bar chart. It writes
// icon-192.png, icon-512.png, icon-maskable-512.png and favicon.svg.
//
// Run from the repository root:
//
//	go run static/icons/gen.go
package main

import (
	"flag"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"log"
	"math"
	"os"
	"path/filepath"
)

// Brand indigo (Tailwind indigo-600), matching --brand-rgb in app.css.
var brand = color.NRGBA{R: 79, G: 70, B: 229, A: 255}

// The mark is defined in "mark units": roughly [-1, 1] around its centre.
const (
	lensX, lensY = -0.215, -0.215 // lens centre
	lensR        = 0.49           // radius of the ring's centre line
	lensHalfW    = 0.06           // half the ring thickness
	handleX0     = 0.185          // handle runs diagonally from (x0,x0) to (x1,x1)
	handleX1     = 0.685
	handleHalfW  = 0.08
	barBottom    = 0.035
	barWidth     = 0.12
)

// bars holds the left edge and top of each bar of the chart inside the lens.
var bars = [][2]float64{{-0.445, -0.165}, {-0.255, -0.315}, {-0.065, -0.465}}

// inMark reports whether the point (x, y), in mark units, is white.
func inMark(x, y float64) bool {
	if math.Abs(math.Hypot(x-lensX, y-lensY)-lensR) <= lensHalfW {
		return true
	}
	// Distance to the handle segment (a capsule with round caps).
	t := ((x - handleX0) + (y - handleX0)) / (2 * (handleX1 - handleX0))
	t = math.Max(0, math.Min(1, t))
	p := handleX0 + t*(handleX1-handleX0)
	if math.Hypot(x-p, y-p) <= handleHalfW {
		return true
	}
	for _, b := range bars {
		if x >= b[0] && x <= b[0]+barWidth && y >= b[1] && y <= barBottom {
			return true
		}
	}
	return false
}

// inRoundedSquare reports whether (u, v) in [0,1]² lies inside a square with
// corner radius r (also in [0,1] units).
func inRoundedSquare(u, v, r float64) bool {
	dx := math.Max(math.Max(r-u, u-(1-r)), 0)
	dy := math.Max(math.Max(r-v, v-(1-r)), 0)
	return dx*dx+dy*dy <= r*r
}

// render draws a size×size icon. scale is the size of one mark unit as a
// fraction of the icon; radius is the background corner radius,
// 0 for a full-bleed (maskable) background.
func render(size int, scale, radius float64) *image.NRGBA {
	const ss = 4 // supersampling per axis
	img := image.NewNRGBA(image.Rect(0, 0, size, size))
	for py := 0; py < size; py++ {
		for px := 0; px < size; px++ {
			var bg, white int
			for sy := 0; sy < ss; sy++ {
				for sx := 0; sx < ss; sx++ {
					u := (float64(px) + (float64(sx)+0.5)/ss) / float64(size)
					v := (float64(py) + (float64(sy)+0.5)/ss) / float64(size)
					if radius > 0 && !inRoundedSquare(u, v, radius) {
						continue
					}
					if inMark((u-0.5)/scale, (v-0.5)/scale) {
						white++
					} else {
						bg++
					}
				}
			}
			n := bg + white
			if n == 0 {
				continue
			}
			mix := func(c uint8) uint8 {
				return uint8((int(c)*bg + 255*white + n/2) / n)
			}
			img.SetNRGBA(px, py, color.NRGBA{
				R: mix(brand.R), G: mix(brand.G), B: mix(brand.B),
				A: uint8((255*n + ss*ss/2) / (ss * ss)),
			})
		}
	}
	return img
}

func writePNG(path string, img image.Image) {
	f, err := os.Create(path)
	if err != nil {
		log.Fatal(err)
	}
	enc := png.Encoder{CompressionLevel: png.BestCompression}
	if err := enc.Encode(f, img); err != nil {
		log.Fatal(err)
	}
	if err := f.Close(); err != nil {
		log.Fatal(err)
	}
}

// faviconSVG is the same drawing as the "any" icons, in SVG.
func faviconSVG(scale, radius float64) string {
	const n = 64.0
	s := scale * n
	svg := fmt.Sprintf(`<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 64 64" role="img" aria-label="LearnLens">
<rect width="64" height="64" rx="%g" fill="#%02x%02x%02x"/>
<g transform="translate(32 32) scale(%g)" fill="#fff" stroke="#fff">
<circle cx="%g" cy="%g" r="%g" fill="none" stroke-width="%g"/>
<line x1="%g" y1="%g" x2="%g" y2="%g" stroke-width="%g" stroke-linecap="round"/>
`, radius*n, brand.R, brand.G, brand.B, s,
		lensX, lensY, lensR, 2*lensHalfW,
		handleX0, handleX0, handleX1, handleX1, 2*handleHalfW)
	for _, b := range bars {
		svg += fmt.Sprintf("<rect x=\"%g\" y=\"%g\" width=\"%g\" height=\"%g\" stroke=\"none\"/>\n",
			b[0], b[1], barWidth, math.Round((barBottom-b[1])*1000)/1000)
	}
	return svg + "</g>\n</svg>\n"
}

func main() {
	out := flag.String("out", "static/icons", "output directory")
	flag.Parse()

	// "any" icons: rounded square, mark spans about 60% of the icon.
	// Maskable: full bleed, and the mark's farthest point (the handle tip,
	// ~1.05 mark units from centre) stays within radius 0.38 < 0.40 of the
	// icon, i.e. inside the 80% safe zone.
	const anyScale, anyRadius, maskScale = 0.40, 0.22, 0.36
	writePNG(filepath.Join(*out, "icon-192.png"), render(192, anyScale, anyRadius))
	writePNG(filepath.Join(*out, "icon-512.png"), render(512, anyScale, anyRadius))
	writePNG(filepath.Join(*out, "icon-maskable-512.png"), render(512, maskScale, 0))
	if err := os.WriteFile(filepath.Join(*out, "favicon.svg"), []byte(faviconSVG(anyScale, anyRadius)), 0o644); err != nil {
		log.Fatal(err)
	}
}
