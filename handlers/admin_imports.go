package handlers

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/learnlens/learnlens/auth"
	"github.com/learnlens/learnlens/htmx"
	"github.com/learnlens/learnlens/imports"
	"github.com/learnlens/learnlens/models"
	"github.com/learnlens/learnlens/pipeline"
	"github.com/learnlens/learnlens/views/pages/admin"
)

// maxImportBytes bounds one uploaded file.
const maxImportBytes = 15 << 20

// Import page figures.
const (
	previewRows       = 10                     // data rows shown before a dry run or apply
	importErrorsShown = 100                    // report rows shown on the page; the CSV has them all
	importHistorySize = 50                     // imports listed on the page and by the API
	importBeat        = 500 * time.Millisecond // how often a running import writes its progress
)

// importRoutes mounts the tenant admin's imports page, its JSON upload for
// scripts and its JSON resources on site.
func (h *Handlers) importRoutes(site fiber.Router) {
	g := site.Group("/admin/imports", auth.RequireRole(models.RoleTenantAdmin))
	g.Get("", h.importsPage)
	g.Post("", h.importUpload)
	g.Post("/upload", h.importStage)
	g.Get("/:id", h.importPage)
	g.Get("/:id/progress", h.importProgress)
	g.Post("/:id/dry-run", h.importDryRun)
	g.Post("/:id/apply", h.importApply)
	g.Get("/:id/errors.csv", h.importErrorsCSV)
	g.Get("/:id/file", h.importFile)
	api := apiAccess(models.ScopeImportsManage, models.RoleTenantAdmin)
	site.Get("/api/v1/imports", api, h.importsJSON)
	site.Post("/api/v1/imports", api, h.importUpload)
	site.Get("/api/v1/imports/:id", api, h.importJSON)
}

// importForm is an upload's fields, checked.
type importForm struct {
	kind     imports.Kind
	mode     string
	filename string
	data     []byte
}

// readImportForm reads and checks the multipart fields file, kind and mode.
// A problem is a fiber.Error with a 4xx status saying what is wrong.
func readImportForm(c *fiber.Ctx) (importForm, error) {
	var f importForm
	kind, err := imports.ParseKind(c.FormValue("kind"))
	if err != nil {
		return f, fiber.NewError(fiber.StatusBadRequest, "kind must be roster, courses, enrollments or requirements")
	}
	f.kind = kind
	f.mode = c.FormValue("mode", pipeline.ModeValidRows)
	if f.mode != pipeline.ModeValidRows && f.mode != pipeline.ModeAllOrNothing {
		return f, fiber.NewError(fiber.StatusBadRequest, `mode must be "valid-rows" or "all-or-nothing"`)
	}
	fh, err := c.FormFile("file")
	if err != nil {
		return f, fiber.NewError(fiber.StatusBadRequest, "attach the CSV or XLSX file as the form field \"file\"")
	}
	if fh.Size > maxImportBytes {
		return f, fiber.NewError(fiber.StatusRequestEntityTooLarge, "the file is larger than 15 MB; split it")
	}
	f.filename = fh.Filename
	f.data, err = readFormFile(fh)
	return f, err
}

func readFormFile(fh *multipart.FileHeader) ([]byte, error) {
	r, err := fh.Open()
	if err != nil {
		return nil, err
	}
	defer r.Close()
	return io.ReadAll(r)
}

// fileError is the 4xx for a file that cannot be imported at all: an
// error of imports.Parse, or of the pipeline wrapping one
// (pipeline.ErrUnreadableFile). Any other error is returned as it is.
func fileError(err error) error {
	switch {
	case errors.Is(err, imports.ErrTooLarge), errors.Is(err, imports.ErrTooManyRows):
		return fiber.NewError(fiber.StatusRequestEntityTooLarge, err.Error())
	case errors.Is(err, pipeline.ErrUnreadableFile):
		return fiber.NewError(fiber.StatusBadRequest, err.Error())
	}
	return err
}

// unreadable is fileError for an error of the imports package.
func unreadable(err error) error {
	return fileError(fmt.Errorf("%w: %w", pipeline.ErrUnreadableFile, err))
}

// stage reads the whole file once (its row count, and a 4xx for a file that
// cannot be imported at all) and keeps it for the apply.
func (h *Handlers) stage(c *fiber.Ctx, f importForm) (int64, error) {
	parsed, err := imports.Parse(f.kind, f.filename, f.data)
	if err != nil {
		return 0, unreadable(err)
	}
	id, err := h.importJobs.Stage(c.UserContext(), auth.Tenant(c).ID, string(f.kind), f.filename, f.mode, auth.User(c).Email,
		parsed.Rows, f.data)
	if err != nil {
		return 0, err
	}
	return id, h.tenantAudit(c, models.AuditImportUploaded, importTarget(id),
		map[string]any{"kind": f.kind, "file": f.filename, "mode": f.mode, "rows": parsed.Rows})
}

// importUpload applies an uploaded CSV or XLSX file (multipart form fields
// file, kind, mode, dry_run) to the signed-in admin's (or API client's)
// tenant and answers with the import report as JSON, for scripts: POST
// /admin/imports with a session, POST /api/v1/imports with either. An apply is an import job
// like the page's (listed in the history, its progress in
// /api/v1/imports/:id while it runs), run within the request.
func (h *Handlers) importUpload(c *fiber.Ctx) error {
	f, err := readImportForm(c)
	if err != nil {
		return err
	}
	if c.FormValue("dry_run") == "true" {
		rep, err := h.importDry(c, f)
		if err != nil {
			return err
		}
		return c.Status(reportStatus(rep)).JSON(ImportResultJSON{ImportReport: rep})
	}
	id, err := h.stage(c, f)
	if err != nil {
		return err
	}
	if err := h.importJobs.Start(c.UserContext(), auth.Tenant(c).ID, id); err != nil {
		return err
	}
	rep, err := h.runImport(c.UserContext(), h.importRun(c, id, f))
	if err != nil {
		return err
	}
	return c.Status(reportStatus(rep)).JSON(ImportResultJSON{id, rep})
}

// ImportResultJSON is the answer of an applied upload: the import's id
// (its page, its /api/v1/imports/:id) and its report.
type ImportResultJSON struct {
	ID int64 `json:"id,omitempty"` // none for a dry run, which is not kept
	pipeline.ImportReport
}

func reportStatus(rep pipeline.ImportReport) int {
	if rep.Outcome == "refused" {
		return fiber.StatusUnprocessableEntity
	}
	return fiber.StatusOK
}

// importDry runs a dry run of f and audits it.
func (h *Handlers) importDry(c *fiber.Ctx, f importForm) (pipeline.ImportReport, error) {
	rep, err := h.pipeline.Import(c.UserContext(), pipeline.ImportRequest{
		TenantID: auth.Tenant(c).ID, Kind: f.kind, Filename: f.filename, Data: f.data, Mode: f.mode,
		DryRun: true, UploadedBy: auth.User(c).Email,
	})
	if err != nil {
		return rep, fileError(err)
	}
	return rep, h.tenantAudit(c, models.AuditImportDryRun, "", map[string]any{"kind": f.kind, "file": f.filename, "mode": f.mode,
		"rows": rep.Rows, "would_apply": rep.Applied, "errors": len(rep.Errors)})
}

// importsPage shows the upload form and the tenant's imports.
func (h *Handlers) importsPage(c *fiber.Ctx) error {
	return h.renderImports(c, fiber.StatusOK, admin.ImportsPage{Kind: string(imports.KindRoster), Mode: pipeline.ModeValidRows})
}

// importStage keeps an uploaded file and shows its preview; a file with a
// required column missing is shown with its header mapping and not kept.
func (h *Handlers) importStage(c *fiber.Ctx) error {
	page := admin.ImportsPage{Kind: c.FormValue("kind"), Mode: c.FormValue("mode")}
	f, err := readImportForm(c)
	var pv *imports.Preview
	if err == nil {
		if pv, err = imports.PreviewFile(f.kind, f.filename, f.data, previewRows); err != nil {
			err = unreadable(err)
		}
	}
	if err == nil && len(pv.Missing) > 0 {
		page.Error = "This file cannot be imported as " + string(f.kind) + ": a required column is missing."
		page.Preview = previewView(pv)
		return h.renderImports(c, fiber.StatusUnprocessableEntity, page)
	}
	var id int64
	if err == nil {
		id, err = h.stage(c, f)
	}
	var fe *fiber.Error
	if errors.As(err, &fe) {
		page.Error = sentence(fe.Message)
		return h.renderImports(c, fe.Code, page)
	}
	if err != nil {
		return err
	}
	return htmx.Redirect(c, importPath(id))
}

// importPage shows one import: a staged file's preview, dry run and apply
// button, a running one's progress, a finished one's result.
func (h *Handlers) importPage(c *fiber.Ctx) error {
	j, err := h.importJob(c)
	if err != nil {
		return err
	}
	p := admin.ImportPage{Job: h.jobView(c, j), CSRF: h.sessions.CSRFToken(c)}
	if j.State == models.ImportStaged {
		_, data, err := h.importJobs.Content(c.UserContext(), auth.Tenant(c).ID, j.ID)
		if err != nil {
			return err
		}
		pv, err := imports.PreviewFile(imports.Kind(j.Kind), j.Filename, data, previewRows)
		if err != nil {
			return err
		}
		p.Preview = previewView(pv)
		if len(j.DryRun) > 0 {
			var rep pipeline.ImportReport
			if err := json.Unmarshal(j.DryRun, &rep); err != nil {
				return err
			}
			p.DryRun = reportView(rep, importPath(j.ID)+"/errors.csv")
		}
	}
	return h.page(c, fiber.StatusOK, "Import "+j.Filename, admin.Import(p))
}

// importProgress is the progress fragment the page polls while the import
// runs; once it has finished the fragment shows the result and stops.
func (h *Handlers) importProgress(c *fiber.Ctx) error {
	j, err := h.importJob(c)
	if err != nil {
		return err
	}
	return h.fragment(c, fiber.StatusOK, admin.Progress(h.jobView(c, j)))
}

// importDryRun runs a staged file's dry run and shows its report.
func (h *Handlers) importDryRun(c *fiber.Ctx) error {
	j, err := h.importJob(c)
	if err != nil {
		return err
	}
	if j.State != models.ImportStaged {
		return errNotStaged
	}
	f, err := h.stagedForm(c, j)
	if err != nil {
		return err
	}
	rep, err := h.importDry(c, f)
	if err != nil {
		return err
	}
	b, err := json.Marshal(rep)
	if err != nil {
		return err
	}
	if err := h.importJobs.SaveDryRun(c.UserContext(), auth.Tenant(c).ID, j.ID, b); err != nil {
		return err
	}
	return htmx.Redirect(c, importPath(j.ID))
}

// importApply starts a staged file's apply in the background and shows its
// progress.
func (h *Handlers) importApply(c *fiber.Ctx) error {
	j, err := h.importJob(c)
	if err != nil {
		return err
	}
	f, err := h.stagedForm(c, j)
	if err != nil {
		return err
	}
	if err := h.importJobs.Start(c.UserContext(), auth.Tenant(c).ID, j.ID); errors.Is(err, models.ErrImportNotStaged) {
		return errNotStaged
	} else if err != nil {
		return err
	}
	run := h.importRun(c, j.ID, f)
	go func() {
		if _, err := h.runImport(context.Background(), run); err != nil {
			h.log.Error("import failed", "tenant", run.tenantID, "import", run.id, "err", err)
		}
	}()
	return htmx.Redirect(c, importPath(j.ID))
}

// errNotStaged answers a dry run or apply of an import that already ran.
var errNotStaged = fiber.NewError(fiber.StatusConflict, "this import has already been applied (or failed); upload the file again to import it anew")

// stagedForm is a staged job's file as an importForm.
func (h *Handlers) stagedForm(c *fiber.Ctx, j models.ImportJob) (importForm, error) {
	_, data, err := h.importJobs.Content(c.UserContext(), auth.Tenant(c).ID, j.ID)
	if errors.Is(err, models.ErrNotFound) {
		return importForm{}, errNotStaged
	}
	return importForm{kind: imports.Kind(j.Kind), mode: j.Mode, filename: j.Filename, data: data}, err
}

// importRunArgs is what a background apply needs of its request.
type importRunArgs struct {
	tenantID, id int64
	form         importForm
	by           string
	audit        models.AuditEntry // the entry to record when it ends, details added then
}

func (h *Handlers) importRun(c *fiber.Ctx, id int64, f importForm) importRunArgs {
	return importRunArgs{tenantID: auth.Tenant(c).ID, id: id, form: f, by: auth.User(c).Email,
		audit: h.auditEntry(c, auth.Tenant(c).ID, models.AuditImportApplied, importTarget(id), nil)}
}

// runImport applies a started job's file in one transaction while another
// goroutine writes its progress and heartbeat to the job row every
// importBeat, then records the job's end and audits it.
func (h *Handlers) runImport(ctx context.Context, r importRunArgs) (pipeline.ImportReport, error) {
	var done atomic.Int64
	stop := make(chan struct{})
	beating := make(chan struct{})
	bookkeeping := context.WithoutCancel(ctx)
	go func() {
		defer close(beating)
		tick := time.NewTicker(importBeat)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
				if err := h.importJobs.Beat(bookkeeping, r.tenantID, r.id, int(done.Load())); err != nil {
					h.log.Warn("import progress", "import", r.id, "err", err)
				}
			}
		}
	}()
	rep, err := h.pipeline.Import(ctx, pipeline.ImportRequest{
		TenantID: r.tenantID, Kind: r.form.kind, Filename: r.form.filename, Data: r.form.data, Mode: r.form.mode,
		UploadedBy: r.by, Progress: func(n int) { done.Store(int64(n)) },
	})
	close(stop)
	<-beating
	details := map[string]any{"kind": r.form.kind, "file": r.form.filename, "mode": r.form.mode}
	if err != nil {
		if ferr := h.importJobs.Fail(bookkeeping, r.tenantID, r.id, "the import stopped with an error; nothing of it was applied"); ferr != nil {
			h.log.Warn("import failed", "import", r.id, "err", ferr)
		}
		r.audit.Action = models.AuditImportFailed // the log has the error: it may name tables and values
		r.audit.Details = jsonDetails(details)
		if aerr := h.audit.Record(bookkeeping, r.audit); aerr != nil {
			h.log.Warn("audit import", "import", r.id, "err", aerr)
		}
		return rep, fileError(err)
	}
	if err := h.importJobs.Finish(bookkeeping, r.tenantID, r.id, rep.FileID, rep.Applied); err != nil {
		return rep, err
	}
	details["outcome"], details["rows"], details["applied"], details["errors"] = rep.Outcome, rep.Rows, rep.Applied, len(rep.Errors)
	r.audit.Details = jsonDetails(details)
	return rep, h.audit.Record(bookkeeping, r.audit)
}

// importErrorsCSV downloads an import's error report (a finished import's,
// or a staged file's dry run's) as CSV: line, column, value, reason.
func (h *Handlers) importErrorsCSV(c *fiber.Ctx) error {
	j, err := h.importJob(c)
	if err != nil {
		return err
	}
	errs, ok, err := h.importReport(c, j)
	if err != nil {
		return err
	}
	if !ok {
		return fiber.NewError(fiber.StatusNotFound, "this import has no report yet: run a dry run or apply it")
	}
	c.Set(fiber.HeaderContentType, "text/csv; charset=utf-8")
	c.Set(fiber.HeaderContentDisposition, attachment(fmt.Sprintf("import-%d-errors.csv", j.ID)))
	c.Set(fiber.HeaderCacheControl, "no-store")
	w := csv.NewWriter(c.Response().BodyWriter())
	w.Write([]string{"line", "column", "value", "reason"})
	for _, e := range errs {
		w.Write([]string{strconv.Itoa(e.Line), e.Column, neutraliseFormula(e.Value), neutraliseFormula(e.Reason)})
	}
	w.Flush()
	return w.Error()
}

// importReport is a job's error report: a finished import's, kept in
// bronze, or a staged file's dry run's; ok is false when it has neither.
func (h *Handlers) importReport(c *fiber.Ctx, j models.ImportJob) (errs []imports.RowError, ok bool, err error) {
	switch {
	case j.FileID != nil:
		raw, err := h.importJobs.Report(c.UserContext(), auth.Tenant(c).ID, j.ID)
		if err != nil {
			return nil, false, err
		}
		err = json.Unmarshal(raw, &errs)
		return errs, err == nil, err
	case len(j.DryRun) > 0:
		var rep pipeline.ImportReport
		err := json.Unmarshal(j.DryRun, &rep)
		return rep.Errors, err == nil, err
	}
	return nil, false, nil
}

// attachment is a Content-Disposition that downloads a file as name (an
// uploaded file's name, quoted or encoded as the header needs).
func attachment(name string) string {
	if v := mime.FormatMediaType("attachment", map[string]string{"filename": name}); v != "" {
		return v
	}
	return "attachment" // a name the header cannot carry (control characters)
}

// importFile downloads an import's file as uploaded.
func (h *Handlers) importFile(c *fiber.Ctx) error {
	id, err := importID(c)
	if err != nil {
		return err
	}
	name, data, err := h.importJobs.Content(c.UserContext(), auth.Tenant(c).ID, id)
	if errors.Is(err, models.ErrNotFound) {
		return fiber.ErrNotFound
	}
	if err != nil {
		return err
	}
	c.Set(fiber.HeaderContentType, "application/octet-stream")
	c.Set(fiber.HeaderContentDisposition, attachment(name))
	c.Set(fiber.HeaderCacheControl, "no-store")
	return c.Send(data)
}

// importJob is the path's import of the request's tenant; anything else
// is not found.
func (h *Handlers) importJob(c *fiber.Ctx) (models.ImportJob, error) {
	id, err := importID(c)
	if err != nil {
		return models.ImportJob{}, err
	}
	j, err := h.importJobs.Get(c.UserContext(), auth.Tenant(c).ID, id)
	if errors.Is(err, models.ErrNotFound) {
		return j, fiber.ErrNotFound
	}
	return j, err
}

func importID(c *fiber.Ctx) (int64, error) {
	id, err := strconv.ParseInt(c.Params("id"), 10, 64)
	if err != nil || id <= 0 {
		return 0, fiber.ErrNotFound
	}
	return id, nil
}

// renderImports renders the imports page p with the tenant's imports.
func (h *Handlers) renderImports(c *fiber.Ctx, status int, p admin.ImportsPage) error {
	js, err := h.importJobs.List(c.UserContext(), auth.Tenant(c).ID, importHistorySize)
	if err != nil {
		return err
	}
	for _, j := range js {
		p.History = append(p.History, h.jobView(c, j))
	}
	for _, k := range imports.Kinds {
		p.Kinds = append(p.Kinds, string(k))
		kc := admin.KindColumns{Kind: string(k)}
		for _, col := range imports.Columns(k) {
			kc.Columns = append(kc.Columns, admin.ColumnHelp{Name: col.Name, Required: col.Required,
				Accepted: strings.Join(col.Accepted[1:], ", ")})
		}
		p.Columns = append(p.Columns, kc)
	}
	p.CSRF = h.sessions.CSRFToken(c)
	return h.page(c, status, "Imports", admin.Imports(p))
}

// jobView is an import job as the page shows it.
func (h *Handlers) jobView(c *fiber.Ctx, j models.ImportJob) admin.JobView {
	loc := tenantLocation(auth.Tenant(c))
	v := admin.JobView{ID: j.ID, Path: importPath(j.ID), Kind: j.Kind, File: j.Filename, Mode: j.Mode, State: j.State,
		By: j.CreatedBy, When: j.CreatedAt.In(loc).Format("2 Jan 2006 15:04"), Rows: j.RowsTotal, Done: j.RowsDone,
		Outcome: j.Outcome, Applied: j.RowsApplied, Errors: j.Errors, Error: j.Error}
	if j.StartedAt != nil {
		end := time.Now()
		if j.FinishedAt != nil {
			end = *j.FinishedAt
		}
		v.Took = end.Sub(*j.StartedAt).Round(100 * time.Millisecond).String()
	}
	return v
}

// previewView is a file preview as the page shows it.
func previewView(p *imports.Preview) *admin.PreviewView {
	v := &admin.PreviewView{HeaderLine: p.HeaderLine, Missing: p.Missing}
	for _, hc := range p.Header {
		v.Header = append(v.Header, admin.HeaderView{Letter: hc.Letter, Text: hc.Text, Column: hc.Column, Note: hc.Note})
	}
	for _, r := range p.Rows {
		v.Rows = append(v.Rows, admin.PreviewRowView{Line: r.Line, Cells: r.Cells})
	}
	return v
}

// reportView is a dry run's report as the page shows it: the first
// importErrorsShown errors, the rest in the CSV at csvPath.
func reportView(rep pipeline.ImportReport, csvPath string) *admin.ReportView {
	v := &admin.ReportView{Outcome: rep.Outcome, Rows: rep.Rows, Applied: rep.Applied, Changed: rep.Changed,
		ErrorCount: len(rep.Errors), CSVPath: csvPath, Summary: rep.Summary()}
	for i, e := range rep.Errors {
		if i == importErrorsShown {
			break
		}
		v.Errors = append(v.Errors, admin.RowErrorView{Line: e.Line, Column: e.Column, Value: e.Value, Reason: e.Reason})
	}
	return v
}

func importPath(id int64) string   { return "/admin/imports/" + strconv.FormatInt(id, 10) }
func importTarget(id int64) string { return fmt.Sprintf("import:%d", id) }
