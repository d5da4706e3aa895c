package handlers

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/gofiber/fiber/v2"
)

// checkText is middleware that refuses, with a 400 naming the parameter,
// a request whose query parameters or form fields (names or values) are
// not valid UTF-8 or hold a NUL character. PostgreSQL stores neither in
// text, so without this check such input reached a query and came back as
// a 500 (or, in a streamed CSV export, as a database error in the file).
// Uploaded files are not checked here: their parsers report bad bytes per
// row.
func (h *Handlers) checkText(c *fiber.Ctx) error {
	var bad string
	visit := func(key, value []byte) {
		if bad == "" && (!cleanText(key) || !cleanText(value)) {
			bad = string(key)
		}
	}
	c.Request().URI().QueryArgs().VisitAll(visit)
	if bad != "" {
		return badText("query parameter", bad)
	}
	ct := strings.ToLower(c.Get(fiber.HeaderContentType))
	switch {
	case strings.HasPrefix(ct, fiber.MIMEApplicationForm):
		c.Request().PostArgs().VisitAll(visit)
	case strings.HasPrefix(ct, fiber.MIMEMultipartForm):
		if form, err := c.MultipartForm(); err == nil {
			for k, vs := range form.Value {
				for _, v := range vs {
					visit([]byte(k), []byte(v))
				}
			}
		}
	}
	if bad != "" {
		return badText("form field", bad)
	}
	return c.Next()
}

func cleanText(b []byte) bool { return utf8.Valid(b) && bytes.IndexByte(b, 0) < 0 }

func badText(what, name string) error {
	return fiber.NewError(fiber.StatusBadRequest, fmt.Sprintf("the %s %s is not valid text: it holds a NUL character or bytes that are not UTF-8", what, strconv.QuoteToASCII(name)))
}
