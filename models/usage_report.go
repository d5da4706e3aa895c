package models

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// UsageDay is one tenant-local day of a tenant's own usage report.
type UsageDay struct {
	Day            time.Time // midnight UTC of the local date
	Statements     int64     // learning records of the day (gold engagement)
	ActiveLearners int64     // people with learning activity that day
	SignedInUsers  int64     // distinct users who signed in that day
	SignIns        int64     // successful sign-ins
	FailedSignIns  int64     // wrong passwords and wrong second-factor codes
	Exports        int64     // dashboard tables and logs exported
}

// UsageWeek is one week (Monday to Sunday, tenant-local) of the report:
// distinct people over the week, which the days cannot sum to.
type UsageWeek struct {
	Start          time.Time
	ActiveLearners int64
	SignedInUsers  int64
}

// UsageReport is a tenant's usage from one local date to another, for its
// own admins: per day, per week, and distinct people over the range.
type UsageReport struct {
	From, To       time.Time // local dates, as midnight UTC
	Days           []UsageDay
	Weeks          []UsageWeek
	ActiveLearners int64 // distinct over the range
	SignedInUsers  int64 // distinct over the range
}

// usageDaysSQL is the report's days: statements and active learners from
// gold (gold_engagement_daily_tenant, already per local day), sign-ins and
// exports from the audit log, counted on the tenant's local day of each
// entry. $1 and $2 are the first and last local dates, $3 the tenant,
// $4 its time zone.
const usageDaysSQL = `
WITH days AS (
    SELECT d::date AS day FROM generate_series($1::date, $2::date, interval '1 day') AS d
), gold AS (
    SELECT day, statements, active_learners FROM gold_engagement_daily_tenant
    WHERE tenant_id = $3 AND day BETWEEN $1 AND $2
), audit AS (
    SELECT (at AT TIME ZONE $4)::date AS day,
        count(DISTINCT actor_user_id) FILTER (WHERE action = 'login.succeeded') AS signed_in,
        count(*) FILTER (WHERE action = 'login.succeeded') AS sign_ins,
        count(*) FILTER (WHERE action IN ('login.failed', 'login.mfa_failed')) AS failed,
        count(*) FILTER (WHERE action = 'export') AS exports
    FROM audit_log
    WHERE tenant_id = $3 AND at >= ($1::date::timestamp AT TIME ZONE $4) AND at < (($2::date + 1)::timestamp AT TIME ZONE $4)
    GROUP BY 1
)
SELECT days.day, coalesce(gold.statements, 0), coalesce(gold.active_learners, 0), coalesce(audit.signed_in, 0),
    coalesce(audit.sign_ins, 0), coalesce(audit.failed, 0), coalesce(audit.exports, 0)
FROM days LEFT JOIN gold USING (day) LEFT JOIN audit USING (day)
ORDER BY days.day`

// usageWeeksSQL is the report's weeks, and with week NULL the whole range:
// distinct learners with activity (silver daily_activity) and distinct
// users who signed in. Parameters as usageDaysSQL.
const usageWeeksSQL = `
WITH learners AS (
    SELECT date_trunc('week', day)::date AS week, learner_id FROM daily_activity
    WHERE tenant_id = $3 AND day BETWEEN $1 AND $2
), users AS (
    SELECT date_trunc('week', (at AT TIME ZONE $4)::date)::date AS week, actor_user_id AS user_id FROM audit_log
    WHERE tenant_id = $3 AND action = 'login.succeeded' AND actor_user_id IS NOT NULL
      AND at >= ($1::date::timestamp AT TIME ZONE $4) AND at < (($2::date + 1)::timestamp AT TIME ZONE $4)
), weeks AS (
    SELECT week, count(DISTINCT learner_id) AS learners, 0 AS users FROM learners GROUP BY ROLLUP (week)
    UNION ALL
    SELECT week, 0, count(DISTINCT user_id) FROM users GROUP BY ROLLUP (week)
)
SELECT week, sum(learners)::bigint, sum(users)::bigint FROM weeks GROUP BY week ORDER BY week NULLS FIRST`

// UsageReport returns tenantID's usage from the local date from to to
// (inclusive) in the tenant's time zone loc.
func (s *TenantStore) UsageReport(ctx context.Context, tenantID int64, loc *time.Location, from, to time.Time) (UsageReport, error) {
	r := UsageReport{From: from, To: to}
	f, t := from.Format(time.DateOnly), to.Format(time.DateOnly)
	err := s.db.TenantSnapshot(ctx, tenantID, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, usageDaysSQL, f, t, tenantID, loc.String())
		if err != nil {
			return fmt.Errorf("read usage days: %w", err)
		}
		r.Days, err = pgx.CollectRows(rows, func(row pgx.CollectableRow) (UsageDay, error) {
			var d UsageDay
			return d, row.Scan(&d.Day, &d.Statements, &d.ActiveLearners, &d.SignedInUsers, &d.SignIns, &d.FailedSignIns, &d.Exports)
		})
		if err != nil {
			return fmt.Errorf("read usage days: %w", err)
		}
		rows, err = tx.Query(ctx, usageWeeksSQL, f, t, tenantID, loc.String())
		if err != nil {
			return fmt.Errorf("read usage weeks: %w", err)
		}
		defer rows.Close()
		for rows.Next() {
			var week *time.Time
			var w UsageWeek
			if err := rows.Scan(&week, &w.ActiveLearners, &w.SignedInUsers); err != nil {
				return fmt.Errorf("read usage weeks: %w", err)
			}
			if week == nil {
				r.ActiveLearners, r.SignedInUsers = w.ActiveLearners, w.SignedInUsers
				continue
			}
			w.Start = *week
			r.Weeks = append(r.Weeks, w)
		}
		return rows.Err()
	})
	return r, err
}
