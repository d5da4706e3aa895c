package auth

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/learnlens/learnlens/models"
)

// API access tokens (issue 13): JWTs signed with Ed25519 (EdDSA), the one
// algorithm accepted, by a key with a kid kept in PostgreSQL (token_keys),
// its private half sealed under the deployment's TOKEN_KEY.
const (
	// TokenLifetime is how long an access token is good for.
	TokenLifetime = 15 * time.Minute
	// KeyGrace is how long a retired key is still published and accepted:
	// longer than any token it signed lives, with room for an instance
	// that signed with it until it heard of the rotation (keyRefresh).
	KeyGrace = TokenLifetime + 5*time.Minute
	// keyRefresh is how often an instance re-reads the keys without
	// being told of a rotation; an unknown kid re-reads at once, at most
	// once per keyMissRefresh.
	keyRefresh     = time.Minute
	keyMissRefresh = time.Second
	// tokenLeeway is the clock difference between instances tolerated on
	// exp, nbf and iat.
	tokenLeeway = 30 * time.Second
	tokenAlg    = "EdDSA"
)

// AccessClaims are the claims of an access token: the registered ones
// (iss, sub = the client id, aud = the tenant's API audience, iat, nbf, exp,
// jti) and the tenant, client and scope it carries.
type AccessClaims struct {
	jwt.RegisteredClaims
	TenantID int64  `json:"tenant_id"`
	ClientID string `json:"client_id"`
	Scope    string `json:"scope"` // space-separated, as OAuth writes it
	// SecretVersion names the client's secret the token was given for
	// (models.APIClient.SecretVersion): a rotation ends the tokens before.
	SecretVersion int64 `json:"secret_version"`
}

// TenantAudience is the aud of a tenant's tokens: one value per tenant,
// whichever of its hosts the token is used on, and no other tenant's.
func TenantAudience(tenantID int64) string {
	return "urn:learnlens:tenant:" + strconv.FormatInt(tenantID, 10)
}

// ErrTokensOff is returned when the server has no TOKEN_KEY.
var ErrTokensOff = errors.New("API tokens are not configured on this server (TOKEN_KEY)")

// ErrBadToken is returned for every token that does not verify; the
// wrapped error says why, for the log only.
var ErrBadToken = errors.New("the access token is invalid or expired")

// Tokens issues and verifies access tokens. Every instance reads the same
// keys from PostgreSQL and keeps them in memory: re-read every keyRefresh,
// at once when told of a rotation (Forget), and when a token names a kid
// it does not know.
type Tokens struct {
	store   *models.TokenKeyStore
	sealKey []byte // nil: tokens are off
	issuer  string
	now     func() time.Time

	mu       sync.Mutex
	keys     []openKey // newest first
	loadedAt time.Time // zero: read them before use
	missAt   time.Time
}

type openKey struct {
	kid     string
	private ed25519.PrivateKey
	public  ed25519.PublicKey
	retired *time.Time
}

// NewTokens returns Tokens on store whose keys are sealed with sealKey (32
// bytes; nil turns tokens off), issued as issuer, on the clock now.
func NewTokens(store *models.TokenKeyStore, sealKey []byte, issuer string, now func() time.Time) *Tokens {
	return &Tokens{store: store, sealKey: sealKey, issuer: issuer, now: now}
}

// Enabled reports whether the server can issue and verify tokens.
func (t *Tokens) Enabled() bool { return t.sealKey != nil }

// Forget makes the next use re-read the keys (a rotation was announced).
func (t *Tokens) Forget() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.loadedAt = time.Time{}
}

// Issue signs a token for client of tenant, given for its secret of
// secretVersion, with scope, by the current key
// (made first if there is none yet), and returns it with its expiry.
func (t *Tokens) Issue(ctx context.Context, tenantID int64, clientID string, secretVersion int64, scope []string) (string, time.Time, error) {
	now := t.now().Truncate(time.Second)
	exp := now.Add(TokenLifetime)
	claims := AccessClaims{
		RegisteredClaims: jwt.RegisteredClaims{Issuer: t.issuer, Subject: clientID, Audience: jwt.ClaimStrings{TenantAudience(tenantID)},
			IssuedAt: jwt.NewNumericDate(now), NotBefore: jwt.NewNumericDate(now), ExpiresAt: jwt.NewNumericDate(exp), ID: newToken()},
		TenantID: tenantID, ClientID: clientID, Scope: models.ScopeList(scope).String(), SecretVersion: secretVersion,
	}
	s, err := t.Sign(ctx, claims)
	return s, exp, err
}

// Sign signs claims as they are with the current key (Issue's work; tests
// use it to make tokens that must be refused).
func (t *Tokens) Sign(ctx context.Context, claims AccessClaims) (string, error) {
	if !t.Enabled() {
		return "", ErrTokensOff
	}
	key, err := t.current(ctx)
	if err != nil {
		return "", err
	}
	tok := jwt.NewWithClaims(jwt.SigningMethodEdDSA, claims)
	tok.Header["kid"] = key.kid
	return tok.SignedString(key.private)
}

// Issuer is the iss of the tokens.
func (t *Tokens) Issuer() string { return t.issuer }

// Verify checks a token for use at tenantID: the signature by a published
// key named by its kid, EdDSA only, the issuer, the tenant's audience, exp,
// nbf and iat. The client's revocation is the caller's to check.
func (t *Tokens) Verify(ctx context.Context, token string, tenantID int64) (*AccessClaims, error) {
	if !t.Enabled() {
		return nil, ErrTokensOff
	}
	var claims AccessClaims
	_, err := jwt.ParseWithClaims(token, &claims, func(tok *jwt.Token) (any, error) {
		kid, _ := tok.Header["kid"].(string)
		return t.publicKey(ctx, kid)
	}, jwt.WithValidMethods([]string{tokenAlg}), jwt.WithIssuer(t.issuer), jwt.WithAudience(TenantAudience(tenantID)),
		jwt.WithExpirationRequired(), jwt.WithIssuedAt(), jwt.WithLeeway(tokenLeeway), jwt.WithTimeFunc(t.now))
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadToken, err)
	}
	if claims.TenantID != tenantID || claims.ClientID == "" || claims.ClientID != claims.Subject {
		return nil, fmt.Errorf("%w: tenant or client claims do not match", ErrBadToken)
	}
	return &claims, nil
}

// JWK is one public key as RFC 7517 (and RFC 8037 for Ed25519) writes it.
type JWK struct {
	Kty string `json:"kty"`
	Crv string `json:"crv"`
	X   string `json:"x"`
	Kid string `json:"kid"`
	Alg string `json:"alg"`
	Use string `json:"use"`
}

// JWKS returns the published public keys: the current one and those
// retired less than KeyGrace ago.
func (t *Tokens) JWKS(ctx context.Context) ([]JWK, error) {
	out := []JWK{}
	if !t.Enabled() {
		return out, nil
	}
	keys, err := t.published(ctx, false)
	if err != nil {
		return nil, err
	}
	for _, k := range keys {
		out = append(out, JWK{Kty: "OKP", Crv: "Ed25519", X: base64.RawURLEncoding.EncodeToString(k.public), Kid: k.kid, Alg: tokenAlg, Use: "sig"})
	}
	return out, nil
}

// published returns the keys in force, reading them when they are stale
// (or, with miss, when they were not read in the last keyMissRefresh).
func (t *Tokens) published(ctx context.Context, miss bool) ([]openKey, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	now := t.now()
	stale := t.loadedAt.IsZero() || time.Since(t.loadedAt) > keyRefresh
	if miss && time.Since(t.missAt) > keyMissRefresh {
		stale, t.missAt = true, time.Now()
	}
	if stale {
		rows, err := t.store.Published(ctx, now.Add(-KeyGrace))
		if err != nil {
			return nil, err
		}
		keys := make([]openKey, 0, len(rows))
		for _, r := range rows {
			k, err := openTokenKey(t.sealKey, r)
			if err != nil {
				return nil, err
			}
			keys = append(keys, k)
		}
		t.keys, t.loadedAt = keys, time.Now()
	}
	var out []openKey
	for _, k := range t.keys {
		if k.retired == nil || now.Sub(*k.retired) < KeyGrace {
			out = append(out, k)
		}
	}
	return out, nil
}

func (t *Tokens) publicKey(ctx context.Context, kid string) (ed25519.PublicKey, error) {
	for _, miss := range []bool{false, true} {
		keys, err := t.published(ctx, miss)
		if err != nil {
			return nil, err
		}
		for _, k := range keys {
			if k.kid == kid {
				return k.public, nil
			}
		}
	}
	return nil, fmt.Errorf("unknown kid %q", kid)
}

// current returns the key to sign with, making the first one if there is
// none (the platform login writes it; every instance agrees on one).
func (t *Tokens) current(ctx context.Context) (openKey, error) {
	for range 2 {
		keys, err := t.published(ctx, false)
		if err != nil {
			return openKey{}, err
		}
		for _, k := range keys {
			if k.retired == nil {
				return k, nil
			}
		}
		k, err := NewTokenKey(t.sealKey)
		if err != nil {
			return openKey{}, err
		}
		if err := t.store.CreateFirst(ctx, k); err != nil {
			return openKey{}, err
		}
		t.Forget()
	}
	return openKey{}, errors.New("no current token key")
}

// NewTokenKey makes a new signing key sealed with sealKey, for storing.
func NewTokenKey(sealKey []byte) (models.TokenKey, error) {
	_, private, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return models.TokenKey{}, err
	}
	kid := newToken()[:22]
	gcm, err := tokenKeyCipher(sealKey)
	if err != nil {
		return models.TokenKey{}, err
	}
	nonce := make([]byte, gcm.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return models.TokenKey{}, err
	}
	sealed := gcm.Seal(nonce, nonce, private.Seed(), tokenKeyAAD(kid))
	return models.TokenKey{KID: kid, Alg: tokenAlg, PrivateSealed: sealed}, nil
}

// openTokenKey opens a stored key; its public half comes from its private
// half, so a row written without TOKEN_KEY verifies nothing.
func openTokenKey(sealKey []byte, r models.TokenKey) (openKey, error) {
	gcm, err := tokenKeyCipher(sealKey)
	if err != nil {
		return openKey{}, err
	}
	bad := fmt.Errorf("token key %s does not open with TOKEN_KEY", r.KID)
	if r.Alg != tokenAlg || len(r.PrivateSealed) < gcm.NonceSize() {
		return openKey{}, bad
	}
	n := gcm.NonceSize()
	seed, err := gcm.Open(nil, r.PrivateSealed[:n], r.PrivateSealed[n:], tokenKeyAAD(r.KID))
	if err != nil || len(seed) != ed25519.SeedSize {
		return openKey{}, bad
	}
	private := ed25519.NewKeyFromSeed(seed)
	return openKey{kid: r.KID, private: private, public: private.Public().(ed25519.PublicKey), retired: r.RetiredAt}, nil
}

func tokenKeyCipher(key []byte) (cipher.AEAD, error) {
	if len(key) != 32 {
		return nil, fmt.Errorf("TOKEN_KEY: %d bytes, want 32", len(key))
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}

func tokenKeyAAD(kid string) []byte { return []byte("learnlens token key\x00" + kid) }
