// Package generator makes a tenant's learning data for demos and load
// tests, deterministically from a seed and a "now", and feeds it through the
// real ingest code (pipeline.Import for files, xapi.ParseStatements and
// pipeline.StoreStatements for statements), never through SQL of its own.
//
// The data has this shape:
//
//   - Roster: a hierarchy Config.Depth levels deep (chief executive, the
//     executive team with one department each, directors, managers,
//     individual contributors, with level sizes growing geometrically and
//     uneven spans of control). Departments (Engineering, Sales,
//     Operations, Customer Success, People, Finance, Marketing, Product,
//     IT, Legal) and locations (London, New York, Berlin, Singapore,
//     Remote, …; the head office in the tenant's time zone) are mostly
//     inherited down a branch. Job titles follow level and department;
//     a few senior individual contributors report above team level. Hire
//     dates spread over about eight years, more of them recent (about one
//     in five hired within a year). About 3% are inactive leavers, about
//     5% have a dotted-line manager in another branch, and about 4% moved
//     team during the history: they are uploaded first in an older roster
//     and then, with the move's effective date, in the current one, so
//     the point-in-time hierarchy is exercised. Names combine built-in
//     first and last names; emails are first.last@EmailDomain, numbered
//     when taken; employee ids follow hiring order.
//   - Named people: ManagerEmail manages 20–100 people (solid and dotted
//     lines, as org_closure counts them; as close to 45 as the hierarchy
//     allows), LearnerEmail is an established individual contributor in
//     that manager's team who has completed several courses, has one in
//     progress and one not started, and failed a required assessment
//     before passing it.
//   - Catalog: Config.Courses courses with codes (COMP-101, TECH-103…),
//     categories (Compliance, Security, Onboarding, Leadership, Technical,
//     Product, Soft skills), durations of 15–240 minutes, modules and
//     activity IRIs https://lms.<domain>/courses/<slug>. The first
//     Config.Required compliance courses are required: everyone (one for
//     a single department), due 30–90 days after hire (one after
//     assignment), recertified every 12 months (one every 24, one never),
//     each in force from its first campaign in the history (its In Force
//     From column), so existing staff are due that many days after the
//     campaign and people hired since after their hire date.
//     Many courses end with an assessment; some send each answer as a
//     cmi.interaction statement whose parent is the course.
//   - Historical enrolments: for about one in ten people hired before the
//     history, completions from a previous LMS (and a few unfinished,
//     long overdue courses), which decide who is due to recertify.
//   - Statements over Config.Months ending at Config.Now: onboarding
//     waves after each hire; a compliance calendar with one annual
//     campaign per required course (spread from about nine months to about
//     two months before now, repeated yearly in longer histories, rolled
//     out department by department over three weeks) and recertification
//     reminders as completions near expiry. About one team in seven lags
//     (its manager's index is 3 modulo 7): its people skip about 45% of
//     campaigns, leave a quarter of their required courses unstarted or
//     unfinished and start late, where other teams take part, finish all
//     but a few in a thousand and do so within about three weeks (before
//     it is due, retaking a failed assessment until they pass), so the
//     overdue people cluster in a few teams; and optional
//     courses chosen by department, role and personal engagement, with a
//     launch wave for new courses and quieter holidays. Each enrolment
//     goes registered → launched → experienced/progressed per module (with
//     result.duration) → answered questions → passed/failed (retaken after
//     a failure) → completed; some are never started or abandoned part way,
//     completion times are log-normal (most within days, a long tail), and
//     the enrolments not finished by now are in progress, overdue or
//     expired. Sessions start on weekdays in working hours of the tenant's
//     time zone (a lunchtime dip, few evenings and weekends). About 20% of
//     people are identified by an account {homePage
//     https://lms.<domain>, name employee id}, the rest by mbox. About 2%
//     of statements arrive at least a batch late, and about 0.3% are voided
//     later by the LMS administrator (mostly duplicates the LMS sent
//     twice). When the required training alone would take more than about
//     60% of Config.Statements, fewer module and question steps are sent
//     per enrolment; optional enrolments fill the rest (no optional course
//     reaching more than about 60% of people while others have room), so
//     the total is within a few percent of Config.Statements. Each person
//     takes an optional course at most once, so a tiny roster or catalog
//     with a huge Statements gives fewer statements (see Summary) — unless
//     Config.Refreshers lets them retake courses once everyone has taken
//     what they would (seed --bench does, to reach the count asked for).
//
// The same Config (Seed and Now included) gives byte-identical files and
// statements; statement ids come from the seed and Now, so running Populate
// again for the same tenant only finds duplicates. GenerateStream plans the
// same enrolments but renders their statements one enrolment at a time
// (Stream.Each), in that order and without late arrivals, for bulk loads:
// its memory does not grow with the statements.
package generator
