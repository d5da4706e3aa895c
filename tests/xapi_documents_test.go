package tests

import (
	"crypto/sha1"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/learnlens/learnlens/config"
	"github.com/learnlens/learnlens/tests/testserver"
)

// The xAPI 1.0.3 document resources (Communication 2.2–2.7), the
// Activities and Agents resources, HEAD (1.1), concurrency (3.1) and
// versioning (3.3), each test named after the section it checks.

const (
	docActivity = "https://lms.acme.test/courses/security/module-1"
	docAgent    = `{"objectType":"Agent","mbox":"mailto:learner@acme.test"}`
	docReg      = "11111111-2222-4333-8444-555555555555"
)

// docPath is resource's path with the query given as name, value pairs.
func docPath(resource string, params ...string) string {
	v := url.Values{}
	for i := 0; i+1 < len(params); i += 2 {
		v.Set(params[i], params[i+1])
	}
	return "/xapi/" + resource + "?" + v.Encode()
}

func statePath(params ...string) string {
	return docPath("activities/state", append([]string{"activityId", docActivity, "agent", docAgent}, params...)...)
}

func etagOf(content string) string {
	sum := sha1.Sum([]byte(content))
	return `"` + hex.EncodeToString(sum[:]) + `"`
}

// docStep is one request of a scripted exchange and what must come back.
type docStep struct {
	name   string
	method string
	path   string
	body   string
	header []string
	status int
	want   string // the whole body, for 200s; a fragment of the error, for 4xx
}

// run sends the steps in order.
func (l *lrs) run(steps []docStep) {
	l.t.Helper()
	for _, s := range steps {
		r := l.do(s.method, s.path, s.body, s.header...)
		switch {
		case r.Status != s.status:
			l.t.Errorf("%s: %s %s: %d %s, want %d", s.name, s.method, s.path, r.Status, r.Body, s.status)
		case r.Status == http.StatusOK && s.want != "" && r.Body != s.want:
			l.t.Errorf("%s: body %s, want %s", s.name, r.Body, s.want)
		case r.Status >= 400 && !strings.Contains(r.Body, s.want):
			l.t.Errorf("%s: error %s does not say %q", s.name, r.Body, s.want)
		}
	}
}

// TestStateResource_2_3 follows Communication 2.3: single documents named
// by activity, agent, registration and stateId; the ids of a context with
// since; DELETE of one and of all.
func TestStateResource_2_3(t *testing.T) {
	t.Parallel()
	srv := testserver.Start(t)
	l := newLRS(t, srv, "acme")
	text := []string{"Content-Type", "text/plain"}
	l.run([]docStep{
		{"2.3.s3 GET of a missing document", "GET", statePath("stateId", "bookmark"), "", nil, 404, "bookmark"},
		{"2.3.s4 no ids yet", "GET", statePath(), "", nil, 200, `[]`},
		{"2.3.s3 PUT any content type", "PUT", statePath("stateId", "bookmark"), "page 7", text, 204, ""},
		{"2.3.s3 GET it back", "GET", statePath("stateId", "bookmark"), "", nil, 200, "page 7"},
		{"2.3.s3 a registration is another context", "GET", statePath("stateId", "bookmark", "registration", docReg), "", nil, 404, ""},
		{"2.3.s3 PUT under a registration", "PUT", statePath("stateId", "suspend", "registration", docReg), `{"a":1}`, nil, 204, ""},
		{"2.3.s3 PUT replaces", "PUT", statePath("stateId", "bookmark"), "page 8", text, 204, ""},
		{"2.3.s3 the replacement", "GET", statePath("stateId", "bookmark"), "", nil, 200, "page 8"},
		{"2.3.s4 ids of the activity and agent", "GET", statePath(), "", nil, 200, `["bookmark","suspend"]`},
		{"2.3.s4 ids of one registration", "GET", statePath("registration", docReg), "", nil, 200, `["suspend"]`},
		{"2.3.s4 since the future", "GET", statePath("since", time.Now().Add(time.Hour).UTC().Format(time.RFC3339)), "", nil, 200, `[]`},
		{"2.3.s4 since the past", "GET", statePath("since", "2020-01-01T00:00:00Z"), "", nil, 200, `["bookmark","suspend"]`},
		{"2.2.s7 POST merges", "POST", statePath("stateId", "suspend", "registration", docReg), `{"b":2}`, nil, 204, ""},
		{"2.2.s7 the merge", "GET", statePath("stateId", "suspend", "registration", docReg), "", nil, 200, `{"a":1,"b":2}`},
		{"2.3.s3 DELETE one", "DELETE", statePath("stateId", "bookmark"), "", nil, 204, ""},
		{"2.3.s3 it is gone", "GET", statePath("stateId", "bookmark"), "", nil, 404, ""},
		{"2.3.s3 DELETE of a missing document", "DELETE", statePath("stateId", "bookmark"), "", nil, 204, ""},
		{"2.3.s5 DELETE all of a context", "DELETE", statePath(), "", nil, 204, ""},
		{"2.3.s5 none left", "GET", statePath(), "", nil, 200, `[]`},
	})

	// What a single GET carries: the content type as stored, the SHA-1
	// ETag in quotes (3.1.s4.b2, b4) and Last-Modified (2.2.s6.b1).
	l.do("PUT", statePath("stateId", "suspend"), "cmi.suspend_data=abc", "Content-Type", "text/plain; charset=utf-8")
	r := l.do("GET", statePath("stateId", "suspend"), "")
	if ct := r.Header.Get("Content-Type"); ct != "text/plain; charset=utf-8" {
		t.Errorf("Content-Type %q, want the stored text/plain; charset=utf-8", ct)
	}
	if et := r.Header.Get("ETag"); et != etagOf("cmi.suspend_data=abc") {
		t.Errorf("ETag %q, want %q", et, etagOf("cmi.suspend_data=abc"))
	}
	if lm, err := http.ParseTime(r.Header.Get("Last-Modified")); err != nil || time.Since(lm) > time.Minute {
		t.Errorf("Last-Modified %q: %v", r.Header.Get("Last-Modified"), err)
	}
	if ids := l.do("GET", statePath(), ""); ids.Header.Get("Last-Modified") == "" {
		t.Error("2.2.s6.b2: no Last-Modified on the ids list")
	}
}

// TestDocumentMerge_2_2_s8 checks the JSON procedure on every document
// resource: POST merges top-level properties only; a document that is not
// a JSON object, on either side, is 400 and changes nothing.
func TestDocumentMerge_2_2_s8(t *testing.T) {
	t.Parallel()
	srv := testserver.Start(t)
	l := newLRS(t, srv, "acme")
	for _, path := range []string{
		statePath("stateId", "s"),
		docPath("activities/profile", "activityId", docActivity, "profileId", "p"),
		docPath("agents/profile", "agent", docAgent, "profileId", "p"),
	} {
		l.run([]docStep{
			{"2.2.s7 POST creates", "POST", path, `{"x":"foo","y":"bar","o":{"k":1}}`, nil, 204, ""},
			{"2.2.s7 POST merges one level deep", "POST", path, `{"x":"bash","z":"faz","o":{"j":2}}`, []string{"If-Match", "*"}, 204, ""},
			{"2.2.s7 the merged document", "GET", path, "", nil, 200, `{"o":{"j":2},"x":"bash","y":"bar","z":"faz"}`},
			{"2.2.s8.b1 posted array", "POST", path, `[1]`, nil, 400, "JSON object"},
			{"2.2.s8.b1 posted invalid JSON", "POST", path, `{"x":`, nil, 400, "JSON object"},
			{"2.2.s8.b1 posted other content type", "POST", path, `{"x":1}`, []string{"Content-Type", "text/plain"}, 400, "application/json"},
			{"2.2.s8.b1 unchanged", "GET", path, "", nil, 200, `{"o":{"j":2},"x":"bash","y":"bar","z":"faz"}`},
			{"replace with text", "PUT", path, "plain", []string{"Content-Type", "text/plain", "If-Match", "*"}, 204, ""},
			{"2.2.s8.b1 existing text", "POST", path, `{"x":1}`, nil, 400, "text/plain"},
			{"2.2.s8.b1 text unchanged", "GET", path, "", nil, 200, "plain"},
		})
	}
}

// TestConcurrency_3_1 checks ETag preconditions on each document resource
// and the 409 for a profile PUT without them.
func TestConcurrency_3_1(t *testing.T) {
	t.Parallel()
	srv := testserver.Start(t)
	l := newLRS(t, srv, "acme")
	v1, v2 := `{"v":1}`, `{"v":2}`
	for _, tc := range []struct {
		resource string
		path     string
		profile  bool
	}{
		{"state", statePath("stateId", "c"), false},
		{"activity profile", docPath("activities/profile", "activityId", docActivity, "profileId", "c"), true},
		{"agent profile", docPath("agents/profile", "agent", docAgent, "profileId", "c"), true},
	} {
		t.Run(tc.resource, func(t *testing.T) {
			l := &lrs{t: t, c: l.c, key: l.key, secret: l.secret}
			// A State PUT without headers replaces (3.1.s3); a profile's
			// is refused and changes nothing (3.1.s4.b13, b15).
			noHeaders, current := http.StatusNoContent, v2
			if tc.profile {
				noHeaders, current = http.StatusConflict, v1
			}
			l.run([]docStep{
				{"3.1.s4.b5 If-Match on a missing document", "PUT", tc.path, v1, []string{"If-Match", etagOf(v1)}, 412, "ETag"},
				{"create without headers", "PUT", tc.path, v1, nil, 204, ""},
				{"3.1.s4.b13 PUT without headers on an existing document", "PUT", tc.path, v2, nil, noHeaders, "If-Match"},
				{"3.1.s4.b6 If-None-Match * on an existing document", "PUT", tc.path, v2, []string{"If-None-Match", "*"}, 412, ""},
				{"3.1.s4.b5 a stale If-Match", "PUT", tc.path, v2, []string{"If-Match", etagOf(`{"v":0}`)}, 412, ""},
				{"3.1.s4.b10 only the State PUT without headers changed it", "GET", tc.path, "", nil, 200, current},
				{"3.1.s4.b5 the current If-Match", "PUT", tc.path, `{"v":3}`, []string{"If-Match", etagOf(current)}, 204, ""},
				{"3.1.s4.b7 POST with a stale If-Match", "POST", tc.path, `{"w":1}`, []string{"If-Match", etagOf(v1)}, 412, ""},
				{"3.1.s4.b8 POST with If-None-Match *", "POST", tc.path, `{"w":1}`, []string{"If-None-Match", "*"}, 412, ""},
				{"3.1.s4.b7 DELETE with a stale If-Match", "DELETE", tc.path, "", []string{"If-Match", etagOf(v1)}, 412, ""},
				{"3.1.s4.b7 DELETE with the current If-Match", "DELETE", tc.path, "", []string{"If-Match", etagOf(`{"v":3}`)}, 204, ""},
				{"3.1.s4.b6 If-None-Match * creates", "PUT", tc.path, v1, []string{"If-None-Match", "*"}, 204, ""},
			})
		})
	}
}

// TestDocumentParameters_2_3_to_2_7 checks that every parameter of the
// document, Activities and Agents resources is validated with a 400 that
// names it, and the size limit with 413.
func TestDocumentParameters_2_3_to_2_7(t *testing.T) {
	t.Parallel()
	srv := testserver.Start(t)
	l := newLRS(t, srv, "acme")
	group := `{"objectType":"Group","mbox":"mailto:team@acme.test"}`
	l.run([]docStep{
		{"2.3.s3 activityId required", "GET", docPath("activities/state", "agent", docAgent, "stateId", "s"), "", nil, 400, "activityId"},
		{"2.3.s3 activityId an IRI", "GET", docPath("activities/state", "activityId", "not an iri", "agent", docAgent), "", nil, 400, "activityId"},
		{"2.3.s3 agent required", "GET", docPath("activities/state", "activityId", docActivity), "", nil, 400, "agent"},
		{"2.3.s3 agent JSON", "GET", docPath("activities/state", "activityId", docActivity, "agent", "learner@acme.test"), "", nil, 400, "agent"},
		{"2.3.s3 agent with one identifier", "GET", docPath("activities/state", "activityId", docActivity, "agent", `{"mbox":"mailto:a@acme.test","openid":"http://a.example/"}`), "", nil, 400, "agent"},
		{"2.6.s3 agent not a Group", "GET", docPath("agents/profile", "agent", group), "", nil, 400, "not a Group"},
		{"2.3.s3 registration a UUID", "GET", statePath("registration", "nope"), "", nil, 400, "registration"},
		{"2.3.s3 stateId required to PUT", "PUT", statePath(), `{}`, nil, 400, "stateId"},
		{"2.3.s3 stateId required to POST", "POST", statePath(), `{}`, nil, 400, "stateId"},
		{"2.7.s3 profileId required to DELETE", "DELETE", docPath("activities/profile", "activityId", docActivity), "", nil, 400, "profileId"},
		{"2.3.s4 since a timestamp", "GET", statePath("since", "yesterday"), "", nil, 400, "since"},
		{"2.3.s4 since lists ids only", "GET", statePath("stateId", "s", "since", "2020-01-01T00:00:00Z"), "", nil, 400, "since"},
		{"unknown parameter", "GET", statePath("colour", "red"), "", nil, 400, "colour"},
		{"parameter names are case sensitive", "GET", docPath("activities/state", "activityid", docActivity, "agent", docAgent), "", nil, 400, "activityId"},
		{"parameter given twice", "GET", statePath() + "&stateId=a&stateId=b", "", nil, 400, "stateId"},
		{"profileId is not a state parameter", "GET", statePath("profileId", "p"), "", nil, 400, "profileId"},
		{"2.5.s1 activityId required", "GET", "/xapi/activities", "", nil, 400, "activityId"},
		{"2.4.s2 agent required", "GET", "/xapi/agents", "", nil, 400, "agent"},
		{"2.4.s2 agent not a Group", "GET", docPath("agents", "agent", group), "", nil, 400, "not a Group"},
		{"a long profileId", "PUT", docPath("agents/profile", "agent", docAgent, "profileId", strings.Repeat("p", 3000)), `{}`, nil, 400, "profileId"},
		{"a document over the size limit", "PUT", statePath("stateId", "big"), strings.Repeat("x", 2<<20+1), []string{"Content-Type", "text/plain"}, 413, "bytes"},
		{"nothing stored by any of that", "GET", statePath(), "", nil, 200, `[]`},
	})
}

// TestActivitiesResource_2_5 returns the Activity object with the newest
// definition the tenant's statements gave it, or only its id (2.5.s2.b1).
func TestActivitiesResource_2_5(t *testing.T) {
	t.Parallel()
	srv := testserver.Start(t)
	l := newLRS(t, srv, "acme")
	def := `"definition":{"name":{"en-US":"Module 1"},"type":"http://adlnet.gov/expapi/activities/module"}`
	if r := l.do("POST", "/xapi/statements", `{"actor":{"mbox":"mailto:learner@acme.test"},"verb":{"id":"http://adlnet.gov/expapi/verbs/launched"},"object":{"id":"`+docActivity+`",`+def+`}}`); r.Status != 200 {
		t.Fatalf("POST statement: %d %s", r.Status, r.Body)
	}
	l.run([]docStep{
		{"2.5.s1 a known activity", "GET", docPath("activities", "activityId", docActivity), "", nil, 200,
			`{"definition":{"name":{"en-US":"Module 1"},"type":"http://adlnet.gov/expapi/activities/module"},"id":"` + docActivity + `","objectType":"Activity"}`},
		{"2.5.s2.b1 an unknown activity", "GET", docPath("activities", "activityId", "https://lms.acme.test/none"), "", nil, 200,
			`{"id":"https://lms.acme.test/none","objectType":"Activity"}`},
	})
}

// TestAgentsResource_2_4 returns a Person object holding the agent's own
// name and identifier as arrays (2.4.s3.b3).
func TestAgentsResource_2_4(t *testing.T) {
	t.Parallel()
	srv := testserver.Start(t)
	l := newLRS(t, srv, "acme")
	l.run([]docStep{
		{"2.4.s3.b3 mbox", "GET", docPath("agents", "agent", `{"name":"Ann","mbox":"mailto:ann@acme.test"}`), "", nil, 200,
			`{"mbox":["mailto:ann@acme.test"],"name":["Ann"],"objectType":"Person"}`},
		{"2.4.s3.b3 account", "GET", docPath("agents", "agent", `{"account":{"homePage":"https://lms.acme.test","name":"42"}}`), "", nil, 200,
			`{"account":[{"homePage":"https://lms.acme.test","name":"42"}],"objectType":"Person"}`},
	})
}

// TestHEAD_1_1 checks that every resource that answers GET answers HEAD
// with the same status and headers and no body (1.1.s3.b1).
func TestHEAD_1_1(t *testing.T) {
	t.Parallel()
	srv := testserver.Start(t)
	l := newLRS(t, srv, "acme")
	l.do("PUT", statePath("stateId", "h"), "hello", "Content-Type", "text/plain")
	l.do("PUT", docPath("activities/profile", "activityId", docActivity, "profileId", "h"), `{"p":1}`)
	l.do("PUT", docPath("agents/profile", "agent", docAgent, "profileId", "h"), `{"p":1}`)
	for _, path := range []string{
		"/xapi/about",
		"/xapi/statements",
		"/xapi/statements?statementId=5d1b4b33-7c3e-4c3a-9f55-0f1e2d3c4b5a",
		statePath("stateId", "h"),
		statePath(),
		docPath("activities/profile", "activityId", docActivity, "profileId", "h"),
		docPath("activities/profile", "activityId", docActivity),
		docPath("agents/profile", "agent", docAgent, "profileId", "h"),
		docPath("agents/profile", "agent", docAgent),
		docPath("activities", "activityId", docActivity),
		docPath("agents", "agent", docAgent),
	} {
		get, head := l.do("GET", path, ""), l.do("HEAD", path, "")
		if head.Status != get.Status || head.Body != "" {
			t.Errorf("HEAD %s: %d with %d bytes of body; GET gave %d", path, head.Status, len(head.Body), get.Status)
		}
		for _, h := range []string{"Content-Type", "ETag", "Last-Modified", "X-Experience-API-Version"} {
			if head.Header.Get(h) != get.Header.Get(h) {
				t.Errorf("HEAD %s: %s %q, GET %q", path, h, head.Header.Get(h), get.Header.Get(h))
			}
		}
	}
}

// TestVersioning_3_3 accepts every 1.0.x version header and refuses
// others; About lists the versions served (2.8.s5.b1).
func TestVersioning_3_3(t *testing.T) {
	t.Parallel()
	srv := testserver.Start(t)
	l := newLRS(t, srv, "acme")
	for v, want := range map[string]int{
		"1.0.3": 200, "1.0.2": 200, "1.0.1": 200, "1.0.0": 200, "1.0": 200,
		"1.1.0": 400, "0.95": 400, "2.0.0": 400, "1.0.x": 400, "1.0.": 400, "10.0.3": 400,
	} {
		if r := l.do("GET", statePath(), "", "X-Experience-API-Version", v); r.Status != want {
			t.Errorf("version %q: %d %s, want %d", v, r.Status, r.Body, want)
		}
	}
	var about struct{ Version []string }
	r := srv.NewClient(t).Get("localhost", "/xapi/about")
	if err := json.Unmarshal([]byte(r.Body), &about); err != nil || strings.Join(about.Version, ",") != "1.0.3,1.0.2,1.0.1,1.0.0" {
		t.Errorf("about: %s", r.Body)
	}
}

// TestXAPIPathsAnsweredByTheLRS: every path under /xapi is answered by the
// LRS, in JSON, on a tenant's host too, and never by the site's session or
// CSRF middleware; browser content on another origin passes the CORS
// preflight of a State PUT and may read ETag and the consistency header.
func TestXAPIPathsAnsweredByTheLRS(t *testing.T) {
	t.Parallel()
	srv := testserver.Start(t)
	c := srv.NewClient(t)
	auth := []string{"Authorization", basic("acme-demo-key", "acme-demo-secret"), "X-Experience-API-Version", "1.0.3", "Content-Type", "application/json"}
	for _, tc := range []struct {
		method, path string
		status       int
	}{
		{"PUT", statePath("stateId", "s"), 204},
		{"POST", statePath("stateId", "s"), 204},
		{"DELETE", statePath("stateId", "s"), 204},
		{"POST", docPath("agents/profile", "agent", docAgent, "profileId", "p"), 204},
		{"DELETE", docPath("activities/profile", "activityId", docActivity, "profileId", "p"), 204},
		{"PATCH", statePath("stateId", "s"), 405},
		{"DELETE", "/xapi/statements", 405},
		{"POST", "/xapi/activities", 405},
		{"POST", "/xapi/nothing-here", 404},
		{"PUT", "/xapi/", 404},
		{"POST", "/xapi", 404},
	} {
		for _, host := range []string{"acme.localhost", "localhost"} {
			r := c.Do(tc.method, host, tc.path, strings.NewReader(`{"k":1}`), auth...)
			if r.Status != tc.status || (r.Status >= 400 && !strings.HasPrefix(r.Header.Get("Content-Type"), "application/json")) {
				t.Errorf("%s %s on %s: %d %s %.100s, want %d from the LRS", tc.method, tc.path, host, r.Status, r.Header.Get("Content-Type"), r.Body, tc.status)
			}
			if r.Header.Get("Set-Cookie") != "" {
				t.Errorf("%s %s on %s set a session cookie", tc.method, tc.path, host)
			}
		}
	}

	pre := c.Do("OPTIONS", "acme.localhost", statePath("stateId", "s"), nil,
		"Origin", "https://cdn.content.example", "Access-Control-Request-Method", "PUT",
		"Access-Control-Request-Headers", "authorization,content-type,if-match,if-none-match,x-experience-api-version")
	if pre.Status != http.StatusNoContent || pre.Header.Get("Access-Control-Allow-Origin") != "*" {
		t.Fatalf("preflight: %d %v", pre.Status, pre.Header)
	}
	for _, m := range []string{"PUT", "POST", "DELETE", "HEAD", "GET"} {
		if !strings.Contains(pre.Header.Get("Access-Control-Allow-Methods"), m) {
			t.Errorf("preflight does not allow %s: %q", m, pre.Header.Get("Access-Control-Allow-Methods"))
		}
	}
	for _, h := range []string{"Authorization", "Content-Type", "If-Match", "If-None-Match", "X-Experience-API-Version"} {
		if !strings.Contains(pre.Header.Get("Access-Control-Allow-Headers"), h) {
			t.Errorf("preflight does not allow the header %s: %q", h, pre.Header.Get("Access-Control-Allow-Headers"))
		}
	}
	get := c.Do("GET", "acme.localhost", "/xapi/statements", nil, append(auth, "Origin", "https://cdn.content.example")...)
	for _, h := range []string{"ETag", "X-Experience-API-Consistent-Through", "Last-Modified"} {
		if !strings.Contains(get.Header.Get("Access-Control-Expose-Headers"), h) {
			t.Errorf("%s is not exposed to other origins: %q", h, get.Header.Get("Access-Control-Expose-Headers"))
		}
	}
}

// TestDocumentsCrossTenant: one tenant's credential can neither read, list,
// merge into, overwrite nor delete another tenant's documents with the
// same activity, agent and ids, nor see the activity definitions of its
// statements.
func TestDocumentsCrossTenant(t *testing.T) {
	t.Parallel()
	srv := testserver.Start(t)
	acme, globex := newLRS(t, srv, "acme"), newLRS(t, srv, "globex")
	paths := []string{
		statePath("stateId", "x"),
		docPath("activities/profile", "activityId", docActivity, "profileId", "x"),
		docPath("agents/profile", "agent", docAgent, "profileId", "x"),
	}
	lists := []string{statePath(), docPath("activities/profile", "activityId", docActivity), docPath("agents/profile", "agent", docAgent)}
	for _, p := range paths {
		if r := acme.do("PUT", p, `{"owner":"acme"}`); r.Status != 204 {
			t.Fatalf("acme PUT %s: %d %s", p, r.Status, r.Body)
		}
	}
	def := `"definition":{"name":{"en-US":"Acme secret module"}}`
	acme.do("POST", "/xapi/statements", `{"actor":{"mbox":"mailto:learner@acme.test"},"verb":{"id":"http://adlnet.gov/expapi/verbs/launched"},"object":{"id":"`+docActivity+`",`+def+`}}`)

	for i, p := range paths {
		globex.run([]docStep{
			{"read", "GET", p, "", nil, 404, ""},
			{"HEAD", "HEAD", p, "", nil, 404, ""},
			{"list", "GET", lists[i], "", nil, 200, `[]`},
			{"If-Match with acme's ETag", "PUT", p, `{"owner":"globex"}`, []string{"If-Match", etagOf(`{"owner":"acme"}`)}, 412, ""},
			{"delete", "DELETE", p, "", nil, 204, ""},
			{"merge", "POST", p, `{"merged":"globex"}`, nil, 204, ""},
			{"its own document", "GET", p, "", nil, 200, `{"merged":"globex"}`},
		})
	}
	globex.run([]docStep{
		{"delete all of a context", "DELETE", statePath(), "", nil, 204, ""},
		{"activity definition", "GET", docPath("activities", "activityId", docActivity), "", nil, 200, `{"id":"` + docActivity + `","objectType":"Activity"}`},
	})
	for _, p := range paths {
		if r := acme.do("GET", p, ""); r.Status != 200 || r.Body != `{"owner":"acme"}` {
			t.Errorf("acme's document %s after globex's requests: %d %s", p, r.Status, r.Body)
		}
	}
}

// alternate sends a request in the Alternate Request Syntax: a form POST
// whose only query parameter is method.
func (l *lrs) alternate(path, method string, form url.Values) testserver.Response {
	l.t.Helper()
	return l.c.Do(http.MethodPost, "localhost", path+"?method="+method, strings.NewReader(form.Encode()),
		"Content-Type", "application/x-www-form-urlencoded")
}

// TestAlternateRequestSyntax_1_3 sends every resource's methods as form
// POSTs with the headers, parameters and content in the form, and checks
// the syntax's restrictions.
func TestAlternateRequestSyntax_1_3(t *testing.T) {
	t.Parallel()
	srv := testserver.Start(t)
	l := newLRS(t, srv, "acme")
	form := func(kv ...string) url.Values {
		v := url.Values{"Authorization": {basic(l.key, l.secret)}, "X-Experience-API-Version": {"1.0.3"}}
		for i := 0; i+1 < len(kv); i += 2 {
			v.Set(kv[i], kv[i+1])
		}
		return v
	}
	state := []string{"activityId", docActivity, "agent", docAgent, "stateId", "alt"}
	statement := stmt("", "learner@acme.test", "launched", docActivity, "2026-10-01T09:00:00Z", "")
	for _, tc := range []struct {
		name, path, method string
		form               url.Values
		status             int
		want               string // the body, for 200s; part of the error, for 4xx
	}{
		{"1.3.s3.b4 PUT with content", "/xapi/activities/state", "PUT", form(append(state, "Content-Type", "application/json", "content", `{"a":1}`)...), 204, ""},
		{"1.3.s3.b14 GET with query parameters in the form", "/xapi/activities/state", "GET", form(state...), 200, `{"a":1}`},
		{"1.3.s3.b7 If-Match from the form", "/xapi/activities/state", "POST", form(append(state, "If-Match", etagOf(`{"x":0}`), "content", `{"b":2}`)...), 412, ""},
		{"POST merge, content type application/json by default", "/xapi/activities/state", "POST", form(append(state, "content", `{"b":2}`)...), 204, ""},
		{"the merge", "/xapi/activities/state", "GET", form(state...), 200, `{"a":1,"b":2}`},
		{"HEAD", "/xapi/activities/state", "HEAD", form(state...), 200, ""},
		{"lower-case method", "/xapi/activities/state", "delete", form(state...), 204, ""},
		{"deleted", "/xapi/activities/state", "GET", form(state...), 404, ""},
		{"statements POST", "/xapi/statements", "POST", form("Content-Type", "application/json", "content", statement), 200, ""},
		{"statements GET with filters", "/xapi/statements", "GET", form("activity", docActivity, "limit", "1"), 200, ""},
		{"profile PUT", "/xapi/agents/profile", "PUT", form("agent", docAgent, "profileId", "p", "content", `{}`, "If-None-Match", "*"), 204, ""},
		{"Activities", "/xapi/activities", "GET", form("activityId", docActivity), 200, ""},
		{"1.3.s3.b6 no credential", "/xapi/activities/state", "GET", url.Values{"X-Experience-API-Version": {"1.0.3"}, "activityId": {docActivity}, "agent": {docAgent}}, 401, "HTTP Basic"},
		{"1.3.s3.b6 no version", "/xapi/activities/state", "GET", url.Values{"Authorization": {basic(l.key, l.secret)}}, 400, "X-Experience-API-Version"},
		{"an unknown method", "/xapi/activities/state", "PATCH", form(state...), 400, "method"},
		{"method in the form", "/xapi/activities/state", "POST", form(append(state, "method", "POST", "content", `{}`)...), 400, "not in its form"},
		{"a parameter of the resource is validated", "/xapi/activities/state", "GET", form("activityId", docActivity), 400, "agent"},
	} {
		r := l.alternate(tc.path, tc.method, tc.form)
		switch {
		case r.Status != tc.status:
			t.Errorf("%s: %d %s, want %d", tc.name, r.Status, r.Body, tc.status)
		case tc.status == 200 && tc.want != "" && r.Body != tc.want:
			t.Errorf("%s: body %s, want %s", tc.name, r.Body, tc.want)
		case tc.status >= 400 && !strings.Contains(r.Body, tc.want):
			t.Errorf("%s: error %s does not say %q", tc.name, r.Body, tc.want)
		}
	}

	// 1.3.s3.b3: no query parameter but method; 1.3.s3.b9: a form body.
	if r := l.c.Do("POST", "localhost", "/xapi/activities/state?method=GET&stateId=alt", strings.NewReader(form(state...).Encode()),
		"Content-Type", "application/x-www-form-urlencoded"); r.Status != 400 || !strings.Contains(r.Body, "no query parameter but method") {
		t.Errorf("another query parameter: %d %s", r.Status, r.Body)
	}
	if r := l.do("POST", "/xapi/activities/state?method=GET", `{}`); r.Status != 400 || !strings.Contains(r.Body, "x-www-form-urlencoded") {
		t.Errorf("a JSON body: %d %s", r.Status, r.Body)
	}
	// Another tenant's credential in the form reads nothing of acme's.
	l.do("PUT", statePath("stateId", "alt"), `{"owner":"acme"}`)
	globex := form(state...)
	globex.Set("Authorization", basic("globex-demo-key", "globex-demo-secret"))
	if r := l.alternate("/xapi/activities/state", "GET", globex); r.Status != 404 || strings.Contains(r.Body, "acme") {
		t.Errorf("globex's credential in the form: %d %s", r.Status, r.Body)
	}
}

// TestDocumentsUnderCredentialLimits: a credential's rate limit counts its
// requests to the document resources as to the Statement Resource.
func TestDocumentsUnderCredentialLimits(t *testing.T) {
	t.Parallel()
	srv := testserver.Start(t)
	limited := testserver.StartWith(t, srv.DB, func(cfg *config.Config) {
		cfg.XAPICredentialRate, cfg.XAPICredentialBurst = 0.5, 2
	})
	l := newLRS(t, limited, "acme")
	l.run([]docStep{
		{"within the burst", "PUT", statePath("stateId", "s"), `{}`, nil, 204, ""},
		{"within the burst", "GET", docPath("agents", "agent", docAgent), "", nil, 200, ""},
		{"beyond it", "GET", statePath("stateId", "s"), "", nil, 429, "limit"},
	})
}
