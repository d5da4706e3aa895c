package tests

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"mime/multipart"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pb33f/libopenapi"
	validator "github.com/pb33f/libopenapi-validator"
	validationerrors "github.com/pb33f/libopenapi-validator/errors"

	"github.com/learnlens/learnlens/generator"
	"github.com/learnlens/learnlens/pipeline"
	"github.com/learnlens/learnlens/seed"
	"github.com/learnlens/learnlens/tests/testserver"
)

// openAPIDoc is the served OpenAPI document, parsed, and a validator of it.
type openAPIDoc struct {
	Paths map[string]map[string]struct {
		Parameters []struct {
			Name     string `json:"name"`
			In       string `json:"in"`
			Required bool   `json:"required"`
		} `json:"parameters"`
	} `json:"paths"`
	v validator.Validator
}

func loadOpenAPI(t *testing.T, srv *testserver.Server) *openAPIDoc {
	t.Helper()
	r := srv.NewClient(t).Get(acme, "/api/v1/openapi.json")
	if r.Status != http.StatusOK || !strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") {
		t.Fatalf("GET /api/v1/openapi.json: %d %s", r.Status, r.Header.Get("Content-Type"))
	}
	var d openAPIDoc
	if err := json.Unmarshal([]byte(r.Body), &d); err != nil {
		t.Fatal(err)
	}
	doc, err := libopenapi.NewDocument([]byte(r.Body))
	if err != nil {
		t.Fatalf("the document does not parse: %v", err)
	}
	v, errs := validator.NewValidator(doc)
	if len(errs) > 0 {
		t.Fatalf("validator: %v", errs)
	}
	if ok, errs := v.ValidateDocument(); !ok {
		for _, e := range errs {
			t.Errorf("the document breaks the OpenAPI 3.1 schema: %v", e)
		}
		t.FailNow()
	}
	d.v = v
	return &d
}

// apiCall is one request to validate: as a client with a bearer token, or
// with the client's session cookie when token is "".
type apiCall struct {
	method, path string
	token        string
	body         string
	contentType  string
	header       []string
}

// check sends call as c and validates the request and the response against
// the document; it returns the response.
func (d *openAPIDoc) check(t *testing.T, c *testserver.Client, call apiCall) testserver.Response {
	t.Helper()
	return d.send(t, c, call, d.v.ValidateHttpRequestResponse)
}

// checkError sends a request the document says is wrong, and validates the
// error response against it.
func (d *openAPIDoc) checkError(t *testing.T, c *testserver.Client, call apiCall) testserver.Response {
	t.Helper()
	return d.send(t, c, call, d.v.ValidateHttpResponse)
}

func (d *openAPIDoc) send(t *testing.T, c *testserver.Client, call apiCall,
	validate func(*http.Request, *http.Response) (bool, []*validationerrors.ValidationError)) testserver.Response {
	t.Helper()
	header := slices.Clone(call.header)
	if call.token != "" {
		header = append(header, "Authorization", "Bearer "+call.token)
	}
	if call.contentType != "" {
		header = append(header, "Content-Type", call.contentType)
	}
	var body io.Reader
	if call.body != "" {
		body = strings.NewReader(call.body)
	}
	r := c.Do(call.method, acme, call.path, body, header...)
	req, err := http.NewRequest(call.method, "http://"+acme+call.path, strings.NewReader(call.body))
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	if call.token == "" {
		req.Header.Set("Cookie", "learnlens_session="+c.SessionCookie(acme))
	}
	resp := &http.Response{StatusCode: r.Status, Header: r.Header, Body: io.NopCloser(strings.NewReader(r.Body)), Request: req}
	if ok, errs := validate(req, resp); !ok {
		for _, e := range errs {
			t.Errorf("%s %s (%d): %v", call.method, call.path, r.Status, e)
		}
	}
	return r
}

// TestOpenAPIDescribesEveryResponse sends every documented operation as
// the demo API client (every scope) with the ids it needs found through
// the API itself, and validates the request and the real response against
// the document; then the same for a few as a signed-in admin, and error
// answers (a bad filter, an unknown id, a wrong secret, no token), whose
// bodies must match the document too.
func TestOpenAPIDescribesEveryResponse(t *testing.T) {
	srv := testserver.Start(t)
	cfg := generator.Acme(time.Now().UTC().Truncate(time.Hour))
	cfg.Learners, cfg.Depth, cfg.Courses, cfg.Required, cfg.Statements = 150, 3, 8, 2, 6_000
	if _, err := generator.Populate(context.Background(), pipeline.New(srv.DB), tenantID(t, srv, "acme"), cfg); err != nil {
		t.Fatalf("populate acme: %v", err)
	}
	d := loadOpenAPI(t, srv)
	c := srv.NewClient(t)
	basic := []string{"Authorization", "Basic " + base64.StdEncoding.EncodeToString([]byte(seed.DemoAPIClientID+":"+seed.DemoAPIClientSecret))}
	tokenCall := apiCall{method: http.MethodPost, path: "/api/v1/oauth/token", body: "grant_type=client_credentials",
		contentType: "application/x-www-form-urlencoded", header: basic}
	r := d.check(t, c, tokenCall)
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.Unmarshal([]byte(r.Body), &tok); err != nil || tok.AccessToken == "" {
		t.Fatalf("token: %d %s", r.Status, r.Body)
	}
	token := tok.AccessToken

	// The ids drill-downs need, from the tables that list them.
	ids := map[string]string{}
	firstOf := func(path, key string) string {
		t.Helper()
		r := d.check(t, c, apiCall{method: http.MethodGet, path: path, token: token})
		var s struct {
			Data struct {
				Rows []map[string]any `json:"rows"`
			} `json:"data"`
		}
		if err := json.Unmarshal([]byte(r.Body), &s); err != nil || len(s.Data.Rows) == 0 {
			t.Fatalf("%s: no rows to take %s from (%d): %.200s", path, key, r.Status, r.Body)
		}
		return fmt.Sprint(s.Data.Rows[0][key])
	}
	ids["course_id"] = firstOf("/api/v1/tables/completion/courses", "course_id")
	ids["requirement_id"] = firstOf("/api/v1/tables/compliance/requirements", "requirement_id")
	ids["team_id"] = firstOf("/api/v1/tables/completion/teams?course_id="+ids["course_id"], "manager_id")
	ids["learner_id"] = firstOf("/api/v1/tables/completion/learners?course_id="+ids["course_id"]+"&team_id="+ids["team_id"], "learner_id")
	// Path parameters by name.
	ids["learner"], ids["node"], ids["dash"], ids["table"] = ids["learner_id"], ids["team_id"], "completion", "courses"
	// A department of the roster, for a new requirement's audience.
	var learner struct {
		Data struct {
			Profile struct {
				Department string `json:"department"`
			} `json:"profile"`
		} `json:"data"`
	}
	r = d.check(t, c, apiCall{method: http.MethodGet, path: "/api/v1/learners/" + ids["learner"], token: token})
	if err := json.Unmarshal([]byte(r.Body), &learner); err != nil || learner.Data.Profile.Department == "" {
		t.Fatalf("a learner's department: %d %.300s", r.Status, r.Body)
	}
	department := learner.Data.Profile.Department
	// Request bodies by operation.
	var upload bytes.Buffer
	mw := multipart.NewWriter(&upload)
	mw.WriteField("kind", "roster")
	fw, _ := mw.CreateFormFile("file", "roster.csv")
	fw.Write([]byte("employee_id,email,name\nOPENAPI1,openapi-roster@acme.test,Open Api\n"))
	mw.Close()
	bodies := map[string]apiCall{
		"POST /api/v1/imports":    {body: upload.String(), contentType: mw.FormDataContentType()},
		"POST /api/v1/data/purge": {body: `{"before": "2000-01-01", "dry_run": true}`, contentType: "application/json"},
		"POST /api/v1/requirements": {body: `{"course_id": ` + ids["course_id"] + `, "audience": {"department": ` +
			strconv.Quote(department) + `}, "due_days": 30, "due_from": "assignment", "recertify_months": 12}`, contentType: "application/json"},
		"POST /api/v1/oauth/token": tokenCall,
		"POST /api/v1/users":       {body: `{"email": "openapi@acme.test", "role": "analyst"}`, contentType: "application/json"},
	}

	// {id} by path: a user, and an import made here.
	r = d.check(t, c, apiCall{method: http.MethodPost, path: "/api/v1/imports", token: token, body: bodies["POST /api/v1/imports"].body,
		contentType: bodies["POST /api/v1/imports"].contentType})
	var imp struct {
		ID int64 `json:"id"`
	}
	if err := json.Unmarshal([]byte(r.Body), &imp); err != nil || imp.ID == 0 {
		t.Fatalf("import: %d %s", r.Status, r.Body)
	}
	idOf := map[string]string{
		"/api/v1/users/{id}":        fmt.Sprint(userID(t, srv, "acme", "manager@acme.test")),
		"/api/v1/imports/{id}":      fmt.Sprint(imp.ID),
		"/api/v1/requirements/{id}": ids["requirement_id"],
	}

	pathParam := regexp.MustCompile(`\{([^}]+)\}`)
	checked := 0
	for _, path := range slices.Sorted(maps.Keys(d.Paths)) {
		for method, op := range d.Paths[path] {
			method = strings.ToUpper(method)
			q := url.Values{}
			for _, p := range op.Parameters {
				if p.In == "query" && (p.Required || p.Name == "learner_id") {
					q.Set(p.Name, ids[p.Name])
				}
			}
			target := pathParam.ReplaceAllStringFunc(path, func(m string) string {
				if m == "{id}" {
					return idOf[path]
				}
				return ids[m[1:len(m)-1]]
			})
			if len(q) > 0 {
				target += "?" + q.Encode()
			}
			call := bodies[method+" "+path]
			call.method, call.path = method, target
			if call.header == nil {
				call.token = token
			}
			r := d.check(t, c, call)
			if r.Status/100 != 2 {
				t.Errorf("%s %s: %d, want 2xx: %.300s", method, target, r.Status, r.Body)
			}
			checked++
		}
	}
	if checked < 35 {
		t.Fatalf("only %d operations documented", checked)
	}

	// A signed-in admin's session reads the same operations.
	admin := srv.NewClient(t)
	admin.Login(acme, "admin@acme.test")
	for _, path := range []string{"/api/v1/dashboards/completion/kpis", "/api/v1/tables/engagement/courses?page=1&sort=course",
		"/api/v1/learners/" + ids["learner"], "/api/v1/team/nodes", "/api/v1/users",
		"/api/v1/team/nodes?as_of=" + time.Now().UTC().AddDate(0, -1, 0).Format(time.DateOnly),
		"/api/v1/dashboards/team/nodes?as_of=" + time.Now().UTC().AddDate(0, -1, 0).Format(time.DateOnly)} {
		if r := d.check(t, admin, apiCall{method: http.MethodGet, path: path}); r.Status != http.StatusOK {
			t.Errorf("%s as the admin: %d", path, r.Status)
		}
	}

	// Errors.
	for _, e := range []struct {
		call apiCall
		want int
	}{
		{apiCall{method: http.MethodGet, path: "/api/v1/dashboards/completion/kpis?range=fortnight", token: token}, http.StatusBadRequest},
		{apiCall{method: http.MethodGet, path: "/api/v1/tables/completion/teams?course_id=999999999", token: token}, http.StatusNotFound},
		{apiCall{method: http.MethodGet, path: "/api/v1/team/nodes?as_of=" + time.Now().UTC().AddDate(0, 0, 2).Format(time.DateOnly), token: token}, http.StatusBadRequest},
		{apiCall{method: http.MethodGet, path: "/api/v1/users", token: "not-a-token"}, http.StatusUnauthorized},
		{apiCall{method: http.MethodPost, path: "/api/v1/oauth/token", body: "grant_type=client_credentials&client_id=" + seed.DemoAPIClientID +
			"&client_secret=wrong", contentType: "application/x-www-form-urlencoded"}, http.StatusUnauthorized},
		{apiCall{method: http.MethodPost, path: "/api/v1/users", token: token, body: `{"email": "x", "role": "analyst"}`, contentType: "application/json"}, http.StatusUnprocessableEntity},
	} {
		if r := d.checkError(t, c, e.call); r.Status != e.want {
			t.Errorf("%s %s: %d, want %d: %.200s", e.call.method, e.call.path, r.Status, e.want, r.Body)
		}
	}
	t.Logf("validated %d operations", checked)
}

// TestOpenAPICoversEveryRoute fails when the app serves an /api/v1 route
// the document lacks, or the document names an operation no route serves.
func TestOpenAPICoversEveryRoute(t *testing.T) {
	srv := testserver.Start(t)
	d := loadOpenAPI(t, srv)
	// A documented operation as "GET /api/v1/users/x": its {parameters} as x.
	var documented []string
	for p, ops := range d.Paths {
		for method := range ops {
			documented = append(documented, strings.ToUpper(method)+" "+regexp.MustCompile(`\{[^}]+\}`).ReplaceAllString(p, "x"))
		}
	}
	// A route as a pattern its :parameters and * match any segment of.
	var served []*regexp.Regexp
	seen := map[string]bool{}
	for _, r := range srv.App.GetRoutes(true) {
		key := r.Method + " " + r.Path
		if !strings.HasPrefix(r.Path, "/api/v1/") || r.Method == http.MethodHead || seen[key] {
			continue
		}
		seen[key] = true
		re := regexp.MustCompile("^" + regexp.MustCompile(`:[^/]+|\\\*`).ReplaceAllString(regexp.QuoteMeta(key), `[^/]+`) + "$")
		served = append(served, re)
		if !slices.ContainsFunc(documented, re.MatchString) {
			t.Errorf("%s is served but not in the OpenAPI document", key)
		}
	}
	for _, op := range documented {
		if !slices.ContainsFunc(served, func(re *regexp.Regexp) bool { return re.MatchString(op) }) {
			t.Errorf("the document has %s, which no route serves", op)
		}
	}
}
