package models

import (
	"context"
	"encoding/json"
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
func (s *StatementStore) Query(ctx context.Context, tenantID int64, q xapi.Query, limit int, after *StatementCursor) (StatementPage, error) {
	var where []string
	args := []any{tenantID}
	add := func(cond string, a ...any) {
		where = append(where, cond)
		args = append(args, a...)
	}
	if q.Agent != "" {
		if q.RelatedAgents {
			add(`s.related_agent_keys @> ARRAY[?]::text[]`, q.Agent)
		} else {
			add(`(s.actor_key = ? OR s.agent_keys @> ARRAY[?]::text[])`, q.Agent, q.Agent)
		}
	}
	if q.Verb != "" {
		add(`s.verb_id = ?`, q.Verb)
	}
	if q.Activity != "" {
		if q.RelatedActivities {
			add(`s.related_activity_ids @> ARRAY[?]::text[]`, q.Activity)
		} else {
			add(`s.activity_id = ?`, q.Activity)
		}
	}
	if q.Registration != "" {
		add(`s.registration = ?::uuid`, q.Registration)
	}
	if !q.Since.IsZero() {
		add(`s.stored > ?`, q.Since)
	}
	if !q.Until.IsZero() {
		add(`s.stored <= ?`, q.Until)
	}
	order := "DESC"
	if q.Ascending {
		order = "ASC"
	}
	if after != nil {
		if q.Ascending {
			add(`(s.stored, s.seq) > (?, ?)`, after.Stored, after.Seq)
		} else {
			add(`(s.stored, s.seq) < (?, ?)`, after.Stored, after.Seq)
		}
	}
	sql := `SELECT s.seq, s.stored, s.statement::text AS doc FROM xapi_statements s
		WHERE s.tenant_id = ? AND NOT EXISTS (SELECT FROM xapi_voided v WHERE v.tenant_id = s.tenant_id AND v.statement_id = s.id)`
	for _, w := range where {
		sql += " AND " + w
	}
	sql += " ORDER BY s.stored " + order + ", s.seq " + order + " LIMIT ?"
	args = append(args, limit+1)

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
// began, so none can appear later with an older stored time.
func (s *StatementStore) ConsistentThrough(ctx context.Context, tenantID int64, ingest string) (time.Time, error) {
	var t time.Time
	err := s.db.Tenant(ctx, tenantID, func(tx *gorm.DB) error {
		return tx.Raw(`SELECT least(now(), min(xact_start)) FROM pg_stat_activity
			WHERE application_name = ? AND xact_start IS NOT NULL`, ingest).Row().Scan(&t)
	})
	return t.Add(-consistencyMargin), err
}
