package models

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"

	"github.com/learnlens/learnlens/database"
)

// AuthChannel is the PostgreSQL notification channel on which the stores
// announce, once it has committed, a change to a session, a user or a
// tenant, so that every instance drops what it has cached of it.
const AuthChannel = "learnlens_auth"

// Kinds of AuthChange.
const (
	ChangedSession = "session"
	ChangedUser    = "user"
	ChangedTenant  = "tenant"
	ChangedClient  = "client"
)

// AuthChange names what changed: a session by the hash of its token (the
// token itself never leaves the instance), a user by tenant and id, a
// tenant (its status or its domains), or an API client by tenant and
// client id (rotated or revoked).
type AuthChange struct {
	Kind      string
	TokenHash string // ChangedSession: SessionTokenHash of the token
	TenantID  int64  // ChangedUser, ChangedTenant
	UserID    int64  // ChangedUser
	ClientID  string // ChangedClient
}

// SessionTokenHash is the hex SHA-256 of a session token, which stands for
// the session in notifications.
func SessionTokenHash(token string) string {
	h := sha256.Sum256([]byte(token))
	return hex.EncodeToString(h[:])
}

// Payload is the change as a notification payload: "session:<hash>",
// "user:<tenant>:<id>", "tenant:<id>" or "client:<tenant>:<client id>".
func (a AuthChange) Payload() string {
	switch a.Kind {
	case ChangedSession:
		return ChangedSession + ":" + a.TokenHash
	case ChangedUser:
		return fmt.Sprintf("%s:%d:%d", ChangedUser, a.TenantID, a.UserID)
	case ChangedClient:
		return fmt.Sprintf("%s:%d:%s", ChangedClient, a.TenantID, a.ClientID)
	default:
		return fmt.Sprintf("%s:%d", ChangedTenant, a.TenantID)
	}
}

// ParseAuthChange reads a notification payload made by Payload.
func ParseAuthChange(payload string) (AuthChange, error) {
	kind, rest, _ := strings.Cut(payload, ":")
	bad := fmt.Errorf("auth change %q: malformed", payload)
	switch kind {
	case ChangedSession:
		if len(rest) != sha256.Size*2 {
			return AuthChange{}, bad
		}
		return AuthChange{Kind: kind, TokenHash: rest}, nil
	case ChangedUser:
		t, id, _ := strings.Cut(rest, ":")
		tenantID, err1 := strconv.ParseInt(t, 10, 64)
		userID, err2 := strconv.ParseInt(id, 10, 64)
		if err1 != nil || err2 != nil {
			return AuthChange{}, bad
		}
		return AuthChange{Kind: kind, TenantID: tenantID, UserID: userID}, nil
	case ChangedClient:
		t, client, _ := strings.Cut(rest, ":")
		tenantID, err := strconv.ParseInt(t, 10, 64)
		if err != nil || client == "" {
			return AuthChange{}, bad
		}
		return AuthChange{Kind: kind, TenantID: tenantID, ClientID: client}, nil
	case ChangedTenant:
		id, err := strconv.ParseInt(rest, 10, 64)
		if err != nil {
			return AuthChange{}, bad
		}
		return AuthChange{Kind: kind, TenantID: id}, nil
	}
	return AuthChange{}, bad
}

// announce sends change on AuthChannel. Call it after the change committed:
// an instance that re-reads on the notification must see the new row. It
// is sent even if the request was cancelled meanwhile, since the change
// stands.
func announce(ctx context.Context, db *database.DB, change AuthChange) error {
	if err := db.Notify(context.WithoutCancel(ctx), AuthChannel, change.Payload()); err != nil {
		return fmt.Errorf("announce %s change: %w", change.Kind, err)
	}
	return nil
}

func userChanged(tenantID, id int64) AuthChange {
	return AuthChange{Kind: ChangedUser, TenantID: tenantID, UserID: id}
}

func tenantChanged(id int64) AuthChange { return AuthChange{Kind: ChangedTenant, TenantID: id} }

// ClientChanged names a change to API client clientID of tenantID.
func ClientChanged(tenantID int64, clientID string) AuthChange {
	return AuthChange{Kind: ChangedClient, TenantID: tenantID, ClientID: clientID}
}
