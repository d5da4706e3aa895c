package analytics

import (
	"strings"

	"github.com/jackc/pgx/v5"
)

// Manager is one match of the filter bar's people picker: someone with
// people reporting to them, described well enough to tell two people of
// the same name apart.
type Manager struct {
	ID                   int64
	Name, Email          string
	JobTitle, Department string
	People               int64 // everyone reporting to them, solid or dotted line, at any depth
}

// MaxPeopleSearch bounds the matches one search returns.
const MaxPeopleSearch = 50

// SearchManagers finds up to limit people with reports whose name, email
// or employee id contains text (any case; "" matches everyone), inside
// the scope: a manager finds themselves and the managers below them,
// another tenant's people are never seen. Names starting with text come
// first, then by name.
func (q *Q) SearchManagers(text string, limit int) ([]Manager, error) {
	like := strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(text)
	rows, err := q.tx.Query(q.ctx, `SELECT l.id, coalesce(nullif(l.name, ''), l.email, l.employee_id, 'Learner ' || l.id),
			coalesce(l.email, ''), l.job_title, l.department, c.people
		FROM learners l
		JOIN LATERAL (SELECT count(*) AS people FROM org_closure c WHERE c.tenant_id = @tenant AND c.manager_id = l.id) c ON c.people > 0
		WHERE l.tenant_id = @tenant AND (`+q.Scope.learnerCond("l")+` OR l.id = @root)
		  AND (l.name ILIKE @contains OR l.email ILIKE @contains OR l.employee_id ILIKE @contains)
		ORDER BY l.name ILIKE @prefix DESC, 2, l.id
		LIMIT @limit`, with(q.args(), "contains", "%"+like+"%", "prefix", like+"%", "limit", limit))
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (Manager, error) {
		var m Manager
		return m, r.Scan(&m.ID, &m.Name, &m.Email, &m.JobTitle, &m.Department, &m.People)
	})
}
