package handlers

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/gofiber/fiber/v2"

	"github.com/learnlens/learnlens/auth"
	"github.com/learnlens/learnlens/models"
	"github.com/learnlens/learnlens/views/pages/admin"
)

// learnerSearchLimit bounds the people the learner type-ahead shows.
const learnerSearchLimit = 10

// userSetRole gives a user another role (field role). A change that would
// leave the organisation without an active admin is refused.
func (h *Handlers) userSetRole(c *fiber.Ctx) error {
	role := c.FormValue("role")
	return h.changeUser(c, models.AuditUserRole, map[string]string{"role": role},
		func(tenantID, id int64) (models.User, error) {
			return h.users.ChangeRole(c.UserContext(), tenantID, id, role)
		})
}

// userSetActive deactivates (active false) or re-activates a user. A
// deactivated user's open sessions end at their next request, on every
// instance; an admin cannot deactivate themself.
func (h *Handlers) userSetActive(active bool) fiber.Handler {
	action := models.AuditUserDeactivated
	if active {
		action = models.AuditUserReactivated
	}
	return func(c *fiber.Ctx) error {
		return h.changeUser(c, action, nil, func(tenantID, id int64) (models.User, error) {
			if !active && id == auth.User(c).ID {
				return models.User{}, fiber.NewError(fiber.StatusBadRequest, "you cannot deactivate your own account")
			}
			return h.users.SetActive(c.UserContext(), tenantID, id, active)
		})
	}
}

// userLinkLearner links a user to a learner record (field learner_id; 0
// unlinks), from which a manager's team and a user's "My learning" start.
func (h *Handlers) userLinkLearner(c *fiber.Ctx) error {
	learnerID, err := strconv.ParseInt(c.FormValue("learner_id"), 10, 64)
	if err != nil || learnerID < 0 {
		return fiber.NewError(fiber.StatusBadRequest, "learner_id must be the id of a person of your roster, or 0 to unlink")
	}
	return h.changeUser(c, models.AuditUserLearnerLinked, map[string]int64{"learner_id": learnerID},
		func(tenantID, id int64) (models.User, error) {
			u, err := h.users.LinkLearner(c.UserContext(), tenantID, id, learnerID)
			if errors.Is(err, models.ErrNotFound) && learnerID != 0 {
				if _, uerr := h.users.ByID(c.UserContext(), tenantID, id); uerr == nil {
					return models.User{}, fiber.NewError(fiber.StatusBadRequest, "learner_id: no such person in your roster")
				}
			}
			return u, err
		})
}

// changeUser runs change on the user named by the path's id, in the
// signed-in admin's tenant, audits it with details and sends back the
// user's card. Every instance drops the user from its cache on the
// store's notification; this one at once, so the change holds from the
// very next request.
func (h *Handlers) changeUser(c *fiber.Ctx, action string, details any, change func(tenantID, id int64) (models.User, error)) error {
	tenant := auth.Tenant(c)
	id, err := strconv.ParseInt(c.Params("id"), 10, 64)
	if err != nil {
		return fiber.ErrNotFound
	}
	u, err := change(tenant.ID, id)
	switch {
	case errors.Is(err, models.ErrNotFound):
		return fiber.ErrNotFound
	case errors.Is(err, models.ErrLastAdmin), errors.Is(err, models.ErrLearnerTaken):
		return fiber.NewError(fiber.StatusConflict, err.Error())
	case errors.Is(err, models.ErrBadRole):
		return fiber.NewError(fiber.StatusBadRequest, err.Error())
	case err != nil:
		return err
	}
	h.hosts.Cache.Forget(models.AuthChange{Kind: models.ChangedUser, TenantID: tenant.ID, UserID: u.ID})
	if err := h.tenantAudit(c, action, fmt.Sprintf("user:%d", u.ID), details); err != nil {
		return err
	}
	return h.userCard(c, u)
}

// userLearnerSearch is the learner type-ahead of a user's card: the
// people whose name, email or employee id contain q.
func (h *Handlers) userLearnerSearch(c *fiber.Ctx) error {
	tenant := auth.Tenant(c)
	id, err := strconv.ParseInt(c.Params("id"), 10, 64)
	if err != nil {
		return fiber.ErrNotFound
	}
	if _, err := h.users.ByID(c.UserContext(), tenant.ID, id); errors.Is(err, models.ErrNotFound) {
		return fiber.ErrNotFound
	} else if err != nil {
		return err
	}
	q := strings.TrimSpace(c.Query("q"))
	if utf8.RuneCountInString(q) > 100 {
		return fiber.NewError(fiber.StatusBadRequest, "q: search for at most 100 characters")
	}
	var matches []admin.LearnerMatch
	if utf8.RuneCountInString(q) >= 2 {
		found, err := h.learners.Search(c.UserContext(), tenant.ID, q, learnerSearchLimit)
		if err != nil {
			return err
		}
		for _, l := range found {
			matches = append(matches, admin.LearnerMatch{ID: l.ID, Label: learnerLabel(l)})
		}
	}
	return h.fragment(c, fiber.StatusOK, admin.LearnerMatches(id, matches, q, h.sessions.CSRFToken(c)))
}

// learnerLabel names a learner record for an admin: name, email, employee
// id and department, those it has.
func learnerLabel(l models.LearnerRecord) string {
	parts := []string{l.Name}
	for _, p := range []string{l.Email, l.EmployeeID, l.Department} {
		if p != "" {
			parts = append(parts, p)
		}
	}
	return strings.Join(parts, " · ")
}
