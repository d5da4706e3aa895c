package tests

import (
	"bytes"
	"context"
	"encoding/json"
	"image"
	"image/png"
	"mime/multipart"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"gorm.io/gorm"

	"github.com/learnlens/learnlens/models"
	"github.com/learnlens/learnlens/tests/testserver"
)

// These tests cover the tenant admin's pages of issue 11: users and roles,
// xAPI credentials and settings.

func userPath(id int64, action string) string {
	return "/admin/users/" + strconv.FormatInt(id, 10) + "/" + action
}

func TestAdminChangesRolesButNeverRemovesTheLastAdmin(t *testing.T) {
	t.Parallel()
	srv := testserver.Start(t)
	admin := srv.NewClient(t)
	admin.Login(acme, "admin@acme.test")
	adminID, learnerID := userID(t, srv, "acme", "admin@acme.test"), userID(t, srv, "acme", "learner@acme.test")

	for _, role := range []string{"", "boss", models.RolePlatformAdmin} {
		r := admin.PostForm(acme, userPath(learnerID, "role"), url.Values{"role": {role}}, "HX-Request", "true")
		if r.Status != http.StatusBadRequest {
			t.Errorf("role %q: status %d, want 400", role, r.Status)
		}
		mustContain(t, "role "+role, r.Body, "Role must be one of")
	}
	r := admin.PostForm(acme, userPath(adminID, "role"), url.Values{"role": {models.RoleLearner}}, "HX-Request", "true")
	if r.Status != http.StatusConflict {
		t.Errorf("the only admin demoting themself: status %d, want 409", r.Status)
	}
	mustContain(t, "last admin", r.Body, "only active admin")
	if r := admin.PostForm(acme, userPath(adminID, "deactivate"), url.Values{}, "HX-Request", "true"); r.Status != http.StatusBadRequest {
		t.Errorf("an admin deactivating themself: status %d, want 400", r.Status)
	}

	learner := srv.NewClient(t)
	learner.Login(acme, "learner@acme.test")
	if r := learner.Get(acme, "/admin/users"); r.Status != http.StatusForbidden {
		t.Fatalf("learner on the users page: %d, want 403", r.Status)
	}
	r = admin.PostForm(acme, userPath(learnerID, "role"), url.Values{"role": {models.RoleTenantAdmin}}, "HX-Request", "true")
	if r.Status != http.StatusOK {
		t.Fatalf("promote the learner: %d %s", r.Status, r.Body)
	}
	mustContain(t, "promoted card", r.Body, `data-testid="user-role">Admin<`)
	// The promoted user's open session has the new role at its next request.
	if r := learner.Get(acme, "/admin/users"); r.Status != http.StatusOK {
		t.Errorf("promoted user on the users page: %d, want 200 at once", r.Status)
	}
	// With a second admin, the first may step down.
	if r := admin.PostForm(acme, userPath(adminID, "role"), url.Values{"role": {models.RoleAnalyst}}, "HX-Request", "true"); r.Status != http.StatusOK {
		t.Errorf("step down beside another admin: %d", r.Status)
	}
	if got := auditActions(t, srv, "acme")[models.AuditUserRole]; got != 2 {
		t.Errorf("%d role changes audited, want 2", got)
	}
}

func TestDeactivationEndsOpenSessionsAtOnce(t *testing.T) {
	t.Parallel()
	srv := testserver.Start(t)
	admin := srv.NewClient(t)
	admin.Login(acme, "admin@acme.test")
	learner := srv.NewClient(t)
	learner.Login(acme, "learner@acme.test")
	if r := learner.Get(acme, "/me"); r.Status != http.StatusOK {
		t.Fatalf("learner before: %d", r.Status)
	}
	id := userID(t, srv, "acme", "learner@acme.test")
	r := admin.PostForm(acme, userPath(id, "deactivate"), url.Values{}, "HX-Request", "true")
	if r.Status != http.StatusOK {
		t.Fatalf("deactivate: %d %s", r.Status, r.Body)
	}
	mustContain(t, "deactivated card", r.Body, "deactivated", `data-testid="reactivate"`)
	if r := learner.Get(acme, "/me"); r.Status != http.StatusSeeOther || !strings.HasPrefix(r.Header.Get("Location"), "/login") {
		t.Errorf("deactivated learner's next request: %d to %q, want 303 to sign in", r.Status, r.Header.Get("Location"))
	}
	r = learner.PostForm(acme, "/login", url.Values{"email": {"learner@acme.test"}, "password": {"learnlens-demo"}})
	if r.Status == http.StatusSeeOther {
		t.Error("a deactivated user signed in again")
	}
	if r := admin.PostForm(acme, userPath(id, "reactivate"), url.Values{}, "HX-Request", "true"); r.Status != http.StatusOK {
		t.Fatalf("reactivate: %d", r.Status)
	}
	again := srv.NewClient(t)
	again.Login(acme, "learner@acme.test")
	actions := auditActions(t, srv, "acme")
	if actions[models.AuditUserDeactivated] != 1 || actions[models.AuditUserReactivated] != 1 {
		t.Errorf("audit: %v", actions)
	}
}

func TestAdminLinksAUserToTheirLearnerRecord(t *testing.T) {
	t.Parallel()
	srv := testserver.Start(t)
	admin := srv.NewClient(t)
	admin.Login(acme, "admin@acme.test")
	acmeID := tenantID(t, srv, "acme")
	learnerUser, analystUser := userID(t, srv, "acme", "learner@acme.test"), userID(t, srv, "acme", "analyst@acme.test")
	// A person known from xAPI (the demo has no roster).
	person := struct {
		ID          int64
		Name, Email string
	}{Name: "Pat Personwright", Email: "pat.personwright@acme.test"}
	sendStatement(t, srv, person.Email, person.Name, "2026-11-10T03:00:00Z")
	err := srv.DB.Tenant(context.Background(), acmeID, func(tx *gorm.DB) error {
		return tx.Raw(`SELECT id FROM learners WHERE tenant_id = ? AND email = ?`, acmeID, person.Email).Row().Scan(&person.ID)
	})
	if err != nil {
		t.Fatalf("find the person: %v", err)
	}

	// The type-ahead finds them by part of their name, and says when
	// nobody matches.
	r := admin.Get(acme, userPath(learnerUser, "learners")+"?q="+url.QueryEscape(person.Name[1:len(person.Name)-1]), "HX-Request", "true")
	if r.Status != http.StatusOK {
		t.Fatalf("search: %d", r.Status)
	}
	mustContain(t, "search", r.Body, person.Email, `name="learner_id" value="`+strconv.FormatInt(person.ID, 10)+`"`)
	mustContain(t, "no match", admin.Get(acme, userPath(learnerUser, "learners")+"?q=zzzzqqq").Body, "Nobody matches")
	if r := admin.Get(acme, userPath(learnerUser, "learners")+"?q="+strings.Repeat("a", 101)); r.Status != http.StatusBadRequest {
		t.Errorf("a 101-character search: %d, want 400", r.Status)
	}

	for _, v := range []string{"", "abc", "-1", "999999999"} {
		r := admin.PostForm(acme, userPath(learnerUser, "learner"), url.Values{"learner_id": {v}}, "HX-Request", "true")
		if r.Status != http.StatusBadRequest {
			t.Errorf("learner_id %q: %d, want 400", v, r.Status)
		}
	}
	link := url.Values{"learner_id": {strconv.FormatInt(person.ID, 10)}}
	if r := admin.PostForm(acme, userPath(learnerUser, "learner"), link, "HX-Request", "true"); r.Status != http.StatusOK {
		t.Fatalf("link: %d %s", r.Status, r.Body)
	}
	if r := admin.PostForm(acme, userPath(analystUser, "learner"), link, "HX-Request", "true"); r.Status != http.StatusConflict {
		t.Errorf("link a second user to the same person: %d, want 409", r.Status)
	}
	// The learner's "My learning" is now that person's.
	learner := srv.NewClient(t)
	learner.Login(acme, "learner@acme.test")
	mustContain(t, "my learning after the link", learner.Get(acme, "/me").Body, person.Email)
	if r := admin.PostForm(acme, userPath(learnerUser, "learner"), url.Values{"learner_id": {"0"}}, "HX-Request", "true"); r.Status != http.StatusOK {
		t.Fatalf("unlink: %d", r.Status)
	}
	mustNotContain(t, "my learning after unlinking", learner.Get(acme, "/me").Body, person.Email)
	if got := auditActions(t, srv, "acme")[models.AuditUserLearnerLinked]; got != 2 {
		t.Errorf("%d links audited, want 2", got)
	}
}

// sendStatement stores a completion by the person with that email and
// name at timestamp, with acme's demo credential.
func sendStatement(t *testing.T, srv *testserver.Server, email, name, timestamp string) {
	t.Helper()
	r := srv.NewClient(t).Do(http.MethodPost, acme, "/xapi/statements", strings.NewReader(`{"actor":{"mbox":"mailto:`+email+`","name":"`+name+`"},
		"verb":{"id":"http://adlnet.gov/expapi/verbs/completed"},"object":{"id":"https://lms.acme.test/courses/c1"},"timestamp":"`+timestamp+`"}`),
		"Authorization", basic("acme-demo-key", "acme-demo-secret"), "X-Experience-API-Version", "1.0.3", "Content-Type", "application/json")
	if r.Status != http.StatusOK {
		t.Fatalf("store a statement: %d %s", r.Status, r.Body)
	}
}

// secretPattern finds a credential's secret on the page that shows it once.
var (
	secretPattern = regexp.MustCompile(`data-testid="secret">([^<]+)<`)
	keyPattern    = regexp.MustCompile(`data-testid="new-key">([^<]+)<`)
)

// postStatement sends one statement with a credential and returns the
// status.
func postStatement(c *testserver.Client, key, secret string) int {
	return c.Do(http.MethodPost, acme, "/xapi/statements",
		strings.NewReader(`{"actor":{"mbox":"mailto:learner@acme.test"},"verb":{"id":"http://adlnet.gov/expapi/verbs/experienced"},"object":{"id":"https://lms.acme.test/courses/c1"}}`),
		"Authorization", basic(key, secret), "X-Experience-API-Version", "1.0.3", "Content-Type", "application/json").Status
}

func TestCredentialsAreCreatedRotatedAndRevokedOnEveryInstance(t *testing.T) {
	t.Parallel()
	srv := testserver.Start(t)
	other := testserver.StartOn(t, srv.DB) // a second instance on the same database
	admin := srv.NewClient(t)
	admin.Login(acme, "admin@acme.test")
	for name, want := range map[string]string{"": "Give the credential a name", strings.Repeat("n", 101): "longer than 100"} {
		r := admin.PostForm(acme, "/admin/credentials", url.Values{"name": {name}})
		if r.Status != http.StatusBadRequest {
			t.Errorf("name %q: %d, want 400", name, r.Status)
		}
		mustContain(t, "name "+name, r.Body, want)
	}
	r := admin.PostForm(acme, "/admin/credentials", url.Values{"name": {"Moodle"}})
	if r.Status != http.StatusOK {
		t.Fatalf("create: %d", r.Status)
	}
	secret, key := secretPattern.FindStringSubmatch(r.Body), keyPattern.FindStringSubmatch(r.Body)
	if secret == nil || key == nil {
		t.Fatalf("the new secret is not shown: %s", r.Body)
	}
	mustContain(t, "snippet", r.Body, "X-Experience-API-Version: 1.0.3", "http://"+acme+":"+strconv.Itoa(srv.Port)+"/xapi/statements")
	list := admin.Get(acme, "/admin/credentials")
	mustNotContain(t, "the list", list.Body, secret[1])
	mustContain(t, "the list", list.Body, "Moodle", key[1], `data-testid="credential-last-used">never<`)

	xapiClient := srv.NewClient(t)
	otherClient := other.NewClient(t)
	for _, c := range []*testserver.Client{xapiClient, otherClient} {
		if s := postStatement(c, key[1], secret[1]); s != http.StatusOK {
			t.Fatalf("post with the new credential: %d", s)
		}
	}
	list = admin.Get(acme, "/admin/credentials")
	card := list.Body[strings.Index(list.Body, ">Moodle<"):]
	card = card[:strings.Index(card, "</li>")]
	mustContain(t, "use", card, `data-testid="credential-statements">2<`)
	mustNotContain(t, "use", card, `data-testid="credential-last-used">never<`)

	id := credentialIDByKey(t, srv, key[1])
	r = admin.PostForm(acme, "/admin/credentials/"+strconv.FormatInt(id, 10)+"/rotate", url.Values{})
	rotated := secretPattern.FindStringSubmatch(r.Body)
	if r.Status != http.StatusOK || rotated == nil || rotated[1] == secret[1] {
		t.Fatalf("rotate: %d, new secret %v", r.Status, rotated)
	}
	if s := postStatement(xapiClient, key[1], secret[1]); s != http.StatusUnauthorized {
		t.Errorf("the old secret after rotating, same instance: %d, want 401 at once", s)
	}
	waitRefused(t, otherClient, key[1], secret[1], "the old secret after rotating, other instance")
	if s := postStatement(otherClient, key[1], rotated[1]); s != http.StatusOK {
		t.Errorf("the rotated secret: %d", s)
	}
	if r := admin.PostForm(acme, "/admin/credentials/"+strconv.FormatInt(id, 10)+"/revoke", url.Values{}); r.Status != http.StatusSeeOther {
		t.Fatalf("revoke: %d", r.Status)
	}
	if s := postStatement(xapiClient, key[1], rotated[1]); s != http.StatusUnauthorized {
		t.Errorf("revoked, same instance: %d, want 401 at once", s)
	}
	waitRefused(t, otherClient, key[1], rotated[1], "revoked, other instance")
	// The list keeps it, marked revoked, with nothing left to do to it.
	card = cardOf(t, admin.Get(acme, "/admin/credentials").Body, `data-testid="credential-row"`, key[1])
	mustContain(t, "revoked card", card, ">revoked ")
	mustNotContain(t, "revoked card", card, "badge-green", `data-testid="credential-rotate"`, `data-testid="credential-revoke"`)
	if r := admin.PostForm(acme, "/admin/credentials/"+strconv.FormatInt(id, 10)+"/rotate", url.Values{}); r.Status != http.StatusNotFound {
		t.Errorf("rotate a revoked credential: %d, want 404", r.Status)
	}
	actions := auditActions(t, srv, "acme")
	for _, a := range []string{models.AuditCredentialCreated, models.AuditCredentialRotated, models.AuditCredentialRevoked} {
		if actions[a] != 1 {
			t.Errorf("audit %s: %d, want 1", a, actions[a])
		}
	}
}

// cardOf is the card (an <li> whose opening tag has marker) on a list page
// that contains text.
func cardOf(t *testing.T, page, marker, text string) string {
	t.Helper()
	at := strings.Index(page, text)
	start := strings.LastIndex(page[:max(at, 0)], marker)
	if at < 0 || start < 0 {
		t.Fatalf("no card with %q on the page", text)
	}
	card, _, _ := strings.Cut(page[start:], "</li>")
	return card
}

// waitRefused checks that another instance refuses a credential within
// the time its notification takes to arrive (well under a second).
func waitRefused(t *testing.T, c *testserver.Client, key, secret, what string) {
	t.Helper()
	deadline := time.Now().Add(time.Second)
	for postStatement(c, key, secret) != http.StatusUnauthorized {
		if time.Now().After(deadline) {
			t.Errorf("%s: still accepted after a second", what)
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func credentialIDByKey(t *testing.T, srv *testserver.Server, key string) int64 {
	t.Helper()
	var id int64
	if err := srv.DB.Platform(context.Background(), func(tx *gorm.DB) error {
		return tx.Raw(`SELECT id FROM xapi_credentials WHERE key = ?`, key).Scan(&id).Error
	}); err != nil {
		t.Fatal(err)
	}
	return id
}

func TestSettingsRefuseBadInputAndChangeTheShell(t *testing.T) {
	t.Parallel()
	srv := testserver.Start(t)
	admin := srv.NewClient(t)
	admin.Login(acme, "admin@acme.test")
	good := func() url.Values {
		return url.Values{"name": {"Acme Learning"}, "brand_color": {"#0F766E"}, "time_zone": {"America/Chicago"},
			"email_domains": {"acme.test\nacme-learning.test"}}
	}
	for _, tc := range []struct{ field, value, want string }{
		{"name", "", "Enter the name of your organisation"},
		{"name", strings.Repeat("x", 101), "longer than 100"},
		{"brand_color", "red", "must be a hex colour"},
		{"brand_color", "#12345g", "must be a hex colour"},
		{"time_zone", "Mars/Olympus", "is not a time zone"},
		{"time_zone", "", "is not a time zone"},
		// Go reads this zone's file; PostgreSQL does not know it: refused
		// before the name or domains are saved (checked below).
		{"time_zone", "right/Europe/London", "is not a time zone"},
		{"email_domains", "globex.test", "globex.test belongs to another organisation"},
		{"email_domains", "not a domain!", "is not a domain name"},
	} {
		form := good()
		form.Set(tc.field, tc.value)
		r := admin.PostForm(acme, "/admin/settings", form)
		if r.Status != http.StatusBadRequest {
			t.Errorf("%s=%q: %d, want 400", tc.field, tc.value, r.Status)
		}
		mustContain(t, tc.field+"="+tc.value, r.Body, tc.want, `data-testid="error-`+tc.field+`"`)
	}
	mustContain(t, "nothing saved", admin.Get(acme, "/").Body, "Acme Corp")

	acmeID := tenantID(t, srv, "acme")
	// 03:00 UTC is the evening before in Chicago.
	sendStatement(t, srv, "learner@acme.test", "Lee Learner", "2026-11-10T03:00:00Z")
	r := admin.PostForm(acme, "/admin/settings", good())
	if r.Status != http.StatusSeeOther || r.Header.Get("Location") != "/admin/settings?saved=1" {
		t.Fatalf("save: %d to %q: %s", r.Status, r.Header.Get("Location"), r.Body)
	}
	home := admin.Get(acme, "/")
	mustContain(t, "shell", home.Body, "Acme Learning", ":root{--brand-rgb:15 118 110}", `<meta name="theme-color" content="#0f766e">`)
	var m struct{ Name, ThemeColor string }
	manifest := admin.Get(acme, "/manifest.webmanifest")
	if r := admin.Get(acme, "/manifest.webmanifest", "If-None-Match", manifest.Header.Get("ETag")); manifest.Header.Get("ETag") == "" || r.Status != http.StatusNotModified {
		t.Errorf("manifest with its ETag: %d, want 304", r.Status)
	}
	if err := json.Unmarshal([]byte(strings.ReplaceAll(manifest.Body, "theme_color", "themecolor")), &m); err != nil || m.Name != "Acme Learning" || m.ThemeColor != "#0f766e" {
		t.Errorf("manifest: %+v %v", m, err)
	}
	// The new email domain signs in on the bare domain.
	var found int64
	srv.DB.Platform(context.Background(), func(tx *gorm.DB) error {
		return tx.Raw(`SELECT tenant_id FROM tenant_domains WHERE kind = 'email' AND domain = 'acme-learning.test'`).Scan(&found).Error
	})
	if found != acmeID {
		t.Errorf("acme-learning.test belongs to tenant %d, want acme (%d)", found, acmeID)
	}
	// Every learning event is on its day in the new time zone.
	var days, activityDays string
	srv.DB.Tenant(context.Background(), acmeID, func(tx *gorm.DB) error {
		tx.Raw(`SELECT string_agg(DISTINCT day::text, ',') FROM learning_events WHERE tenant_id = ?`, acmeID).Scan(&days)
		return tx.Raw(`SELECT string_agg(DISTINCT day::text, ',') FROM daily_activity WHERE tenant_id = ?`, acmeID).Scan(&activityDays).Error
	})
	if days != "2026-11-09" || activityDays != "2026-11-09" {
		t.Errorf("learning events on %s, daily activity on %s; want both on 2026-11-09 (Chicago)", days, activityDays)
	}
	actions := auditActions(t, srv, "acme")
	if actions[models.AuditTenantSettings] != 1 || actions[models.AuditTenantTimeZone] != 1 {
		t.Errorf("audit: %v", actions)
	}
}

// uploadLogo posts a logo file to the settings page.
func uploadLogo(t *testing.T, c *testserver.Client, filename string, data []byte) testserver.Response {
	t.Helper()
	var body bytes.Buffer
	w := multipart.NewWriter(&body)
	w.WriteField("_csrf", c.CSRF(acme))
	fw, _ := w.CreateFormFile("logo", filename)
	fw.Write(data)
	w.Close()
	return c.Do(http.MethodPost, acme, "/admin/settings/logo", &body, "Content-Type", w.FormDataContentType())
}

func TestLogoUploadIsCheckedAndServedInert(t *testing.T) {
	t.Parallel()
	srv := testserver.Start(t)
	admin := srv.NewClient(t)
	admin.Login(acme, "admin@acme.test")
	var pngBytes bytes.Buffer
	png.Encode(&pngBytes, image.NewRGBA(image.Rect(0, 0, 40, 20)))
	for _, tc := range []struct {
		name, file, want string
		data             []byte
	}{
		{"oversize", "big.png", "at most 512 KB", append(pngBytes.Bytes(), make([]byte, 600<<10)...)},
		{"not an image", "logo.png", "must be a PNG, JPEG or SVG", []byte("hello, this is text")},
		{"GIF", "logo.gif", "must be a PNG, JPEG or SVG", []byte("GIF89a\x01\x00\x01\x00\x00\x00\x00;")},
		{"SVG with script", "logo.svg", "could run script", []byte(`<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>`)},
		{"SVG with onload", "logo.svg", "could run script", []byte(`<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"><rect width="1" height="1"/></svg>`)},
		{"SVG with an external image", "logo.svg", "may only link within itself", []byte(`<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink"><image xlink:href="https://evil.example/x.png"/></svg>`)},
		{"SVG with entities", "logo.svg", "DOCTYPE", []byte(`<?xml version="1.0"?><!DOCTYPE svg [<!ENTITY x "y">]><svg xmlns="http://www.w3.org/2000/svg"></svg>`)},
		{"SVG with a javascript: style", "logo.svg", "javascript: address", []byte(`<svg xmlns="http://www.w3.org/2000/svg"><rect style="fill:url(javascript:alert(1))"/></svg>`)},
		{"SVG inside another root", "logo.svg", "root element is not &lt;svg&gt;", []byte(`<html><svg xmlns="http://www.w3.org/2000/svg"/></html>`)},
		{"SVG that is not well-formed", "logo.svg", "not well-formed XML", []byte(`<svg xmlns="http://www.w3.org/2000/svg"><rect></svg>`)},
		{"an SVG in a comment only", "logo.svg", "has no &lt;svg&gt; element", []byte(`<!-- <svg> -->`)},
	} {
		r := uploadLogo(t, admin, tc.file, tc.data)
		if r.Status != http.StatusBadRequest {
			t.Errorf("%s: %d, want 400", tc.name, r.Status)
		}
		mustContain(t, tc.name, r.Body, tc.want, `data-testid="error-logo"`)
	}
	if r := admin.PostForm(acme, "/admin/settings/logo", url.Values{}); r.Status != http.StatusBadRequest || !strings.Contains(r.Body, "Choose an image file to upload.") {
		t.Errorf("no file: %d, want 400 asking for one", r.Status)
	}
	if r := uploadLogo(t, admin, "logo.png", pngBytes.Bytes()); r.Status != http.StatusSeeOther {
		t.Fatalf("upload a PNG: %d %s", r.Status, r.Body)
	}
	src := regexp.MustCompile(`<img src="(/logo\?v=[0-9a-f]+)"[^>]*data-testid="org-logo"`).FindStringSubmatch(admin.Get(acme, "/").Body)
	if src == nil {
		t.Fatal("the shell shows no logo")
	}
	anon := srv.NewClient(t)
	r := anon.Get(acme, src[1])
	if r.Status != http.StatusOK || r.Header.Get("Content-Type") != "image/png" || r.Body != pngBytes.String() ||
		!strings.Contains(r.Header.Get("Cache-Control"), "immutable") || !strings.Contains(r.Header.Get("Content-Security-Policy"), "sandbox") {
		t.Errorf("logo: %d %v", r.Status, r.Header)
	}
	// A browser that has it asks again with its ETag: 304, no body.
	if r2 := anon.Get(acme, "/logo", "If-None-Match", r.Header.Get("ETag")); r.Header.Get("ETag") == "" || r2.Status != http.StatusNotModified || r2.Body != "" {
		t.Errorf("logo with its ETag: %d (ETag %q), want 304", r2.Status, r.Header.Get("ETag"))
	}
	if r := anon.Get(globex, "/logo"); r.Status != http.StatusNotFound {
		t.Errorf("globex's host serves a logo: %d", r.Status)
	}
	svg := `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 10 10"><circle cx="5" cy="5" r="4" fill="#0f766e"/></svg>`
	if r := uploadLogo(t, admin, "logo.svg", []byte(svg)); r.Status != http.StatusSeeOther {
		t.Fatalf("upload an SVG: %d", r.Status)
	}
	r = anon.Get(acme, "/logo")
	if r.Header.Get("Content-Type") != "image/svg+xml" || !strings.Contains(r.Header.Get("Content-Security-Policy"), "sandbox") ||
		r.Header.Get("X-Content-Type-Options") != "nosniff" {
		t.Errorf("SVG logo headers: %v", r.Header)
	}
	// The settings page shows the logo and offers to remove it; removed,
	// the shell shows none and /logo is gone.
	mustContain(t, "settings with a logo", admin.Get(acme, "/admin/settings").Body, `data-testid="logo-preview"`, "Remove logo")
	r = admin.PostForm(acme, "/admin/settings/logo/remove", url.Values{})
	if r.Status != http.StatusSeeOther || r.Header.Get("Location") != "/admin/settings?saved=1" {
		t.Fatalf("remove the logo: %d to %q", r.Status, r.Header.Get("Location"))
	}
	page := admin.Get(acme, "/admin/settings?saved=1").Body
	mustContain(t, "settings after removing the logo", page, `data-testid="saved"`, "Settings saved.")
	mustNotContain(t, "settings after removing the logo", page, `data-testid="logo-preview"`, "Remove logo", `data-testid="org-logo"`)
	if r := anon.Get(acme, "/logo"); r.Status != http.StatusNotFound {
		t.Errorf("/logo once removed: %d, want 404", r.Status)
	}
	if got := auditActions(t, srv, "acme")[models.AuditTenantLogo]; got != 3 {
		t.Errorf("%d logo changes audited, want 3", got)
	}
}

func TestTenantAdminPagesAreForTenantAdminsOnly(t *testing.T) {
	t.Parallel()
	srv := testserver.Start(t)
	for _, email := range []string{"manager@acme.test", "analyst@acme.test", "learner@acme.test"} {
		c := srv.NewClient(t)
		c.Login(acme, email)
		for _, p := range []string{"/admin/credentials", "/admin/settings"} {
			if r := c.Get(acme, p); r.Status != http.StatusForbidden {
				t.Errorf("%s GET %s: %d, want 403", email, p, r.Status)
			}
		}
		for _, p := range []string{"/admin/credentials", "/admin/settings",
			userPath(userID(t, srv, "acme", email), "role")} {
			if r := c.PostForm(acme, p, url.Values{"name": {"x"}, "role": {"tenant_admin"}}); r.Status != http.StatusForbidden {
				t.Errorf("%s POST %s: %d, want 403", email, p, r.Status)
			}
		}
	}
}

func TestDeactivationEndsOpenLiveConnectionsAtOnce(t *testing.T) {
	t.Parallel()
	srv := testserver.Start(t) // heartbeats every 25 s: the close must not wait for one
	origin := "http://acme.localhost:" + strconv.Itoa(srv.Port)
	c, v := liveSignedIn(t, srv, acme, "analyst@acme.test")
	conn, status := dialLive(t, srv, c, acme, origin)
	if status != http.StatusSwitchingProtocols {
		t.Fatalf("dial: %d", status)
	}
	conn.subscribe("/dashboards/completion", v)
	admin := srv.NewClient(t)
	admin.Login(acme, "admin@acme.test")
	if r := admin.PostForm(acme, userPath(userID(t, srv, "acme", "analyst@acme.test"), "deactivate"), url.Values{}, "HX-Request", "true"); r.Status != http.StatusOK {
		t.Fatalf("deactivate: %d", r.Status)
	}
	deadline := time.Now().Add(3 * time.Second)
	for {
		if _, err := conn.next(time.Until(deadline)); err != nil {
			break // closed
		}
		if time.Now().After(deadline) {
			t.Fatal("a deactivated user's live connection is still open after 3 s")
		}
	}
}
