package handlers

import (
	"context"
	"strconv"
	"time"

	"github.com/learnlens/learnlens/analytics"
	"github.com/learnlens/learnlens/views/format"
	"github.com/learnlens/learnlens/views/pages/dash"
)

// "Activity now" shows a window of wall-clock time, which moves without a
// new gold version: a result kept for a version and a date would show
// people as active long after they stopped. Its view, and the page that
// shows it, are keyed by the minute as well, so a cached one is at most a
// minute old whatever the version; the hub renders every open page again
// once a minute (Hub.Sweep), so open pages follow.

// activityUntil is the end of the current minute: the windows end there,
// so everyone asking within one minute shares one result.
func (h *Handlers) activityUntil() time.Time {
	return h.cfg.Clock().UTC().Truncate(time.Minute).Add(time.Minute)
}

// activityViewName names the activity view (and the page holding it) of
// the minute ending at until.
func activityViewName(until time.Time) string {
	return "activity@" + strconv.FormatInt(until.Unix(), 10)
}

// activityNow computes "Activity now" for v's scope and people filters
// (no range: it is about now).
func (h *Handlers) activityNow(ctx context.Context, v *viewCtx, until time.Time) (analytics.Activity, error) {
	a, _, err := compute(h, ctx, v, activityViewName(until), v.viewFilters(true),
		func(q *analytics.Q) (analytics.Activity, error) { return q.ActivityNow(until) })
	return a, err
}

// activityView formats "Activity now" in the tenant's time zone.
func activityView(v *viewCtx, a analytics.Activity) dash.ActivityNow {
	loc := v.r.Loc
	// The minute the windows end in decides what "today" is.
	until := a.Until.Add(-time.Minute).In(loc)
	clock := func(t time.Time) string {
		t = t.In(loc)
		if y, m, d := t.Date(); y == until.Year() && m == until.Month() && d == until.Day() {
			return t.Format("15:04")
		}
		return t.Format("2 Jan 15:04")
	}
	out := dash.ActivityNow{Active: format.Int(a.Active), ActiveNoun: "people",
		ActiveLabel:  "in the last " + strconv.Itoa(int(analytics.ActiveWindow/time.Minute)) + " minutes",
		DoneLabel:    "in the last " + strconv.Itoa(int(analytics.CompletionsWindow/time.Hour)) + " hours",
		CompletedAll: "No completions in the last " + strconv.Itoa(int(analytics.CompletionsWindow/time.Hour)) + " hours."}
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
