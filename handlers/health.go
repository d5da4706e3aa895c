package handlers

import (
	"context"
	"time"

	"github.com/gofiber/fiber/v2"
)

// healthz answers while the process is alive.
func (h *Handlers) healthz(c *fiber.Ctx) error {
	return c.JSON(fiber.Map{"status": "ok"})
}

// readyz answers 200 only while the database does.
func (h *Handlers) readyz(c *fiber.Ctx) error {
	if err := h.ready(c.UserContext()); err != nil {
		h.log.Warn("readiness check failed", "err", err)
		return c.Status(fiber.StatusServiceUnavailable).JSON(fiber.Map{"status": "unavailable", "database": "unreachable"})
	}
	return c.JSON(fiber.Map{"status": "ok", "database": "ok"})
}

// ready is readyz's check, which the metrics repeat at every scrape
// (learnlens_ready).
func (h *Handlers) ready(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	return h.db.Ping(ctx)
}
