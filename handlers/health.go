package handlers

import (
	"context"
	"errors"
	"time"

	"github.com/gofiber/fiber/v2"
)

// healthz answers while the process is alive.
func (h *Handlers) healthz(c *fiber.Ctx) error {
	return c.JSON(fiber.Map{"status": "ok"})
}

// readyz answers 200 only while the database does and the instance is
// not draining before a stop.
func (h *Handlers) readyz(c *fiber.Ctx) error {
	if h.draining.Load() {
		return c.Status(fiber.StatusServiceUnavailable).JSON(fiber.Map{"status": "draining"})
	}
	if err := h.ready(c.UserContext()); err != nil {
		h.log.Warn("readiness check failed", "err", err)
		return c.Status(fiber.StatusServiceUnavailable).JSON(fiber.Map{"status": "unavailable", "database": "unreachable"})
	}
	return c.JSON(fiber.Map{"status": "ok", "database": "ok"})
}

// errDraining is readiness while the instance drains before it stops.
var errDraining = errors.New("draining: the instance is stopping")

// ready is readyz's check, which the metrics repeat at every scrape
// (learnlens_ready).
func (h *Handlers) ready(ctx context.Context) error {
	if h.draining.Load() {
		return errDraining
	}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	return h.db.Ping(ctx)
}
