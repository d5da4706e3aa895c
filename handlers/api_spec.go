package handlers

import (
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"reflect"
	"slices"
	"strings"
	"sync"

	"github.com/gofiber/fiber/v2"

	"github.com/learnlens/learnlens/analytics"
	"github.com/learnlens/learnlens/auth"
	"github.com/learnlens/learnlens/views/pages/apidocs"
)

// The OpenAPI 3.1 document of /api/v1, served at /api/v1/openapi.json and
// read by the docs page at /api/docs. It is built from the handlers' own
// tables: every dashboard section (jsonSections, with the Go type it
// computes) and every table is an operation of its own, and every other
// operation is listed in apiOperations below. Response schemas come from
// the Go types the handlers send (api_schema.go), so a changed type
// changes the document; tests/openapi_test.go validates real responses of
// every operation against it and fails on an /api/v1 route it lacks.

// Scopes an API client may hold (see docs/API.md).
const (
	ScopeDashboards = "dashboards:read"
	ScopeLearners   = "learners:read"
	ScopeImports    = "imports:manage"
	ScopeUsers      = "users:manage"
)

var scopeDescriptions = map[string]string{
	ScopeDashboards: "Read dashboard sections, tables, exports and the organisation tree",
	ScopeLearners:   "Read learners' records",
	ScopeImports:    "Upload imports and read their status",
	ScopeUsers:      "Read users and invite new ones",
}

// apiOperation is one documented operation.
type apiOperation struct {
	method, path string
	id, summary  string
	description  string
	tag          string
	scope        string      // the client scope it needs; "" for a public operation
	params       []apiParam  // path and query parameters
	body         *apiContent // the request body, if any
	status       int         // the success status (200 when 0)
	response     apiContent
	// sessionOnly operations are for a signed-in browser session (of a
	// tenant admin), not yet for API clients.
	sessionOnly bool
	errors      []int // error statuses besides the usual ones
}

// apiContent is a body: its media type and either the Go type it is
// (JSON) or a schema written out (anything else).
type apiContent struct {
	mediaType string
	typ       reflect.Type
	schema    map[string]any
}

func jsonOf[T any]() apiContent {
	return apiContent{mediaType: fiber.MIMEApplicationJSON, typ: reflect.TypeFor[T]()}
}

// apiParam is a path or query parameter.
type apiParam struct {
	name, in    string
	required    bool
	description string
	schema      map[string]any
}

func query(name, description string, schema map[string]any) apiParam {
	return apiParam{name: name, in: "query", description: description, schema: schema}
}

var (
	stringSchema = map[string]any{"type": "string", "maxLength": 200}
	idSchema     = map[string]any{"type": "integer", "minimum": 0}
	dateSchema   = map[string]any{"type": "string", "format": "date"}
)

// filterParams are the dashboard filters every section and table reads
// (analytics.ParseFilters).
var filterParams = []apiParam{
	query("range", "The date range: the last 7, 30 or 90 days, 12 months, or custom (from and to).",
		map[string]any{"type": "string", "enum": []string{"7d", "30d", "90d", "12m", "custom"}, "default": analytics.DefaultRange}),
	query("from", "First day of a custom range (tenant-local).", dateSchema),
	query("to", "Last day of a custom range (tenant-local).", dateSchema),
	query("department", "Only people of this department.", stringSchema),
	query("location", "Only people of this location.", stringSchema),
	query("category", "Only courses of this category.", stringSchema),
	query("manager", "Only the team (all levels) under this learner id.", idSchema),
	query("course", "Only this course id.", idSchema),
}

// tableParams sort, page and search a table.
var tableParams = []apiParam{
	query("sort", "A column key to sort by (the table's default sort when absent).", stringSchema),
	query("dir", "Sort direction.", map[string]any{"type": "string", "enum": []string{"asc", "desc"}}),
	query("page", fmt.Sprintf("Page number, from 1; a page has %d rows.", analytics.PageSize),
		map[string]any{"type": "integer", "minimum": 1, "maximum": 1_000_000}),
	query("q", "Search text, for tables that have a search box.", stringSchema),
}

// drillIDs describe the drill-down ids sections and tables take.
var drillIDs = map[string]string{
	"course_id":      "A course id (from completion/courses or assessments/courses).",
	"team_id":        "A team: its manager's learner id (from completion/teams or compliance/teams).",
	"requirement_id": "A compliance requirement id (from compliance/requirements).",
	"learner_id":     "A learner id.",
}

// tableDrillIDs are the ids each drill-down table needs; "?" marks one
// that may be left out.
var tableDrillIDs = map[string][]string{
	"completion/teams":      {"course_id"},
	"completion/learners":   {"course_id", "team_id"},
	"compliance/teams":      {"requirement_id"},
	"compliance/people":     {"requirement_id", "team_id"},
	"assessments/attempts":  {"course_id"},
	"assessments/questions": {"course_id"},
	"learner/enrollments":   {"learner_id?"},
	"learner/attempts":      {"learner_id?"},
	"learner/certificates":  {"learner_id?"},
}

func drillParamsOf(ids []string) []apiParam {
	out := make([]apiParam, len(ids))
	for i, id := range ids {
		name, optional := strings.CutSuffix(id, "?")
		out[i] = apiParam{name: name, in: "query", required: !optional, description: drillIDs[name], schema: idSchema}
	}
	return out
}

// dashboardOperations are one operation per section and table.
func dashboardOperations() []apiOperation {
	var ops []apiOperation
	add := func(id, summary, description string, data reflect.Type, params []apiParam) {
		dash, _, _ := strings.Cut(id, "/")
		ops = append(ops, apiOperation{method: http.MethodGet, path: "/api/v1/dashboards/" + id,
			id: "dashboard." + id, summary: summary, description: description, tag: "Dashboards",
			scope: ScopeDashboards, params: params, response: apiContent{mediaType: fiber.MIMEApplicationJSON, typ: data}})
		if dash == "learner" {
			ops[len(ops)-1].scope = ScopeLearners
		}
	}
	for _, id := range slices.Sorted(maps.Keys(jsonSections)) {
		s := jsonSections[id]
		params := filterParams
		if undatedSections[id] {
			params = filterParams[3:] // no range: as of today
		}
		add(id, s.summary, "", s.typ, append(slices.Clone(params), drillParamsOf(s.ids)...))
	}
	add(activitySection, "Activity now: people active in the last 15 minutes and the latest completions",
		"Wall-clock windows, not the date range; see docs/DASHBOARDS.md.", reflect.TypeFor[analytics.Activity](), filterParams[3:])
	for _, id := range analytics.TableIDs() {
		params := slices.Concat(filterParams, tableParams, drillParamsOf(tableDrillIDs[id]))
		add(id, "Table "+id+": one page", "Rows are keyed by column key; columns give each key's label and kind.",
			reflect.TypeFor[analytics.TableJSON](), params)
	}
	return ops
}

// apiOperations are the operations besides the dashboards'.
var apiOperations = []apiOperation{
	{method: http.MethodGet, path: "/api/v1/openapi.json", id: "openapi", summary: "This document", tag: "Meta",
		response: apiContent{mediaType: fiber.MIMEApplicationJSON, schema: map[string]any{"type": "object"}}},
}

// sectionEnvelope is SectionJSON with data of the section's own schema.
func sectionEnvelope(s *schemas, data reflect.Type) map[string]any {
	s.of(reflect.TypeFor[SectionJSON]()) // registers it
	schema := s.named["SectionJSON"].(map[string]any)
	props := maps.Clone(schema["properties"].(map[string]any))
	props["data"] = s.of(data)
	return map[string]any{"type": "object", "properties": props, "required": schema["required"]}
}

// openAPIDocument builds the document once.
var openAPIDocument = sync.OnceValue(func() []byte {
	s := newSchemas()
	paths := map[string]any{}
	ops := slices.Concat(dashboardOperations(), apiOperations, requirementOperations)
	for _, op := range ops {
		item, _ := paths[op.path].(map[string]any)
		if item == nil {
			item = map[string]any{}
			paths[op.path] = item
		}
		item[strings.ToLower(op.method)] = op.document(s)
	}
	delete(s.named, "SectionJSON") // inlined in each section's envelope
	s.named["Error"] = map[string]any{"type": "object", "required": []string{"error", "status"},
		"properties": map[string]any{"error": map[string]any{"type": "string"}, "status": map[string]any{"type": "integer"}}}
	doc := map[string]any{
		"openapi": "3.1.0",
		"info": map[string]any{
			"title":   "LearnLens API",
			"version": "1",
			"description": "Dashboards, learners, users, imports and compliance requirements of one tenant. " +
				"Send requests to the tenant's own host. Authenticate with an access token from /api/v1/oauth/token " +
				"(an API client created on the credentials page) or a signed-in browser session. See docs/API.md.",
		},
		"servers": []any{map[string]any{"url": "/", "description": "The tenant's host"}},
		"paths":   paths,
		"components": map[string]any{
			"schemas": s.named,
			"responses": map[string]any{
				"Error": map[string]any{"description": "An error, with a message that says what was wrong.",
					"content": map[string]any{fiber.MIMEApplicationJSON: map[string]any{"schema": map[string]any{"$ref": "#/components/schemas/Error"}}}},
			},
			"securitySchemes": map[string]any{
				"client": map[string]any{"type": "oauth2", "description": "An API client's access token (a JWT, 15 minutes), sent as Authorization: Bearer.",
					"flows": map[string]any{"clientCredentials": map[string]any{"tokenUrl": "/api/v1/oauth/token", "scopes": scopeDescriptions}}},
				"session": map[string]any{"type": "apiKey", "in": "cookie", "name": auth.CookieName,
					"description": "A signed-in browser session; the user's role decides what it sees."},
			},
		},
	}
	out, err := json.MarshalIndent(doc, "", "  ")
	if err != nil {
		panic(err)
	}
	return out
})

// document is op as an OpenAPI operation object.
func (op apiOperation) document(s *schemas) map[string]any {
	o := map[string]any{"operationId": op.id, "summary": op.summary, "tags": []string{op.tag}}
	if op.description != "" {
		o["description"] = op.description
	}
	var params []any
	for _, p := range op.params {
		pd := map[string]any{"name": p.name, "in": p.in, "schema": p.schema}
		if p.required || p.in == "path" {
			pd["required"] = true
		}
		if p.description != "" {
			pd["description"] = p.description
		}
		params = append(params, pd)
	}
	if params != nil {
		o["parameters"] = params
	}
	if op.body != nil {
		o["requestBody"] = map[string]any{"required": true, "content": map[string]any{op.body.mediaType: map[string]any{"schema": op.body.schemaIn(s)}}}
	}
	status := op.status
	if status == 0 {
		status = http.StatusOK
	}
	respSchema := op.response.schemaIn(s)
	if strings.HasPrefix(op.path, "/api/v1/dashboards/") {
		respSchema = sectionEnvelope(s, op.response.typ)
	}
	responses := map[string]any{
		fmt.Sprint(status): map[string]any{"description": http.StatusText(status),
			"content": map[string]any{op.response.mediaType: map[string]any{"schema": respSchema}}},
	}
	errRef := map[string]any{"$ref": "#/components/responses/Error"}
	for _, code := range []int{400, 404, 503} {
		responses[fmt.Sprint(code)] = errRef
	}
	switch {
	case op.scope != "":
		o["security"] = []any{map[string]any{"client": []string{op.scope}}, map[string]any{"session": []string{}}}
		for _, code := range []int{401, 403, 429} {
			responses[fmt.Sprint(code)] = errRef
		}
	case op.sessionOnly:
		o["security"] = []any{map[string]any{"session": []string{}}}
		for _, code := range []int{401, 403} {
			responses[fmt.Sprint(code)] = errRef
		}
	default:
		o["security"] = []any{}
	}
	for _, code := range op.errors {
		responses[fmt.Sprint(code)] = errRef
	}
	o["responses"] = responses
	return o
}

func (c apiContent) schemaIn(s *schemas) map[string]any {
	if c.schema != nil {
		return c.schema
	}
	return s.of(c.typ)
}

// openAPI serves the document.
func (h *Handlers) openAPI(c *fiber.Ctx) error {
	c.Set(fiber.HeaderContentType, fiber.MIMEApplicationJSONCharsetUTF8)
	c.Set(fiber.HeaderCacheControl, "public, max-age=300")
	return c.Send(openAPIDocument())
}

// apiDocs serves the API reference page. Swagger UI sets style attributes,
// so this page, which shows no tenant's data, allows them; scripts still
// load only from this origin and nothing is fetched from elsewhere.
func (h *Handlers) apiDocs(c *fiber.Ctx) error {
	c.Type("html", "utf-8")
	c.Set(fiber.HeaderCacheControl, "no-cache")
	c.Set(fiber.HeaderContentSecurityPolicy, strings.Join([]string{
		"default-src 'self'", "script-src 'self'", "style-src 'self' 'unsafe-inline'", "img-src 'self' data:",
		"connect-src 'self'", "object-src 'none'", "base-uri 'none'", "form-action 'self'", "frame-ancestors 'none'",
	}, "; "))
	return apidocs.Page().Render(c.UserContext(), c.Response().BodyWriter())
}
