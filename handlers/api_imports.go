package handlers

import (
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/learnlens/learnlens/auth"
	"github.com/learnlens/learnlens/models"
)

// ImportJSON is an import as GET /api/v1/imports lists it.
type ImportJSON struct {
	ID         int64      `json:"id"`
	Kind       string     `json:"kind"`
	File       string     `json:"file"`
	Mode       string     `json:"mode"`
	State      string     `json:"state"`             // staged, running, done or failed
	Outcome    string     `json:"outcome,omitempty"` // applied or refused, once done
	UploadedAt time.Time  `json:"uploaded_at"`
	UploadedBy string     `json:"uploaded_by"`
	Rows       int        `json:"rows"`
	RowsDone   int        `json:"rows_done"` // rows applied so far
	Applied    int        `json:"applied"`
	Errors     int        `json:"errors"`
	Error      string     `json:"error,omitempty"` // why a failed import failed
	FinishedAt *time.Time `json:"finished_at,omitempty"`
}

// ImportsJSON is the answer of GET /api/v1/imports.
type ImportsJSON struct {
	Imports []ImportJSON `json:"imports"`
}

// ImportDetailJSON is an import as GET /api/v1/imports/:id sends it: its
// status and progress, and its report (a finished import's, or a staged
// file's dry run's).
type ImportDetailJSON struct {
	ImportJSON
	Report []RowErrorJSON `json:"report"`
}

// RowErrorJSON is one problem of an import's report.
type RowErrorJSON struct {
	Line   int    `json:"line"`
	Column string `json:"column"`
	Value  string `json:"value"`
	Reason string `json:"reason"`
}

func importJSON(j models.ImportJob) ImportJSON {
	return ImportJSON{ID: j.ID, Kind: j.Kind, File: j.Filename, Mode: j.Mode, State: j.State, Outcome: j.Outcome,
		UploadedAt: j.CreatedAt, UploadedBy: j.CreatedBy, Rows: j.RowsTotal, RowsDone: j.RowsDone, Applied: j.RowsApplied,
		Errors: j.Errors, Error: j.Error, FinishedAt: j.FinishedAt}
}

// importsJSON lists the tenant's imports, newest first.
func (h *Handlers) importsJSON(c *fiber.Ctx) error {
	js, err := h.importJobs.List(c.UserContext(), auth.Tenant(c).ID, importHistorySize)
	if err != nil {
		return err
	}
	out := make([]ImportJSON, 0, len(js))
	for _, j := range js {
		out = append(out, importJSON(j))
	}
	return c.JSON(ImportsJSON{Imports: out})
}

// importJSON sends one import's status, progress and report.
func (h *Handlers) importJSON(c *fiber.Ctx) error {
	j, err := h.importJob(c)
	if err != nil {
		return err
	}
	out := ImportDetailJSON{ImportJSON: importJSON(j), Report: []RowErrorJSON{}}
	errs, _, err := h.importReport(c, j)
	if err != nil {
		return err
	}
	for _, e := range errs {
		out.Report = append(out.Report, RowErrorJSON{Line: e.Line, Column: e.Column, Value: e.Value, Reason: e.Reason})
	}
	return c.JSON(out)
}
