package realtime

import (
	"bytes"
	"fmt"
	"hash/fnv"
	"html"
	"strings"

	nethtml "golang.org/x/net/html"
	"golang.org/x/net/html/atom"
)

// Section is one part of a page that a push may replace on its own: an
// element marked data-live="<key>" in the page's HTML (a KPI tile, a
// chart, a table, the "data as of" line).
type Section struct {
	Key  string
	HTML []byte
	// Numbers fingerprints what the section says, leaving out <time>
	// elements (when its data is from): a section whose only change is its
	// "data as of" time has not changed for the people looking at it.
	Numbers uint64
}

// AsOfKey is the section of a page's "data as of" line. It is pushed only
// along with a section whose numbers changed.
const AsOfKey = "as-of"

// Split returns the sections of a page's HTML in document order: the
// outermost elements with a data-live attribute.
func Split(page []byte) ([]Section, error) {
	body := &nethtml.Node{Type: nethtml.ElementNode, Data: "body", DataAtom: atom.Body}
	nodes, err := nethtml.ParseFragment(bytes.NewReader(page), body)
	if err != nil {
		return nil, fmt.Errorf("parse page: %w", err)
	}
	var out []Section
	var walk func(n *nethtml.Node) error
	walk = func(n *nethtml.Node) error {
		if n.Type == nethtml.ElementNode {
			if key, ok := attr(n, "data-live"); ok {
				var buf bytes.Buffer
				if err := nethtml.Render(&buf, n); err != nil {
					return err
				}
				h := fnv.New64a()
				numbers(h, n)
				out = append(out, Section{Key: key, HTML: buf.Bytes(), Numbers: h.Sum64()})
				return nil
			}
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			if err := walk(c); err != nil {
				return err
			}
		}
		return nil
	}
	for _, n := range nodes {
		if err := walk(n); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// numbers writes n's text and attributes to w, skipping <time> elements.
func numbers(w interface{ Write([]byte) (int, error) }, n *nethtml.Node) {
	switch n.Type {
	case nethtml.TextNode:
		w.Write([]byte(n.Data))
	case nethtml.ElementNode:
		if n.DataAtom == atom.Time {
			return
		}
		w.Write([]byte("<" + n.Data))
		for _, a := range n.Attr {
			w.Write([]byte(" " + a.Key + "=" + a.Val))
		}
		w.Write([]byte(">"))
	}
	for c := n.FirstChild; c != nil; c = c.NextSibling {
		numbers(w, c)
	}
}

func attr(n *nethtml.Node, name string) (string, bool) {
	for _, a := range n.Attr {
		if a.Key == name {
			return a.Val, true
		}
	}
	return "", false
}

// oob returns s as an htmx out-of-band swap of the element with the same
// data-live key, marked data-live-changed when its numbers changed (the
// page highlights it briefly).
func (s Section) oob(changed bool) []byte {
	// Rendered by x/net/html, the section starts with "<tag" followed by a
	// space or ">": the attributes go right after the tag name.
	i := bytes.IndexAny(s.HTML, " >")
	if i < 0 {
		return nil
	}
	var b strings.Builder
	b.Write(s.HTML[:i])
	b.WriteString(` hx-swap-oob="`)
	b.WriteString(html.EscapeString(`outerHTML:[data-live="` + s.Key + `"]`))
	b.WriteString(`"`)
	if changed {
		b.WriteString(" data-live-changed")
	}
	b.Write(s.HTML[i:])
	return []byte(b.String())
}
