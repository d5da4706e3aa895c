package handlers

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/learnlens/learnlens/auth"
	"github.com/learnlens/learnlens/models"
	"github.com/learnlens/learnlens/pipeline"
	"github.com/learnlens/learnlens/views/format"
	"github.com/learnlens/learnlens/views/pages/admin"
)

// Audit actions of the data-rights actions (issue 12, item 4).
const (
	auditDataDownloaded = "person.data_downloaded"
	auditPseudonymised  = "person.pseudonymised"
	auditErased         = "person.erased"
	auditPurged         = "data.purged"
)

// dataDownloadTimeout bounds a learner-data download once it streams.
const dataDownloadTimeout = 5 * time.Minute

// dataRightsRoutes mounts the data-rights pages (tenant admins), the
// learner's own download and the purge API.
func (h *Handlers) dataRightsRoutes(site, adminGroup fiber.Router) {
	site.Get("/me/data.zip", auth.RequireLogin, h.myData)
	site.Post("/api/v1/data/purge", apiAccess(models.ScopeDataManage, models.RoleTenantAdmin), h.purgeAPI)
	adminGroup.Get("/data", h.dataPage)
	adminGroup.Post("/data/purge", h.purgeForm)
	adminGroup.Get("/people/:id/data.zip", h.personData)
	adminGroup.Post("/people/:id/pseudonymise", h.pseudonymise)
	adminGroup.Post("/people/:id/erase", h.erase)
}

// dataPage shows the data-rights page: a search (q), a person (person)
// and the purge form.
func (h *Handlers) dataPage(c *fiber.Ctx) error {
	p := admin.DataPage{Query: strings.TrimSpace(c.Query("q"))}
	if p.Query != "" {
		if len(p.Query) > 200 {
			return fiber.NewError(fiber.StatusBadRequest, "the search is longer than 200 characters")
		}
		rs, err := h.learners.Search(c.UserContext(), auth.Tenant(c).ID, p.Query, 20)
		if err != nil {
			return err
		}
		p.Searched = true
		for _, r := range rs {
			p.Results = append(p.Results, admin.DataPerson{ID: r.ID, Name: displayName(r.Name, r.ID), Email: r.Email,
				EmployeeID: r.EmployeeID, Department: r.Department})
		}
	}
	if s := c.Query("person"); s != "" {
		id, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return fiber.NewError(fiber.StatusBadRequest, "person must be a learner id")
		}
		panel, err := h.personPanel(c, id)
		if err != nil {
			return err
		}
		p.Person = panel
	}
	return h.renderData(c, fiber.StatusOK, p)
}

// personPanel is the page's view of one person; 404 for a learner the
// tenant does not have.
func (h *Handlers) personPanel(c *fiber.Ctx, id int64) (*admin.DataPersonPanel, error) {
	s, err := h.learners.Summary(c.UserContext(), auth.Tenant(c).ID, id)
	if errors.Is(err, models.ErrNotFound) {
		return nil, fiber.ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	ids := strconv.FormatInt(id, 10)
	return &admin.DataPersonPanel{ID: id, Name: displayName(s.Name, id), Email: s.Email, EmployeeID: s.EmployeeID,
		UserEmail: s.UserEmail, Pseudonym: s.Pseudonym, Rostered: s.Rostered,
		Statements: strconv.FormatInt(s.Statements, 10), Documents: strconv.FormatInt(s.Documents, 10),
		Reports: strconv.FormatInt(s.Reports, 10), Confirm: eraseConfirmation(s),
		LearnerHref: "/learners/" + ids, DownloadHref: "/admin/people/" + ids + "/data.zip"}, nil
}

// displayName is a person's name, or their id for an actor without one.
func displayName(name string, id int64) string {
	if strings.TrimSpace(name) == "" {
		return "Person " + strconv.FormatInt(id, 10)
	}
	return name
}

// eraseConfirmation is what an admin types to erase a person: their name,
// else their email, else their id.
func eraseConfirmation(s models.PersonSummary) string {
	switch {
	case strings.TrimSpace(s.Name) != "":
		return strings.TrimSpace(s.Name)
	case s.Email != "":
		return s.Email
	}
	return strconv.FormatInt(s.ID, 10)
}

func (h *Handlers) renderData(c *fiber.Ctx, status int, p admin.DataPage) error {
	p.CSRF = h.sessions.CSRFToken(c)
	p.MinDays = pipeline.MinPurgeAgeDays
	return h.page(c, status, "Data rights", admin.Data(p))
}

// personID is the path's learner id; anything else is not found.
func personID(c *fiber.Ctx) (int64, error) {
	id, err := strconv.ParseInt(c.Params("id"), 10, 64)
	if err != nil {
		return 0, fiber.ErrNotFound
	}
	return id, nil
}

func personTarget(id int64) string { return fmt.Sprintf("learner:%d", id) }

// myData streams the signed-in user's own learner data.
func (h *Handlers) myData(c *fiber.Ctx) error {
	v, err := h.newView(c)
	if err != nil {
		return err
	}
	if v.scope.Self == 0 {
		return fiber.NewError(fiber.StatusNotFound, "there is no learner record of yours")
	}
	return h.streamData(c, v.scope.Self, "my-learning-data.zip")
}

// personData streams a person's data for an admin.
func (h *Handlers) personData(c *fiber.Ctx) error {
	id, err := personID(c)
	if err != nil {
		return err
	}
	return h.streamData(c, id, fmt.Sprintf("learner-%d-data.zip", id))
}

// streamData audits the download and streams learner id's data as a ZIP.
// The archive is written as it is read, so its status is sent before the
// end: an error after the start is logged and cuts the archive short
// (a ZIP without its central directory, which no tool opens).
func (h *Handlers) streamData(c *fiber.Ctx, id int64, filename string) error {
	tenantID := auth.Tenant(c).ID
	ok, err := h.learners.Exists(c.UserContext(), tenantID, id)
	if err != nil {
		return err
	}
	if !ok {
		return fiber.ErrNotFound
	}
	if err := h.tenantAudit(c, auditDataDownloaded, personTarget(id), nil); err != nil {
		return err
	}
	c.Set(fiber.HeaderContentType, "application/zip")
	c.Set(fiber.HeaderContentDisposition, `attachment; filename="`+filename+`"`)
	c.Set(fiber.HeaderCacheControl, "no-store")
	log, rid := h.log, requestID(c)
	c.Context().SetBodyStreamWriter(func(w *bufio.Writer) {
		ctx, cancel := context.WithTimeout(context.Background(), dataDownloadTimeout)
		defer cancel()
		if err := h.learners.WriteData(ctx, tenantID, id, w); err != nil {
			log.Error("learner data download failed", "request_id", rid, "learner", id, "err", err)
			return
		}
		if err := w.Flush(); err != nil {
			log.Warn("learner data download cut short", "request_id", rid, "err", err)
		}
	})
	return nil
}

// pseudonymise replaces a person's identity by an opaque id.
func (h *Handlers) pseudonymise(c *fiber.Ctx) error {
	id, err := personID(c)
	if err != nil {
		return err
	}
	tenantID := auth.Tenant(c).ID
	res, err := h.pipeline.Pseudonymise(c.UserContext(), tenantID, id)
	if errors.Is(err, pipeline.ErrNoPerson) {
		return fiber.ErrNotFound
	}
	if err != nil {
		return err
	}
	h.announceUsers(c, tenantID, res.UnlinkedUsers)
	if err := h.tenantAudit(c, auditPseudonymised, personTarget(id), map[string]any{"pseudonym": res.Pseudonym,
		"statements_rewritten": res.Statements, "documents_deleted": res.Documents, "import_files_emptied": res.ImportFiles,
		"users_unlinked": len(res.UnlinkedUsers)}); err != nil {
		return err
	}
	panel, err := h.personPanel(c, id)
	if err != nil {
		return err
	}
	return h.renderData(c, fiber.StatusOK, admin.DataPage{Person: panel,
		Done: fmt.Sprintf("Pseudonymised as %s: %d statements rewritten, %d xAPI documents deleted.", res.Pseudonym, res.Statements, res.Documents)})
}

// erase removes a person after the admin typed their name (field confirm).
func (h *Handlers) erase(c *fiber.Ctx) error {
	id, err := personID(c)
	if err != nil {
		return err
	}
	tenantID := auth.Tenant(c).ID
	panel, err := h.personPanel(c, id)
	if err != nil {
		return err
	}
	if !strings.EqualFold(strings.TrimSpace(c.FormValue("confirm")), panel.Confirm) {
		panel.EraseError = fmt.Sprintf("Type %s exactly to confirm the erasure.", panel.Confirm)
		return h.renderData(c, fiber.StatusBadRequest, admin.DataPage{Person: panel})
	}
	res, err := h.pipeline.Erase(c.UserContext(), tenantID, id)
	if errors.Is(err, pipeline.ErrNoPerson) {
		return fiber.ErrNotFound
	}
	if err != nil {
		return err
	}
	h.announceUsers(c, tenantID, res.UnlinkedUsers)
	if err := h.tenantAudit(c, auditErased, personTarget(id), map[string]any{"statements_deleted": res.Statements,
		"statements_rewritten": res.Rewritten, "documents_deleted": res.Documents, "reports_moved": res.Reports,
		"import_files_emptied": res.ImportFiles, "users_unlinked": len(res.UnlinkedUsers)}); err != nil {
		return err
	}
	return h.renderData(c, fiber.StatusOK, admin.DataPage{Done: fmt.Sprintf(
		"Person %d was erased: %d statements deleted, %d xAPI documents deleted, %d people now report to their manager.",
		id, res.Statements, res.Documents, res.Reports)})
}

// announceUsers tells every instance that the users' learner link went.
func (h *Handlers) announceUsers(c *fiber.Ctx, tenantID int64, ids []int64) {
	for _, u := range ids {
		if err := h.users.Announce(c.UserContext(), tenantID, u); err != nil {
			h.log.Warn("announce user change", "request_id", requestID(c), "err", err)
		}
	}
}

// PurgeRequest is the body of POST /api/v1/data/purge.
type PurgeRequest struct {
	Before string `json:"before"`
	DryRun bool   `json:"dry_run"`
}

// parsePurgeDate reads a purge date (YYYY-MM-DD).
func parsePurgeDate(s string) (time.Time, error) {
	if strings.TrimSpace(s) == "" {
		return time.Time{}, fiber.NewError(fiber.StatusBadRequest, "give the date to purge before, as YYYY-MM-DD")
	}
	d, err := time.Parse(time.DateOnly, strings.TrimSpace(s))
	if err != nil {
		return time.Time{}, fiber.NewError(fiber.StatusBadRequest, fmt.Sprintf("before %q is not a date of the form YYYY-MM-DD", s))
	}
	return d, nil
}

// purge runs a purge (or dry run) for the request's tenant, audits a real
// one, and maps the refusal of a recent date to a 400.
func (h *Handlers) purge(c *fiber.Ctx, before time.Time, dryRun bool) (pipeline.PurgeReport, error) {
	rep, err := h.pipeline.Purge(c.UserContext(), auth.Tenant(c).ID, before, dryRun)
	if errors.Is(err, pipeline.ErrPurgeTooRecent) {
		return rep, fiber.NewError(fiber.StatusBadRequest, err.Error())
	}
	if err != nil {
		return rep, err
	}
	if !dryRun {
		if err := h.tenantAudit(c, auditPurged, "statements:before:"+rep.Before, map[string]any{"statements_deleted": rep.Statements,
			"people_left_without_statements": rep.People, "people_removed": rep.RemovedPeople, "courses_affected": rep.Courses,
			"documents_deleted": rep.Documents}); err != nil {
			return rep, err
		}
	}
	return rep, nil
}

// purgeAPI is POST /api/v1/data/purge with {"before":"YYYY-MM-DD","dry_run":true}.
func (h *Handlers) purgeAPI(c *fiber.Ctx) error {
	var req PurgeRequest
	dec := json.NewDecoder(bytes.NewReader(c.Body()))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		return fiber.NewError(fiber.StatusBadRequest, `the body must be JSON like {"before":"2024-01-01","dry_run":true}`)
	}
	before, err := parsePurgeDate(req.Before)
	if err != nil {
		return err
	}
	rep, err := h.purge(c, before, req.DryRun)
	if err != nil {
		return err
	}
	return c.JSON(rep)
}

// purgeForm is the page's purge: a dry run (dry_run=1), or the purge once
// the admin typed the date again (confirm).
func (h *Handlers) purgeForm(c *fiber.Ctx) error {
	raw := strings.TrimSpace(c.FormValue("before"))
	page := admin.DataPage{Purge: admin.PurgeForm{Before: raw}}
	before, err := parsePurgeDate(raw)
	if err != nil {
		return h.purgeFormError(c, page, err)
	}
	dryRun := c.FormValue("dry_run") != ""
	if !dryRun && c.FormValue("confirm") != raw {
		// Show the dry run again, with the confirmation refused.
		rep, err := h.purge(c, before, true)
		if err != nil {
			return h.purgeFormError(c, page, err)
		}
		page.Purge.Report = purgeView(rep)
		page.Purge.ConfirmError = "Type the date exactly as shown (" + raw + ") to purge."
		return h.renderData(c, fiber.StatusBadRequest, page)
	}
	rep, err := h.purge(c, before, dryRun)
	if err != nil {
		return h.purgeFormError(c, page, err)
	}
	page.Purge.Report = purgeView(rep)
	if !dryRun {
		page.Done = fmt.Sprintf("Purged %d statements before %s.", rep.Statements, rep.Before)
	}
	return h.renderData(c, fiber.StatusOK, page)
}

// purgeFormError shows a refused purge date on the page.
func (h *Handlers) purgeFormError(c *fiber.Ctx, page admin.DataPage, err error) error {
	var fe *fiber.Error
	if errors.As(err, &fe) && fe.Code == fiber.StatusBadRequest {
		page.Purge.Error = sentence(fe.Message)
		return h.renderData(c, fiber.StatusBadRequest, page)
	}
	return err
}

func purgeView(r pipeline.PurgeReport) *admin.PurgeView {
	n := format.Int
	pct := func(hl pipeline.Headline) string { return format.Percent(hl.CompliancePercent()) }
	i := func(v int) string { return format.Int(int64(v)) }
	return &admin.PurgeView{Before: r.Before, DryRun: r.DryRun, Statements: i(r.Statements),
		People: i(r.People), RemovedPeople: i(r.RemovedPeople), Courses: i(r.Courses),
		Documents: i(r.Documents), Rows: []admin.PurgeRow{
			{Label: "Stored statements", Before: n(r.Then.Statements), After: n(r.Now.Statements)},
			{Label: "People with learning activity", Before: n(r.Then.People), After: n(r.Now.People)},
			{Label: "Active in the last 365 days", Before: n(r.Then.ActiveLastYear), After: n(r.Now.ActiveLastYear)},
			{Label: "Enrolments", Before: n(r.Then.Enrolments), After: n(r.Now.Enrolments)},
			{Label: "Completions", Before: n(r.Then.Completions), After: n(r.Now.Completions)},
			{Label: "Required training complete", Before: pct(r.Then), After: pct(r.Now)},
		}}
}
