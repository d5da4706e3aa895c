package handlers

import (
	"net/textproto"
	"net/url"
	"slices"
	"strings"

	"github.com/gofiber/fiber/v2"
)

// xapiFormHeaders are the headers the Alternate Request Syntax carries as
// form parameters (Communication 1.3.s3.b6), by their canonical names.
var xapiFormHeaders = []string{"Authorization", "X-Experience-Api-Version", "Content-Type", "Content-Length", "If-Match", "If-None-Match"}

// xapiAlternateMethods are the methods a request in the Alternate Request
// Syntax may stand for.
var xapiAlternateMethods = []string{fiber.MethodGet, fiber.MethodHead, fiber.MethodPut, fiber.MethodPost, fiber.MethodDelete}

// xapiAlternateSyntax serves a request in the Alternate Request Syntax
// (Communication 1.3), which browsers without CORS send: a POST whose only
// query parameter is method, with a form of the headers, the query
// parameters and the content. It rewrites the request into the one it
// stands for and serves that through the whole app again, so that it meets
// the same authentication, limits and routes as any other request.
func (h *Handlers) xapiAlternateSyntax(c *fiber.Ctx) error {
	args := c.Request().URI().QueryArgs()
	if c.Method() != fiber.MethodPost || !args.Has("method") {
		return c.Next()
	}
	method := strings.ToUpper(string(args.Peek("method")))
	if !slices.Contains(xapiAlternateMethods, method) {
		return fiber.NewError(fiber.StatusBadRequest, "the method parameter must be one of "+strings.Join(xapiAlternateMethods, ", ")+", got "+string(args.Peek("method")))
	}
	if args.Len() != 1 {
		return fiber.NewError(fiber.StatusBadRequest, "a request in the alternate request syntax has no query parameter but method; send the others as form parameters")
	}
	mt, _, _ := strings.Cut(c.Get(fiber.HeaderContentType), ";")
	if !strings.EqualFold(strings.TrimSpace(mt), fiber.MIMEApplicationForm) {
		return fiber.NewError(fiber.StatusBadRequest, "a request in the alternate request syntax is a form: send it as application/x-www-form-urlencoded")
	}
	form, err := url.ParseQuery(string(c.Body()))
	if err != nil {
		return fiber.NewError(fiber.StatusBadRequest, "the form of the alternate request syntax is malformed")
	}
	if _, ok := form["method"]; ok {
		// Served again with the form's parameters as its query, it would
		// be taken for the alternate syntax once more.
		return fiber.NewError(fiber.StatusBadRequest, "method belongs in the query string of the alternate request syntax, not in its form")
	}
	req := c.Request()
	req.Header.Del(fiber.HeaderContentType)
	for name, values := range form {
		canonical := textproto.CanonicalMIMEHeaderKey(name)
		if !slices.Contains(xapiFormHeaders, canonical) {
			continue
		}
		if canonical != fiber.HeaderContentLength { // the body's own length is sent
			req.Header.Set(canonical, values[0])
		}
		delete(form, name)
	}
	if mt, _, _ := strings.Cut(string(req.Header.ContentType()), ";"); strings.HasPrefix(strings.ToLower(strings.TrimSpace(mt)), "multipart/") {
		// Communication 1.3: the syntax carries content as a form
		// field, so statements with attachment data cannot use it.
		return fiber.NewError(fiber.StatusBadRequest, "the alternate request syntax carries statements as JSON only; send statements with attachment data as a multipart/mixed request")
	}
	content, hasContent := form["content"]
	delete(form, "content")
	body := ""
	if hasContent {
		body = content[0]
		if len(req.Header.ContentType()) == 0 {
			req.Header.SetContentType(fiber.MIMEApplicationJSON)
		}
	}
	req.SetBodyString(body)
	req.URI().SetQueryString(form.Encode())
	req.Header.SetMethod(method)
	req.Header.Set(fiber.HeaderXRequestID, requestID(c))
	h.appHandler()(c.Context())
	return nil
}
