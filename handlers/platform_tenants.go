package handlers

import (
	"bufio"
	"cmp"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/learnlens/learnlens/auth"
	"github.com/learnlens/learnlens/htmx"
	"github.com/learnlens/learnlens/models"
	"github.com/learnlens/learnlens/views/format"
	"github.com/learnlens/learnlens/views/pages/platform"
)

// usageColumn is a column of the platform admin's tenant list: its label,
// its sort key (the sort query parameter) and how two tenants compare on it.
type usageColumn struct {
	key, label string
	compare    func(a, b models.TenantUsage) int
	csv        func(u models.TenantUsage) string
}

// usageColumns are the tenant list's columns, in display order.
var usageColumns = []usageColumn{
	{"name", "Name", func(a, b models.TenantUsage) int {
		return strings.Compare(strings.ToLower(a.Name), strings.ToLower(b.Name))
	},
		func(u models.TenantUsage) string { return u.Name }},
	{"people", "People", func(a, b models.TenantUsage) int { return cmp.Compare(a.People, b.People) },
		func(u models.TenantUsage) string { return strconv.FormatInt(u.People, 10) }},
	{"users", "Users", func(a, b models.TenantUsage) int { return cmp.Compare(a.Users, b.Users) },
		func(u models.TenantUsage) string { return strconv.FormatInt(u.Users, 10) }},
	{"statements", "Statements", func(a, b models.TenantUsage) int { return cmp.Compare(a.Statements, b.Statements) },
		func(u models.TenantUsage) string { return strconv.FormatInt(u.Statements, 10) }},
	{"statements_24h", "Last 24 h", func(a, b models.TenantUsage) int { return cmp.Compare(a.Statements24h, b.Statements24h) },
		func(u models.TenantUsage) string { return strconv.FormatInt(u.Statements24h, 10) }},
	{"last_statement", "Last statement", func(a, b models.TenantUsage) int {
		return cmp.Compare(unixOrZero(a.LastStatement), unixOrZero(b.LastStatement))
	},
		func(u models.TenantUsage) string {
			if u.LastStatement == nil {
				return ""
			}
			return u.LastStatement.UTC().Format(time.RFC3339)
		}},
	{"size", "Database size", func(a, b models.TenantUsage) int { return cmp.Compare(a.DatabaseBytes, b.DatabaseBytes) },
		func(u models.TenantUsage) string { return strconv.FormatInt(u.DatabaseBytes, 10) }},
	{"errors", "Ingest errors", func(a, b models.TenantUsage) int { return cmp.Compare(a.IngestErrors, b.IngestErrors) },
		func(u models.TenantUsage) string { return strconv.FormatInt(u.IngestErrors, 10) }},
	{"status", "Status", func(a, b models.TenantUsage) int { return strings.Compare(a.Status, b.Status) },
		func(u models.TenantUsage) string { return u.Status }},
}

func unixOrZero(t *time.Time) int64 {
	if t == nil {
		return 0
	}
	return t.UnixNano()
}

// usageOrder is the tenant list's sort order, from the query parameters
// sort (a column key; default name) and dir (asc or desc; default asc).
type usageOrder struct {
	col  usageColumn
	desc bool
}

// parseUsageOrder reads the sort order, refusing unknown values with 400.
func parseUsageOrder(c *fiber.Ctx) (usageOrder, error) {
	o := usageOrder{col: usageColumns[0]}
	if key := c.Query("sort"); key != "" {
		i := slices.IndexFunc(usageColumns, func(col usageColumn) bool { return col.key == key })
		if i < 0 {
			keys := make([]string, len(usageColumns))
			for j, col := range usageColumns {
				keys[j] = col.key
			}
			return o, fiber.NewError(fiber.StatusBadRequest, "sort must be one of "+strings.Join(keys, ", "))
		}
		o.col = usageColumns[i]
	}
	switch c.Query("dir") {
	case "", "asc":
	case "desc":
		o.desc = true
	default:
		return o, fiber.NewError(fiber.StatusBadRequest, `dir must be "asc" or "desc"`)
	}
	return o, nil
}

// sortedUsage reads every tenant's usage in the request's order.
func (h *Handlers) sortedUsage(c *fiber.Ctx) ([]models.TenantUsage, usageOrder, error) {
	o, err := parseUsageOrder(c)
	if err != nil {
		return nil, o, err
	}
	us, err := h.tenants.Usage(c.UserContext())
	if err != nil {
		return nil, o, err
	}
	slices.SortStableFunc(us, func(a, b models.TenantUsage) int {
		if o.desc {
			return o.col.compare(b, a)
		}
		return o.col.compare(a, b)
	})
	return us, o, nil
}

// tenantList shows the platform admin every customer tenant with its usage.
func (h *Handlers) tenantList(c *fiber.Ctx) error {
	us, o, err := h.sortedUsage(c)
	if err != nil {
		return err
	}
	csrf := h.sessions.CSRFToken(c)
	l := platform.TenantList{ExportURL: "/platform/tenants/export.csv?" + o.query().Encode()}
	for _, u := range us {
		l.Rows = append(l.Rows, h.tenantRow(c, u, csrf))
	}
	for _, col := range usageColumns {
		link := platform.SortLink{Label: col.label}
		next := usageOrder{col: col}
		if col.key == o.col.key {
			link.Sort = "ascending"
			if o.desc {
				link.Sort = "descending"
			}
			next.desc = !o.desc
		}
		link.Href = "/platform/tenants?" + next.query().Encode()
		l.Columns = append(l.Columns, link)
	}
	return h.page(c, fiber.StatusOK, "Tenants", platform.Tenants(l))
}

func (o usageOrder) query() url.Values {
	dir := "asc"
	if o.desc {
		dir = "desc"
	}
	return url.Values{"sort": {o.col.key}, "dir": {dir}}
}

// tenantUsageCSV exports the tenant list as CSV, in the list's order.
func (h *Handlers) tenantUsageCSV(c *fiber.Ctx) error {
	us, o, err := h.sortedUsage(c)
	if err != nil {
		return err
	}
	if err := h.record(c, models.PlatformTenantID, models.AuditExport, "table:tenant_usage",
		map[string]any{"format": "csv", "sort": o.query().Encode()}); err != nil {
		return err
	}
	c.Set(fiber.HeaderContentType, "text/csv; charset=utf-8")
	c.Set(fiber.HeaderContentDisposition, `attachment; filename="learnlens-tenants-`+time.Now().UTC().Format("20060102-1504")+`.csv"`)
	c.Set(fiber.HeaderCacheControl, "no-store")
	bw := bufio.NewWriter(c.Response().BodyWriter())
	w := csv.NewWriter(bw)
	header := []string{"slug"}
	for _, col := range usageColumns {
		header = append(header, col.key)
	}
	_ = w.Write(header)
	for _, u := range us {
		// Names are typed by people: neutralised like every export's text.
		rec := []string{neutraliseFormula(u.Slug)}
		for _, col := range usageColumns {
			rec = append(rec, neutraliseFormula(col.csv(u)))
		}
		_ = w.Write(rec)
	}
	w.Flush()
	if err := w.Error(); err != nil {
		return err
	}
	return bw.Flush()
}

// tenantSetStatus suspends or re-activates a tenant.
func (h *Handlers) tenantSetStatus(c *fiber.Ctx) error {
	id, err := strconv.ParseInt(c.Params("id"), 10, 64)
	if err != nil {
		return fiber.ErrNotFound
	}
	status := c.FormValue("status")
	if status != models.TenantActive && status != models.TenantSuspended {
		return fiber.NewError(fiber.StatusBadRequest, `status must be "active" or "suspended"`)
	}
	if err := h.tenants.SetStatus(c.UserContext(), id, status); err != nil {
		if err == models.ErrNotFound {
			return fiber.ErrNotFound
		}
		return err
	}
	h.hosts.Cache.Forget(models.AuthChange{Kind: models.ChangedTenant, TenantID: id})
	err = h.platformAudit(c, models.AuditTenantStatus, id, map[string]any{"status": status})
	if err != nil {
		return err
	}
	// The list swaps the tenant's row; the tenant's own page reloads.
	if !htmx.IsRequest(c) || c.Get(htmx.HeaderTarget) == "status-form" {
		return htmx.Redirect(c, "/platform/tenants/"+strconv.FormatInt(id, 10))
	}
	us, err := h.tenants.Usage(c.UserContext())
	if err != nil {
		return err
	}
	for _, u := range us {
		if u.ID == id {
			return h.fragment(c, fiber.StatusOK, platform.TenantRowView(h.tenantRow(c, u, h.sessions.CSRFToken(c))))
		}
	}
	return fiber.ErrNotFound
}

func (h *Handlers) tenantRow(c *fiber.Ctx, u models.TenantUsage, csrf string) platform.TenantRow {
	r := platform.TenantRow{
		ID: u.ID, Name: u.Name, Slug: u.Slug, EmailDomains: strings.Join(u.EmailDomains, ", "), URL: h.hosts.TenantURL(c, models.Tenant{Slug: u.Slug}),
		Status: u.Status, People: format.Int(u.People), Users: format.Int(u.Users), Statements: format.Int(u.Statements),
		Statements24h: format.Int(u.Statements24h), LastStatement: "never", DatabaseSize: byteSize(u.DatabaseBytes),
		IngestErrors: format.Int(u.IngestErrors), CSRF: csrf, Suspended: u.Status == models.TenantSuspended,
	}
	if u.LastStatement != nil {
		r.LastStatement = format.DateTime(*u.LastStatement, time.UTC)
	}
	return r
}

// byteSize is n bytes in the largest unit that keeps a number of at least 1.
func byteSize(n int64) string {
	units := []string{"B", "kB", "MB", "GB", "TB"}
	v, i := float64(n), 0
	for v >= 1000 && i < len(units)-1 {
		v, i = v/1000, i+1
	}
	if i == 0 {
		return fmt.Sprintf("%d B", n)
	}
	return fmt.Sprintf("%.1f %s", v, units[i])
}

// platformAudit writes a platform admin's action on tenant id to the
// platform's audit log.
func (h *Handlers) platformAudit(c *fiber.Ctx, action string, id int64, details map[string]any) error {
	return h.record(c, models.PlatformTenantID, action, fmt.Sprintf("tenant:%d", id), details)
}

// record writes the signed-in user's action on target to tenantID's audit
// log, with details (nil: none) as JSON.
func (h *Handlers) record(c *fiber.Ctx, tenantID int64, action, target string, details any) error {
	return h.audit.Record(c.UserContext(), h.auditEntry(c, tenantID, action, target, details))
}

// auditEntry is the entry record writes, for work that ends after its
// request (a background import) to write later.
func (h *Handlers) auditEntry(c *fiber.Ctx, tenantID int64, action, target string, details any) models.AuditEntry {
	u := auth.User(c)
	e := models.AuditEntry{TenantID: tenantID, ActorUserID: &u.ID, ActorEmail: u.Email,
		Action: action, Target: target, IP: h.clientIP(c), RequestID: requestID(c)}
	if details != nil {
		e.Details = jsonDetails(details)
	}
	return e
}

// jsonDetails is an audit entry's details.
func jsonDetails(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		return nil
	}
	return b
}
