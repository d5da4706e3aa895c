package handlers

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/learnlens/learnlens/auth"
	"github.com/learnlens/learnlens/htmx"
	"github.com/learnlens/learnlens/imports"
	"github.com/learnlens/learnlens/models"
	"github.com/learnlens/learnlens/pipeline"
	"github.com/learnlens/learnlens/views/format"
	"github.com/learnlens/learnlens/views/pages/admin"
)

// Bounds of a requirement's numbers.
const (
	requirementDueDaysMax = 3650 // ten years
	requirementMonthsMax  = 120  // ten years
)

// requirementRoutes mounts the compliance requirements pages on the admin
// group, and their JSON resources under /api/v1 (tenant admins only, for
// now) on site.
func (h *Handlers) requirementRoutes(site fiber.Router) {
	g := site.Group("/admin/requirements", auth.RequireRole(models.RoleTenantAdmin))
	g.Get("", h.requirementList)
	g.Post("", h.requirementCreate)
	g.Get("/new", h.requirementNew)
	g.Get("/preview", h.requirementPreview)
	g.Get("/:id", h.requirementEdit)
	g.Post("/:id", h.requirementUpdate)
	g.Post("/:id/retire", h.requirementRetire(true))
	g.Post("/:id/restore", h.requirementRetire(false))

	api := site.Group("/api/v1/requirements", apiAccess(models.ScopeImportsManage, models.RoleTenantAdmin))
	api.Get("", h.requirementsJSON)
	api.Post("", h.requirementCreateJSON)
	api.Get("/:id", h.requirementJSON)
}

// requirementInput is a requirement as a form or a JSON body gives it,
// before it is checked.
type requirementInput struct {
	CourseID                       string
	Department, Location, JobTitle string
	DueDays, DueFrom, Recertify    string
}

// requirementProblem is what was wrong with a requirement's input: a
// message per field, and the status the answer carries.
type requirementProblem struct {
	status int
	fields map[string]string
}

func (p *requirementProblem) add(status int, field, msg string) {
	if p.fields == nil {
		p.fields = map[string]string{}
	}
	if _, ok := p.fields[field]; !ok {
		p.fields[field] = msg
	}
	p.status = max(p.status, status)
}

// message joins the problems into one sentence list, in field order.
func (p *requirementProblem) message() string {
	var out []string
	for _, f := range []string{"course_id", "department", "location", "job_title", "due_days", "due_from", "recertify_months", "requirement"} {
		if m, ok := p.fields[f]; ok {
			out = append(out, m)
		}
	}
	return strings.Join(out, " ")
}

// check validates in against the tenant's courses and roster: numbers in
// range (400), a course, department, location or job title the tenant
// does not have (422).
func (in requirementInput) check(ch models.RequirementChoices) (pipeline.Requirement, requirementProblem) {
	var r pipeline.Requirement
	var p requirementProblem
	id, err := strconv.ParseInt(strings.TrimSpace(in.CourseID), 10, 64)
	switch {
	case strings.TrimSpace(in.CourseID) == "":
		p.add(fiber.StatusBadRequest, "course_id", "Choose the course people must complete.")
	case err != nil || !slices.ContainsFunc(ch.Courses, func(c models.CourseChoice) bool { return c.ID == id }):
		p.add(fiber.StatusUnprocessableEntity, "course_id", "There is no such course in your catalog.")
	default:
		r.CourseID = id
	}
	for _, f := range []struct {
		field, label, v string
		known           []string
		into            *string
	}{{"department", "department", in.Department, ch.Departments, &r.Audience.Department},
		{"location", "location", in.Location, ch.Locations, &r.Audience.Location},
		{"job_title", "job title", in.JobTitle, ch.JobTitles, &r.Audience.JobTitle}} {
		v := strings.TrimSpace(f.v)
		if v == "" {
			continue
		}
		if !slices.Contains(f.known, v) {
			p.add(fiber.StatusUnprocessableEntity, f.field, fmt.Sprintf("No one in your roster has the %s %q.", f.label, v))
			continue
		}
		*f.into = v
	}
	r.Audience.All = r.Audience == (imports.Audience{})
	whole := func(field, label, v string, lo, hi int) int {
		n, err := strconv.Atoi(strings.TrimSpace(v))
		if err != nil || n < lo || n > hi {
			p.add(fiber.StatusBadRequest, field, fmt.Sprintf("%s must be a whole number from %d to %d.", label, lo, hi))
		}
		return n
	}
	r.DueDays = whole("due_days", "Days to complete", in.DueDays, 1, requirementDueDaysMax)
	r.RecertifyMonths = whole("recertify_months", "Recertify every (months)", in.Recertify, 0, requirementMonthsMax)
	switch r.DueFrom = strings.TrimSpace(in.DueFrom); r.DueFrom {
	case "hire", "assignment":
	default:
		p.add(fiber.StatusBadRequest, "due_from", `The due date counts from "hire" or "assignment".`)
	}
	return r, p
}

// formRequirement reads a requirement form.
func formRequirement(c *fiber.Ctx) requirementInput {
	return requirementInput{CourseID: c.FormValue("course_id"), Department: c.FormValue("department"),
		Location: c.FormValue("location"), JobTitle: c.FormValue("job_title"), DueDays: c.FormValue("due_days"),
		DueFrom: c.FormValue("due_from"), Recertify: c.FormValue("recertify_months")}
}

// queryRequirement reads a requirement form sent as a query (the preview).
func queryRequirement(c *fiber.Ctx) requirementInput {
	return requirementInput{CourseID: c.Query("course_id"), Department: c.Query("department"),
		Location: c.Query("location"), JobTitle: c.Query("job_title"), DueDays: c.Query("due_days"),
		DueFrom: c.Query("due_from"), Recertify: c.Query("recertify_months")}
}

// saveProblem turns the pipeline's refusal of a checked requirement into
// the form's problem: the unique (course, audience) clash is 409.
func saveProblem(err error) (requirementProblem, bool) {
	var p requirementProblem
	var clash *pipeline.RequirementClash
	switch {
	case errors.As(err, &clash):
		msg := fmt.Sprintf("Requirement %d already covers this course and audience: edit that one instead.", clash.ID)
		if clash.Retired {
			msg = fmt.Sprintf("Retired requirement %d already covers this course and audience: restore and edit it instead.", clash.ID)
		}
		p.add(fiber.StatusConflict, "requirement", msg)
	case errors.Is(err, pipeline.ErrCourseMissing):
		p.add(fiber.StatusUnprocessableEntity, "course_id", "There is no such course in your catalog.")
	default:
		return p, false
	}
	return p, true
}

// requirementList lists the tenant's requirements, those in force and the
// retired ones apart.
func (h *Handlers) requirementList(c *fiber.Ctx) error {
	tenant := auth.Tenant(c)
	loc := tenantLocation(tenant)
	rs, err := h.requirements.List(c.UserContext(), tenant.ID, time.Now().In(loc))
	if err != nil {
		return err
	}
	p := admin.RequirementsPage{CSRF: h.sessions.CSRFToken(c)}
	if id, err := strconv.ParseInt(c.Query("saved"), 10, 64); err == nil {
		p.Saved = id
	}
	for _, r := range rs {
		row := requirementRow(r, loc)
		if r.RetiredAt != nil {
			p.Retired = append(p.Retired, row)
		} else {
			p.Active = append(p.Active, row)
		}
	}
	return h.page(c, fiber.StatusOK, "Compliance requirements", admin.Requirements(p))
}

// requirementRow is a requirement as the list shows it.
func requirementRow(r models.ComplianceRequirement, loc *time.Location) admin.RequirementRow {
	row := admin.RequirementRow{ID: r.ID, Course: r.CourseTitle, Code: r.CourseCode, Audience: audienceLabel(r.Audience),
		Due: dueLabel(r.DueDays, r.DueFrom), Recertify: recertifyLabel(r.RecertifyMonths),
		People: format.Int(r.People), Overdue: format.Int(r.Overdue)}
	if r.RetiredAt != nil {
		row.Retired = r.RetiredAt.In(loc).Format("2 Jan 2006")
	}
	return row
}

// audienceLabel names an audience for people.
func audienceLabel(a models.RequirementAudience) string {
	if a.All || (a.Department == "" && a.Location == "" && a.JobTitle == "") {
		return "Everyone"
	}
	var parts []string
	for _, f := range []struct{ label, v string }{{"Department", a.Department}, {"Location", a.Location}, {"Job title", a.JobTitle}} {
		if f.v != "" {
			parts = append(parts, f.label+": "+f.v)
		}
	}
	return strings.Join(parts, "; ")
}

func dueLabel(days int, from string) string {
	unit := "days"
	if days == 1 {
		unit = "day"
	}
	if from == "hire" {
		return fmt.Sprintf("Within %d %s of hire", days, unit)
	}
	return fmt.Sprintf("Within %d %s of assignment", days, unit)
}

func recertifyLabel(months int) string {
	switch months {
	case 0:
		return "Never"
	case 1:
		return "Every month"
	}
	return fmt.Sprintf("Every %d months", months)
}

// requirementNew shows the form for a new requirement.
func (h *Handlers) requirementNew(c *fiber.Ctx) error {
	return h.renderRequirementForm(c, fiber.StatusOK, admin.RequirementForm{
		Values: admin.RequirementValues{DueDays: "30", DueFrom: "assignment", Recertify: "0"}})
}

// requirementEdit shows requirement :id's form.
func (h *Handlers) requirementEdit(c *fiber.Ctx) error {
	r, err := h.requirementOf(c)
	if err != nil {
		return err
	}
	f := admin.RequirementForm{ID: r.ID, Values: admin.RequirementValues{CourseID: strconv.FormatInt(r.CourseID, 10),
		Department: r.Audience.Department, Location: r.Audience.Location, JobTitle: r.Audience.JobTitle,
		DueDays: strconv.Itoa(r.DueDays), DueFrom: r.DueFrom, Recertify: strconv.Itoa(r.RecertifyMonths)}}
	if r.RetiredAt != nil {
		f.Retired = r.RetiredAt.In(tenantLocation(auth.Tenant(c))).Format("2 Jan 2006")
	}
	return h.renderRequirementForm(c, fiber.StatusOK, f)
}

// requirementOf is the path's requirement of the request's tenant.
func (h *Handlers) requirementOf(c *fiber.Ctx) (models.ComplianceRequirement, error) {
	return h.requirementByID(c, c.Params("id"))
}

// requirementByID is requirement raw of the request's tenant; any other id
// is not found.
func (h *Handlers) requirementByID(c *fiber.Ctx, raw string) (models.ComplianceRequirement, error) {
	id, err := strconv.ParseInt(raw, 10, 64)
	if err != nil {
		return models.ComplianceRequirement{}, fiber.ErrNotFound
	}
	tenant := auth.Tenant(c)
	r, err := h.requirements.Get(c.UserContext(), tenant.ID, id, time.Now().In(tenantLocation(tenant)))
	if errors.Is(err, models.ErrNotFound) {
		return r, fiber.ErrNotFound
	}
	return r, err
}

// requirementCreate saves a new requirement from the form.
func (h *Handlers) requirementCreate(c *fiber.Ctx) error {
	return h.requirementSave(c, 0)
}

// requirementUpdate saves requirement :id from the form.
func (h *Handlers) requirementUpdate(c *fiber.Ctx) error {
	r, err := h.requirementOf(c)
	if err != nil {
		return err
	}
	return h.requirementSave(c, r.ID)
}

// requirementSave checks the form and creates (id 0) or updates the
// requirement through the pipeline, which assigns it and updates gold,
// then records it and goes back to the list.
func (h *Handlers) requirementSave(c *fiber.Ctx, id int64) error {
	tenant := auth.Tenant(c)
	ch, err := h.requirements.Choices(c.UserContext(), tenant.ID)
	if err != nil {
		return err
	}
	in := formRequirement(c)
	f := admin.RequirementForm{ID: id, Values: admin.RequirementValues{CourseID: in.CourseID, Department: in.Department,
		Location: in.Location, JobTitle: in.JobTitle, DueDays: in.DueDays, DueFrom: in.DueFrom, Recertify: in.Recertify}}
	r, problem, err := h.checkAndSave(c, in, ch, id)
	if err != nil {
		return err
	}
	if problem.status != 0 {
		f.Errors = problem.fields
		return h.renderRequirementFormWith(c, problem.status, f, ch)
	}
	return htmx.Redirect(c, "/admin/requirements?saved="+strconv.FormatInt(r.ID, 10))
}

// saveRequirement creates or updates a checked requirement and records
// the change in the audit log; it returns the requirement's id.
func (h *Handlers) saveRequirement(c *fiber.Ctx, r pipeline.Requirement) (int64, error) {
	tenantID := auth.Tenant(c).ID
	action := models.AuditRequirementUpdated
	if r.ID == 0 {
		action = models.AuditRequirementCreated
		id, err := h.pipeline.CreateRequirement(c.UserContext(), tenantID, r)
		if err != nil {
			return 0, err
		}
		r.ID = id
	} else if err := h.pipeline.UpdateRequirement(c.UserContext(), tenantID, r); err != nil {
		if errors.Is(err, pipeline.ErrRequirementMissing) {
			return 0, fiber.ErrNotFound
		}
		return 0, err
	}
	return r.ID, h.tenantAudit(c, action, requirementTarget(r.ID), map[string]any{"course_id": r.CourseID,
		"audience": r.Audience.String(), "due_days": r.DueDays, "due_from": r.DueFrom, "recertify_months": r.RecertifyMonths})
}

// requirementRetire retires requirement :id (retire) or restores it.
func (h *Handlers) requirementRetire(retire bool) fiber.Handler {
	return func(c *fiber.Ctx) error {
		r, err := h.requirementOf(c)
		if err != nil {
			return err
		}
		err = h.pipeline.RetireRequirement(c.UserContext(), auth.Tenant(c).ID, r.ID, retire)
		if p, ok := saveProblem(err); ok {
			return fiber.NewError(p.status, p.message())
		}
		switch {
		case errors.Is(err, pipeline.ErrRequirementMissing) && retire:
			return fiber.NewError(fiber.StatusConflict, "this requirement is already retired")
		case errors.Is(err, pipeline.ErrRequirementMissing):
			return fiber.NewError(fiber.StatusConflict, "this requirement is already in force")
		case err != nil:
			return err
		}
		action := models.AuditRequirementRestored
		if retire {
			action = models.AuditRequirementRetired
		}
		if err := h.tenantAudit(c, action, requirementTarget(r.ID), map[string]any{"course": r.CourseTitle,
			"audience": audienceLabel(r.Audience), "people": r.People}); err != nil {
			return err
		}
		return htmx.Redirect(c, "/admin/requirements?saved="+strconv.FormatInt(r.ID, 10))
	}
}

// requirementPreview answers the form, as it changes, with how many people
// the requirement would apply to and how many would be overdue at once.
func (h *Handlers) requirementPreview(c *fiber.Ctx) error {
	tenant := auth.Tenant(c)
	// The preview of an edit keeps its people's dates: the requirement
	// must be the tenant's (another's looks missing).
	var editing int64
	if id := c.Query("id"); id != "" {
		r, err := h.requirementByID(c, id)
		if err != nil {
			return err
		}
		editing = r.ID
	}
	// A form without a course yet is not wrong, only unfinished.
	if strings.TrimSpace(c.Query("course_id")) == "" {
		return h.fragment(c, fiber.StatusOK, admin.RequirementPreviewBox(admin.RequirementPreviewView{}))
	}
	ch, err := h.requirements.Choices(c.UserContext(), tenant.ID)
	if err != nil {
		return err
	}
	r, problem := queryRequirement(c).check(ch)
	if problem.status != 0 {
		return h.fragment(c, problem.status, admin.RequirementPreviewBox(admin.RequirementPreviewView{Problem: problem.message()}))
	}
	r.ID = editing
	pv, err := h.pipeline.PreviewRequirement(c.UserContext(), tenant.ID, r)
	if err != nil {
		return err
	}
	return h.fragment(c, fiber.StatusOK, admin.RequirementPreviewBox(admin.RequirementPreviewView{Shown: true,
		People: pv.People, Compliant: pv.Compliant, Overdue: pv.Overdue, Expired: pv.Expired}))
}

// renderRequirementForm renders the requirement form f with the tenant's
// choices.
func (h *Handlers) renderRequirementForm(c *fiber.Ctx, status int, f admin.RequirementForm) error {
	ch, err := h.requirements.Choices(c.UserContext(), auth.Tenant(c).ID)
	if err != nil {
		return err
	}
	return h.renderRequirementFormWith(c, status, f, ch)
}

func (h *Handlers) renderRequirementFormWith(c *fiber.Ctx, status int, f admin.RequirementForm, ch models.RequirementChoices) error {
	for _, co := range ch.Courses {
		label := co.Title
		if co.Code != "" {
			label += " (" + co.Code + ")"
		}
		f.Courses = append(f.Courses, admin.Choice{Value: strconv.FormatInt(co.ID, 10), Label: label})
	}
	f.Departments, f.Locations, f.JobTitles = ch.Departments, ch.Locations, ch.JobTitles
	f.CSRF = h.sessions.CSRFToken(c)
	title := "New requirement"
	if f.ID != 0 {
		title = "Edit requirement"
	}
	return h.page(c, status, title, admin.RequirementEditor(f))
}

func requirementTarget(id int64) string { return "requirement:" + strconv.FormatInt(id, 10) }

// checkAndSave checks in and saves it as requirement id (0: a new one),
// for the form and the JSON resource alike: a problem to show, or the
// saved requirement with its id.
func (h *Handlers) checkAndSave(c *fiber.Ctx, in requirementInput, ch models.RequirementChoices, id int64) (pipeline.Requirement, requirementProblem, error) {
	r, problem := in.check(ch)
	if problem.status != 0 {
		return r, problem, nil
	}
	r.ID = id
	var err error
	if r.ID, err = h.saveRequirement(c, r); err != nil {
		if problem, ok := saveProblem(err); ok {
			return r, problem, nil
		}
		return r, problem, err
	}
	return r, problem, nil
}

// ----- JSON resources -----

// requirementOperations document the JSON resources in the OpenAPI
// document (api_spec.go).
var requirementOperations = []apiOperation{
	{method: fiber.MethodGet, path: "/api/v1/requirements", id: "requirements.list", tag: "Requirements", scope: models.ScopeImportsManage,
		summary:     "The tenant's compliance requirements, those in force first",
		description: "people and overdue count the requirement's assignments today (tenant time).",
		response:    jsonOf[RequirementListJSON]()},
	{method: fiber.MethodGet, path: "/api/v1/requirements/{id}", id: "requirements.get", tag: "Requirements", scope: models.ScopeImportsManage,
		summary:  "One compliance requirement",
		params:   []apiParam{{name: "id", in: "path", required: true, description: "The requirement's id.", schema: idSchema}},
		response: jsonOf[RequirementJSON]()},
	{method: fiber.MethodPost, path: "/api/v1/requirements", id: "requirements.create", tag: "Requirements", scope: models.ScopeImportsManage,
		summary: "Create a compliance requirement",
		description: "Assigned at once to the active rostered people of its audience; the compliance dashboards update. " +
			"due_days 1–3650, recertify_months 0–120 (400 outside); an unknown course, department, location or job title is 422; " +
			"a course and audience another requirement already has is 409. Error bodies add fields: a message per field. " +
			"A session needs the X-CSRF-Token header.",
		body:   &apiContent{mediaType: fiber.MIMEApplicationJSON, typ: reflect.TypeFor[RequirementRequest]()},
		status: fiber.StatusCreated, response: jsonOf[RequirementJSON](), errors: []int{409, 422}},
}

// RequirementListJSON is the body of GET /api/v1/requirements.
type RequirementListJSON struct {
	Requirements []RequirementJSON `json:"requirements"`
}

// RequirementJSON is a compliance requirement as /api/v1/requirements
// sends it.
type RequirementJSON struct {
	ID              int64                      `json:"id"`
	CourseID        int64                      `json:"course_id"`
	Course          string                     `json:"course"`
	CourseCode      string                     `json:"course_code"`
	Audience        models.RequirementAudience `json:"audience"`
	DueDays         int                        `json:"due_days"`
	DueFrom         string                     `json:"due_from"`
	RecertifyMonths int                        `json:"recertify_months"`
	People          int64                      `json:"people"`
	Overdue         int64                      `json:"overdue"`
	CreatedAt       time.Time                  `json:"created_at"`
	UpdatedAt       time.Time                  `json:"updated_at"`
	RetiredAt       *time.Time                 `json:"retired_at"` // null while in force
}

func requirementJSON(r models.ComplianceRequirement) RequirementJSON {
	return RequirementJSON{ID: r.ID, CourseID: r.CourseID, Course: r.CourseTitle, CourseCode: r.CourseCode, Audience: r.Audience,
		DueDays: r.DueDays, DueFrom: r.DueFrom, RecertifyMonths: r.RecertifyMonths, People: r.People, Overdue: r.Overdue,
		CreatedAt: r.CreatedAt.UTC(), UpdatedAt: r.UpdatedAt.UTC(), RetiredAt: utcOrNil(r.RetiredAt)}
}

func utcOrNil(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}

// requirementsJSON lists the tenant's requirements, retired ones last.
func (h *Handlers) requirementsJSON(c *fiber.Ctx) error {
	tenant := auth.Tenant(c)
	rs, err := h.requirements.List(c.UserContext(), tenant.ID, time.Now().In(tenantLocation(tenant)))
	if err != nil {
		return err
	}
	out := make([]RequirementJSON, len(rs))
	for i, r := range rs {
		out[i] = requirementJSON(r)
	}
	c.Set(fiber.HeaderCacheControl, "no-store")
	return c.JSON(RequirementListJSON{Requirements: out})
}

// requirementJSON sends requirement :id.
func (h *Handlers) requirementJSON(c *fiber.Ctx) error {
	r, err := h.requirementOf(c)
	if err != nil {
		return err
	}
	c.Set(fiber.HeaderCacheControl, "no-store")
	return c.JSON(requirementJSON(r))
}

// RequirementRequest is the body of POST /api/v1/requirements.
type RequirementRequest struct {
	CourseID        int64                      `json:"course_id"`
	Audience        models.RequirementAudience `json:"audience,omitempty"` // absent: everyone
	DueDays         int                        `json:"due_days"`
	DueFrom         string                     `json:"due_from"`
	RecertifyMonths int                        `json:"recertify_months"`
}

// requirementCreateJSON creates a requirement from a JSON body, as the
// form does, and answers 201 with it.
func (h *Handlers) requirementCreateJSON(c *fiber.Ctx) error {
	var body RequirementRequest
	dec := json.NewDecoder(bytes.NewReader(c.Body()))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&body); err != nil {
		return fiber.NewError(fiber.StatusBadRequest, "the body must be a JSON object with course_id, audience, due_days, due_from and recertify_months: "+err.Error())
	}
	if a := body.Audience; a.All && (a.Department != "" || a.Location != "" || a.JobTitle != "") {
		return fiber.NewError(fiber.StatusBadRequest, `the audience is {"all":true} or names a department, location or job_title, not both`)
	}
	tenant := auth.Tenant(c)
	ch, err := h.requirements.Choices(c.UserContext(), tenant.ID)
	if err != nil {
		return err
	}
	in := requirementInput{CourseID: strconv.FormatInt(body.CourseID, 10), Department: body.Audience.Department,
		Location: body.Audience.Location, JobTitle: body.Audience.JobTitle, DueDays: strconv.Itoa(body.DueDays),
		DueFrom: body.DueFrom, Recertify: strconv.Itoa(body.RecertifyMonths)}
	if body.CourseID == 0 {
		in.CourseID = ""
	}
	r, problem, err := h.checkAndSave(c, in, ch, 0)
	if err != nil {
		return err
	}
	if problem.status != 0 {
		return c.Status(problem.status).JSON(fiber.Map{"error": problem.message(), "status": problem.status, "fields": problem.fields})
	}
	saved, err := h.requirements.Get(c.UserContext(), tenant.ID, r.ID, time.Now().In(tenantLocation(tenant)))
	if err != nil {
		return err
	}
	c.Set(fiber.HeaderLocation, "/api/v1/requirements/"+strconv.FormatInt(r.ID, 10))
	return c.Status(fiber.StatusCreated).JSON(requirementJSON(saved))
}
