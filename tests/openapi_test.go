package tests

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pb33f/libopenapi"
	validator "github.com/pb33f/libopenapi-validator"
	validationerrors "github.com/pb33f/libopenapi-validator/errors"

	"github.com/learnlens/learnlens/generator"
	"github.com/learnlens/learnlens/pipeline"
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

// check sends method path as client c and validates the request and the
// response against the document; it returns the response.
func (d *openAPIDoc) check(t *testing.T, c *testserver.Client, method, path string) testserver.Response {
	t.Helper()
	return d.send(t, c, method, path, d.v.ValidateHttpRequestResponse)
}

// checkError sends a request the document says is wrong, and validates the
// error response against it.
func (d *openAPIDoc) checkError(t *testing.T, c *testserver.Client, method, path string) testserver.Response {
	t.Helper()
	return d.send(t, c, method, path, d.v.ValidateHttpResponse)
}

func (d *openAPIDoc) send(t *testing.T, c *testserver.Client, method, path string,
	validate func(*http.Request, *http.Response) (bool, []*validationerrors.ValidationError)) testserver.Response {
	t.Helper()
	r := c.Do(method, acme, path, nil)
	req, err := http.NewRequest(method, "http://"+acme+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Cookie", "learnlens_session="+c.SessionCookie(acme))
	resp := &http.Response{StatusCode: r.Status, Header: r.Header, Body: io.NopCloser(strings.NewReader(r.Body)), Request: req}
	if ok, errs := validate(req, resp); !ok {
		for _, e := range errs {
			t.Errorf("%s %s (%d): %v", method, path, r.Status, e)
		}
	}
	return r
}

// TestOpenAPIDescribesEveryResponse sends every documented operation, as a
// signed-in admin of the demo tenant with the ids it needs found through
// the API itself, and validates the request and the real response against
// the document; then a bad filter and an unknown id, whose error bodies
// must match the document too.
func TestOpenAPIDescribesEveryResponse(t *testing.T) {
	srv := testserver.Start(t)
	cfg := generator.Acme(time.Now().UTC().Truncate(time.Hour))
	cfg.Learners, cfg.Depth, cfg.Courses, cfg.Required, cfg.Statements = 150, 3, 8, 2, 6_000
	if _, err := generator.Populate(context.Background(), pipeline.New(srv.DB), tenantID(t, srv, "acme"), cfg); err != nil {
		t.Fatalf("populate acme: %v", err)
	}
	d := loadOpenAPI(t, srv)
	admin := srv.NewClient(t)
	admin.Login(acme, "admin@acme.test")

	// The ids drill-downs need, from the tables that list them.
	ids := map[string]string{}
	firstID := func(path, key string) string {
		r := d.check(t, admin, http.MethodGet, path)
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
	ids["course_id"] = firstID("/api/v1/dashboards/completion/courses", "course_id")
	ids["requirement_id"] = firstID("/api/v1/dashboards/compliance/requirements", "requirement_id")
	ids["team_id"] = firstID("/api/v1/dashboards/completion/teams?course_id="+ids["course_id"], "manager_id")
	ids["learner_id"] = firstID("/api/v1/dashboards/completion/learners?course_id="+ids["course_id"]+"&team_id="+ids["team_id"], "learner_id")

	checked := 0
	for _, path := range slices.Sorted(maps.Keys(d.Paths)) {
		for method, op := range d.Paths[path] {
			// Operations with a body or a path id are checked by their
			// own tests (requirements_test.go).
			if method != "get" || strings.Contains(path, "{") {
				continue
			}
			q := url.Values{}
			for _, p := range op.Parameters {
				if p.In == "query" && (p.Required || p.Name == "learner_id") {
					q.Set(p.Name, ids[p.Name])
				}
			}
			target := path
			if len(q) > 0 {
				target += "?" + q.Encode()
			}
			r := d.check(t, admin, strings.ToUpper(method), target)
			if r.Status != http.StatusOK {
				t.Errorf("%s %s: %d, want 200: %.300s", method, target, r.Status, r.Body)
			}
			checked++
		}
	}
	if checked < 25 {
		t.Fatalf("only %d operations documented", checked)
	}
	if r := d.checkError(t, admin, http.MethodGet, "/api/v1/dashboards/completion/kpis?range=fortnight"); r.Status != http.StatusBadRequest {
		t.Errorf("a bad range: %d, want 400", r.Status)
	}
	if r := d.check(t, admin, http.MethodGet, "/api/v1/dashboards/completion/teams?course_id=999999999"); r.Status != http.StatusNotFound {
		t.Errorf("an unknown course: %d, want 404", r.Status)
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
