package handlers

import (
	"bytes"
	"context"
	"strconv"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/learnlens/learnlens/analytics"
	"github.com/learnlens/learnlens/viewcache"
	"github.com/learnlens/learnlens/views/format"
	"github.com/learnlens/learnlens/views/pages/dash"
)

// "Activity now" shows a window of wall-clock time, which moves without a
// new gold version: a result kept for a version and a date would show
// people as active long after they stopped. Its view is keyed by the
// minute as well, so a cached one is at most a minute old whatever the
// version; the hub renders every open page again once a minute
// (Hub.Sweep), so open pages follow.
//
// Under steady ingest it is not recomputed for every new version, as the
// other views are: it may lag the newest commit by activityRefresh, and
// says how old it is (its own "as of"). So it is not part of the page
// kept in the cache, which lasts as long as the page's own numbers: the
// page keeps a slot (activitySlot) where the section, kept at its own
// lag, is put in at every response (activityHTML). A response that shows
// it older than the page's numbers says so (headerLagging), and the hub
// renders the page again until it has caught up. (Kept inside the page,
// the page lasted only as long as the older activity: under steady
// ingest, nearly every request rendered the whole page again.)

// activitySlot marks where "Activity now" goes in a page's cached HTML.
const activitySlot = "<!--learnlens:activity-now-->"

// activityHTML is "Activity now" for v's page, rendered, as of the
// current minute; it sets headerLagging when it is older than the page's
// numbers (v.meta).
func (h *Handlers) activityHTML(c *fiber.Ctx, v *viewCtx) ([]byte, error) {
	a, am, err := h.activityNow(c.UserContext(), v, h.activityUntil())
	if err != nil {
		return nil, err
	}
	if am.Version < v.meta.Version {
		c.Set(headerLagging, "1")
	}
	var buf bytes.Buffer
	err = dash.ActivityNowSection(activityView(v, a)).Render(c.UserContext(), &buf)
	return buf.Bytes(), err
}

// activityRefresh is how far "Activity now" may lag the tenant's newest
// commit (viewcache.Cache.GetWithin). Recomputed for every version, it
// took 13–15 s of the database's 30 s in the mix under ingest
// (docs/PERFORMANCE.md, fifth pass): one open scope asked for it several
// times a second. Now each scope and filter set computes it at most about
// once per activityRefresh under steady ingest, and at once on the first
// change after a quiet spell. 5 s: its times are shown to the minute, the
// hub pushes at most once a second anyway, and a completion still shows
// within seconds; the cost is bounded by open scopes, not by versions.
const activityRefresh = 5 * time.Second

// activityUntil is the end of the current minute: the windows end there,
// so everyone asking within one minute shares one result.
func (h *Handlers) activityUntil() time.Time {
	return h.cfg.Clock().UTC().Truncate(time.Minute).Add(time.Minute)
}

// activityViewName names the activity view of the minute ending at
// until.
func activityViewName(until time.Time) string {
	return "activity@" + strconv.FormatInt(until.Unix(), 10)
}

// activityNow computes "Activity now" for v's scope and people filters
// (no range: it is about now), and the version it shows, which may be up
// to activityRefresh behind the newest. The events are read once for the
// tenant (recentActivity) and narrowed to each scope: the view shows the
// version and "as of" of that read, so it is kept no longer than the read
// is.
func (h *Handlers) activityNow(ctx context.Context, v *viewCtx, until time.Time) (analytics.Activity, analytics.Meta, error) {
	f := v.viewFilters(true)
	r := v.r
	r.Filters = f
	out, err := cached(h, ctx, v.key(v.scope.Key(), activityViewName(until), f), activityRefresh, func(ctx context.Context) (computed[analytics.Activity], int64, int, error) {
		var out computed[analytics.Activity]
		recent, err := h.recentActivity(ctx, v, until)
		if err != nil {
			return out, 0, 0, err
		}
		err = h.analytics.RunScoped(ctx, r, v.scope, func(q *analytics.Q) error {
			var err error
			out.value, err = q.ActivityIn(recent)
			out.meta = analytics.Meta{Version: recent.Version, AsOf: recent.AsOf, Date: q.Today}
			return err
		})
		return out, out.meta.Version, viewcache.SizeOf(out.value), err
	})
	if err != nil {
		return analytics.Activity{}, analytics.Meta{}, analyticsError(err)
	}
	return out.value, out.meta, nil
}

// recentActivity is the tenant's recent activity at until, shared by
// every scope and filter (the key names none), with activityRefresh's
// lag.
func (h *Handlers) recentActivity(ctx context.Context, v *viewCtx, until time.Time) (analytics.RecentActivity, error) {
	r := v.r
	r.Filters = analytics.Filters{}
	return cached(h, ctx, v.key("tenant", activityViewName(until)+":events", r.Filters), activityRefresh, func(ctx context.Context) (analytics.RecentActivity, int64, int, error) {
		var out analytics.RecentActivity
		err := h.analytics.RunScoped(ctx, r, v.scope, func(q *analytics.Q) error {
			var err error
			out, err = q.RecentActivity(until)
			return err
		})
		return out, out.Version, viewcache.SizeOf(out), err
	})
}

// activityView formats "Activity now" in the tenant's time zone.
func activityView(v *viewCtx, a analytics.Activity) dash.ActivityNow {
	loc := v.r.Loc
	// The minute the windows end in decides what "today" is.
	until := a.Until.Add(-time.Minute).In(loc)
	clock := func(t time.Time) string {
		t = t.In(loc)
		if sameDay(t, until) {
			return t.Format("15:04")
		}
		return t.Format("2 Jan 15:04")
	}
	out := dash.ActivityNow{Active: format.Int(a.Active), ActiveNoun: "people",
		ActiveLabel:  "in the last " + strconv.Itoa(int(analytics.ActiveWindow/time.Minute)) + " minutes",
		DoneLabel:    "in the last " + strconv.Itoa(int(analytics.CompletionsWindow/time.Hour)) + " hours",
		CompletedAll: "No completions in the last " + strconv.Itoa(int(analytics.CompletionsWindow/time.Hour)) + " hours."}
	if !a.AsOf.IsZero() {
		out.AsOf, out.AsOfISO = a.AsOf.In(loc).Format("15:04:05"), a.AsOf.Format(time.RFC3339)
		if !sameDay(a.AsOf.In(loc), until) {
			out.AsOf = a.AsOf.In(loc).Format("2 Jan 15:04:05")
		}
	}
	if a.Active == 1 {
		out.ActiveNoun = "person"
	}
	for _, p := range a.People {
		out.People = append(out.People, dash.ActivityRow{Name: p.Learner, Href: "/learners/" + strconv.FormatInt(p.LearnerID, 10),
			Did: "in", Course: p.Course, At: clock(p.At), AtISO: p.At.Format(time.RFC3339)})
	}
	for _, c := range a.Completions {
		did := "completed"
		if c.Passed {
			did = "passed"
		}
		out.Completions = append(out.Completions, dash.ActivityRow{Name: c.Learner, Href: "/learners/" + strconv.FormatInt(c.LearnerID, 10),
			Did: did, Course: c.Course, At: clock(c.At), AtISO: c.At.Format(time.RFC3339)})
	}
	return out
}

// sameDay says whether a and b are on the same calendar day (each in its
// own location).
func sameDay(a, b time.Time) bool {
	ay, am, ad := a.Date()
	by, bm, bd := b.Date()
	return ay == by && am == bm && ad == bd
}
