package handlers

import (
	"crypto/rand"
	"encoding/hex"
	"regexp"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/learnlens/learnlens/auth"
)

type requestIDKey struct{}

// validRequestID accepts a caller's X-Request-ID only if it is short and plain.
var validRequestID = regexp.MustCompile(`^[A-Za-z0-9._-]{1,64}$`)

// requestLog gives each request an id (echoed in X-Request-ID) and writes one
// structured log line per request with its tenant and user.
func (h *Handlers) requestLog(c *fiber.Ctx) error {
	start := time.Now()
	id := c.Get(fiber.HeaderXRequestID)
	if !validRequestID.MatchString(id) {
		b := make([]byte, 8)
		rand.Read(b)
		id = hex.EncodeToString(b)
	}
	c.Locals(requestIDKey{}, id)
	c.Set(fiber.HeaderXRequestID, id)

	err := c.Next()
	if err != nil {
		// Render the error now so the logged status is the one sent.
		if herr := c.App().Config().ErrorHandler(c, err); herr != nil {
			c.Status(fiber.StatusInternalServerError)
		}
	}
	took, status := time.Since(start), c.Response().StatusCode()
	attrs := []any{
		"request_id", id,
		"method", c.Method(),
		"path", logPath(c),
		"status", status,
		"duration_ms", float64(took.Microseconds()) / 1000,
		"ip", h.clientIP(c),
	}
	if t, ok := auth.LookupTenant(c); ok {
		attrs = append(attrs, "tenant", t.Slug)
	}
	if u := auth.User(c); u != nil {
		attrs = append(attrs, "user_id", u.ID)
	}
	if isLiveRender(c) {
		// A live dashboard's render, not a browser's request.
		h.log.Debug("live render", attrs...)
		return nil
	}
	h.observeRequest(c, status, took)
	h.log.Info("request", attrs...)
	return nil
}

// requestID returns the id requestLog gave the request.
func requestID(c *fiber.Ctx) string {
	id, _ := c.Locals(requestIDKey{}).(string)
	return id
}

// logPath is the request's path as logs show it: the route's pattern for
// the pages of one-time links, whose path holds the secret token.
func logPath(c *fiber.Ctx) string {
	if strings.HasSuffix(c.Route().Path, "/:token") {
		return c.Route().Path
	}
	return c.Path()
}
