package auth

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"errors"
	"fmt"
	"sync/atomic"

	"github.com/learnlens/learnlens/models"
)

// errSealed is returned for a sealed TOTP key that does not open: another
// key, another user's row, or a damaged value.
var errSealed = errors.New("the stored TOTP key does not open")

// sealTOTP seals a TOTP secret with AES-256-GCM under key, bound to the
// user (as additional data), so a sealed value copied to another user's
// row does not open there. The result is nonce || ciphertext || tag.
func sealTOTP(key []byte, tenantID, userID int64, secret []byte) ([]byte, error) {
	gcm, err := totpCipher(key)
	if err != nil {
		return nil, err
	}
	nonce := make([]byte, gcm.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return nil, err
	}
	return gcm.Seal(nonce, nonce, secret, totpAAD(tenantID, userID)), nil
}

func openTOTP(key []byte, tenantID, userID int64, sealed []byte) ([]byte, error) {
	gcm, err := totpCipher(key)
	if err != nil {
		return nil, err
	}
	if len(sealed) < gcm.NonceSize() {
		return nil, errSealed
	}
	plain, err := gcm.Open(nil, sealed[:gcm.NonceSize()], sealed[gcm.NonceSize():], totpAAD(tenantID, userID))
	if err != nil {
		return nil, errSealed
	}
	return plain, nil
}

func totpCipher(key []byte) (cipher.AEAD, error) {
	if len(key) < 32 {
		return nil, fmt.Errorf("mfa key: %d bytes, want 32", len(key))
	}
	block, err := aes.NewCipher(key[:32])
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}

func totpAAD(tenantID, userID int64) []byte {
	return fmt.Appendf(nil, "learnlens totp\x00%d\x00%d", tenantID, userID)
}

// totpKeys reads the key that seals TOTP secrets once ("mfa" in
// signing_keys): every instance reads the same row.
type totpKeys struct {
	store *models.SessionStore
	key   atomic.Pointer[[]byte]
}

func (k *totpKeys) get(ctx context.Context) ([]byte, error) {
	if p := k.key.Load(); p != nil {
		return *p, nil
	}
	key, err := k.store.SigningKey(ctx, "mfa")
	if err != nil {
		return nil, err
	}
	k.key.Store(&key)
	return key, nil
}

// SealTOTP seals a new TOTP secret of u for storing.
func (a *Authenticator) SealTOTP(ctx context.Context, u models.User, secret []byte) ([]byte, error) {
	key, err := a.mfaKeys.get(ctx)
	if err != nil {
		return nil, err
	}
	return sealTOTP(key, u.TenantID, u.ID, secret)
}

// OpenTOTP returns u's TOTP secret from its sealed, stored form.
func (a *Authenticator) OpenTOTP(ctx context.Context, u models.User) ([]byte, error) {
	key, err := a.mfaKeys.get(ctx)
	if err != nil {
		return nil, err
	}
	return openTOTP(key, u.TenantID, u.ID, u.TOTPSecret)
}
