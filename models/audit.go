package models

import (
	"context"
	"database/sql"
	"encoding/json"
	"strings"
	"time"

	"gorm.io/gorm"

	"github.com/learnlens/learnlens/database"
)

// Audit actions.
const (
	AuditLoginSucceeded = "login.succeeded"
	AuditLoginFailed    = "login.failed"
	AuditLoginLockedOut = "login.locked_out"
	AuditLoginThrottled = "login.throttled"
	AuditLogout         = "logout"
	AuditUserUnlocked   = "user.unlocked"
	AuditTenantStatus   = "tenant.status_changed"
	AuditExport         = "export"
	AuditMFASucceeded   = "login.mfa_succeeded"
	AuditMFAFailed      = "login.mfa_failed"
	AuditMFAEnabled     = "user.mfa_enabled"
	AuditMFAPolicy      = "tenant.mfa_policy_changed"
	AuditMFAReset       = "user.mfa_reset"
	// A tenant admin's management pages (issue 11).
	AuditUserRole           = "user.role_changed"
	AuditUserDeactivated    = "user.deactivated"
	AuditUserReactivated    = "user.reactivated"
	AuditUserLearnerLinked  = "user.learner_linked"
	AuditCredentialCreated  = "credential.created"
	AuditCredentialRotated  = "credential.rotated"
	AuditCredentialRevoked  = "credential.revoked"
	AuditAPIClientCreated   = "api_client.created"
	AuditAPIClientRotated   = "api_client.rotated"
	AuditAPIClientRevoked   = "api_client.revoked"
	AuditAPIClientRefused   = "api_client.secret_refused" // a wrong secret for an existing client at the token endpoint
	AuditTenantSettings     = "tenant.settings_changed"
	AuditTenantLogo         = "tenant.logo_changed"
	AuditTenantTimeZone     = "tenant.time_zone_changed"
	AuditTenantEmailDomains = "tenant.email_domains_changed"
	// The imports page (issue 12); details hold kind, file, mode and rows.
	AuditImportUploaded = "import.uploaded"
	AuditImportDryRun   = "import.dry_run"
	AuditImportApplied  = "import.applied" // details add outcome, applied and errors
	AuditImportFailed   = "import.failed"

	AuditTenantCreated      = "tenant.created"
	AuditTenantUpdated      = "tenant.updated"
	AuditInvitationCreated  = "invitation.created"
	AuditInvitationRevoked  = "invitation.revoked"
	AuditInvitationAccepted = "invitation.accepted"
	AuditResetLinkCreated   = "user.reset_link_created"
	AuditPasswordReset      = "user.password_reset"
	AuditSupportOpened      = "support.opened"  // platform log: a platform admin opened support access
	AuditSupportStarted     = "support.started" // tenant log: support access began on the tenant's host
	AuditSupportEnded       = "support.ended"
	// Compliance requirements edited on their page (issue 12).
	AuditRequirementCreated  = "requirement.created"
	AuditRequirementUpdated  = "requirement.updated"
	AuditRequirementRetired  = "requirement.retired"
	AuditRequirementRestored = "requirement.restored"
)

// AuditEntry is one line of a tenant's audit log.
type AuditEntry struct {
	TenantID    int64
	ID          int64
	At          time.Time
	ActorUserID *int64
	ActorEmail  string
	Action      string
	Target      string
	IP          string
	RequestID   string
	Details     json.RawMessage
}

// TableName names the table: the log is one table, not "audit_entries".
func (AuditEntry) TableName() string { return "audit_log" }

// AuditStore appends to and reads tenants' audit logs.
type AuditStore struct {
	db *database.DB
	// Recorded, if set, is told the action of every entry appended.
	Recorded func(action string)
}

// NewAuditStore returns an AuditStore on db.
func NewAuditStore(db *database.DB) *AuditStore { return &AuditStore{db: db} }

// Record appends e to the audit log of e.TenantID.
func (s *AuditStore) Record(ctx context.Context, e AuditEntry) error {
	if len(e.Details) == 0 {
		e.Details = json.RawMessage(`{}`)
	}
	err := s.db.Tenant(ctx, e.TenantID, func(tx *gorm.DB) error {
		return tx.Omit("ID", "At").Create(&e).Error
	})
	if err == nil && s.Recorded != nil {
		s.Recorded(e.Action)
	}
	return err
}

// AuditFilter narrows a tenant's audit log; zero fields do not narrow it.
type AuditFilter struct {
	Actor  string    // the actor's email, exactly (case-insensitive)
	Action string    // exactly
	From   time.Time // entries at or after
	Before time.Time // entries before
	// Search is text the target, details, actor or address contain
	// (case-insensitive).
	Search string
}

// where narrows tx to the tenant's entries that f selects.
func (f AuditFilter) where(tx *gorm.DB, tenantID int64) *gorm.DB {
	tx = tx.Model(&AuditEntry{}).Where("tenant_id = ?", tenantID)
	if f.Actor != "" {
		tx = tx.Where("lower(actor_email) = lower(?)", f.Actor)
	}
	if f.Action != "" {
		tx = tx.Where("action = ?", f.Action)
	}
	if !f.From.IsZero() {
		tx = tx.Where("at >= ?", f.From)
	}
	if !f.Before.IsZero() {
		tx = tx.Where("at < ?", f.Before)
	}
	if f.Search != "" {
		pattern := "%" + strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(f.Search) + "%"
		tx = tx.Where("(target ILIKE @p OR details::text ILIKE @p OR actor_email ILIKE @p OR ip ILIKE @p)", sql.Named("p", pattern))
	}
	return tx.Order("at DESC, id DESC")
}

// List returns the entries of tenantID's log that f selects, newest
// first, a page at a time.
func (s *AuditStore) List(ctx context.Context, tenantID int64, f AuditFilter, limit, offset int) ([]AuditEntry, error) {
	var es []AuditEntry
	err := s.db.Tenant(ctx, tenantID, func(tx *gorm.DB) error {
		return f.where(tx, tenantID).Limit(limit).Offset(offset).Find(&es).Error
	})
	return es, err
}

// Each calls fn with every entry of tenantID's log that f selects, newest
// first, reading them from one cursor: a log of any size in flat memory.
func (s *AuditStore) Each(ctx context.Context, tenantID int64, f AuditFilter, fn func(AuditEntry) error) error {
	return s.db.Tenant(ctx, tenantID, func(tx *gorm.DB) error {
		rows, err := f.where(tx, tenantID).Rows()
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var e AuditEntry
			if err := tx.ScanRows(rows, &e); err != nil {
				return err
			}
			if err := fn(e); err != nil {
				return err
			}
		}
		return rows.Err()
	})
}

// auditActions lists the distinct actions of tenant $1's log by skipping
// through the (tenant_id, action, at) index one action at a time, so a log
// of millions of entries costs a few dozen index probes.
const auditActions = `
WITH RECURSIVE a(action) AS (
    (SELECT action FROM audit_log WHERE tenant_id = ? ORDER BY action LIMIT 1)
    UNION ALL
    SELECT (SELECT action FROM audit_log WHERE tenant_id = ? AND action > a.action ORDER BY action LIMIT 1)
    FROM a WHERE a.action IS NOT NULL
)
SELECT action FROM a WHERE action IS NOT NULL`

// Actions returns the actions present in tenantID's log, in order.
func (s *AuditStore) Actions(ctx context.Context, tenantID int64) ([]string, error) {
	var out []string
	err := s.db.Tenant(ctx, tenantID, func(tx *gorm.DB) error {
		return tx.Raw(auditActions, tenantID, tenantID).Scan(&out).Error
	})
	return out, err
}
