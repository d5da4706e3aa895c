package models

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"gorm.io/gorm"

	"github.com/learnlens/learnlens/database"
	"github.com/learnlens/learnlens/xapi"
)

// StatementStore reads a tenant's stored xAPI statements (bronze) for the
// Statements resource.
type StatementStore struct{ db *database.DB }

// NewStatementStore returns a StatementStore on db.
func NewStatementStore(db *database.DB) *StatementStore { return &StatementStore{db: db} }

// Get returns one statement as stored. With voided false it must not be
// voided; with voided true it must be (GET ?voidedStatementId=).
func (s *StatementStore) Get(ctx context.Context, tenantID int64, id string, voided bool) (json.RawMessage, error) {
	var docs []string
	err := s.db.Tenant(ctx, tenantID, func(tx *gorm.DB) error {
		return tx.Raw(`SELECT s.statement::text FROM xapi_statements s
			WHERE s.tenant_id = ? AND s.id = ?::uuid
			  AND EXISTS (SELECT FROM xapi_voided v WHERE v.tenant_id = s.tenant_id AND v.statement_id = s.id) = ?`,
			tenantID, id, voided).Scan(&docs).Error
	})
	if err != nil {
		return nil, err
	}
	if len(docs) == 0 {
		return nil, ErrNotFound
	}
	return json.RawMessage(docs[0]), nil
}

// StatementCursor is where a page of statements ended.
type StatementCursor struct {
	Stored time.Time `json:"s"`
	Seq    int64     `json:"n"`
}

// StatementPage is one page of a statement query.
type StatementPage struct {
	Statements []json.RawMessage
	Next       *StatementCursor // nil on the last page
	Newest     time.Time        // the latest stored time of the page; zero when empty
}

// Query returns up to limit statements matching q after cursor (nil for the
// first page), newest first unless q.Ascending. Voided statements are left
// out; voiding statements are included.
//
// A statement whose object is a StatementRef also matches when the
// statement it targets does, following chains of references
// (Communication 2.1.3.s3): the agent, verb, activity and registration
// filters are checked on the targets too, the time and paging bounds only
// on the statements returned. Such statements are found by walking the
// tenant's StatementRef statements (a partial index, migration 00021; they
// are few) beside the page of those that match by themselves.
func (s *StatementStore) Query(ctx context.Context, tenantID int64, q xapi.Query, limit int, after *StatementCursor) (StatementPage, error) {
	// filters are the conditions checked on a statement and on the
	// targets of its references; %[1]s is the table's alias.
	var filters []string
	var filterArgs []any
	filter := func(cond string, a ...any) {
		filters = append(filters, cond)
		filterArgs = append(filterArgs, a...)
	}
	if q.Agent != "" {
		if q.RelatedAgents {
			filter(`%[1]s.related_agent_keys @> ARRAY[?]::text[]`, q.Agent)
		} else {
			filter(`(%[1]s.actor_key = ? OR %[1]s.agent_keys @> ARRAY[?]::text[])`, q.Agent, q.Agent)
		}
	}
	if q.Verb != "" {
		filter(`%[1]s.verb_id = ?`, q.Verb)
	}
	if q.Activity != "" {
		if q.RelatedActivities {
			filter(`%[1]s.related_activity_ids @> ARRAY[?]::text[]`, q.Activity)
		} else {
			filter(`%[1]s.activity_id = ?`, q.Activity)
		}
	}
	if q.Registration != "" {
		filter(`%[1]s.registration = ?::uuid`, q.Registration)
	}
	matches := func(alias string) string {
		conds := make([]string, len(filters))
		for i, f := range filters {
			conds[i] = fmt.Sprintf(f, alias)
		}
		return "(" + strings.Join(conds, " AND ") + ")"
	}
	// bounds are the conditions on the statements returned only.
	var bounds []string
	var boundArgs []any
	bound := func(cond string, a ...any) {
		bounds = append(bounds, cond)
		boundArgs = append(boundArgs, a...)
	}
	if !q.Since.IsZero() {
		bound(`s.stored > ?`, q.Since)
	}
	if !q.Until.IsZero() {
		bound(`s.stored <= ?`, q.Until)
	}
	order := "DESC"
	if q.Ascending {
		order = "ASC"
	}
	if after != nil {
		if q.Ascending {
			bound(`(s.stored, s.seq) > (?, ?)`, after.Stored, after.Seq)
		} else {
			bound(`(s.stored, s.seq) < (?, ?)`, after.Stored, after.Seq)
		}
	}
	base := `SELECT s.seq, s.stored, s.statement::text AS doc FROM xapi_statements s
		WHERE s.tenant_id = ? AND NOT EXISTS (SELECT FROM xapi_voided v WHERE v.tenant_id = s.tenant_id AND v.statement_id = s.id)`
	for _, b := range bounds {
		base += " AND " + b
	}
	orderBy := " ORDER BY stored " + order + ", seq " + order + " LIMIT ?"
	var sql string
	var args []any
	if len(filters) == 0 {
		sql = base + orderBy
		args = append(append([]any{tenantID}, boundArgs...), limit+1)
	} else {
		// The statements that match by themselves, and the StatementRef
		// statements that do not but whose chain of targets does (at
		// most statementRefDepth deep: ids are the clients', so a chain
		// may loop). Each step of a chain is a scalar subquery, so it can
		// only be a primary key look-up, whatever the statistics.
		sql = `SELECT * FROM ((` + base + ` AND ` + matches("s") + orderBy + `)
			UNION ALL (` + base + ` AND s.statement->'object'->>'objectType' = 'StatementRef'
				AND NOT coalesce(` + matches("s") + `, false)
				AND EXISTS (WITH RECURSIVE chain(id, depth) AS (
						SELECT (s.statement->'object'->>'id')::uuid, 1
						UNION ALL
						SELECT (SELECT (t.statement->'object'->>'id')::uuid FROM xapi_statements t
								WHERE t.tenant_id = s.tenant_id AND t.id = c.id AND t.statement->'object'->>'objectType' = 'StatementRef'),
							c.depth + 1
						FROM chain c WHERE c.id IS NOT NULL AND c.depth < ` + strconv.Itoa(statementRefDepth) + `)
					SELECT FROM chain c WHERE (SELECT ` + matches("t") + ` FROM xapi_statements t
						WHERE t.tenant_id = s.tenant_id AND t.id = c.id))` + orderBy + `)) AS page` + orderBy
		args = append(append(append([]any{tenantID}, boundArgs...), filterArgs...), limit+1)
		args = append(append(append(append(append(args, tenantID), boundArgs...), filterArgs...), filterArgs...), limit+1)
		args = append(args, limit+1)
	}

	type row struct {
		Seq    int64
		Stored time.Time
		Doc    string
	}
	var rows []row
	err := s.db.Tenant(ctx, tenantID, func(tx *gorm.DB) error { return tx.Raw(sql, args...).Scan(&rows).Error })
	if err != nil {
		return StatementPage{}, err
	}
	var page StatementPage
	if len(rows) > limit {
		rows = rows[:limit]
		last := rows[len(rows)-1]
		page.Next = &StatementCursor{Stored: last.Stored, Seq: last.Seq}
	}
	page.Statements = make([]json.RawMessage, len(rows))
	for i, r := range rows {
		page.Statements[i] = json.RawMessage(r.Doc)
		if r.Stored.After(page.Newest) {
			page.Newest = r.Stored
		}
	}
	return page, nil
}

// statementRefDepth bounds the chains of StatementRefs a query follows.
const statementRefDepth = 10

// consistencyMargin is taken off the consistent-through time for the
// clocks of the app's hosts and the database's, which stamp the stored
// time and the transactions' start.
const consistencyMargin = time.Second

// ConsistentThrough is the time up to which every statement of tenantID
// that will ever be stored is visible now (xAPI's
// X-Experience-API-Consistent-Through): the start of the oldest batch of
// the tenant still committing on any instance (whose transactions are
// named ingest by the pipeline), or now when none is, less a margin for
// clock skew. A batch's statements are stamped after its transaction
// began, so none can appear later with an older stored time. Only this
// database's sessions count: pg_stat_activity lists the cluster's, and
// another database's tenant of the same id (a staging copy, the tests'
// databases) is not this one.
func (s *StatementStore) ConsistentThrough(ctx context.Context, tenantID int64, ingest string) (time.Time, error) {
	var t time.Time
	err := s.db.Tenant(ctx, tenantID, func(tx *gorm.DB) error {
		return tx.Raw(`SELECT least(now(), min(xact_start)) FROM pg_stat_activity
			WHERE application_name = ? AND xact_start IS NOT NULL AND datname = current_database()`, ingest).Row().Scan(&t)
	})
	return t.Add(-consistencyMargin), err
}
