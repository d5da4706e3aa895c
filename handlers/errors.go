package handlers

import (
	"errors"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/learnlens/learnlens/auth"
	"github.com/learnlens/learnlens/database"
	"github.com/learnlens/learnlens/htmx"
	errorviews "github.com/learnlens/learnlens/views/pages/errors"
)

// handleError is the app's single error handler. It turns an error returned
// by any handler into a status and a message the user can act on: a page,
// an htmx fragment (shown in the page's #flash area), or JSON. 5xx errors are
// logged with the request id; their details never reach the user.
func (h *Handlers) handleError(c *fiber.Ctx, err error) error {
	p := problemFor(err)
	switch {
	case p.Status == fiber.StatusServiceUnavailable:
		c.Set(fiber.HeaderRetryAfter, "5")
		h.log.Warn("database unavailable", "request_id", requestID(c), "method", c.Method(), "path", logPath(c), "err", err)
	case p.Status >= 500:
		h.log.Error("request failed", "request_id", requestID(c), "method", c.Method(), "path", logPath(c), "err", err)
	}
	var fe *fiber.Error
	if isXAPIPath(c.Path()) && errors.As(err, &fe) && fe.Code < 500 {
		p.Message = sentence(fe.Message) // an xAPI client is told the LRS's own reason, a 404's too
	}
	if strings.HasPrefix(c.Path(), "/api/") || isXAPIPath(c.Path()) || c.Accepts(fiber.MIMETextHTML, fiber.MIMEApplicationJSON) == fiber.MIMEApplicationJSON {
		return c.Status(p.Status).JSON(fiber.Map{"error": p.Message, "status": p.Status})
	}
	if htmx.IsRequest(c) {
		c.Set(htmx.HeaderRetarget, "#flash")
		c.Set(htmx.HeaderReswap, "innerHTML")
		c.Set(htmx.HeaderReselect, "#error-fragment") // whatever hx-select the request had
		return h.fragment(c, p.Status, errorviews.Fragment(p))
	}
	return h.page(c, p.Status, p.Title, errorviews.Page(p))
}

func problemFor(err error) errorviews.Problem {
	var fe *fiber.Error
	switch {
	case errors.Is(err, auth.ErrTenantSuspended):
		return errorviews.Problem{Status: fiber.StatusForbidden, Title: "Account suspended",
			Message: "This organisation's LearnLens account is suspended, so nobody can sign in to it for now. Please contact your LearnLens administrator."}
	case database.Unavailable(err):
		return errorviews.Problem{Status: fiber.StatusServiceUnavailable, Title: "Temporarily unavailable",
			Message: "LearnLens cannot reach its database just now. Please try again in a moment."}
	case errors.Is(err, auth.ErrUnknownHost):
		return errorviews.Problem{Status: fiber.StatusNotFound, Title: "No organisation here",
			Message: "No LearnLens organisation is served at this address. Check the address, or sign in at your organisation's own LearnLens address."}
	case errors.As(err, &fe):
		switch fe.Code {
		case fiber.StatusNotFound:
			return errorviews.Problem{Status: fe.Code, Title: "Page not found", Message: "There is nothing at this address, or it is not yours to see."}
		case fiber.StatusForbidden:
			return errorviews.Problem{Status: fe.Code, Title: "Not allowed", Message: sentence(fe.Message)}
		case fiber.StatusMethodNotAllowed:
			return errorviews.Problem{Status: fe.Code, Title: "Not allowed", Message: "This address does not accept that kind of request."}
		}
		if fe.Code < 500 {
			return errorviews.Problem{Status: fe.Code, Title: "That did not work", Message: sentence(fe.Message)}
		}
	}
	return errorviews.Problem{Status: fiber.StatusInternalServerError, Title: "Something went wrong",
		Message: "Something went wrong on our side. It has been logged; please try again in a moment."}
}

// sentence capitalises an error message for display, unless it starts with
// a name that must keep its case (a JSON path such as result.score.scaled).
func sentence(msg string) string {
	if msg == "" {
		return msg
	}
	first, _, _ := strings.Cut(msg, " ")
	if !strings.ContainsAny(first, ".[_:") {
		msg = strings.ToUpper(msg[:1]) + msg[1:]
	}
	if !strings.HasSuffix(msg, ".") {
		msg += "."
	}
	return msg
}
