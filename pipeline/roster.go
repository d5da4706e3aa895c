package pipeline

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/learnlens/learnlens/imports"
)

// A roster import reads what it needs with a few set-wise queries and sends
// its writes in pipelined batches, so a 50,000-person roster costs a few
// round trips per thousand people rather than several per person.

// historyRow is a learner's org data from one effective date on.
type historyRow struct {
	department, location, jobTitle string
	manager                        *int64
	dotted                         []int64
}

func (h historyRow) equal(o historyRow) bool {
	return h.department == o.department && h.location == o.location && h.jobTitle == o.jobTitle &&
		((h.manager == nil && o.manager == nil) || (h.manager != nil && o.manager != nil && *h.manager == *o.manager)) &&
		slices.Equal(h.dotted, o.dotted)
}

// rostered is a learner as a roster import finds it.
type rostered struct {
	id                             int64
	employeeID, email              *string
	name                           string
	rostered                       bool
	department, location, jobTitle string
	status                         string
	hireDate                       *time.Time
	managerEmployeeID              *string
	dottedEmployeeIDs              []string
}

// rosterLearners reads the learners a file names, by employee id or email.
// (Joins on unnest, not "= ANY(…) OR = ANY(…)": that form scans the table
// and compares every row with every element.)
const rosterLearners = `
WITH named AS (
    SELECT l.id FROM unnest($2::text[]) AS e(emp) JOIN learners l ON l.tenant_id = $1 AND l.employee_id = e.emp
    UNION
    SELECT l.id FROM unnest($3::text[]) AS m(email) JOIN learners l ON l.tenant_id = $1 AND l.email = m.email
)
SELECT l.id, l.employee_id, l.email, l.name, l.rostered, l.department, l.location, l.job_title, l.status,
    l.hire_date::timestamp, m.employee_id,
    coalesce((SELECT array_agg(d.employee_id ORDER BY d.employee_id) FROM learner_history h
        JOIN learners d ON d.tenant_id = h.tenant_id AND d.id = ANY(h.dotted_manager_ids)
        WHERE h.tenant_id = l.tenant_id AND h.learner_id = l.id AND h.valid_to = 'infinity'), '{}')
FROM named JOIN learners l ON l.tenant_id = $1 AND l.id = named.id
LEFT JOIN learners m ON m.tenant_id = l.tenant_id AND m.id = l.manager_id`

func (a *applier) roster(ctx context.Context, tx pgx.Tx, rows []imports.RosterRow, has func(string) bool) error {
	// Up to the history writes every query looks people up by the file's
	// keys. Right after a large first import the tenant's rows have no
	// statistics yet, and a plan that scans learners once per key took
	// minutes for 67,000 people; the set-based steps after it turn scans
	// back on.
	if _, err := tx.Exec(ctx, `SET LOCAL enable_seqscan = off`); err != nil {
		return err
	}
	rows, err := a.checkManagers(ctx, tx, rows)
	if err != nil {
		return err
	}
	// Everyone the file names, as the roster has them now.
	var emps, emails []string
	for _, r := range rows {
		emps, emails = append(emps, r.EmployeeID), append(emails, r.Email)
	}
	byEmp, byEmail := map[string]*rostered{}, map[string]*rostered{}
	dbRows, err := tx.Query(ctx, rosterLearners, a.tenantID, emps, emails)
	if err != nil {
		return fmt.Errorf("read roster: %w", err)
	}
	for dbRows.Next() {
		var l rostered
		if err := dbRows.Scan(&l.id, &l.employeeID, &l.email, &l.name, &l.rostered, &l.department, &l.location, &l.jobTitle,
			&l.status, &l.hireDate, &l.managerEmployeeID, &l.dottedEmployeeIDs); err != nil {
			return err
		}
		if l.employeeID != nil {
			byEmp[*l.employeeID] = &l
		}
		if l.email != nil {
			byEmail[*l.email] = &l
		}
	}
	if err := dbRows.Err(); err != nil {
		return err
	}

	// Learners: insert the new (one statement), update the changed (one
	// pipelined batch), report conflicts.
	var todo []imports.RosterRow
	var fresh []imports.RosterRow
	ids := map[string]int64{} // employee id → learner id
	changed := map[int64]bool{}
	batch := &pgx.Batch{}
	var updated []int64
	for _, r := range rows {
		cur := byEmp[r.EmployeeID]
		if cur == nil {
			cur = byEmail[r.Email]
		}
		keepMissing(&r, cur, has)
		if cur != nil && cur.employeeID != nil && *cur.employeeID != r.EmployeeID {
			a.rowError(r.Line, "email", r.Email, fmt.Sprintf("this email belongs to employee %s in the roster", *cur.employeeID))
			continue
		}
		if other := byEmail[r.Email]; other != nil && cur != nil && other.id != cur.id {
			a.rowError(r.Line, "email", r.Email, "another person in the roster already has this email")
			continue
		}
		todo = append(todo, r)
		switch {
		case cur == nil:
			fresh = append(fresh, r)
		case !cur.same(r):
			ids[r.EmployeeID] = cur.id
			updated = append(updated, cur.id)
			batch.Queue(`WITH up AS (
					UPDATE learners SET employee_id = $3, email = $4, name = $5, department = $6, location = $7,
						job_title = $8, hire_date = $9::date, status = $10, rostered = true, updated_at = now()
					WHERE tenant_id = $1 AND id = $2
				)
				INSERT INTO learner_identities (tenant_id, actor_key, learner_id) VALUES ($1, $11, $2)
				ON CONFLICT (tenant_id, actor_key) DO NOTHING`,
				a.tenantID, cur.id, r.EmployeeID, r.Email, r.Name, r.Department, r.Location, r.JobTitle,
				dateOrNil(r.HireDate), r.Status, "mbox:mailto:"+r.Email)
		default:
			ids[r.EmployeeID] = cur.id
		}
	}
	if batch.Len() > 0 {
		if err := tx.SendBatch(ctx, batch).Close(); err != nil {
			return fmt.Errorf("update learners: %w", err)
		}
		for _, id := range updated {
			changed[id] = true
		}
	}
	if len(fresh) > 0 {
		cols := make([][]any, 8)
		for _, r := range fresh {
			for i, v := range []any{r.EmployeeID, r.Email, r.Name, r.Department, r.Location, r.JobTitle, dateOrNil(r.HireDate), r.Status} {
				cols[i] = append(cols[i], v)
			}
		}
		newRows, err := tx.Query(ctx, `WITH ins AS (
				INSERT INTO learners (tenant_id, employee_id, email, name, department, location, job_title, hire_date, status, rostered)
				SELECT $1, u.*, true FROM unnest($2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[],
					$8::date[], $9::text[]) AS u
				RETURNING id, employee_id, email
			), ident AS (
				INSERT INTO learner_identities (tenant_id, actor_key, learner_id)
				SELECT $1, 'mbox:mailto:' || email, id FROM ins
				ON CONFLICT (tenant_id, actor_key) DO NOTHING
			)
			SELECT employee_id, id FROM ins`, a.tenantID, cols[0], cols[1], cols[2], cols[3], cols[4], cols[5], cols[6], cols[7])
		if err != nil {
			return fmt.Errorf("add learners: %w", err)
		}
		var emp string
		var id int64
		if _, err := pgx.ForEachRow(newRows, []any{&emp, &id}, func() error {
			ids[emp] = id
			changed[id] = true
			return nil
		}); err != nil {
			return fmt.Errorf("add learners: %w", err)
		}
	}

	// Managers outside the file are looked up once.
	var outside []string
	for _, r := range todo {
		for _, emp := range append([]string{r.ManagerEmployeeID}, r.DottedManagerEmployeeIDs...) {
			if _, ok := ids[emp]; !ok && emp != "" {
				outside = append(outside, emp)
			}
		}
	}
	if len(outside) > 0 {
		mRows, err := tx.Query(ctx, `SELECT l.employee_id, l.id FROM unnest($2::text[]) AS e(emp)
			JOIN learners l ON l.tenant_id = $1 AND l.employee_id = e.emp`, a.tenantID, outside)
		if err != nil {
			return fmt.Errorf("read managers: %w", err)
		}
		var emp string
		var id int64
		if _, err := pgx.ForEachRow(mRows, []any{&emp, &id}, func() error { ids[emp] = id; return nil }); err != nil {
			return err
		}
	}

	// History: the current row of everyone in the file, then the changes.
	learnerIDs := make([]int64, 0, len(todo))
	for _, r := range todo {
		learnerIDs = append(learnerIDs, ids[r.EmployeeID])
	}
	type current struct {
		h    historyRow
		from *time.Time // nil: since -infinity
	}
	currents := map[int64]current{}
	hRows, err := tx.Query(ctx, `SELECT h.learner_id, h.department, h.location, h.job_title, h.manager_id, h.dotted_manager_ids,
			CASE WHEN h.valid_from = '-infinity' THEN NULL ELSE h.valid_from::timestamp END
		FROM unnest($2::bigint[]) AS k(id)
		JOIN learner_history h ON h.tenant_id = $1 AND h.learner_id = k.id AND h.valid_to = 'infinity'`, a.tenantID, learnerIDs)
	if err != nil {
		return fmt.Errorf("read history: %w", err)
	}
	for hRows.Next() {
		var id int64
		var c current
		if err := hRows.Scan(&id, &c.h.department, &c.h.location, &c.h.jobTitle, &c.h.manager, &c.h.dotted, &c.from); err != nil {
			return err
		}
		currents[id] = c
	}
	if err := hRows.Err(); err != nil {
		return err
	}
	today := a.today()
	hBatch := &pgx.Batch{}
	for _, r := range todo {
		// The history is sent in slices, so that progress can be told.
		if a.progress != nil && a.rep.Applied-a.told >= progressStep {
			if err := tx.SendBatch(ctx, hBatch).Close(); err != nil {
				return fmt.Errorf("record history: %w", err)
			}
			hBatch = &pgx.Batch{}
			a.tick()
		}
		id := ids[r.EmployeeID]
		want := historyRow{department: r.Department, location: r.Location, jobTitle: r.JobTitle, dotted: []int64{}}
		if r.ManagerEmployeeID != "" {
			m := ids[r.ManagerEmployeeID]
			want.manager = &m
		}
		for _, emp := range r.DottedManagerEmployeeIDs {
			want.dotted = append(want.dotted, ids[emp])
		}
		slices.Sort(want.dotted)
		a.rep.Applied++
		effective := r.EffectiveDate
		if effective.IsZero() {
			effective = today
		}
		cur, ok := currents[id]
		if ok && cur.h.equal(want) {
			continue
		}
		changed[id] = true
		insertFrom := effective.String()
		switch {
		case !ok:
			// The first roster row describes the learner since they started.
			insertFrom = "-infinity"
		case cur.from != nil && !effective.Time().After(*cur.from):
			// A correction on or before the current row's start replaces it.
			insertFrom = ""
			hBatch.Queue(`UPDATE learner_history SET department = $3, location = $4, job_title = $5, manager_id = $6,
				dotted_manager_ids = $7 WHERE tenant_id = $1 AND learner_id = $2 AND valid_to = 'infinity'`,
				a.tenantID, id, want.department, want.location, want.jobTitle, want.manager, want.dotted)
		default:
			hBatch.Queue(`UPDATE learner_history SET valid_to = $3::date
				WHERE tenant_id = $1 AND learner_id = $2 AND valid_to = 'infinity'`, a.tenantID, id, insertFrom)
		}
		if insertFrom != "" {
			hBatch.Queue(`INSERT INTO learner_history (tenant_id, learner_id, valid_from, department, location, job_title,
					manager_id, dotted_manager_ids) VALUES ($1, $2, $3::date, $4, $5, $6, $7, $8)`,
				a.tenantID, id, insertFrom, want.department, want.location, want.jobTitle, want.manager, want.dotted)
		}
		hBatch.Queue(`UPDATE learners SET department = $3, location = $4, job_title = $5, manager_id = $6, updated_at = now()
			WHERE tenant_id = $1 AND id = $2`, a.tenantID, id, want.department, want.location, want.jobTitle, want.manager)
	}
	if hBatch.Len() > 0 {
		if err := tx.SendBatch(ctx, hBatch).Close(); err != nil {
			return fmt.Errorf("record history: %w", err)
		}
	}
	if _, err := tx.Exec(ctx, `SET LOCAL enable_seqscan = on`); err != nil {
		return err
	}
	a.rep.Changed = len(changed)
	if len(changed) == 0 {
		return nil
	}
	changedIDs := make([]int64, 0, len(changed))
	for id := range changed {
		changedIDs = append(changedIDs, id)
	}
	// Events keep the org data of their own day; re-derive it for the
	// learners whose history changed.
	if _, err := tx.Exec(ctx, `UPDATE learning_events e SET manager_at = h.manager_id, department_at = h.department
		FROM learner_history h
		WHERE e.tenant_id = $1 AND e.learner_id = ANY($2) AND h.tenant_id = e.tenant_id AND h.learner_id = e.learner_id
		  AND e.day >= h.valid_from AND e.day < h.valid_to`, a.tenantID, changedIDs); err != nil {
		return fmt.Errorf("re-attribute events: %w", err)
	}
	return refreshTenant(ctx, tx, a.tenantID, a.tz)
}

// same reports whether the learner already holds what row r says.
func (l *rostered) same(r imports.RosterRow) bool {
	hire := ""
	if l.hireDate != nil {
		hire = l.hireDate.Format("2006-01-02")
	}
	want := ""
	if !r.HireDate.IsZero() {
		want = r.HireDate.String()
	}
	return l.rostered && l.employeeID != nil && *l.employeeID == r.EmployeeID && l.email != nil && *l.email == r.Email &&
		l.name == r.Name && l.department == r.Department && l.location == r.Location && l.jobTitle == r.JobTitle &&
		l.status == r.Status && hire == want
}

// keepMissing fills the fields of r whose columns the file lacks with what
// the roster says, so a partial roster (say, without a status column) does
// not reset them.
func keepMissing(r *imports.RosterRow, cur *rostered, has func(string) bool) {
	if cur == nil {
		return
	}
	keep := func(col string, dst *string, v string) {
		if !has(col) {
			*dst = v
		}
	}
	keep("department", &r.Department, cur.department)
	keep("location", &r.Location, cur.location)
	keep("job_title", &r.JobTitle, cur.jobTitle)
	keep("status", &r.Status, cur.status)
	if !has("manager_employee_id") && cur.managerEmployeeID != nil {
		r.ManagerEmployeeID = *cur.managerEmployeeID
	}
	if !has("dotted_manager_employee_ids") {
		r.DottedManagerEmployeeIDs = cur.dottedEmployeeIDs
	}
	if !has("hire_date") && cur.hireDate != nil {
		r.HireDate = imports.Date{Year: cur.hireDate.Year(), Month: cur.hireDate.Month(), Day: cur.hireDate.Day()}
	}
}

// checkManagers reports rows whose manager or dotted-line manager is
// neither in the file's valid rows nor in the roster, and drops them,
// repeating until every remaining row's managers are known (a dropped
// manager's reports are then reported too).
func (a *applier) checkManagers(ctx context.Context, tx pgx.Tx, rows []imports.RosterRow) ([]imports.RosterRow, error) {
	inDB := map[string]bool{}
	known := func(emp string, inFile map[string]bool) (bool, error) {
		if inFile[emp] {
			return true, nil
		}
		if v, ok := inDB[emp]; ok {
			return v, nil
		}
		var exists bool
		err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT FROM learners WHERE tenant_id = $1 AND employee_id = $2)`, a.tenantID, emp).Scan(&exists)
		inDB[emp] = exists
		return exists, err
	}
	for {
		inFile := map[string]bool{}
		for _, r := range rows {
			inFile[r.EmployeeID] = true
		}
		var kept []imports.RosterRow
		for _, r := range rows {
			ok := true
			refs := append([]string(nil), r.DottedManagerEmployeeIDs...)
			if r.ManagerEmployeeID != "" {
				refs = append([]string{r.ManagerEmployeeID}, refs...)
			}
			for i, emp := range refs {
				found, err := known(emp, inFile)
				if err != nil {
					return nil, err
				}
				if !found {
					col := "manager_employee_id"
					if i > 0 || r.ManagerEmployeeID == "" {
						col = "dotted_manager_employee_ids"
					}
					a.rowError(r.Line, col, emp, "no one with this employee id is in this file or the roster")
					ok = false
					break
				}
			}
			if ok {
				kept = append(kept, r)
			}
		}
		if len(kept) == len(rows) {
			return kept, nil
		}
		rows = kept
	}
}
