package models

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"strconv"
	"strings"
	"time"

	"gorm.io/gorm"

	"github.com/learnlens/learnlens/database"
	"github.com/learnlens/learnlens/xapi"
)

// DocumentStore keeps a tenant's xAPI documents: the State, Activity
// Profile and Agent Profile resources, named by an xapi.DocumentQuery.
type DocumentStore struct{ db *database.DB }

// NewDocumentStore returns a DocumentStore on db.
func NewDocumentStore(db *database.DB) *DocumentStore { return &DocumentStore{db: db} }

// Document is one stored document.
type Document struct {
	ContentType string
	Content     []byte
	ETag        string `gorm:"column:etag"` // hex SHA-1 of Content, unquoted
	Updated     time.Time
}

// Condition is a write's concurrency headers (Communication 3.1).
type Condition struct {
	IfMatch, IfNoneMatch string // the header values; "" when absent
	// Required says that a write meeting an existing document must carry
	// one of them: a PUT to the Activity or Agent Profile resource.
	Required bool
}

// Errors of a write whose Condition does not hold.
var (
	// ErrPreconditionFailed is a failed If-Match or If-None-Match (412).
	ErrPreconditionFailed = errors.New("the document's ETag does not satisfy the If-Match or If-None-Match header")
	// ErrConcurrencyHeaderRequired is a PUT without either header that
	// meets an existing profile document (409).
	ErrConcurrencyHeaderRequired = errors.New("a document with this id exists: send If-Match with its ETag to replace it, or If-None-Match: * to create only")
)

// check tests c against the stored document (nil when there is none).
func (c Condition) check(stored *Document) error {
	if c.IfMatch != "" && (stored == nil || !xapi.ETagMatches(c.IfMatch, stored.ETag)) {
		return ErrPreconditionFailed
	}
	if c.IfNoneMatch != "" && stored != nil && xapi.ETagMatches(c.IfNoneMatch, stored.ETag) {
		return ErrPreconditionFailed
	}
	if c.Required && c.IfMatch == "" && c.IfNoneMatch == "" && stored != nil {
		return ErrConcurrencyHeaderRequired
	}
	return nil
}

// DocumentWrite is one PUT or POST of a document.
type DocumentWrite struct {
	ContentType string
	Content     []byte
	// Merge is POST: the content is merged into the stored JSON object
	// (xapi.MergeDocuments), which must be application/json.
	Merge     bool
	Condition Condition
}

// documentKey is the WHERE clause naming one document (six arguments:
// the tenant, then keyArgs). Every query names its tenant, as well as
// running under its Row Level Security (docs/SCALING.md).
const documentKey = `tenant_id = ? AND resource = ? AND activity_id = ? AND agent_key = ? AND registration = ? AND document_id = ?`

func keyArgs(q xapi.DocumentQuery) []any {
	return []any{string(q.Resource), q.ActivityID, q.AgentKey, q.Registration, q.DocumentID}
}

// Get returns the document q names, or ErrNotFound.
func (s *DocumentStore) Get(ctx context.Context, tenantID int64, q xapi.DocumentQuery) (Document, error) {
	var doc *Document
	err := s.db.Tenant(ctx, tenantID, func(tx *gorm.DB) error {
		var err error
		doc, err = stored(tx, tenantID, q)
		return err
	})
	if err == nil && doc == nil {
		err = ErrNotFound
	}
	if err != nil {
		return Document{}, err
	}
	return *doc, nil
}

// stored reads the document q names, nil when there is none.
func stored(tx *gorm.DB, tenantID int64, q xapi.DocumentQuery) (*Document, error) {
	var docs []Document
	err := tx.Raw(`SELECT content_type, content, etag, updated FROM xapi_documents WHERE `+documentKey, append([]any{tenantID}, keyArgs(q)...)...).
		Scan(&docs).Error
	if err != nil || len(docs) == 0 {
		return nil, err
	}
	return &docs[0], nil
}

// DocumentIDs is the answer of a multiple-document GET.
type DocumentIDs struct {
	IDs     []string
	Updated time.Time // the newest update among them; zero when there are none
}

// IDs lists the ids of the documents of q's scope (its activity and agent,
// and its registration when set), updated after q.Since when set.
func (s *DocumentStore) IDs(ctx context.Context, tenantID int64, q xapi.DocumentQuery) (DocumentIDs, error) {
	where, args := scope(tenantID, q)
	if !q.Since.IsZero() {
		where += ` AND updated > ?`
		args = append(args, q.Since)
	}
	var rows []struct {
		DocumentID string
		Updated    time.Time
	}
	err := s.db.Tenant(ctx, tenantID, func(tx *gorm.DB) error {
		return tx.Raw(`SELECT document_id, max(updated) AS updated FROM xapi_documents WHERE tenant_id = ? AND `+where+`
			GROUP BY document_id ORDER BY document_id`, args...).Scan(&rows).Error
	})
	out := DocumentIDs{IDs: make([]string, len(rows))}
	for i, r := range rows {
		out.IDs[i] = r.DocumentID
		if r.Updated.After(out.Updated) {
			out.Updated = r.Updated
		}
	}
	return out, err
}

// scope is the WHERE clause of q's scope, whatever its document id, to
// follow "tenant_id = ? AND ", and its arguments, the tenant's first.
func scope(tenantID int64, q xapi.DocumentQuery) (string, []any) {
	where := []string{`resource = ?`, `activity_id = ?`, `agent_key = ?`}
	args := []any{tenantID, string(q.Resource), q.ActivityID, q.AgentKey}
	if q.Registration != "" {
		where = append(where, `registration = ?`)
		args = append(args, q.Registration)
	}
	return strings.Join(where, " AND "), args
}

// Save writes the document q names, under w's condition. Writers of one
// document take turns (a transaction-scoped advisory lock), so a condition
// and a merge always see the document they replace.
func (s *DocumentStore) Save(ctx context.Context, tenantID int64, q xapi.DocumentQuery, w DocumentWrite) error {
	return s.db.Tenant(ctx, tenantID, func(tx *gorm.DB) error {
		old, err := lockDocument(tx, tenantID, q)
		if err != nil {
			return err
		}
		if err := w.Condition.check(old); err != nil {
			return err
		}
		content, contentType := w.Content, w.ContentType
		if w.Merge {
			var prior []byte
			if old != nil {
				if !xapi.IsJSONMediaType(old.ContentType) {
					return &xapi.ValidationError{Rule: "document-merge", Message: "the stored document is " + old.ContentType +
						", not application/json, so a POST cannot merge into it; PUT the new document instead"}
				}
				prior = old.Content
			}
			if content, err = xapi.MergeDocuments(prior, content); err != nil {
				return err
			}
		}
		return tx.Exec(`INSERT INTO xapi_documents (tenant_id, resource, activity_id, agent_key, registration, document_id,
				content_type, content, etag, updated)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, now())
			ON CONFLICT (tenant_id, resource, activity_id, agent_key, registration, document_id) DO UPDATE
			SET content_type = excluded.content_type, content = excluded.content, etag = excluded.etag, updated = excluded.updated`,
			append(append([]any{tenantID}, keyArgs(q)...), contentType, content, xapi.DocumentETag(content))...).Error
	})
}

// Delete removes the document q names, under cond; deleting a document
// that does not exist is not an error.
func (s *DocumentStore) Delete(ctx context.Context, tenantID int64, q xapi.DocumentQuery, cond Condition) error {
	return s.db.Tenant(ctx, tenantID, func(tx *gorm.DB) error {
		old, err := lockDocument(tx, tenantID, q)
		if err != nil || old == nil {
			return err
		}
		if err := cond.check(old); err != nil {
			return err
		}
		return tx.Exec(`DELETE FROM xapi_documents WHERE `+documentKey, append([]any{tenantID}, keyArgs(q)...)...).Error
	})
}

// DeleteAll removes every document of q's scope (the State resource's
// DELETE without stateId).
func (s *DocumentStore) DeleteAll(ctx context.Context, tenantID int64, q xapi.DocumentQuery) error {
	where, args := scope(tenantID, q)
	return s.db.Tenant(ctx, tenantID, func(tx *gorm.DB) error {
		return tx.Exec(`DELETE FROM xapi_documents WHERE tenant_id = ? AND `+where, args...).Error
	})
}

// lockDocument waits for the other writers of q's document and returns it
// (nil when there is none).
func lockDocument(tx *gorm.DB, tenantID int64, q xapi.DocumentQuery) (*Document, error) {
	key := strings.Join([]string{strconv.FormatInt(tenantID, 10), string(q.Resource), q.ActivityID, q.AgentKey, q.Registration, q.DocumentID}, "\x00")
	sum := sha256.Sum256([]byte(key))
	if err := tx.Exec(`SELECT pg_advisory_xact_lock(?)`, int64(binary.BigEndian.Uint64(sum[:8]))).Error; err != nil {
		return nil, err
	}
	return stored(tx, tenantID, q)
}
