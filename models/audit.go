package models

import (
	"context"
	"encoding/json"
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

// List returns the newest entries of tenantID's log, newest first.
func (s *AuditStore) List(ctx context.Context, tenantID int64, limit, offset int) ([]AuditEntry, error) {
	var es []AuditEntry
	err := s.db.Tenant(ctx, tenantID, func(tx *gorm.DB) error {
		return tx.Where("tenant_id = ?", tenantID).Order("at DESC, id DESC").Limit(limit).Offset(offset).Find(&es).Error
	})
	return es, err
}
