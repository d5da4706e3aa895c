package handlers

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/gofiber/fiber/v2"

	"github.com/learnlens/learnlens/auth"
)

func TestProblemFor(t *testing.T) {
	cases := []struct {
		err        error
		status     int
		title, msg string
	}{
		{fiber.ErrNotFound, 404, "Page not found", "There is nothing at this address"},
		{fmt.Errorf("%w: %w", auth.ErrUnknownHost, fiber.ErrNotFound), 404, "No organisation here", "No LearnLens organisation"},
		{auth.ErrTenantSuspended, 403, "Account suspended", "is suspended"},
		{fiber.NewError(403, auth.ErrForbidden.Error()), 403, "Not allowed", "Your role does not give access to this page."},
		{fiber.NewError(400, "page must be a whole number"), 400, "That did not work", "Page must be a whole number."},
		{errors.New("pq: connection refused to 10.0.0.1"), 500, "Something went wrong", "It has been logged"},
		{fiber.NewError(503, "db down at 10.0.0.1"), 500, "Something went wrong", "It has been logged"},
	}
	for _, tc := range cases {
		p := problemFor(tc.err)
		if p.Status != tc.status || p.Title != tc.title || !strings.Contains(p.Message, tc.msg) {
			t.Errorf("problemFor(%v) = %+v, want %d %q containing %q", tc.err, p, tc.status, tc.title, tc.msg)
		}
		if p.Status >= 500 && strings.Contains(p.Message, "10.0.0.1") {
			t.Errorf("5xx message leaks internals: %q", p.Message)
		}
	}
}
