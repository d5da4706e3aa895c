// Package static embeds and serves LearnLens's front-end files: the built
// CSS, vendored htmx, app.js, icons, web app manifest, service worker and
// offline page. Files under /static/ are addressable by a content-hashed
// name (cached forever) or by their plain name (revalidated every time).
package static

import (
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"io/fs"
	"path"
	"strings"

	"github.com/gofiber/fiber/v2"
)

// FS holds the embedded front-end files (css, js, icons, manifest, sw.js, offline.html).
//
//go:embed css js icons/*.png icons/*.svg manifest.webmanifest sw.js offline.html
var FS embed.FS

const (
	cacheImmutable = "public, max-age=31536000, immutable"
	cacheNoCache   = "no-cache"
)

var contentTypes = map[string]string{
	".css":         "text/css; charset=utf-8",
	".js":          "text/javascript; charset=utf-8",
	".png":         "image/png",
	".svg":         "image/svg+xml",
	".webmanifest": "application/manifest+json",
	".html":        "text/html; charset=utf-8",
}

type file struct {
	data        []byte
	hashedName  string // e.g. "css/app.1a2b3c4d.css"
	etag        string
	contentType string
}

var (
	files  = map[string]*file{} // plain name → file
	hashed = map[string]*file{} // hashed name → file
)

func init() {
	err := fs.WalkDir(FS, ".", func(name string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := FS.ReadFile(name)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(data)
		hash := hex.EncodeToString(sum[:4])
		ext := path.Ext(name)
		ct, ok := contentTypes[ext]
		if !ok {
			ct = "application/octet-stream"
		}
		f := &file{
			data:        data,
			hashedName:  strings.TrimSuffix(name, ext) + "." + hash + ext,
			etag:        `"` + hash + `"`,
			contentType: ct,
		}
		files[name] = f
		hashed[f.hashedName] = f
		return nil
	})
	if err != nil {
		panic("static: reading embedded files: " + err.Error())
	}
}

// Manifest is the web app manifest (JSON). The app serves it at
// /manifest.webmanifest with each tenant's name and colours (handlers).
func Manifest() []byte { return files["manifest.webmanifest"].data }

// Path returns the content-hashed URL of an embedded file, e.g.
// Path("css/app.css") == "/static/css/app.1a2b3c4d.css". It panics for a
// name that is not embedded (a programming error caught by tests).
func Path(name string) string {
	f, ok := files[name]
	if !ok {
		panic("static: no embedded file " + name)
	}
	return "/static/" + f.hashedName
}

// Register mounts the file routes on r, which must be the app root (Path
// returns absolute URLs):
//
//	GET /static/*             hashed name: immutable; plain name: no-cache; else 404
//	GET /sw.js                no-cache, Service-Worker-Allowed: /
//	GET /offline.html         no-cache
//	GET /favicon.ico          302 to the hashed favicon.svg
//
// Misses return fiber.ErrNotFound so the app's error handler renders them.
func Register(r fiber.Router) {
	r.Get("/static/*", func(c *fiber.Ctx) error {
		name := c.Params("*")
		if f, ok := hashed[name]; ok {
			return send(c, f, cacheImmutable)
		}
		if f, ok := files[name]; ok {
			return send(c, f, cacheNoCache)
		}
		return fiber.ErrNotFound
	})
	r.Get("/sw.js", func(c *fiber.Ctx) error {
		c.Set("Service-Worker-Allowed", "/")
		return send(c, files["sw.js"], cacheNoCache)
	})
	r.Get("/offline.html", func(c *fiber.Ctx) error {
		return send(c, files["offline.html"], cacheNoCache)
	})
	favicon := Path("icons/favicon.svg")
	r.Get("/favicon.ico", func(c *fiber.Ctx) error {
		return c.Redirect(favicon, fiber.StatusFound)
	})
}

// send writes f with the given Cache-Control, answering a matching
// If-None-Match with 304 Not Modified.
func send(c *fiber.Ctx, f *file, cacheControl string) error {
	c.Set(fiber.HeaderCacheControl, cacheControl)
	c.Set(fiber.HeaderETag, f.etag)
	c.Set(fiber.HeaderXContentTypeOptions, "nosniff")
	if c.Get(fiber.HeaderIfNoneMatch) == f.etag {
		return c.SendStatus(fiber.StatusNotModified)
	}
	c.Set(fiber.HeaderContentType, f.contentType)
	return c.Send(f.data)
}
