package handlers

import (
	"errors"
	"io"

	"github.com/gofiber/fiber/v2"

	"github.com/learnlens/learnlens/auth"
	"github.com/learnlens/learnlens/imports"
	"github.com/learnlens/learnlens/pipeline"
)

// maxImportBytes bounds one uploaded file.
const maxImportBytes = 15 << 20

// importUpload applies an uploaded CSV or XLSX file (multipart form fields
// file, kind, mode, dry_run) to the signed-in admin's tenant and answers
// with the import report as JSON.
func (h *Handlers) importUpload(c *fiber.Ctx) error {
	kind, err := imports.ParseKind(c.FormValue("kind"))
	if err != nil {
		return fiber.NewError(fiber.StatusBadRequest, "kind must be roster, courses, enrollments or requirements")
	}
	mode := c.FormValue("mode", pipeline.ModeValidRows)
	if mode != pipeline.ModeValidRows && mode != pipeline.ModeAllOrNothing {
		return fiber.NewError(fiber.StatusBadRequest, `mode must be "valid-rows" or "all-or-nothing"`)
	}
	fh, err := c.FormFile("file")
	if err != nil {
		return fiber.NewError(fiber.StatusBadRequest, "attach the CSV or XLSX file as the form field \"file\"")
	}
	if fh.Size > maxImportBytes {
		return fiber.NewError(fiber.StatusRequestEntityTooLarge, "the file is larger than 15 MB; split it")
	}
	f, err := fh.Open()
	if err != nil {
		return err
	}
	defer f.Close()
	data, err := io.ReadAll(f)
	if err != nil {
		return err
	}
	u := auth.User(c)
	rep, err := h.pipeline.Import(c.UserContext(), pipeline.ImportRequest{
		TenantID: auth.Tenant(c).ID, Kind: kind, Filename: fh.Filename, Data: data, Mode: mode,
		DryRun: c.FormValue("dry_run") == "true", UploadedBy: u.Email,
	})
	if errors.Is(err, imports.ErrTooLarge) {
		return fiber.NewError(fiber.StatusRequestEntityTooLarge, err.Error())
	}
	if errors.Is(err, pipeline.ErrUnreadableFile) {
		return fiber.NewError(fiber.StatusBadRequest, err.Error())
	}
	if err != nil {
		return err
	}
	status := fiber.StatusOK
	if rep.Outcome == "refused" {
		status = fiber.StatusUnprocessableEntity
	}
	return c.Status(status).JSON(rep)
}
