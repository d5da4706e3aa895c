package handlers

import (
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/learnlens/learnlens/auth"
	"github.com/learnlens/learnlens/models"
)

// UserJSON is a user of the tenant as /api/v1/users sends it.
type UserJSON struct {
	ID          int64      `json:"id"`
	Email       string     `json:"email"`
	Name        string     `json:"name"`
	Role        string     `json:"role"`
	Status      string     `json:"status"` // active or disabled
	MFA         bool       `json:"mfa"`    // signs in with a second factor
	LearnerID   *int64     `json:"learner_id"`
	LastLoginAt *time.Time `json:"last_login_at"`
	CreatedAt   time.Time  `json:"created_at"`
}

func userJSON(u models.User) UserJSON {
	return UserJSON{ID: u.ID, Email: u.Email, Name: u.Name, Role: u.Role, Status: u.Status, MFA: u.HasMFA(),
		LearnerID: u.LearnerID, LastLoginAt: u.LastLoginAt, CreatedAt: u.CreatedAt}
}

// InvitationJSON is an invitation made by POST /api/v1/users: the link the
// person joins by, shown once.
type InvitationJSON struct {
	ID        int64     `json:"id"`
	Email     string    `json:"email"`
	Role      string    `json:"role"`
	URL       string    `json:"url"`
	ExpiresAt time.Time `json:"expires_at"`
}

// UsersJSON is the tenant's users as GET /api/v1/users sends them.
type UsersJSON struct {
	Users []UserJSON `json:"users"`
}

// InviteRequest is the body of POST /api/v1/users.
type InviteRequest struct {
	Email string `json:"email" form:"email"`
	Role  string `json:"role" form:"role"` // tenant_admin, analyst, manager or learner
}

// InvitationCreated is the answer of POST /api/v1/users.
type InvitationCreated struct {
	Invitation InvitationJSON `json:"invitation"`
}

// usersJSON lists the tenant's users: {"users": [...]}.
func (h *Handlers) usersJSON(c *fiber.Ctx) error {
	us, err := h.users.List(c.UserContext(), auth.Tenant(c).ID)
	if err != nil {
		return err
	}
	out := make([]UserJSON, len(us))
	for i, u := range us {
		out[i] = userJSON(u)
	}
	return c.JSON(UsersJSON{Users: out})
}

// userJSON is one user of the tenant; another tenant's id is 404.
func (h *Handlers) userJSON(c *fiber.Ctx) error {
	id, err := strconv.ParseInt(c.Params("id"), 10, 64)
	if err != nil {
		return fiber.ErrNotFound
	}
	u, err := h.users.ByID(c.UserContext(), auth.Tenant(c).ID, id)
	if errors.Is(err, models.ErrNotFound) {
		return fiber.ErrNotFound
	}
	if err != nil {
		return err
	}
	return c.JSON(userJSON(u))
}

// inviteJSON creates a user as the Users page does: an invitation of an
// email with a role (JSON {"email","role"} or a form), answered 201 with
// the link, once. 422 for a bad email or role, 409 for an email that has
// an account or a pending invitation.
func (h *Handlers) inviteJSON(c *fiber.Ctx) error {
	var in InviteRequest
	if err := c.BodyParser(&in); err != nil {
		return fiber.NewError(fiber.StatusBadRequest, "send a JSON object {\"email\": …, \"role\": …} or a form with email and role")
	}
	email := strings.ToLower(strings.TrimSpace(in.Email))
	token, l, status, errs, err := h.createInvitation(c, email, in.Role)
	if err != nil {
		return err
	}
	for _, field := range []string{"email", "role"} {
		if msg, ok := errs[field]; ok {
			return fiber.NewError(status, field+": "+msg)
		}
	}
	noReferrer(c)
	c.Set(fiber.HeaderCacheControl, "no-store")
	return c.Status(fiber.StatusCreated).JSON(InvitationCreated{Invitation: InvitationJSON{ID: l.ID, Email: email, Role: in.Role,
		URL: c.BaseURL() + "/invite/" + token, ExpiresAt: l.ExpiresAt}})
}
