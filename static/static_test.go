package static

import (
	"bytes"
	"encoding/json"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gofiber/fiber/v2"
)

func newApp() *fiber.App {
	app := fiber.New()
	Register(app)
	return app
}

func get(t *testing.T, app *fiber.App, target string, header ...string) (*http.Response, []byte) {
	t.Helper()
	req := httptest.NewRequest(http.MethodGet, target, nil)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := app.Test(req)
	if err != nil {
		t.Fatalf("GET %s: %v", target, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("GET %s: reading body: %v", target, err)
	}
	return resp, body
}

func mustRead(t *testing.T, name string) []byte {
	t.Helper()
	data, err := fs.ReadFile(FS, name)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func TestServe(t *testing.T) {
	app := newApp()
	tests := []struct {
		name        string
		target      string
		status      int
		file        string // embedded file whose bytes are expected, if any
		contentType string
		header      map[string]string
	}{
		{"hashed css", Path("css/app.css"), 200, "css/app.css", "text/css; charset=utf-8",
			map[string]string{"Cache-Control": cacheImmutable}},
		{"hashed js", Path("js/app.js"), 200, "js/app.js", "text/javascript; charset=utf-8",
			map[string]string{"Cache-Control": cacheImmutable}},
		{"hashed dotted js name", Path("js/htmx.min.js"), 200, "js/htmx.min.js", "text/javascript; charset=utf-8",
			map[string]string{"Cache-Control": cacheImmutable}},
		{"hashed png", Path("icons/icon-192.png"), 200, "icons/icon-192.png", "image/png",
			map[string]string{"Cache-Control": cacheImmutable}},
		{"hashed svg", Path("icons/favicon.svg"), 200, "icons/favicon.svg", "image/svg+xml",
			map[string]string{"Cache-Control": cacheImmutable}},
		{"unhashed css", "/static/css/app.css", 200, "css/app.css", "text/css; charset=utf-8",
			map[string]string{"Cache-Control": "no-cache"}},
		{"unhashed icon", "/static/icons/icon-512.png", 200, "icons/icon-512.png", "image/png",
			map[string]string{"Cache-Control": "no-cache"}},
		{"wrong hash", "/static/css/app.00000000.css", 404, "", "", nil},
		{"unknown file", "/static/css/nope.css", 404, "", "", nil},
		{"directory", "/static/css", 404, "", "", nil},
		{"static root", "/static/", 404, "", "", nil},
		{"source not embedded", "/static/src/app.css", 404, "", "", nil},
		{"generator not embedded", "/static/icons/gen.go", 404, "", "", nil},
		{"traversal", "/static/../static.go", 404, "", "", nil},
		{"nested traversal", "/static/css/../../static.go", 404, "", "", nil},
		{"encoded traversal", "/static/..%2fstatic.go", 404, "", "", nil},
		{"encoded dots", "/static/%2e%2e/static.go", 404, "", "", nil},
		{"service worker", "/sw.js", 200, "sw.js", "text/javascript; charset=utf-8",
			map[string]string{"Cache-Control": "no-cache", "Service-Worker-Allowed": "/"}},
		{"offline page", "/offline.html", 200, "offline.html", "text/html; charset=utf-8",
			map[string]string{"Cache-Control": "no-cache"}},
		{"favicon.ico", "/favicon.ico", 302, "", "",
			map[string]string{"Location": Path("icons/favicon.svg")}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, body := get(t, app, tt.target)
			if resp.StatusCode != tt.status {
				t.Fatalf("GET %s: status %d, want %d", tt.target, resp.StatusCode, tt.status)
			}
			if tt.file != "" && !bytes.Equal(body, mustRead(t, tt.file)) {
				t.Errorf("GET %s: body differs from embedded %s", tt.target, tt.file)
			}
			if tt.contentType != "" {
				if got := resp.Header.Get("Content-Type"); got != tt.contentType {
					t.Errorf("GET %s: Content-Type %q, want %q", tt.target, got, tt.contentType)
				}
			}
			for k, want := range tt.header {
				if got := resp.Header.Get(k); got != want {
					t.Errorf("GET %s: %s %q, want %q", tt.target, k, got, want)
				}
			}
		})
	}
}

func TestPathFormat(t *testing.T) {
	tests := []struct{ name, prefix, suffix string }{
		{"css/app.css", "/static/css/app.", ".css"},
		{"js/htmx.min.js", "/static/js/htmx.min.", ".js"},
		{"manifest.webmanifest", "/static/manifest.", ".webmanifest"},
	}
	for _, tt := range tests {
		got := Path(tt.name)
		hash := strings.TrimSuffix(strings.TrimPrefix(got, tt.prefix), tt.suffix)
		if !strings.HasPrefix(got, tt.prefix) || !strings.HasSuffix(got, tt.suffix) || len(hash) != 8 ||
			strings.Trim(hash, "0123456789abcdef") != "" {
			t.Errorf("Path(%q) = %q, want %s<8 hex>%s", tt.name, got, tt.prefix, tt.suffix)
		}
	}
}

func TestPathPanicsForUnknownName(t *testing.T) {
	for _, name := range []string{"", "nope.css", "/css/app.css", "src/app.css", "icons/gen.go"} {
		t.Run(name, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Errorf("Path(%q) did not panic", name)
				}
			}()
			Path(name)
		})
	}
}

func TestNotModified(t *testing.T) {
	app := newApp()
	resp, _ := get(t, app, "/sw.js")
	etag := resp.Header.Get("ETag")
	if etag == "" {
		t.Fatal("no ETag on /sw.js")
	}
	resp, body := get(t, app, "/sw.js", "If-None-Match", etag)
	if resp.StatusCode != http.StatusNotModified || len(body) != 0 {
		t.Errorf("conditional GET: status %d, %d body bytes; want 304, empty", resp.StatusCode, len(body))
	}
}

func TestManifest(t *testing.T) {
	body := Manifest()
	var m struct {
		Name      string `json:"name"`
		ShortName string `json:"short_name"`
		StartURL  string `json:"start_url"`
		Scope     string `json:"scope"`
		Display   string `json:"display"`
		Icons     []struct{ Src, Sizes, Type, Purpose string }
	}
	if err := json.Unmarshal(body, &m); err != nil {
		t.Fatalf("manifest is not valid JSON: %v", err)
	}
	if m.Name != "LearnLens" || m.ShortName != "LearnLens" || m.StartURL != "/" || m.Scope != "/" || m.Display != "standalone" {
		t.Errorf("unexpected manifest fields: %+v", m)
	}
	want := map[string]string{ // src → purpose
		"/static/icons/icon-192.png":          "any",
		"/static/icons/icon-512.png":          "any",
		"/static/icons/icon-maskable-512.png": "maskable",
	}
	if len(m.Icons) != len(want) {
		t.Fatalf("manifest has %d icons, want %d", len(m.Icons), len(want))
	}
	for _, icon := range m.Icons {
		purpose, ok := want[icon.Src]
		if !ok || icon.Purpose != purpose || icon.Type != "image/png" {
			t.Errorf("unexpected icon %+v", icon)
			continue
		}
		if _, err := fs.Stat(FS, strings.TrimPrefix(icon.Src, "/static/")); err != nil {
			t.Errorf("icon %s not embedded: %v", icon.Src, err)
		}
	}
}
