package handlers

import (
	"bufio"
	"encoding/csv"
	"errors"
	"net/url"
	"strconv"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/learnlens/learnlens/analytics"
	"github.com/learnlens/learnlens/auth"
	"github.com/learnlens/learnlens/models"
	"github.com/learnlens/learnlens/views/components/charts"
	"github.com/learnlens/learnlens/views/format"
	"github.com/learnlens/learnlens/views/pages/admin"
)

// maxUsageDays bounds a usage report's range.
const maxUsageDays = 366

// defaultUsageDays is the range shown without one chosen.
const defaultUsageDays = 30

// usageRoutes registers the tenant's own usage: the page, its CSV and its
// JSON resource, for the tenant's admins; the JSON also for API clients
// with the dashboards:read scope.
func (h *Handlers) usageRoutes(site fiber.Router) {
	admins := auth.RequireRole(models.RoleTenantAdmin)
	site.Get("/admin/usage", admins, h.usagePage)
	site.Get("/admin/usage.csv", admins, h.usageCSV)
	site.Get("/api/v1/usage", apiAccess(models.ScopeDashboardsRead, models.RoleTenantAdmin), h.usageJSON)
}

// usageRange reads the from and to dates (YYYY-MM-DD, tenant-local) of a
// usage request: by default the last 30 days up to today.
func (h *Handlers) usageRange(c *fiber.Ctx) (from, to time.Time, err error) {
	today := analytics.DateAt(h.cfg.Clock(), tenantLocation(auth.Tenant(c)))
	to, from = today, today.AddDate(0, 0, -(defaultUsageDays-1))
	parse := func(name string, into *time.Time) error {
		v := c.Query(name)
		if v == "" {
			return nil
		}
		d, err := time.Parse(time.DateOnly, v)
		if err != nil {
			return fiber.NewError(fiber.StatusBadRequest, name+" must be a date like "+today.Format(time.DateOnly))
		}
		*into = d
		return nil
	}
	if err := parse("to", &to); err != nil {
		return from, to, err
	}
	if c.Query("from") == "" {
		from = to.AddDate(0, 0, -(defaultUsageDays - 1))
	}
	if err := parse("from", &from); err != nil {
		return from, to, err
	}
	switch {
	case from.After(to):
		return from, to, fiber.NewError(fiber.StatusBadRequest, "from must not be after to")
	case to.Sub(from) >= maxUsageDays*24*time.Hour:
		return from, to, fiber.NewError(fiber.StatusBadRequest, "choose at most "+strconv.Itoa(maxUsageDays)+" days")
	}
	return from, to, nil
}

// usageReport reads the request's usage report.
func (h *Handlers) usageReport(c *fiber.Ctx) (models.UsageReport, error) {
	from, to, err := h.usageRange(c)
	if err != nil {
		return models.UsageReport{}, err
	}
	t := auth.Tenant(c)
	return h.tenants.UsageReport(c.UserContext(), t.ID, tenantLocation(t), from, to)
}

// usagePage shows the tenant's usage with charts, a table by day and one by
// week; a bad range is shown on the page with 400.
func (h *Handlers) usagePage(c *fiber.Ctx) error {
	t := auth.Tenant(c)
	p := admin.UsagePage{TimeZone: t.TimeZone, From: c.Query("from"), To: c.Query("to")}
	r, err := h.usageReport(c)
	var fe *fiber.Error
	if errors.As(err, &fe) && fe.Code == fiber.StatusBadRequest {
		p.Error = sentence(fe.Message)
		p.Ranges = h.usageRanges(c, "", "")
		return h.page(c, fiber.StatusBadRequest, "Usage", admin.Usage(p))
	}
	if err != nil {
		return err
	}
	p.From, p.To = r.From.Format(time.DateOnly), r.To.Format(time.DateOnly)
	p.Ranges = h.usageRanges(c, p.From, p.To)
	p.CSVURL = "/admin/usage.csv?" + url.Values{"from": {p.From}, "to": {p.To}}.Encode()
	var statements, signIns, failed, exports int64
	p.Activity = charts.LineChart{ID: "usage-statements", Title: "Statements per day", Unit: "statements",
		Description: "Learning records received, by the day they happened."}
	p.People = charts.LineChart{ID: "usage-people", Title: "People per day", Unit: "people"}
	p.SignIns = charts.LineChart{ID: "usage-sign-ins", Title: "Sign-ins per day", Unit: "sign-ins"}
	st := charts.Series{Name: "Statements"}
	al, su := charts.Series{Name: "Active learners"}, charts.Series{Name: "Signed-in users", Color: charts.Emerald}
	ok, ko := charts.Series{Name: "Sign-ins"}, charts.Series{Name: "Failed", Color: charts.Rose}
	for _, d := range r.Days {
		statements, signIns, failed, exports = statements+d.Statements, signIns+d.SignIns, failed+d.FailedSignIns, exports+d.Exports
		label := d.Day.Format("2 Jan")
		for _, lc := range []*charts.LineChart{&p.Activity, &p.People, &p.SignIns} {
			lc.Labels = append(lc.Labels, label)
		}
		st.Values = append(st.Values, float64(d.Statements))
		al.Values, su.Values = append(al.Values, float64(d.ActiveLearners)), append(su.Values, float64(d.SignedInUsers))
		ok.Values, ko.Values = append(ok.Values, float64(d.SignIns)), append(ko.Values, float64(d.FailedSignIns))
	}
	p.Activity.Series, p.People.Series, p.SignIns.Series = []charts.Series{st}, []charts.Series{al, su}, []charts.Series{ok, ko}
	for i := len(r.Days) - 1; i >= 0; i-- {
		d := r.Days[i]
		p.Days = append(p.Days, admin.UsageDayRow{Date: format.Date(d.Day), Statements: format.Int(d.Statements),
			ActiveLearners: format.Int(d.ActiveLearners), SignedInUsers: format.Int(d.SignedInUsers), SignIns: format.Int(d.SignIns),
			FailedSignIns: format.Int(d.FailedSignIns), Exports: format.Int(d.Exports)})
	}
	for _, w := range r.Weeks {
		p.Weeks = append(p.Weeks, admin.UsageWeekRow{Start: format.Date(w.Start), ActiveLearners: format.Int(w.ActiveLearners),
			SignedInUsers: format.Int(w.SignedInUsers)})
	}
	p.KPIs = []charts.KPI{
		{ID: "usage-statements", Label: "Statements", Value: float64(statements)},
		{ID: "usage-active-learners", Label: "Active learners", Value: float64(r.ActiveLearners)},
		{ID: "usage-signed-in-users", Label: "Signed-in users", Value: float64(r.SignedInUsers)},
		{ID: "usage-sign-ins", Label: "Sign-ins", Value: float64(signIns)},
		{ID: "usage-failed-sign-ins", Label: "Failed sign-ins", Value: float64(failed), UpIsBad: true},
		{ID: "usage-exports", Label: "Exports", Value: float64(exports)},
	}
	return h.page(c, fiber.StatusOK, "Usage", admin.Usage(p))
}

// usageRanges are the quick choices: the last 30 and 90 days.
func (h *Handlers) usageRanges(c *fiber.Ctx, from, to string) []admin.UsageRange {
	today := analytics.DateAt(h.cfg.Clock(), tenantLocation(auth.Tenant(c)))
	var out []admin.UsageRange
	for _, n := range []int{30, 90} {
		f, t := today.AddDate(0, 0, -(n-1)).Format(time.DateOnly), today.Format(time.DateOnly)
		out = append(out, admin.UsageRange{Label: "Last " + strconv.Itoa(n) + " days",
			Href: "/admin/usage?" + url.Values{"from": {f}, "to": {t}}.Encode(), Current: f == from && t == to})
	}
	return out
}

// usageCSV downloads the report by day, recorded in the audit log.
func (h *Handlers) usageCSV(c *fiber.Ctx) error {
	r, err := h.usageReport(c)
	if err != nil {
		return err
	}
	from, to := r.From.Format(time.DateOnly), r.To.Format(time.DateOnly)
	if err := h.record(c, auth.Tenant(c).ID, models.AuditExport, "table:usage",
		map[string]any{"format": "csv", "from": from, "to": to}); err != nil {
		return err
	}
	c.Set(fiber.HeaderContentType, "text/csv; charset=utf-8")
	c.Set(fiber.HeaderContentDisposition, `attachment; filename="learnlens-usage-`+from+`-`+to+`.csv"`)
	c.Set(fiber.HeaderCacheControl, "no-store")
	bw := bufio.NewWriter(c.Response().BodyWriter())
	w := csv.NewWriter(bw)
	// The lines every export starts with (exportMeta): the counts are
	// read now, so the data is as of now.
	t := auth.Tenant(c)
	for _, m := range exportMeta(t.Name+" · usage", time.Now(), "Range: "+from+" to "+to, tenantLocation(t)) {
		_ = w.Write([]string{m})
	}
	_ = w.Write(nil)
	_ = w.Write([]string{"date", "statements", "active_learners", "signed_in_users", "sign_ins", "failed_sign_ins", "exports"})
	for _, d := range r.Days {
		_ = w.Write([]string{d.Day.Format(time.DateOnly), strconv.FormatInt(d.Statements, 10), strconv.FormatInt(d.ActiveLearners, 10),
			strconv.FormatInt(d.SignedInUsers, 10), strconv.FormatInt(d.SignIns, 10), strconv.FormatInt(d.FailedSignIns, 10),
			strconv.FormatInt(d.Exports, 10)})
	}
	w.Flush()
	if err := w.Error(); err != nil {
		return err
	}
	return bw.Flush()
}

// UsageJSON is the tenant's usage as GET /api/v1/usage sends it.
type UsageJSON struct {
	From           string          `json:"from"` // first local date, YYYY-MM-DD
	To             string          `json:"to"`   // last local date
	TimeZone       string          `json:"time_zone"`
	ActiveLearners int64           `json:"active_learners"` // distinct over the range
	SignedInUsers  int64           `json:"signed_in_users"` // distinct over the range
	Days           []UsageDayJSON  `json:"days"`
	Weeks          []UsageWeekJSON `json:"weeks"`
}

// UsageDayJSON is one day of UsageJSON.
type UsageDayJSON struct {
	Date           string `json:"date"`
	Statements     int64  `json:"statements"`
	ActiveLearners int64  `json:"active_learners"`
	SignedInUsers  int64  `json:"signed_in_users"`
	SignIns        int64  `json:"sign_ins"`
	FailedSignIns  int64  `json:"failed_sign_ins"`
	Exports        int64  `json:"exports"`
}

// UsageWeekJSON is one week of UsageJSON (Monday to Sunday).
type UsageWeekJSON struct {
	WeekStart      string `json:"week_start"`
	ActiveLearners int64  `json:"active_learners"`
	SignedInUsers  int64  `json:"signed_in_users"`
}

// usageJSON sends the report as JSON.
func (h *Handlers) usageJSON(c *fiber.Ctx) error {
	r, err := h.usageReport(c)
	if err != nil {
		return err
	}
	out := UsageJSON{From: r.From.Format(time.DateOnly), To: r.To.Format(time.DateOnly), TimeZone: auth.Tenant(c).TimeZone,
		ActiveLearners: r.ActiveLearners, SignedInUsers: r.SignedInUsers, Days: []UsageDayJSON{}, Weeks: []UsageWeekJSON{}}
	for _, d := range r.Days {
		out.Days = append(out.Days, UsageDayJSON{Date: d.Day.Format(time.DateOnly), Statements: d.Statements,
			ActiveLearners: d.ActiveLearners, SignedInUsers: d.SignedInUsers, SignIns: d.SignIns, FailedSignIns: d.FailedSignIns,
			Exports: d.Exports})
	}
	for _, w := range r.Weeks {
		out.Weeks = append(out.Weeks, UsageWeekJSON{WeekStart: w.Start.Format(time.DateOnly), ActiveLearners: w.ActiveLearners,
			SignedInUsers: w.SignedInUsers})
	}
	c.Set(fiber.HeaderCacheControl, "no-store")
	return c.JSON(out)
}
