package tests

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/xuri/excelize/v2"
	"gorm.io/gorm"

	"github.com/learnlens/learnlens/auth"
	"github.com/learnlens/learnlens/cli"
	"github.com/learnlens/learnlens/config"
	"github.com/learnlens/learnlens/database"
	"github.com/learnlens/learnlens/database/testdb"
	"github.com/learnlens/learnlens/generator"
	"github.com/learnlens/learnlens/models"
	"github.com/learnlens/learnlens/pipeline"
	"github.com/learnlens/learnlens/seed"
	"github.com/learnlens/learnlens/tests/testserver"
)

// tokenReply is the token endpoint's answer, success or error.
type tokenReply struct {
	AccessToken      string `json:"access_token"`
	TokenType        string `json:"token_type"`
	ExpiresIn        int    `json:"expires_in"`
	Scope            string `json:"scope"`
	Error            string `json:"error"`
	ErrorDescription string `json:"error_description"`
}

// requestToken posts form to host's token endpoint, with header pairs.
func requestToken(t *testing.T, c *testserver.Client, host string, form url.Values, header ...string) (testserver.Response, tokenReply) {
	t.Helper()
	r := c.Do(http.MethodPost, host, "/api/v1/oauth/token", strings.NewReader(form.Encode()),
		append([]string{"Content-Type", "application/x-www-form-urlencoded"}, header...)...)
	var out tokenReply
	if err := json.Unmarshal([]byte(r.Body), &out); err != nil {
		t.Fatalf("token endpoint: %d, not JSON: %.300s", r.Status, r.Body)
	}
	return r, out
}

// clientToken gets a token for client id with secret on host, or fails.
func clientToken(t *testing.T, srv *testserver.Server, host, id, secret string, scope ...string) string {
	t.Helper()
	form := url.Values{"grant_type": {"client_credentials"}, "client_id": {id}, "client_secret": {secret}}
	if len(scope) > 0 {
		form.Set("scope", strings.Join(scope, " "))
	}
	r, out := requestToken(t, srv.NewClient(t), host, form)
	if r.Status != http.StatusOK || out.AccessToken == "" {
		t.Fatalf("token for %s on %s: %d %s", id, host, r.Status, r.Body)
	}
	return out.AccessToken
}

func demoToken(t *testing.T, srv *testserver.Server) string {
	return clientToken(t, srv, acme, seed.DemoAPIClientID, seed.DemoAPIClientSecret)
}

// bearerGet asks path on host with token.
func bearerGet(c *testserver.Client, host, path, token string) testserver.Response {
	return c.Get(host, path, "Authorization", "Bearer "+token)
}

// mustJSON decodes a response's body into v, failing on a status other
// than want.
func mustJSON(t *testing.T, what string, r testserver.Response, want int, v any) {
	t.Helper()
	if r.Status != want {
		t.Fatalf("%s: status %d, want %d: %.400s", what, r.Status, want, r.Body)
	}
	if !strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") {
		t.Fatalf("%s: Content-Type %q, want JSON", what, r.Header.Get("Content-Type"))
	}
	if v != nil {
		if err := json.Unmarshal([]byte(r.Body), v); err != nil {
			t.Fatalf("%s: %v: %.300s", what, err, r.Body)
		}
	}
}

// wantStatus fails unless r has status want and a JSON error body.
func wantStatus(t *testing.T, what string, r testserver.Response, want int) {
	t.Helper()
	var body struct {
		Error string `json:"error"`
	}
	mustJSON(t, what, r, want, &body)
	if body.Error == "" {
		t.Errorf("%s: no error message in %s", what, r.Body)
	}
}

func TestAPIClientTokenReadsEveryResource(t *testing.T) {
	t.Parallel()
	srv := testserver.Start(t)
	c := srv.NewClient(t)
	cfg := generator.Acme(time.Now().UTC().Truncate(time.Hour))
	cfg.Learners, cfg.Depth, cfg.Courses, cfg.Required, cfg.Statements = 60, 3, 6, 2, 3_000
	if _, err := generator.Populate(context.Background(), pipeline.New(srv.DB), tenantID(t, srv, "acme"), cfg); err != nil {
		t.Fatal(err)
	}

	// The token: form client authentication, and HTTP Basic (RFC 6749 §2.3.1).
	r, tok := requestToken(t, c, acme, url.Values{"grant_type": {"client_credentials"},
		"client_id": {seed.DemoAPIClientID}, "client_secret": {seed.DemoAPIClientSecret}})
	if r.Status != http.StatusOK || tok.TokenType != "Bearer" || tok.ExpiresIn != 900 ||
		tok.Scope != strings.Join(models.Scopes, " ") || r.Header.Get("Cache-Control") != "no-store" {
		t.Fatalf("token: %d %s, Cache-Control %q", r.Status, r.Body, r.Header.Get("Cache-Control"))
	}
	basicAuth := "Basic " + base64.StdEncoding.EncodeToString([]byte(seed.DemoAPIClientID+":"+seed.DemoAPIClientSecret))
	if r, out := requestToken(t, c, acme, url.Values{"grant_type": {"client_credentials"}, "scope": {"dashboards:read"}},
		"Authorization", basicAuth); r.Status != http.StatusOK || out.Scope != "dashboards:read" {
		t.Fatalf("token with HTTP Basic and a narrower scope: %d %s", r.Status, r.Body)
	}
	token := tok.AccessToken
	parts := strings.Split(token, ".")
	header, _ := base64.RawURLEncoding.DecodeString(parts[0])
	payload, _ := base64.RawURLEncoding.DecodeString(parts[1])
	var claims map[string]any
	json.Unmarshal(payload, &claims)
	if !strings.Contains(string(header), `"alg":"EdDSA"`) || !strings.Contains(string(header), `"kid":`) ||
		claims["sub"] != seed.DemoAPIClientID || claims["client_id"] != seed.DemoAPIClientID ||
		claims["aud"] == nil || claims["iss"] != "urn:learnlens:localhost" || claims["jti"] == nil ||
		claims["exp"].(float64)-claims["iat"].(float64) != 900 || claims["nbf"] == nil ||
		claims["tenant_id"].(float64) != float64(tenantID(t, srv, "acme")) {
		t.Fatalf("token header %s claims %s", header, payload)
	}

	// A section.
	var section struct {
		Dashboard, Section string
		Data               map[string]any
	}
	r = bearerGet(c, acme, "/api/v1/dashboards/completion/kpis", token)
	mustJSON(t, "section", r, http.StatusOK, &section)
	if section.Dashboard != "completion" || section.Section != "kpis" || len(section.Data) == 0 {
		t.Fatalf("section: %.300s", r.Body)
	}
	if r.Header.Get("Set-Cookie") != "" {
		t.Errorf("a bearer request got a cookie: %s", r.Header.Get("Set-Cookie"))
	}
	// A table page, sorted and paged.
	var table struct {
		Data struct {
			ID       string           `json:"id"`
			Rows     []map[string]any `json:"rows"`
			Total    int              `json:"total"`
			Page     int              `json:"page"`
			PageSize int              `json:"page_size"`
			Sort     string           `json:"sort"`
			Desc     bool             `json:"desc"`
		} `json:"data"`
	}
	r = bearerGet(c, acme, "/api/v1/tables/compliance/assignments?sort=learner&dir=desc&page=2", token)
	mustJSON(t, "table page", r, http.StatusOK, &table)
	if table.Data.ID != "compliance/assignments" || table.Data.Sort != "learner" || !table.Data.Desc || table.Data.Page != 2 || len(table.Data.Rows) == 0 || table.Data.Total <= table.Data.PageSize {
		t.Fatalf("table page: %.400s", r.Body)
	}
	learnerID := int64(table.Data.Rows[0]["learner_id"].(float64))
	// Exports.
	r = bearerGet(c, acme, "/api/v1/tables/completion/courses/export.csv", token)
	if r.Status != http.StatusOK || !strings.HasPrefix(r.Header.Get("Content-Type"), "text/csv") || !strings.Contains(r.Body, "Course") {
		t.Fatalf("CSV export: %d %.300s", r.Status, r.Body)
	}
	r = bearerGet(c, acme, "/api/v1/tables/completion/courses/export.xlsx", token)
	if r.Status != http.StatusOK {
		t.Fatalf("XLSX export: %d %.300s", r.Status, r.Body)
	}
	if f, err := excelize.OpenReader(strings.NewReader(r.Body)); err != nil {
		t.Fatalf("XLSX export does not open: %v", err)
	} else {
		f.Close()
	}
	// A learner's record.
	var record struct {
		Data struct {
			Profile struct {
				ID   int64  `json:"id"`
				Name string `json:"name"`
			} `json:"profile"`
			Courses struct {
				ID string `json:"id"`
			} `json:"courses"`
		} `json:"data"`
	}
	r = bearerGet(c, acme, "/api/v1/learners/"+strconv.FormatInt(learnerID, 10), token)
	mustJSON(t, "learner record", r, http.StatusOK, &record)
	if record.Data.Profile.ID != learnerID || record.Data.Profile.Name == "" || record.Data.Courses.ID != "learner/enrollments" {
		t.Fatalf("learner record: %.400s", r.Body)
	}
	wantStatus(t, "a learner that does not exist", bearerGet(c, acme, "/api/v1/learners/999999999", token), http.StatusNotFound)
	// The organisation tree, and a node's children.
	var tree struct {
		Data []struct {
			ID      int64 `json:"id"`
			Reports int64 `json:"reports"`
		} `json:"data"`
	}
	r = bearerGet(c, acme, "/api/v1/team/nodes", token)
	mustJSON(t, "tree", r, http.StatusOK, &tree)
	if len(tree.Data) == 0 {
		t.Fatalf("tree: %.300s", r.Body)
	}
	r = bearerGet(c, acme, "/api/v1/team/nodes/"+strconv.FormatInt(tree.Data[0].ID, 10), token)
	mustJSON(t, "tree node", r, http.StatusOK, &tree)
	// Users: list, one, and create (an invitation), without a CSRF token.
	var users struct {
		Users []struct {
			ID    int64  `json:"id"`
			Email string `json:"email"`
			Role  string `json:"role"`
		} `json:"users"`
	}
	r = bearerGet(c, acme, "/api/v1/users", token)
	mustJSON(t, "users", r, http.StatusOK, &users)
	if len(users.Users) != 4 {
		t.Fatalf("users: %.400s", r.Body)
	}
	var one struct{ Email string }
	mustJSON(t, "user", bearerGet(c, acme, "/api/v1/users/"+strconv.FormatInt(users.Users[0].ID, 10), token), http.StatusOK, &one)
	if one.Email != users.Users[0].Email {
		t.Errorf("user: %+v", one)
	}
	var inv struct {
		Invitation struct {
			Email, Role, URL string
		}
	}
	r = c.Do(http.MethodPost, acme, "/api/v1/users", strings.NewReader(`{"email":"new.hire@acme.test","role":"analyst"}`),
		"Authorization", "Bearer "+token, "Content-Type", "application/json")
	mustJSON(t, "invite", r, http.StatusCreated, &inv)
	if inv.Invitation.Email != "new.hire@acme.test" || !strings.Contains(inv.Invitation.URL, "/invite/") {
		t.Fatalf("invite: %s", r.Body)
	}
	r = c.Do(http.MethodPost, acme, "/api/v1/users", strings.NewReader(`{"email":"new.hire@acme.test","role":"analyst"}`),
		"Authorization", "Bearer "+token, "Content-Type", "application/json")
	wantStatus(t, "invite twice", r, http.StatusConflict)
	r = c.Do(http.MethodPost, acme, "/api/v1/users", strings.NewReader(`{"email":"x@acme.test","role":"owner"}`),
		"Authorization", "Bearer "+token, "Content-Type", "application/json")
	wantStatus(t, "invite with a bad role", r, http.StatusUnprocessableEntity)
	var actor string
	srv.DB.Platform(context.Background(), func(tx *gorm.DB) error {
		return tx.Raw(`SELECT actor_email FROM audit_log WHERE action = 'invitation.created' ORDER BY id DESC LIMIT 1`).Scan(&actor).Error
	})
	if actor != "api-client:"+seed.DemoAPIClientID {
		t.Errorf("the invitation's audit actor is %q", actor)
	}

	// The session still works as before; nobody gets 401 JSON, not a redirect.
	admin := srv.NewClient(t)
	admin.Login(acme, "admin@acme.test")
	mustJSON(t, "section with a session", admin.Get(acme, "/api/v1/dashboards/completion/kpis"), http.StatusOK, nil)
	wantStatus(t, "users with the session but no CSRF token",
		admin.Do(http.MethodPost, acme, "/api/v1/users", strings.NewReader(`{"email":"a@acme.test","role":"analyst"}`), "Content-Type", "application/json"),
		http.StatusForbidden)
	anon := srv.NewClient(t)
	r = anon.Get(acme, "/api/v1/dashboards/completion/kpis")
	wantStatus(t, "anonymous", r, http.StatusUnauthorized)
	if !strings.HasPrefix(r.Header.Get("WWW-Authenticate"), "Bearer") {
		t.Errorf("anonymous: WWW-Authenticate %q", r.Header.Get("WWW-Authenticate"))
	}
	wantStatus(t, "a bearer header with no token", anon.Get(acme, "/api/v1/users", "Authorization", "Bearer "), http.StatusUnauthorized)

	// The demo client's "last used" shows on the credentials page.
	page := admin.Get(acme, "/admin/credentials")
	if !strings.Contains(page.Body, seed.DemoAPIClientID) || regexp.MustCompile(`data-testid="api-client-last-used">never<`).MatchString(page.Body) {
		t.Errorf("credentials page does not show the demo client as used")
	}
}

func TestAPITokenEndpointRefusals(t *testing.T) {
	t.Parallel()
	srv := testserver.Start(t)
	c := srv.NewClientFrom(t, "127.0.0.31")
	good := url.Values{"grant_type": {"client_credentials"}, "client_id": {seed.DemoAPIClientID}, "client_secret": {seed.DemoAPIClientSecret}}
	with := func(k, v string) url.Values {
		f := url.Values{}
		for kk, vv := range good {
			f[kk] = vv
		}
		if v == "" {
			f.Del(k)
		} else {
			f.Set(k, v)
		}
		return f
	}
	for _, tc := range []struct {
		what   string
		form   url.Values
		status int
		err    string
	}{
		{"wrong grant", with("grant_type", "password"), 400, "unsupported_grant_type"},
		{"no grant", with("grant_type", ""), 400, "invalid_request"},
		{"a scope the client lacks", with("scope", "dashboards:read admin:all"), 400, "invalid_scope"},
		{"no secret", with("client_secret", ""), 401, "invalid_client"},
		{"unknown client", with("client_id", "nobody-at-all"), 401, "invalid_client"},
		{"wrong secret", with("client_secret", "wrong"), 401, "invalid_client"},
	} {
		r, out := requestToken(t, c, acme, tc.form)
		if r.Status != tc.status || out.Error != tc.err || out.ErrorDescription == "" || r.Header.Get("Cache-Control") != "no-store" {
			t.Errorf("%s: %d %s, want %d %s", tc.what, r.Status, r.Body, tc.status, tc.err)
		}
	}
	r := c.Do(http.MethodPost, acme, "/api/v1/oauth/token", strings.NewReader(`{"grant_type":"client_credentials"}`), "Content-Type", "application/json")
	if r.Status != http.StatusBadRequest || !strings.Contains(r.Body, "invalid_request") {
		t.Errorf("JSON body: %d %s", r.Status, r.Body)
	}
	r, _ = requestToken(t, c, acme, url.Values{"grant_type": {"client_credentials"}},
		"Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte(seed.DemoAPIClientID+":wrong")))
	if r.Status != http.StatusUnauthorized || !strings.HasPrefix(r.Header.Get("WWW-Authenticate"), "Basic") {
		t.Errorf("wrong Basic secret: %d %s %q", r.Status, r.Body, r.Header.Get("WWW-Authenticate"))
	}
	// Acme's client does not exist on globex's host.
	if r, out := requestToken(t, srv.NewClient(t), globex, good); r.Status != http.StatusUnauthorized || out.Error != "invalid_client" {
		t.Errorf("acme's client on globex's host: %d %s", r.Status, r.Body)
	}
	// Wrong secrets are throttled per address like failed sign-ins; the
	// right secret waits too, then works.
	var throttled testserver.Response
	for range auth.FreeFailuresPerIP + 2 {
		if throttled, _ = requestToken(t, c, acme, with("client_secret", "guess")); throttled.Status == http.StatusTooManyRequests {
			break
		}
	}
	if throttled.Status != http.StatusTooManyRequests || throttled.Header.Get("Retry-After") == "" {
		t.Fatalf("guessing secrets: %d %s, want 429 with Retry-After", throttled.Status, throttled.Body)
	}
	if r, _ := requestToken(t, c, acme, good); r.Status != http.StatusTooManyRequests {
		t.Errorf("right secret while throttled: %d", r.Status)
	}
	if r, _ := requestToken(t, srv.NewClientFrom(t, "127.0.0.32"), acme, good); r.Status != http.StatusOK {
		t.Errorf("right secret from another address: %d %s", r.Status, r.Body)
	}
	var refused int64
	srv.DB.Platform(context.Background(), func(tx *gorm.DB) error {
		return tx.Raw(`SELECT count(*) FROM audit_log WHERE action = ?`, models.AuditAPIClientRefused).Scan(&refused).Error
	})
	if refused == 0 {
		t.Error("wrong secrets of an existing client are not in the audit log")
	}
}

// signer signs tokens with acme's current key as the server would, on a
// clock of the test's choosing.
func signer(srv *testserver.Server, now func() time.Time) *auth.Tokens {
	key, _ := (config.Config{TokenKey: testserver.TokenKey}).TokenSealKey()
	return auth.NewTokens(models.NewTokenKeyStore(srv.DB), key, "urn:learnlens:localhost", now)
}

func TestAPIRefusesBadTokens(t *testing.T) {
	t.Parallel()
	srv := testserver.Start(t)
	c := srv.NewClient(t)
	good := demoToken(t, srv) // makes the first key
	acmeID := tenantID(t, srv, "acme")
	ctx := context.Background()
	now := time.Now().Truncate(time.Second)
	claims := func(change func(*auth.AccessClaims)) auth.AccessClaims {
		cl := auth.AccessClaims{RegisteredClaims: jwt.RegisteredClaims{Issuer: "urn:learnlens:localhost", Subject: seed.DemoAPIClientID,
			Audience: jwt.ClaimStrings{auth.TenantAudience(acmeID)}, IssuedAt: jwt.NewNumericDate(now), NotBefore: jwt.NewNumericDate(now),
			ExpiresAt: jwt.NewNumericDate(now.Add(15 * time.Minute)), ID: "test"},
			TenantID: acmeID, ClientID: seed.DemoAPIClientID, Scope: "dashboards:read"}
		if change != nil {
			change(&cl)
		}
		return cl
	}
	sign := func(cl auth.AccessClaims) string {
		s, err := signer(srv, time.Now).Sign(ctx, cl)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	const section = "/api/v1/dashboards/completion/kpis"
	if r := bearerGet(c, acme, section, sign(claims(nil))); r.Status != http.StatusOK {
		t.Fatalf("a token signed by the test as the server would: %d %s", r.Status, r.Body)
	}
	// The server's own clock: a token it issued 20 minutes ago has expired.
	past, _, err := signer(srv, func() time.Time { return time.Now().Add(-20 * time.Minute) }).Issue(ctx, acmeID, seed.DemoAPIClientID, 0, []string{"dashboards:read"})
	if err != nil {
		t.Fatal(err)
	}
	// HS256 keyed with the public key, and alg none, naming the real kid.
	var jwks struct {
		Keys []struct{ Kid, X string }
	}
	mustJSON(t, "JWKS", c.Get(acme, "/.well-known/jwks.json"), http.StatusOK, &jwks)
	pub, _ := base64.RawURLEncoding.DecodeString(jwks.Keys[0].X)
	hs := jwt.NewWithClaims(jwt.SigningMethodHS256, claims(nil))
	hs.Header["kid"] = jwks.Keys[0].Kid
	hsToken, _ := hs.SignedString(pub)
	none := jwt.NewWithClaims(jwt.SigningMethodNone, claims(nil))
	none.Header["kid"] = jwks.Keys[0].Kid
	noneToken, _ := none.SignedString(jwt.UnsafeAllowNoneSignatureType)
	// A key of the test's own, with a kid the server does not know.
	_, ownKey, _ := ed25519.GenerateKey(rand.Reader)
	own := jwt.NewWithClaims(jwt.SigningMethodEdDSA, claims(nil))
	own.Header["kid"] = "not-a-server-key"
	ownToken, _ := own.SignedString(ownKey)
	// The same key under the server's kid: the signature does not verify.
	own.Header["kid"] = jwks.Keys[0].Kid
	forged, _ := own.SignedString(ownKey)
	tampered := good[:len(good)-4] + "AAAA"

	for what, tok := range map[string]string{
		"expired":           past,
		"nbf in the future": sign(claims(func(c *auth.AccessClaims) { c.NotBefore = jwt.NewNumericDate(now.Add(10 * time.Minute)) })),
		"iat in the future": sign(claims(func(c *auth.AccessClaims) { c.IssuedAt = jwt.NewNumericDate(now.Add(10 * time.Minute)) })),
		"no exp":            sign(claims(func(c *auth.AccessClaims) { c.ExpiresAt = nil })),
		"wrong aud":         sign(claims(func(c *auth.AccessClaims) { c.Audience = jwt.ClaimStrings{"urn:learnlens:tenant:999"} })),
		"globex's aud": sign(claims(func(c *auth.AccessClaims) {
			c.Audience = jwt.ClaimStrings{auth.TenantAudience(tenantID(t, srv, "globex"))}
		})),
		"wrong iss":                 sign(claims(func(c *auth.AccessClaims) { c.Issuer = "https://evil.example" })),
		"wrong tenant claim":        sign(claims(func(c *auth.AccessClaims) { c.TenantID = 999 })),
		"unknown client":            sign(claims(func(c *auth.AccessClaims) { c.Subject, c.ClientID = "nobody-here", "nobody-here" })),
		"alg none":                  noneToken,
		"HS256 with the public key": hsToken,
		"unknown kid":               ownToken,
		"forged signature":          forged,
		"tampered":                  tampered,
		"not a JWT":                 "hello",
	} {
		r := bearerGet(c, acme, section, tok)
		wantStatus(t, what, r, http.StatusUnauthorized)
		if !strings.Contains(r.Header.Get("WWW-Authenticate"), `error="invalid_token"`) {
			t.Errorf("%s: WWW-Authenticate %q", what, r.Header.Get("WWW-Authenticate"))
		}
	}
}

func TestAPITokensStayInTheirTenant(t *testing.T) {
	t.Parallel()
	srv := testserver.Start(t)
	c := srv.NewClient(t)
	globexID := tenantID(t, srv, "globex")
	if _, err := models.NewAPIClientStore(srv.DB).CreateWithSecret(context.Background(), globexID, "Globex BI", "globex-bi-client", "globex-bi-secret", models.Scopes); err != nil {
		t.Fatal(err)
	}
	globexToken := clientToken(t, srv, globex, "globex-bi-client", "globex-bi-secret")
	mustJSON(t, "globex's token on globex's host", bearerGet(c, globex, "/api/v1/users", globexToken), http.StatusOK, nil)
	for _, path := range []string{"/api/v1/users", "/api/v1/dashboards/completion/kpis", "/api/v1/team/nodes", "/api/v1/tables/completion/courses/export.csv"} {
		r := bearerGet(c, acme, path, globexToken)
		wantStatus(t, "globex's token on acme's host "+path, r, http.StatusUnauthorized)
		mustNotContain(t, path, r.Body, "acme.test", "Acme")
	}
	// A token is nothing on a page (it is for /api/v1 only).
	if r := bearerGet(srv.NewClient(t), acme, "/admin/users", clientToken(t, srv, acme, seed.DemoAPIClientID, seed.DemoAPIClientSecret)); r.Status != http.StatusSeeOther {
		t.Errorf("a token on a page: %d, want a redirect to sign in", r.Status)
	}
	// Nor does a bearer request fall back to a session the client holds.
	c.Login(acme, "admin@acme.test")
	wantStatus(t, "globex's token with acme's session", bearerGet(c, acme, "/api/v1/users", globexToken), http.StatusUnauthorized)
}

func TestAPIScopesLimitAClient(t *testing.T) {
	t.Parallel()
	srv := testserver.Start(t)
	c := srv.NewClient(t)
	acmeID := tenantID(t, srv, "acme")
	if _, err := models.NewAPIClientStore(srv.DB).CreateWithSecret(context.Background(), acmeID, "Reports only", "acme-reports", "acme-reports-secret",
		[]string{models.ScopeDashboardsRead}); err != nil {
		t.Fatal(err)
	}
	token := clientToken(t, srv, acme, "acme-reports", "acme-reports-secret")
	mustJSON(t, "section with dashboards:read", bearerGet(c, acme, "/api/v1/dashboards/completion/kpis", token), http.StatusOK, nil)
	for path, scope := range map[string]string{
		"/api/v1/users":                              "users:manage",
		"/api/v1/users/1":                            "users:manage",
		"/api/v1/learners/1":                         "learners:read",
		"/api/v1/dashboards/learner/profile":         "learners:read",
		"/api/v1/tables/learner/enrollments":         "learners:read",
		"/api/v1/tables/learner/attempts/export.csv": "learners:read",
	} {
		r := bearerGet(c, acme, path, token)
		wantStatus(t, path, r, http.StatusForbidden)
		if !strings.Contains(r.Header.Get("WWW-Authenticate"), `scope="`+scope+`"`) {
			t.Errorf("%s: WWW-Authenticate %q", path, r.Header.Get("WWW-Authenticate"))
		}
	}
	r := c.Do(http.MethodPost, acme, "/api/v1/users", strings.NewReader(`{"email":"x@acme.test","role":"learner"}`),
		"Authorization", "Bearer "+token, "Content-Type", "application/json")
	wantStatus(t, "invite without users:manage", r, http.StatusForbidden)
	// The demo client asking for a narrower token gets only that.
	narrow := clientToken(t, srv, acme, seed.DemoAPIClientID, seed.DemoAPIClientSecret, "dashboards:read")
	wantStatus(t, "users with a dashboards:read token", bearerGet(c, acme, "/api/v1/users", narrow), http.StatusForbidden)
	// A person's role still decides for the session.
	analyst := srv.NewClient(t)
	analyst.Login(acme, "analyst@acme.test")
	wantStatus(t, "users as an analyst", analyst.Get(acme, "/api/v1/users"), http.StatusForbidden)
}

// apiClientRow finds an API client's id on the credentials page.
func apiClientRow(t *testing.T, srv *testserver.Server, tenant int64, clientID string) int64 {
	t.Helper()
	cl, err := models.NewAPIClientStore(srv.DB).ByClientID(context.Background(), tenant, clientID)
	if err != nil {
		t.Fatal(err)
	}
	return cl.ID
}

// eventually retries check for up to 3 s (a notification's way to
// another instance).
func eventually(t *testing.T, what string, check func() bool) {
	t.Helper()
	for deadline := time.Now().Add(3 * time.Second); !check(); time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within 3 s", what)
		}
	}
}

func TestAPIClientsAreCreatedRotatedAndRevokedByTheAdmin(t *testing.T) {
	t.Parallel()
	srv := testserver.Start(t)
	other := testserver.StartOn(t, srv.DB) // a second instance on the same database
	admin := srv.NewClient(t)
	admin.Login(acme, "admin@acme.test")
	acmeID := tenantID(t, srv, "acme")

	for _, bad := range []url.Values{{"name": {""}, "scope": {"dashboards:read"}}, {"name": {"BI"}}, {"name": {"BI"}, "scope": {"root"}},
		{"name": {strings.Repeat("x", 101)}, "scope": {"dashboards:read"}}} {
		if r := admin.PostForm(acme, "/admin/credentials/api-clients", bad); r.Status != http.StatusBadRequest || !strings.Contains(r.Body, `data-testid="field-error"`) {
			t.Errorf("create %v: %d", bad, r.Status)
		}
	}
	var count int64
	srv.DB.Platform(context.Background(), func(tx *gorm.DB) error {
		return tx.Raw(`SELECT count(*) FROM api_clients WHERE tenant_id = ?`, acmeID).Scan(&count).Error
	})
	if count != 1 {
		t.Fatalf("bad forms made clients: %d", count)
	}
	r := admin.PostForm(acme, "/admin/credentials/api-clients", url.Values{"name": {"Power BI"}, "scope": {"dashboards:read", "users:manage"}})
	id := regexp.MustCompile(`data-testid="new-client-id">([^<]+)<`).FindStringSubmatch(r.Body)
	secret := regexp.MustCompile(`data-testid="client-secret">([^<]+)<`).FindStringSubmatch(r.Body)
	if r.Status != http.StatusOK || id == nil || secret == nil {
		t.Fatalf("create: %d %.500s", r.Status, r.Body)
	}
	if page := admin.Get(acme, "/admin/credentials"); strings.Contains(page.Body, secret[1]) || !strings.Contains(page.Body, id[1]) {
		t.Error("the secret is shown again, or the client is not listed")
	}
	var hash []byte
	srv.DB.Platform(context.Background(), func(tx *gorm.DB) error {
		return tx.Raw(`SELECT secret_hash FROM api_clients WHERE client_id = ?`, id[1]).Row().Scan(&hash)
	})
	if bytes.Contains(hash, []byte(secret[1])) || len(hash) != 32 {
		t.Error("the secret is stored, not its hash")
	}
	token := clientToken(t, srv, acme, id[1], secret[1])
	c := srv.NewClient(t)
	mustJSON(t, "new client", bearerGet(c, acme, "/api/v1/users", token), http.StatusOK, nil)
	// A second instance verifies the first one's token (keys from PostgreSQL).
	oc := other.NewClient(t)
	mustJSON(t, "new client on the second instance", bearerGet(oc, acme, "/api/v1/users", token), http.StatusOK, nil)

	// Rotating ends the old secret and the tokens given with it.
	row := strconv.FormatInt(apiClientRow(t, srv, acmeID, id[1]), 10)
	r = admin.PostForm(acme, "/admin/credentials/api-clients/"+row+"/rotate", url.Values{})
	newSecret := regexp.MustCompile(`data-testid="client-secret">([^<]+)<`).FindStringSubmatch(r.Body)
	if r.Status != http.StatusOK || newSecret == nil || newSecret[1] == secret[1] {
		t.Fatalf("rotate: %d", r.Status)
	}
	wantStatus(t, "a token of the old secret", bearerGet(c, acme, "/api/v1/users", token), http.StatusUnauthorized)
	eventually(t, "the second instance refuses the old token", func() bool {
		return bearerGet(oc, acme, "/api/v1/users", token).Status == http.StatusUnauthorized
	})
	if r, out := requestToken(t, c, acme, url.Values{"grant_type": {"client_credentials"}, "client_id": {id[1]}, "client_secret": {secret[1]}}); out.Error != "invalid_client" {
		t.Errorf("old secret after rotation: %d %s", r.Status, r.Body)
	}
	token = clientToken(t, srv, acme, id[1], newSecret[1])
	mustJSON(t, "new secret's token on the second instance", bearerGet(oc, acme, "/api/v1/users", token), http.StatusOK, nil)

	// Revoking ends the client on every instance from the next request.
	r = admin.PostForm(acme, "/admin/credentials/api-clients/"+row+"/revoke", url.Values{})
	if r.Status != http.StatusSeeOther {
		t.Fatalf("revoke: %d", r.Status)
	}
	wantStatus(t, "a revoked client's token", bearerGet(c, acme, "/api/v1/users", token), http.StatusUnauthorized)
	eventually(t, "the second instance refuses the revoked client", func() bool {
		return bearerGet(oc, acme, "/api/v1/users", token).Status == http.StatusUnauthorized
	})
	if r, out := requestToken(t, c, acme, url.Values{"grant_type": {"client_credentials"}, "client_id": {id[1]}, "client_secret": {newSecret[1]}}); out.Error != "invalid_client" {
		t.Errorf("revoked client's secret: %d %s", r.Status, r.Body)
	}
	if r := admin.PostForm(acme, "/admin/credentials/api-clients/"+row+"/revoke", url.Values{}); r.Status != http.StatusNotFound {
		t.Errorf("revoke twice: %d", r.Status)
	}
	card := cardOf(t, admin.Get(acme, "/admin/credentials").Body, `data-testid="api-client-row"`, id[1])
	mustContain(t, "revoked client's card", card, ">revoked ")
	mustNotContain(t, "revoked client's card", card, "badge-green", `data-testid="api-client-rotate"`, `data-testid="api-client-revoke"`)
	var actions []string
	srv.DB.Platform(context.Background(), func(tx *gorm.DB) error {
		return tx.Raw(`SELECT action FROM audit_log WHERE tenant_id = ? AND target = ? ORDER BY id`, acmeID, "api_client:"+row).Scan(&actions).Error
	})
	if strings.Join(actions, ",") != "api_client.created,api_client.rotated,api_client.secret_refused,api_client.revoked,api_client.secret_refused" {
		t.Errorf("audit log: %v", actions)
	}
	// Only a tenant admin manages clients.
	analyst := srv.NewClient(t)
	analyst.Login(acme, "analyst@acme.test")
	if r := analyst.PostForm(acme, "/admin/credentials/api-clients", url.Values{"name": {"x"}, "scope": {"dashboards:read"}}); r.Status != http.StatusForbidden {
		t.Errorf("an analyst creating a client: %d", r.Status)
	}
}

func TestAPISuspendedTenantIsRefused(t *testing.T) {
	t.Parallel()
	srv := testserver.Start(t)
	c := srv.NewClient(t)
	token := demoToken(t, srv)
	tenants := models.NewTenantStore(srv.DB)
	acmeID := tenantID(t, srv, "acme")
	if err := tenants.SetStatus(context.Background(), acmeID, models.TenantSuspended); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the suspension reaches the bearer check", func() bool {
		return bearerGet(c, acme, "/api/v1/users", token).Status == http.StatusForbidden
	})
	r, _ := requestToken(t, c, acme, url.Values{"grant_type": {"client_credentials"}, "client_id": {seed.DemoAPIClientID}, "client_secret": {seed.DemoAPIClientSecret}})
	if r.Status != http.StatusForbidden {
		t.Errorf("token endpoint of a suspended tenant: %d %s", r.Status, r.Body)
	}
	if err := tenants.SetStatus(context.Background(), acmeID, models.TenantActive); err != nil {
		t.Fatal(err)
	}
	eventually(t, "re-activation", func() bool { return bearerGet(c, acme, "/api/v1/users", token).Status == http.StatusOK })
}

func TestAPIRateLimitPerClient(t *testing.T) {
	t.Parallel()
	srv := testserver.StartWith(t, testserverDB(t), func(c *config.Config) { c.APIClientRate, c.APIClientBurst = 1, 3 })
	c := srv.NewClient(t)
	token := demoToken(t, srv)
	var limited testserver.Response
	for range 10 {
		if limited = bearerGet(c, acme, "/api/v1/users", token); limited.Status == http.StatusTooManyRequests {
			break
		}
	}
	wantStatus(t, "past the rate", limited, http.StatusTooManyRequests)
	if s, err := strconv.Atoi(limited.Header.Get("Retry-After")); err != nil || s < 1 {
		t.Errorf("Retry-After %q", limited.Header.Get("Retry-After"))
	}
	// Another client has its own bucket.
	if _, err := models.NewAPIClientStore(srv.DB).CreateWithSecret(context.Background(), tenantID(t, srv, "acme"), "Other", "acme-other", "acme-other-secret", models.Scopes); err != nil {
		t.Fatal(err)
	}
	mustJSON(t, "another client", bearerGet(c, acme, "/api/v1/users", clientToken(t, srv, acme, "acme-other", "acme-other-secret")), http.StatusOK, nil)
	time.Sleep(1100 * time.Millisecond)
	mustJSON(t, "after a second", bearerGet(c, acme, "/api/v1/users", token), http.StatusOK, nil)
}

func TestAPIKeyRotationKeepsTokensWorking(t *testing.T) {
	t.Parallel()
	var offset atomic.Int64 // the servers' clock runs this far ahead
	clock := func() time.Time { return time.Now().Add(time.Duration(offset.Load())) }
	db := testserverDB(t)
	srv := testserver.StartWith(t, db, func(c *config.Config) { c.Now = clock })
	other := testserver.StartWith(t, db, func(c *config.Config) { c.Now = clock })
	c := srv.NewClient(t)
	kids := func(s *testserver.Server) []string {
		var jwks struct {
			Keys []struct {
				Kid, Alg, Kty, Crv, X string
			}
		}
		r := s.NewClient(t).Get(globex, "/.well-known/jwks.json")
		mustJSON(t, "JWKS", r, http.StatusOK, &jwks)
		if !strings.Contains(r.Header.Get("Cache-Control"), "max-age=") {
			t.Errorf("JWKS Cache-Control %q", r.Header.Get("Cache-Control"))
		}
		var out []string
		for _, k := range jwks.Keys {
			if k.Alg != "EdDSA" || k.Kty != "OKP" || k.Crv != "Ed25519" || k.X == "" {
				t.Errorf("JWK %+v", k)
			}
			out = append(out, k.Kid)
		}
		return out
	}
	old := demoToken(t, srv)
	first := kids(srv)
	if len(first) != 1 {
		t.Fatalf("JWKS before rotation: %v", first)
	}
	mustJSON(t, "a token of the first instance on the second", bearerGet(other.NewClient(t), acme, "/api/v1/users", old), http.StatusOK, nil)

	key, _ := (config.Config{TokenKey: testserver.TokenKey}).TokenSealKey()
	if err := cli.Keys(context.Background(), srv.DB, key, io.Discard, []string{"rotate"}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "both instances publish both keys", func() bool { return len(kids(srv)) == 2 && len(kids(other)) == 2 })
	mustJSON(t, "a token of the old key after rotation", bearerGet(c, acme, "/api/v1/users", old), http.StatusOK, nil)
	fresh := demoToken(t, srv)
	header, _ := base64.RawURLEncoding.DecodeString(strings.Split(fresh, ".")[0])
	if strings.Contains(string(header), first[0]) {
		t.Fatalf("a token after rotation is signed by the old key: %s", header)
	}
	mustJSON(t, "a token of the new key on the second instance", bearerGet(other.NewClient(t), acme, "/api/v1/users", fresh), http.StatusOK, nil)

	// A restart keeps the keys: the token still verifies.
	srv.Restart(t)
	mustJSON(t, "after a restart", bearerGet(c, acme, "/api/v1/users", fresh), http.StatusOK, nil)

	// Once every token of the old key has expired, it leaves the JWKS.
	offset.Store(int64(auth.KeyGrace + time.Minute))
	for _, s := range []*testserver.Server{srv, other} {
		if ks := kids(s); len(ks) != 1 || ks[0] == first[0] {
			t.Errorf("JWKS after the old key's grace: %v (old %s)", ks, first[0])
		}
	}
	wantStatus(t, "the old token, expired", bearerGet(c, acme, "/api/v1/users", old), http.StatusUnauthorized)
	mustJSON(t, "a new token later", bearerGet(c, acme, "/api/v1/users", demoToken(t, srv)), http.StatusOK, nil)
}

// testserverDB is a fresh database with the demo tenants, for servers
// started with their own configuration.
func testserverDB(t *testing.T) *database.DB {
	t.Helper()
	db := testdb.New(t)
	if _, err := seed.Demo(context.Background(), db); err != nil {
		t.Fatal(err)
	}
	return db
}

// TestAPIWithoutATokenKey: a server started without TOKEN_KEY issues no
// access tokens (503 saying why), publishes no keys, and the admin's
// credentials page says so; the rest of the site works.
func TestAPIWithoutATokenKey(t *testing.T) {
	t.Parallel()
	srv := testserver.StartWith(t, testserverDB(t), func(c *config.Config) { c.TokenKey = "" })
	c := srv.NewClient(t)
	r, out := requestToken(t, c, acme, url.Values{"grant_type": {"client_credentials"}, "client_id": {seed.DemoAPIClientID}, "client_secret": {seed.DemoAPIClientSecret}})
	if r.Status != http.StatusServiceUnavailable || out.Error != "temporarily_unavailable" || !strings.Contains(r.Body, "TOKEN_KEY") {
		t.Errorf("token without TOKEN_KEY: %d %s, want 503 naming TOKEN_KEY", r.Status, r.Body)
	}
	if r := c.Get(acme, "/.well-known/jwks.json"); r.Status != http.StatusOK || strings.TrimSpace(r.Body) != `{"keys":[]}` {
		t.Errorf("JWKS without TOKEN_KEY: %d %s, want an empty key list", r.Status, r.Body)
	}
	admin := srv.NewClient(t)
	admin.Login(acme, "admin@acme.test")
	r = admin.Get(acme, "/admin/credentials")
	if r.Status != http.StatusOK {
		t.Fatalf("credentials page: %d", r.Status)
	}
	mustContain(t, "credentials page without TOKEN_KEY", r.Body, "This server has no TOKEN_KEY, so it cannot issue access tokens yet")
}
