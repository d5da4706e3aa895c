package handlers

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/gofiber/fiber/v2"

	"github.com/learnlens/learnlens/auth"
	"github.com/learnlens/learnlens/models"
	"github.com/learnlens/learnlens/views/pages/admin"
)

const auditPageSize = 50

// Bounds of the audit log's filter fields.
const (
	auditTextMax   = 200 // actor, action and search
	auditPageLimit = 100000
)

// auditRoutes mounts the tenant's audit log, its filters and its CSV
// export on the admin group.
func (h *Handlers) auditRoutes(adminGroup fiber.Router) {
	adminGroup.Get("/audit", h.auditLog)
	adminGroup.Get("/audit/export.csv", h.auditCSV)
}

// auditQuery is the audit log's filter as the page's form sends it.
type auditQuery struct {
	Actor, Action, From, To, Search string
	filter                          models.AuditFilter
}

// values is the filter as a query string, without empty fields.
func (q auditQuery) values() url.Values {
	v := url.Values{}
	for _, f := range []struct{ k, v string }{{"actor", q.Actor}, {"action", q.Action}, {"from", q.From}, {"to", q.To}, {"q", q.Search}} {
		if f.v != "" {
			v.Set(f.k, f.v)
		}
	}
	return v
}

// parseAuditQuery reads the filter: dates are days (YYYY-MM-DD) in the
// tenant's time zone, both ends included.
func parseAuditQuery(c *fiber.Ctx, loc *time.Location) (auditQuery, error) {
	q := auditQuery{Actor: strings.TrimSpace(c.Query("actor")), Action: strings.TrimSpace(c.Query("action")),
		From: strings.TrimSpace(c.Query("from")), To: strings.TrimSpace(c.Query("to")), Search: strings.TrimSpace(c.Query("q"))}
	for _, f := range []struct{ name, v string }{{"actor", q.Actor}, {"action", q.Action}, {"search", q.Search}} {
		if utf8.RuneCountInString(f.v) > auditTextMax {
			return q, fiber.NewError(fiber.StatusBadRequest, fmt.Sprintf("the %s filter is longer than %d characters", f.name, auditTextMax))
		}
	}
	q.filter = models.AuditFilter{Actor: q.Actor, Action: q.Action, Search: q.Search}
	day := func(name, v string) (time.Time, error) {
		if v == "" {
			return time.Time{}, nil
		}
		d, err := time.ParseInLocation(time.DateOnly, v, loc)
		if err != nil {
			return d, fiber.NewError(fiber.StatusBadRequest, fmt.Sprintf("%s must be a date written YYYY-MM-DD, not %q", name, v))
		}
		return d, nil
	}
	var err error
	if q.filter.From, err = day("from", q.From); err != nil {
		return q, err
	}
	to, err := day("to", q.To)
	if err != nil {
		return q, err
	}
	if !to.IsZero() {
		q.filter.Before = to.AddDate(0, 0, 1)
		if !q.filter.From.IsZero() && to.Before(q.filter.From) {
			return q, fiber.NewError(fiber.StatusBadRequest, "the date range ends before it starts")
		}
	}
	return q, nil
}

// auditLog shows the tenant's audit log, newest first, filtered, a page at
// a time.
func (h *Handlers) auditLog(c *fiber.Ctx) error {
	tenant := auth.Tenant(c)
	loc := tenantLocation(tenant)
	q, err := parseAuditQuery(c, loc)
	pageNo := 1
	if p := c.Query("page"); p != "" && err == nil {
		n, perr := strconv.Atoi(p)
		if perr != nil || n < 1 || n > auditPageLimit {
			err = fiber.NewError(fiber.StatusBadRequest, "page must be a whole number from 1 to 100000")
		}
		pageNo = n
	}
	actions, aerr := h.audit.Actions(c.UserContext(), tenant.ID)
	if aerr != nil {
		return aerr
	}
	users, uerr := h.users.List(c.UserContext(), tenant.ID)
	if uerr != nil {
		return uerr
	}
	p := admin.AuditPage{Actor: q.Actor, Action: q.Action, From: q.From, To: q.To, Search: q.Search, Actions: actions,
		Filtered: len(q.values()) > 0}
	for _, u := range users {
		p.Actors = append(p.Actors, u.Email)
	}
	// A filter that cannot be read is shown back with what was wrong, and
	// no entries.
	var fe *fiber.Error
	if errors.As(err, &fe) {
		p.Error, p.ExportHref = sentence(fe.Message), "/admin/audit/export.csv"
		return h.page(c, fe.Code, "Audit log", admin.Audit(p))
	}
	if err != nil {
		return err
	}
	// One extra row tells whether an older page exists.
	es, err := h.audit.List(c.UserContext(), tenant.ID, q.filter, auditPageSize+1, (pageNo-1)*auditPageSize)
	if err != nil {
		return err
	}
	pageHref := func(n int) string {
		v := q.values()
		if n > 1 {
			v.Set("page", strconv.Itoa(n))
		}
		if len(v) == 0 {
			return "/admin/audit"
		}
		return "/admin/audit?" + v.Encode()
	}
	if pageNo > 1 {
		p.Prev = pageHref(pageNo - 1)
	}
	if len(es) > auditPageSize {
		es = es[:auditPageSize]
		p.Next = pageHref(pageNo + 1)
	}
	p.ExportHref = "/admin/audit/export.csv"
	if v := q.values(); len(v) > 0 {
		p.ExportHref += "?" + v.Encode()
	}
	p.Rows = make([]admin.AuditRow, len(es))
	for i, e := range es {
		p.Rows[i] = admin.AuditRow{At: e.At.In(loc).Format("2006-01-02 15:04:05"), Actor: e.ActorEmail,
			Action: e.Action, Target: e.Target, IP: e.IP, Details: auditDetails(e)}
	}
	return h.page(c, fiber.StatusOK, "Audit log", admin.Audit(p))
}

// auditDetails is an entry's details as the page and the export show them.
func auditDetails(e models.AuditEntry) string {
	if d := string(e.Details); d != "{}" {
		return d
	}
	return ""
}

// auditCSV streams the filtered log as CSV, newest first: every matching
// entry, read from one cursor as it is sent. The export is itself audited,
// with its filter, before the first byte goes.
func (h *Handlers) auditCSV(c *fiber.Ctx) error {
	tenant := auth.Tenant(c)
	loc := tenantLocation(tenant)
	q, err := parseAuditQuery(c, loc)
	if err != nil {
		return err
	}
	if err := h.tenantAudit(c, models.AuditExport, "audit_log", map[string]string{"format": "csv", "filters": q.values().Encode()}); err != nil {
		return err
	}
	store, tenantID := h.audit, tenant.ID
	h.streamCSV(c, "learnlens-audit-"+time.Now().In(loc).Format("20060102-1504")+".csv", "audit export",
		func(ctx context.Context, write func([]string) error) error {
			if err := write([]string{"at", "actor", "action", "target", "ip", "request_id", "details"}); err != nil {
				return err
			}
			return store.Each(ctx, tenantID, q.filter, func(e models.AuditEntry) error {
				// Actors, targets and details hold text people typed (a
				// failed sign-in's email): neutralised like every export's.
				return write([]string{e.At.In(loc).Format(time.RFC3339), neutraliseFormula(e.ActorEmail), neutraliseFormula(e.Action),
					neutraliseFormula(e.Target), neutraliseFormula(e.IP), neutraliseFormula(e.RequestID), neutraliseFormula(auditDetails(e))})
			})
		})
	return nil
}
