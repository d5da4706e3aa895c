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
	"github.com/learnlens/learnlens/models"
	"github.com/learnlens/learnlens/pipeline"
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

// scopeSentences are the scopes with what each opens (the credentials
// page's labels).
func scopeSentences() map[string]string {
	out := map[string]string{}
	for scope, label := range scopeLabels {
		out[scope] = sentence(label)
	}
	return out
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
	envelope     bool  // response.typ is the data of a SectionJSON envelope
	errors       []int // error statuses besides the usual ones
	// oauthErrors: the 400 and 401 answers are RFC 6749 §5.2 errors
	// (TokenError), not Error.
	oauthErrors bool
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

func pathParam(name, description string, schema map[string]any) apiParam {
	return apiParam{name: name, in: "path", required: true, description: description, schema: schema}
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

// asOfParam reads the team tree as it stood at the end of a past day
// (analytics.ParseAsOf, the team page's as_of).
var asOfParam = query("as_of",
	fmt.Sprintf("A past day (tenant-local, YYYY-MM-DD, within the last %d years): the tree and its numbers as they stood at its end, from the dated roster; "+
		"a manager sees the part of the tree they managed then. Absent or today: today. A day after today, or not a date, is a 400. "+
		"The answer's date is that day and its filters carry as_of.", analytics.AsOfYears), dateSchema)

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

// dashboardOperations are one operation per section and per table (each
// table also has its exports, documented once with the table as path
// parameters).
func dashboardOperations() []apiOperation {
	var ops []apiOperation
	add := func(path, id, summary, description string, data reflect.Type, params []apiParam) {
		scope := models.ScopeDashboardsRead
		if strings.HasPrefix(id, "learner/") {
			scope = models.ScopeLearnersRead
		}
		ops = append(ops, apiOperation{method: http.MethodGet, path: path + id, id: strings.Trim(path, "/") + "." + id,
			summary: summary, description: description, tag: "Dashboards", scope: scope, params: params,
			response: apiContent{mediaType: fiber.MIMEApplicationJSON, typ: data}, envelope: true})
	}
	for _, id := range slices.Sorted(maps.Keys(jsonSections)) {
		s := jsonSections[id]
		params := filterParams
		if undatedSections[id] {
			params = filterParams[3:] // no range: as of today
		}
		params = append(slices.Clone(params), drillParamsOf(s.ids)...)
		if asOfSections[id] {
			params = append(params, asOfParam)
		}
		add("/api/v1/dashboards/", id, s.summary, "", s.typ, params)
	}
	add("/api/v1/dashboards/", activitySection, "Activity now: people active in the last 15 minutes and the latest completions",
		"Wall-clock windows, not the date range; see docs/DASHBOARDS.md.", reflect.TypeFor[analytics.Activity](), filterParams[3:])
	tableIDs := analytics.TableIDs()
	for _, id := range tableIDs {
		params := slices.Concat(filterParams, tableParams, drillParamsOf(tableDrillIDs[id]))
		add("/api/v1/tables/", id, "Table "+id+", one page",
			"Rows are keyed by column key; columns give each key's label and kind. "+
				"(Also served as /api/v1/dashboards/"+id+", as before tables had their own path.)",
			reflect.TypeFor[analytics.TableJSON](), params)
	}
	var dashes, tables []string
	for _, id := range tableIDs {
		d, t, _ := strings.Cut(id, "/")
		dashes, tables = append(dashes, d), append(tables, t)
	}
	dashes, tables = slices.Compact(slices.Sorted(slices.Values(dashes))), slices.Compact(slices.Sorted(slices.Values(tables)))
	exportParams := slices.Concat([]apiParam{
		pathParam("dash", "The dashboard of the table.", map[string]any{"type": "string", "enum": dashes}),
		pathParam("table", "The table (with dash, one of the tables above).", map[string]any{"type": "string", "enum": tables}),
	}, filterParams, tableParams[:2], []apiParam{tableParams[3]}, drillParamsOf([]string{"course_id?", "team_id?", "requirement_id?", "learner_id?"}))
	for _, ext := range []struct{ name, mediaType string }{
		{"csv", "text/csv"}, {"xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"},
	} {
		ops = append(ops, apiOperation{method: http.MethodGet, path: "/api/v1/tables/{dash}/{table}/export." + ext.name,
			id: "export." + ext.name, tag: "Dashboards", scope: models.ScopeDashboardsRead, params: exportParams,
			summary: "Every row of a table as " + strings.ToUpper(ext.name),
			description: "The table's rows in its sort order with the filters, after a heading that says what the file is, " +
				"the data's as-of time and the filters (see docs/DASHBOARDS.md, Exports). Audited.",
			response: apiContent{mediaType: ext.mediaType, schema: map[string]any{"type": "string"}}})
	}
	return ops
}

// apiOperations are the operations besides the dashboards'.
var apiOperations = []apiOperation{
	{method: http.MethodGet, path: "/api/v1/openapi.json", id: "openapi", summary: "This document", tag: "Meta",
		response: apiContent{mediaType: fiber.MIMEApplicationJSON, schema: map[string]any{"type": "object"}}},
	{method: http.MethodPost, path: "/api/v1/oauth/token", id: "oauth.token", tag: "Access", oauthErrors: true,
		summary: "An access token for an API client (OAuth 2.0 client credentials)",
		description: "RFC 6749 §4.4. Send the client's id and secret in the form or by HTTP Basic (not both). " +
			"The token is a JWT signed with EdDSA, valid for 15 minutes; its keys are at /.well-known/jwks.json. " +
			"A suspended organisation gets 403; too many wrong secrets from one address get 429 (slow_down).",
		body:     &apiContent{mediaType: fiber.MIMEApplicationForm, typ: reflect.TypeFor[TokenRequest]()},
		response: jsonOf[TokenResponse](), errors: []int{403, 429}},
	{method: http.MethodGet, path: "/api/v1/learners/{learner}", id: "learners.get", tag: "Learners", scope: models.ScopeLearnersRead,
		summary: "A learner's record: profile, courses, certificates and attempts", envelope: true,
		params:   slices.Concat([]apiParam{pathParam("learner", "The learner's id.", idSchema)}, filterParams),
		response: jsonOf[LearnerJSON]()},
	{method: http.MethodGet, path: "/api/v1/team/nodes", id: "team.nodes", tag: "Organisation", scope: models.ScopeDashboardsRead,
		summary: "The organisation tree: the top nodes the caller may see, with their numbers", envelope: true,
		params: append(slices.Clone(filterParams[3:]), asOfParam), response: jsonOf[[]analytics.TeamNode]()},
	{method: http.MethodGet, path: "/api/v1/team/nodes/{node}", id: "team.children", tag: "Organisation", scope: models.ScopeDashboardsRead,
		summary: "The people reporting to a node (solid and dotted lines), with their numbers", envelope: true,
		params:   slices.Concat([]apiParam{pathParam("node", "A learner id in the tree.", idSchema)}, filterParams[3:], []apiParam{asOfParam}),
		response: jsonOf[[]analytics.TeamNode]()},
	{method: http.MethodGet, path: "/api/v1/users", id: "users.list", tag: "Users", scope: models.ScopeUsersManage,
		summary: "The organisation's users", response: jsonOf[UsersJSON]()},
	{method: http.MethodGet, path: "/api/v1/users/{id}", id: "users.get", tag: "Users", scope: models.ScopeUsersManage,
		summary: "One user", params: []apiParam{pathParam("id", "The user's id.", idSchema)}, response: jsonOf[UserJSON]()},
	{method: http.MethodPost, path: "/api/v1/users", id: "users.invite", tag: "Users", scope: models.ScopeUsersManage,
		summary:     "Invite a user: the link they join by, shown once",
		description: "409 when the email has an account or a pending invitation here; 422 for a bad email or role.",
		body:        &apiContent{mediaType: fiber.MIMEApplicationJSON, typ: reflect.TypeFor[InviteRequest]()},
		status:      http.StatusCreated, response: jsonOf[InvitationCreated](), errors: []int{409, 422}},
	{method: http.MethodGet, path: "/api/v1/imports", id: "imports.list", tag: "Imports", scope: models.ScopeImportsManage,
		summary: "The organisation's imports, newest first, with their state and progress", response: jsonOf[ImportsJSON]()},
	{method: http.MethodGet, path: "/api/v1/imports/{id}", id: "imports.get", tag: "Imports", scope: models.ScopeImportsManage,
		summary:     "One import: its state, progress (rows_done of rows) and report by line and column",
		description: "Poll it while an import runs; a running import whose instance stopped is reported failed within 30 s.",
		params:      []apiParam{pathParam("id", "The import's id.", idSchema)}, response: jsonOf[ImportDetailJSON]()},
	{method: http.MethodPost, path: "/api/v1/imports", id: "imports.upload", tag: "Imports", scope: models.ScopeImportsManage,
		summary: "Upload and apply a CSV or XLSX file (or check it, with dry_run=true)",
		description: "Applied in one transaction within the request; the answer is its report. In all-or-nothing mode a file " +
			"with any bad row is refused whole (422). The columns each kind takes are in docs/DATA-MODEL.md. Up to 15 MB.",
		body: &apiContent{mediaType: fiber.MIMEMultipartForm, schema: map[string]any{"type": "object", "required": []string{"kind", "file"},
			"properties": map[string]any{
				"kind":    map[string]any{"type": "string", "enum": []string{"roster", "courses", "enrollments", "requirements"}},
				"mode":    map[string]any{"type": "string", "enum": []string{"valid-rows", "all-or-nothing"}, "default": "valid-rows"},
				"dry_run": map[string]any{"type": "string", "enum": []string{"true", "false"}, "default": "false"},
				"file":    map[string]any{"type": "string", "contentMediaType": "application/octet-stream"},
			}}},
		response: jsonOf[ImportResultJSON](), errors: []int{413, 422}},
	{method: http.MethodPost, path: "/api/v1/data/purge", id: "data.purge", tag: "Data rights", scope: models.ScopeDataManage,
		summary: "Purge statements before a date, or see what a purge would do (dry_run)",
		description: "By the statements' own timestamps, in the tenant's time zone; the date must be at least 30 days ago. " +
			"The answer counts what goes and the headline numbers before and after (a dry run computes them by purging " +
			"and rolling back). See docs/DATA-RIGHTS.md.",
		body: &apiContent{mediaType: fiber.MIMEApplicationJSON, typ: reflect.TypeFor[PurgeRequest]()}, response: jsonOf[pipeline.PurgeReport]()},
	{method: http.MethodGet, path: "/api/v1/usage", id: "usage", tag: "Usage", scope: models.ScopeDashboardsRead,
		summary:     "The organisation's usage per day and week",
		description: "Statements and active learners (gold), signed-in users, sign-ins, failed sign-ins and exports (audit log) per tenant-local day from `from` to `to` (at most 366 days; default the last 30), distinct people per week (Monday to Sunday) and over the range. For people, tenant admins only.",
		params:      []apiParam{query("from", "First day (tenant-local).", dateSchema), query("to", "Last day (tenant-local); default today.", dateSchema)},
		response:    jsonOf[UsageJSON]()},
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
					"flows": map[string]any{"clientCredentials": map[string]any{"tokenUrl": "/api/v1/oauth/token", "scopes": scopeSentences()}}},
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
	if op.envelope {
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
	default:
		o["security"] = []any{}
	}
	for _, code := range op.errors {
		responses[fmt.Sprint(code)] = errRef
	}
	if op.oauthErrors {
		oauth := map[string]any{"description": "An RFC 6749 §5.2 error.",
			"content": map[string]any{fiber.MIMEApplicationJSON: map[string]any{"schema": s.of(reflect.TypeFor[TokenError]())}}}
		responses["400"], responses["401"] = oauth, oauth
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
