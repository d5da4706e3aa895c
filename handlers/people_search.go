package handlers

import (
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/gofiber/fiber/v2"

	"github.com/learnlens/learnlens/analytics"
	"github.com/learnlens/learnlens/auth"
	"github.com/learnlens/learnlens/views/pages/dash"
)

// peopleRoutes serves the filter bar's people picker.
func (h *Handlers) peopleRoutes(site fiber.Router) {
	site.Get("/people/search", auth.RequireRole(dashboardRoles...), h.peopleSearch)
}

// maxPeopleQuery bounds the picker's search text.
const maxPeopleQuery = 100

// peopleSearch answers the manager picker: GET /people/search?q=text
// (&limit=n, 1–50, default 20) lists, as picker options, the people with
// reports whose name, email or employee id contains text, within what the
// viewer may see (a manager: themselves and the managers below them).
func (h *Handlers) peopleSearch(c *fiber.Ctx) error {
	text := strings.TrimSpace(c.Query("q"))
	if utf8.RuneCountInString(text) > maxPeopleQuery {
		return fiber.NewError(fiber.StatusBadRequest, "q: must be at most 100 characters")
	}
	limit := 20
	if v := c.Query("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > analytics.MaxPeopleSearch {
			return fiber.NewError(fiber.StatusBadRequest, "limit: must be a whole number from 1 to 50")
		}
		limit = n
	}
	v, err := h.newView(c)
	if err != nil {
		return err
	}
	found, _, err := compute(h, c.UserContext(), v, "people-search:"+strconv.Itoa(limit)+":"+text, analytics.Filters{},
		func(q *analytics.Q) ([]analytics.Manager, error) { return q.SearchManagers(text, limit) })
	if err != nil {
		return err
	}
	opts := make([]dash.PickerOption, len(found))
	for i, m := range found {
		var detail []string
		for _, s := range []string{m.JobTitle, m.Department, m.Email} {
			if s != "" {
				detail = append(detail, s)
			}
		}
		opts[i] = dash.PickerOption{ID: m.ID, Name: m.Name, Detail: strings.Join(detail, " · "), People: m.People}
	}
	return h.fragment(c, fiber.StatusOK, dash.PeopleOptions(opts))
}
