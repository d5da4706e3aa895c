package handlers

import (
	"fmt"
	"strconv"

	"github.com/gofiber/fiber/v2"

	"github.com/learnlens/learnlens/auth"
	"github.com/learnlens/learnlens/views/pages/admin"
)

const auditPageSize = 50

// auditLog shows the tenant's audit log, newest first, a page at a time.
func (h *Handlers) auditLog(c *fiber.Ctx) error {
	tenant := auth.Tenant(c)
	pageNo := 1
	if p := c.Query("page"); p != "" {
		n, err := strconv.Atoi(p)
		if err != nil || n < 1 || n > 100000 {
			return fiber.NewError(fiber.StatusBadRequest, "page must be a whole number from 1 to 100000")
		}
		pageNo = n
	}
	// One extra row tells whether an older page exists.
	es, err := h.audit.List(c.UserContext(), tenant.ID, auditPageSize+1, (pageNo-1)*auditPageSize)
	if err != nil {
		return err
	}
	var prev, next string
	if pageNo > 1 {
		prev = fmt.Sprintf("/admin/audit?page=%d", pageNo-1)
	}
	if len(es) > auditPageSize {
		es = es[:auditPageSize]
		next = fmt.Sprintf("/admin/audit?page=%d", pageNo+1)
	}
	loc := tenantLocation(tenant)
	rows := make([]admin.AuditRow, len(es))
	for i, e := range es {
		details := string(e.Details)
		if details == "{}" {
			details = ""
		}
		rows[i] = admin.AuditRow{At: e.At.In(loc).Format("2006-01-02 15:04:05"), Actor: e.ActorEmail,
			Action: e.Action, Target: e.Target, IP: e.IP, Details: details}
	}
	return h.page(c, fiber.StatusOK, "Audit log", admin.Audit(rows, prev, next))
}
