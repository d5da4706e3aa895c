package tests

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"io"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"gorm.io/gorm"

	"github.com/learnlens/learnlens/models"
	"github.com/learnlens/learnlens/seed"
	"github.com/learnlens/learnlens/tests/testserver"
)

// access says who a route is for.
type access int

const (
	// public routes serve anyone the same thing whatever the tenant (health,
	// static files, the sign-in page).
	public access = iota
	// signedIn routes are for users of the host's tenant (with any role the
	// route's group allows) and show only that tenant's data.
	signedIn
)

// isolation declares, for every route of the app, who it is for and how to
// fill its parameters with ids of acme's objects. A route missing here fails
// TestEveryRouteIsIsolatedBetweenTenants, so each new route must declare it.
type isolation struct {
	access access
	params func(f *fixture) map[string]string
	form   func(f *fixture) url.Values // body of POST probes
	// xapi routes authenticate with a tenant's HTTP Basic credential, not a
	// session: they are probed with globex's credential and acme's ids.
	xapi  bool
	query func(f *fixture) string
	body  func(f *fixture) string
	// xapiStatuses are the statuses globex's credential may get, when not
	// the default (404 for GET, below 400 otherwise).
	xapiStatuses []int
	// echoesQuery routes repeat the query's ids in their answer (the
	// Activities resource): acme's IRI may appear, nothing else of acme.
	echoesQuery bool
	// hidden routes name one of acme's objects: globex's admin must get 404,
	// exactly as for an id that does not exist.
	hidden bool
	// own routes act on the signed-in user's own account or tenant (MFA
	// set-up, the tenant's MFA rule): globex's admin on globex's host may
	// succeed there (2xx or a redirect within the host); the other probes
	// must not, and acme's state is checked untouched below.
	own bool
	// websocket routes answer a plain GET by a user of the host with 426
	// (Upgrade Required); tests/live_test.go probes them over WebSocket.
	websocket bool
}

// fixture holds ids of acme's objects for the probes.
type fixture struct {
	acmeTenant, acmeLearner int64
	acmeStatement           string
	// acme's silver ids: the learner record and course of acmeStatement.
	acmePerson, acmeCourse int64
	acmeCredential         int64 // the id of acme's demo xAPI credential
	// acme's pending invitation.
	acmeInvitation int64
	acmeAPIClient  int64 // the id of acme's demo API client
	acmeImport     int64 // acme's staged import, with a dry run
	// acme's compliance requirement (of acmeCourse, for everyone).
	acmeRequirement int64
}

// acmeRequirementID names acme's requirement in a path.
func acmeRequirementID(f *fixture) map[string]string {
	return map[string]string{"id": f.id(f.acmeRequirement)}
}

// acmeRequirementForm is a requirement form naming acme's course.
func acmeRequirementForm(f *fixture) url.Values {
	return url.Values{"course_id": {f.id(f.acmeCourse)}, "due_days": {"30"}, "due_from": {"hire"}, "recertify_months": {"0"}}
}

// acmeImportID names acme's staged import in a path.
func acmeImportID(f *fixture) map[string]string { return map[string]string{"id": f.id(f.acmeImport)} }

// acmeUser names acme's learner user in a path.
func acmeUser(f *fixture) map[string]string { return map[string]string{"id": f.id(f.acmeLearner)} }

// acmeCredentialID names acme's demo credential in a path.
func acmeCredentialID(f *fixture) map[string]string {
	return map[string]string{"id": f.id(f.acmeCredential)}
}

// acmeAPIClientID names acme's demo API client in a path.
func acmeAPIClientID(f *fixture) map[string]string {
	return map[string]string{"id": f.id(f.acmeAPIClient)}
}

// acmePersonID names acme's learner record (silver) in a path.
func acmePersonID(f *fixture) map[string]string { return map[string]string{"id": f.id(f.acmePerson)} }

func (f *fixture) id(n int64) string { return strconv.FormatInt(n, 10) }

// acmeDrill fills a dashboard route's ids with acme's objects.
func acmeDrill(f *fixture) map[string]string {
	return map[string]string{"course": f.id(f.acmeCourse), "id": f.id(f.acmeCourse), "team": "0", "node": f.id(f.acmePerson),
		"learner": f.id(f.acmePerson), "dash": "learner", "table": "enrollments", "section": "profile"}
}

func acmeQuery(f *fixture) string {
	return "?manager=" + f.id(f.acmePerson) + "&learner_id=" + f.id(f.acmePerson)
}

// acmeAsOf is a past day for the point-in-time team view. The team page
// and its nodes are probed as of it (the as-of tree reads the roster's
// history, not today's closure); today's nodes are the same scope check as
// GET /api/v1/team/nodes/:node.
func acmeAsOf(*fixture) string {
	return "?as_of=" + time.Now().UTC().AddDate(0, 0, -7).Format(time.DateOnly)
}

func acmeAsOfQuery(f *fixture) string { return acmeQuery(f) + "&" + acmeAsOf(f)[1:] }

func acmeLearnerQuery(f *fixture) string { return "?learner_id=" + f.id(f.acmePerson) }

var routeIsolation = map[string]isolation{
	"GET /healthz":              {access: public},
	"GET /api/v1/openapi.json":  {access: public},
	"GET /api/docs":             {access: public},
	"GET /readyz":               {access: public},
	"GET /static/*":             {access: public, params: func(*fixture) map[string]string { return map[string]string{"*": "css/app.css"} }},
	"GET /sw.js":                {access: public},
	"GET /manifest.webmanifest": {access: public},
	"GET /offline.html":         {access: public},
	"GET /favicon.ico":          {access: public},
	"GET /login":                {access: public},
	"POST /login": {access: public, form: func(*fixture) url.Values {
		return url.Values{"email": {"admin@acme.test"}, "password": {seed.DemoPassword}}
	}},
	"GET /login/continue":     {access: public},
	"POST /login/ticket":      {access: public},
	"GET /login/mfa":          {access: public},
	"POST /login/mfa":         {access: public, form: func(*fixture) url.Values { return url.Values{"code": {"123456"}} }},
	"GET /account/mfa":        {access: signedIn},
	"POST /account/mfa/setup": {access: signedIn, own: true},
	"POST /account/mfa/confirm": {access: signedIn, own: true,
		form: func(*fixture) url.Values { return url.Values{"code": {"123456"}} }},
	"POST /admin/mfa-policy": {access: signedIn, own: true,
		form: func(*fixture) url.Values { return url.Values{"required": {"true"}} }},
	"POST /logout":          {access: signedIn},
	"GET /":                 {access: signedIn},
	"GET /platform/tenants": {access: signedIn},
	"POST /platform/tenants/:id/status": {access: signedIn,
		params: func(f *fixture) map[string]string {
			return map[string]string{"id": strconv.FormatInt(f.acmeTenant, 10)}
		},
		form: func(*fixture) url.Values { return url.Values{"status": {"suspended"}} }},
	"GET /admin/users": {access: signedIn},
	"POST /admin/users/:id/unlock": {access: signedIn,
		params: func(f *fixture) map[string]string {
			return map[string]string{"id": strconv.FormatInt(f.acmeLearner, 10)}
		}},
	"POST /admin/users/:id/mfa-reset": {access: signedIn, hidden: true,
		params: func(f *fixture) map[string]string {
			return map[string]string{"id": strconv.FormatInt(f.acmeLearner, 10)}
		}},
	"POST /admin/users/:id/role": {access: signedIn, hidden: true, params: acmeUser,
		form: func(*fixture) url.Values { return url.Values{"role": {"tenant_admin"}} }},
	"POST /admin/users/:id/deactivate": {access: signedIn, hidden: true, params: acmeUser},
	"POST /admin/users/:id/reactivate": {access: signedIn, hidden: true, params: acmeUser},
	"GET /admin/users/:id/learners": {access: signedIn, hidden: true, params: acmeUser,
		query: func(*fixture) string { return "?q=learner" }},
	"POST /admin/users/:id/learner": {access: signedIn, hidden: true, params: acmeUser,
		form: func(f *fixture) url.Values { return url.Values{"learner_id": {f.id(f.acmePerson)}} }},
	"GET /admin/credentials": {access: signedIn},
	"POST /admin/credentials": {access: signedIn, own: true,
		form: func(*fixture) url.Values { return url.Values{"name": {"Probe LMS"}} }},
	"POST /admin/credentials/:id/rotate": {access: signedIn, hidden: true, params: acmeCredentialID},
	"POST /admin/credentials/:id/revoke": {access: signedIn, hidden: true, params: acmeCredentialID},
	"GET /admin/settings":                {access: signedIn},
	// Globex's admin claiming acme's email domain is refused (400).
	"POST /admin/settings": {access: signedIn, own: true, form: func(*fixture) url.Values {
		return url.Values{"name": {"Probe"}, "brand_color": {"#123456"}, "time_zone": {"UTC"}, "email_domains": {"acme.test"}}
	}},
	"POST /admin/settings/logo":        {access: signedIn, own: true},
	"POST /admin/settings/logo/remove": {access: signedIn, own: true},
	// The logo is the host's tenant's own (acme has none: 404), like the
	// manifest.
	"GET /logo": {access: public},
	"POST /admin/users/:id/reset-link": {access: signedIn, hidden: true,
		params: func(f *fixture) map[string]string {
			return map[string]string{"id": strconv.FormatInt(f.acmeLearner, 10)}
		}},
	"POST /admin/invitations": {access: signedIn, own: true,
		form: func(*fixture) url.Values { return url.Values{"email": {"probe@globex.test"}, "role": {"learner"}} }},
	"POST /admin/invitations/:id/revoke": {access: signedIn, hidden: true,
		params: func(f *fixture) map[string]string { return map[string]string{"id": f.id(f.acmeInvitation)} }},
	// One-time links are for whoever holds the token; tests/platform_test.go
	// shows that another tenant's host knows none of acme's.
	"GET /invite/:token":               {access: public, params: func(*fixture) map[string]string { return map[string]string{"token": "no-such-token"} }},
	"POST /invite/:token":              {access: public, params: func(*fixture) map[string]string { return map[string]string{"token": "no-such-token"} }},
	"GET /reset/:token":                {access: public, params: func(*fixture) map[string]string { return map[string]string{"token": "no-such-token"} }},
	"POST /reset/:token":               {access: public, params: func(*fixture) map[string]string { return map[string]string{"token": "no-such-token"} }},
	"POST /support/ticket":             {access: public},
	"POST /support/end":                {access: signedIn},
	"GET /platform/tenants/export.csv": {access: signedIn},
	"GET /platform/tenants/new":        {access: signedIn},
	"POST /platform/tenants/new": {access: signedIn,
		form: func(*fixture) url.Values {
			return url.Values{"name": {"Probe"}, "slug": {"probe"}, "email_domains": {"acme.test"}, "time_zone": {"UTC"}, "admin_email": {"a@probe.test"}}
		}},
	"GET /platform/tenants/:id": {access: signedIn,
		params: func(f *fixture) map[string]string { return map[string]string{"id": f.id(f.acmeTenant)} }},
	"POST /platform/tenants/:id": {access: signedIn,
		params: func(f *fixture) map[string]string { return map[string]string{"id": f.id(f.acmeTenant)} },
		form: func(*fixture) url.Values {
			return url.Values{"name": {"Hijacked"}, "time_zone": {"UTC"}, "email_domains": {"globex.test"}}
		}},
	"POST /platform/tenants/:id/support": {access: signedIn,
		params: func(f *fixture) map[string]string { return map[string]string{"id": f.id(f.acmeTenant)} },
		form:   func(*fixture) url.Values { return url.Values{"minutes": {"30"}} }},
	"GET /admin/audit": {access: signedIn},
	// Offboarding is the platform admin's: globex's admin gets 403.
	"GET /platform/tenants/:id/archive.zip": {access: signedIn,
		params: func(f *fixture) map[string]string { return map[string]string{"id": f.id(f.acmeTenant)} }},
	"POST /platform/tenants/:id/delete": {access: signedIn,
		params: func(f *fixture) map[string]string { return map[string]string{"id": f.id(f.acmeTenant)} },
		form:   func(*fixture) url.Values { return url.Values{"confirm": {"acme"}} }},
	"GET /admin/usage":     {access: signedIn},
	"GET /admin/usage.csv": {access: signedIn},
	"GET /api/v1/usage":    {access: signedIn},
	// The filtered log's CSV: globex's admin gets globex's own log.
	"GET /admin/audit/export.csv": {access: signedIn, query: func(*fixture) string { return "?q=acme" }},
	"GET /admin/requirements":     {access: signedIn},
	"GET /admin/requirements/new": {access: signedIn},
	// Globex's admin naming acme's course is refused as bad input (422).
	"POST /admin/requirements": {access: signedIn, form: acmeRequirementForm},
	// A preview of an edit of acme's requirement is a missing requirement.
	"GET /admin/requirements/preview": {access: signedIn, hidden: true, query: func(f *fixture) string {
		v := acmeRequirementForm(f)
		v.Set("id", f.id(f.acmeRequirement))
		return "?" + v.Encode()
	}},
	"GET /admin/requirements/:id":          {access: signedIn, hidden: true, params: acmeRequirementID},
	"POST /admin/requirements/:id":         {access: signedIn, hidden: true, params: acmeRequirementID, form: acmeRequirementForm},
	"POST /admin/requirements/:id/retire":  {access: signedIn, hidden: true, params: acmeRequirementID},
	"POST /admin/requirements/:id/restore": {access: signedIn, hidden: true, params: acmeRequirementID},
	"GET /api/v1/requirements":             {access: signedIn},
	"GET /api/v1/requirements/:id":         {access: signedIn, hidden: true, params: acmeRequirementID},
	// The probe's form body is no JSON object: 400 for globex's admin.
	"POST /api/v1/requirements": {access: signedIn},
	"POST /admin/imports": {access: signedIn,
		form: func(*fixture) url.Values { return url.Values{"kind": {"roster"}} }},
	"GET /admin/imports": {access: signedIn},
	"POST /admin/imports/upload": {access: signedIn,
		form: func(*fixture) url.Values { return url.Values{"kind": {"roster"}} }},
	"GET /admin/imports/:id":            {access: signedIn, hidden: true, params: acmeImportID},
	"GET /admin/imports/:id/progress":   {access: signedIn, hidden: true, params: acmeImportID},
	"POST /admin/imports/:id/dry-run":   {access: signedIn, hidden: true, params: acmeImportID},
	"POST /admin/imports/:id/apply":     {access: signedIn, hidden: true, params: acmeImportID},
	"GET /admin/imports/:id/errors.csv": {access: signedIn, hidden: true, params: acmeImportID},
	"GET /admin/imports/:id/file":       {access: signedIn, hidden: true, params: acmeImportID},
	"GET /api/v1/imports":               {access: signedIn},
	"POST /api/v1/imports": {access: signedIn,
		form: func(*fixture) url.Values { return url.Values{"kind": {"roster"}} }},
	"GET /api/v1/imports/:id":                                 {access: signedIn, hidden: true, params: acmeImportID},
	"GET /dashboards/completion":                              {access: signedIn, query: acmeQuery, hidden: true},
	"GET /people/search":                                      {access: signedIn, query: func(*fixture) string { return "?q=Max" }},
	"GET /dashboards/engagement":                              {access: signedIn, query: acmeQuery, hidden: true},
	"GET /dashboards/compliance":                              {access: signedIn, query: acmeQuery, hidden: true},
	"GET /dashboards/assessments":                             {access: signedIn, query: acmeQuery, hidden: true},
	"GET /dashboards/team":                                    {access: signedIn, query: acmeAsOfQuery, hidden: true},
	"GET /dashboards/completion/courses/:id":                  {access: signedIn, params: acmeDrill, hidden: true},
	"GET /dashboards/completion/courses/:id/teams/:team":      {access: signedIn, params: acmeDrill, hidden: true},
	"GET /dashboards/compliance/requirements/:id":             {access: signedIn, params: acmeDrill, hidden: true},
	"GET /dashboards/compliance/requirements/:id/teams/:team": {access: signedIn, params: acmeDrill, hidden: true},
	"GET /dashboards/assessments/courses/:course":             {access: signedIn, params: acmeDrill, hidden: true},
	"GET /dashboards/team/nodes/:node":                        {access: signedIn, params: acmeDrill, query: acmeAsOf, hidden: true},
	"GET /me":                                                 {access: signedIn},
	"GET /ws":                                                 {access: signedIn, websocket: true},
	"GET /learners/:learner":                                  {access: signedIn, params: acmeDrill, hidden: true},
	"GET /tables/:dash/:table":                                {access: signedIn, params: acmeDrill, query: acmeLearnerQuery, hidden: true},
	"GET /tables/:dash/:table/export.csv":                     {access: signedIn, params: acmeDrill, query: acmeLearnerQuery, hidden: true},
	"GET /tables/:dash/:table/export.xlsx":                    {access: signedIn, params: acmeDrill, query: acmeLearnerQuery, hidden: true},
	"GET /api/v1/dashboards/:dash/:section":                   {access: signedIn, params: acmeDrill, query: acmeLearnerQuery, hidden: true},
	"GET /api/v1/dashboards/learner/:section":                 {access: signedIn, params: acmeDrill, query: acmeLearnerQuery, hidden: true},
	"GET /api/v1/tables/:dash/:table":                         {access: signedIn, params: acmeDrill, query: acmeLearnerQuery, hidden: true},
	"GET /api/v1/tables/:dash/:table/export.csv":              {access: signedIn, params: acmeDrill, query: acmeLearnerQuery, hidden: true},
	"GET /api/v1/tables/:dash/:table/export.xlsx":             {access: signedIn, params: acmeDrill, query: acmeLearnerQuery, hidden: true},
	"GET /api/v1/learners/:learner":                           {access: signedIn, params: acmeDrill, hidden: true},
	"GET /api/v1/team/nodes":                                  {access: signedIn},
	"GET /api/v1/team/nodes/:node":                            {access: signedIn, params: acmeDrill, hidden: true},
	"GET /api/v1/users":                                       {access: signedIn},
	"GET /api/v1/users/:id":                                   {access: signedIn, params: acmeUser, hidden: true},
	"POST /api/v1/users": {access: signedIn, own: true,
		form: func(*fixture) url.Values { return url.Values{"email": {"probe@globex.test"}, "role": {"learner"}} }},
	// The token endpoint answers anyone; acme's client is unknown on
	// globex's host (tests/api_test.go), and the JWKS is the platform's.
	"POST /api/v1/oauth/token": {access: public, form: func(*fixture) url.Values {
		return url.Values{"grant_type": {"client_credentials"}, "client_id": {seed.DemoAPIClientID}, "client_secret": {"wrong"}}
	}},
	"GET /.well-known/jwks.json": {access: public},
	"POST /admin/credentials/api-clients": {access: signedIn, own: true,
		form: func(*fixture) url.Values { return url.Values{"name": {"Probe BI"}, "scope": {"dashboards:read"}} }},
	"POST /admin/credentials/api-clients/:id/rotate": {access: signedIn, hidden: true, params: acmeAPIClientID},
	"POST /admin/credentials/api-clients/:id/revoke": {access: signedIn, hidden: true, params: acmeAPIClientID},
	"GET /xapi/about": {access: public},
	"GET /xapi/statements": {access: signedIn, xapi: true,
		query: func(f *fixture) string { return "?statementId=" + f.acmeStatement }},
	"POST /xapi/statements": {access: signedIn, xapi: true,
		body: func(f *fixture) string { return acmeLikeStatement(f.acmeStatement) }},
	"PUT /xapi/statements": {access: signedIn, xapi: true,
		query: func(f *fixture) string { return "?statementId=" + f.acmeStatement },
		body:  func(f *fixture) string { return acmeLikeStatement("") }},
	"GET /xapi/activities/state":      {access: signedIn, xapi: true, query: acmeDocument("activities/state")},
	"PUT /xapi/activities/state":      {access: signedIn, xapi: true, query: acmeDocument("activities/state"), body: globexDocument},
	"POST /xapi/activities/state":     {access: signedIn, xapi: true, query: acmeDocument("activities/state"), body: globexDocument},
	"DELETE /xapi/activities/state":   {access: signedIn, xapi: true, query: acmeDocument("activities/state")},
	"GET /xapi/activities/profile":    {access: signedIn, xapi: true, query: acmeDocument("activities/profile")},
	"POST /xapi/activities/profile":   {access: signedIn, xapi: true, query: acmeDocument("activities/profile"), body: globexDocument},
	"DELETE /xapi/activities/profile": {access: signedIn, xapi: true, query: acmeDocument("activities/profile")},
	"GET /xapi/agents/profile":        {access: signedIn, xapi: true, query: acmeDocument("agents/profile")},
	"POST /xapi/agents/profile":       {access: signedIn, xapi: true, query: acmeDocument("agents/profile"), body: globexDocument},
	"DELETE /xapi/agents/profile":     {access: signedIn, xapi: true, query: acmeDocument("agents/profile")},
	// A profile PUT without If-Match meets globex's own document from the
	// probe on the first host: 409, as for any existing document.
	"PUT /xapi/activities/profile": {access: signedIn, xapi: true, query: acmeDocument("activities/profile"), body: globexDocument,
		xapiStatuses: []int{http.StatusNoContent, http.StatusConflict}},
	"PUT /xapi/agents/profile": {access: signedIn, xapi: true, query: acmeDocument("agents/profile"), body: globexDocument,
		xapiStatuses: []int{http.StatusNoContent, http.StatusConflict}},
	"GET /xapi/activities": {access: signedIn, xapi: true, echoesQuery: true, xapiStatuses: []int{http.StatusOK},
		query: func(*fixture) string { return "?activityId=" + url.QueryEscape(acmeActivity) }},
	"GET /xapi/agents": {access: signedIn, xapi: true, xapiStatuses: []int{http.StatusOK},
		query: func(*fixture) string { return "?agent=" + url.QueryEscape(`{"mbox":"mailto:someone@globex.test"}`) }},
	// Data rights: globex's admin gets 404 for acme's people; the purge
	// acts on globex's own data (refused here as bad input).
	"GET /me/data.zip": {access: signedIn},
	"GET /admin/data": {access: signedIn, hidden: true,
		query: func(f *fixture) string { return "?q=Lee&person=" + f.id(f.acmePerson) }},
	"POST /admin/data/purge": {access: signedIn, own: true,
		form: func(*fixture) url.Values { return url.Values{"before": {"2000-01-01"}, "confirm": {"2000-01-01"}} }},
	"POST /api/v1/data/purge":             {access: signedIn, own: true},
	"GET /admin/people/:id/data.zip":      {access: signedIn, hidden: true, params: acmePersonID},
	"POST /admin/people/:id/pseudonymise": {access: signedIn, hidden: true, params: acmePersonID},
	"POST /admin/people/:id/erase": {access: signedIn, hidden: true, params: acmePersonID,
		form: func(*fixture) url.Values { return url.Values{"confirm": {"Lee Learner"}} }},
	// Every other path under /xapi is the LRS's 404.
	"GET /xapi/*":    {access: signedIn, xapi: true},
	"POST /xapi/*":   {access: signedIn, xapi: true, xapiStatuses: []int{http.StatusNotFound}},
	"PUT /xapi/*":    {access: signedIn, xapi: true, xapiStatuses: []int{http.StatusNotFound}},
	"DELETE /xapi/*": {access: signedIn, xapi: true, xapiStatuses: []int{http.StatusNotFound}},
	"PATCH /xapi/*":  {access: signedIn, xapi: true, xapiStatuses: []int{http.StatusNotFound}},
}

// acmeActivity is the activity of acme's statement, which defines it with
// a name only acme may see.
const acmeActivity = "https://lms.acme.test/courses/secret"

// acmeDocument is the query naming acme's document of resource (stored by
// the test with its secrets): globex's credential must not reach it.
func acmeDocument(resource string) func(*fixture) string {
	return func(*fixture) string {
		v := url.Values{"activityId": {acmeActivity}, "agent": {`{"mbox":"mailto:learner@acme.test"}`}}
		if resource == "activities/profile" {
			v.Del("agent")
		}
		if resource == "agents/profile" {
			v.Del("activityId")
		}
		id := "stateId"
		if resource != "activities/state" {
			id = "profileId"
		}
		v.Set(id, "secret")
		return "?" + v.Encode()
	}
}

func globexDocument(*fixture) string { return `{"owner":"globex"}` }

// acmeLikeStatement is a statement reusing acme's statement id, which
// globex's credential may store in globex without learning anything of acme.
func acmeLikeStatement(id string) string {
	idField := ""
	if id != "" {
		idField = `"id":"` + id + `",`
	}
	return `{` + idField + `"actor":{"mbox":"mailto:someone@globex.test"},"verb":{"id":"http://adlnet.gov/expapi/verbs/launched"},"object":{"id":"https://lms.globex.test/c"}}`
}

// acmeSecrets are strings only acme's users may see.
var acmeSecrets = []string{"admin@acme.test", "manager@acme.test", "analyst@acme.test", "learner@acme.test",
	"Ada Admin", "Max Manager", "Ana Analyst", "Lee Learner"}

// TestEveryRouteIsIsolatedBetweenTenants enumerates the app's route table
// and asks every route, with acme's object ids, as globex's admin (on
// globex's host, and with globex's session cookie on acme's host) and
// anonymously. Nothing of acme may appear and signed-in routes must refuse.
func TestEveryRouteIsIsolatedBetweenTenants(t *testing.T) {
	t.Parallel()
	srv := testserver.Start(t)
	f := &fixture{acmeTenant: tenantID(t, srv, "acme"), acmeLearner: userID(t, srv, "acme", "learner@acme.test"),
		acmeStatement: "7f7a2f0e-0d7e-4e59-9c55-7a6b2a9b1c01"}
	r := srv.NewClient(t).Do(http.MethodPut, acme, "/xapi/statements?statementId="+f.acmeStatement,
		strings.NewReader(`{"actor":{"mbox":"mailto:learner@acme.test","name":"Lee Learner"},"verb":{"id":"http://adlnet.gov/expapi/verbs/completed"},"object":{"id":"`+acmeActivity+`","definition":{"name":{"en":"Lee Learner's course"}}}}`),
		"Authorization", basic("acme-demo-key", "acme-demo-secret"), "X-Experience-API-Version", "1.0.3", "Content-Type", "application/json")
	if r.Status != http.StatusNoContent {
		t.Fatalf("store acme's statement: %d %s", r.Status, r.Body)
	}
	for _, resource := range []string{"activities/state", "activities/profile", "agents/profile"} {
		r := srv.NewClient(t).Do(http.MethodPut, acme, "/xapi/"+resource+acmeDocument(resource)(f), strings.NewReader(`{"learner":"Lee Learner"}`),
			"Authorization", basic("acme-demo-key", "acme-demo-secret"), "X-Experience-API-Version", "1.0.3", "Content-Type", "application/json")
		if r.Status != http.StatusNoContent {
			t.Fatalf("store acme's %s document: %d %s", resource, r.Status, r.Body)
		}
	}
	// Lock acme's learner, so an unlock that leaked across tenants would show.
	if err := srv.DB.Platform(context.Background(), func(tx *gorm.DB) error {
		if err := tx.Raw(`SELECT learner_id, course_id FROM learning_events WHERE tenant_id = ? AND statement_id = ?`,
			f.acmeTenant, f.acmeStatement).Row().Scan(&f.acmePerson, &f.acmeCourse); err != nil {
			return err
		}
		if err := tx.Raw(`SELECT id FROM xapi_credentials WHERE key = 'acme-demo-key'`).Row().Scan(&f.acmeCredential); err != nil {
			return err
		}
		if err := tx.Raw(`SELECT id FROM api_clients WHERE client_id = ?`, seed.DemoAPIClientID).Row().Scan(&f.acmeAPIClient); err != nil {
			return err
		}
		if err := tx.Raw(`INSERT INTO one_time_links (tenant_id, kind, token_hash, email, role, created_by, expires_at)
			VALUES (?, 'invitation', '\x00', 'invited@acme.test', 'learner', 'admin@acme.test', now() + interval '1 day') RETURNING id`,
			f.acmeTenant).Scan(&f.acmeInvitation).Error; err != nil {
			return err
		}
		if err := tx.Raw(`INSERT INTO import_jobs (tenant_id, kind, filename, mode, created_by, rows_total, content, dry_run)
			VALUES (?, 'roster', 'acme-roster.csv', 'valid-rows', 'admin@acme.test', 1, ?, ?) RETURNING id`,
			f.acmeTenant, []byte("employee_id,email,name\nA1,learner@acme.test,Lee Learner\n"),
			`{"rows":1,"errors":[{"Line":2,"Column":"email","Value":"learner@acme.test","Reason":"Lee Learner"}]}`).
			Scan(&f.acmeImport).Error; err != nil {
			return err
		}
		if err := tx.Raw(`INSERT INTO compliance_requirements (tenant_id, course_id, audience, audience_key, due_days, due_from)
			VALUES (?, ?, '{"all":true}', 'all', 30, 'hire') RETURNING id`, f.acmeTenant, f.acmeCourse).Scan(&f.acmeRequirement).Error; err != nil {
			return err
		}
		return tx.Exec(`UPDATE users SET locked_until = now() + interval '1 hour', failed_logins = 5 WHERE tenant_id = ? AND id = ?`,
			f.acmeTenant, f.acmeLearner).Error
	}); err != nil {
		t.Fatal(err)
	}

	type route struct{ method, path string }
	var routes []route
	seen := map[string]bool{}
	for _, r := range srv.App.GetRoutes(true) {
		if r.Method == http.MethodHead || r.Method == "CONNECT" || r.Method == "TRACE" || r.Method == "OPTIONS" {
			continue
		}
		key := r.Method + " " + r.Path
		if seen[key] {
			continue
		}
		seen[key] = true
		if _, ok := routeIsolation[key]; !ok {
			t.Errorf("route %s has no isolation expectation: declare it in routeIsolation (tests/crosstenant_test.go)", key)
			continue
		}
		routes = append(routes, route{r.Method, r.Path})
	}
	for key := range routeIsolation {
		if !seen[key] {
			t.Errorf("routeIsolation declares %s, which the app does not have", key)
		}
	}
	// GETs first: the POST /login probe writes acme's email into globex's
	// audit log (it was typed on globex's host), which the audit page shows.
	// The POST /login probe signs the anonymous client in to acme (it
	// types acme's admin's right password on acme's host): it and then
	// POST /logout come last, so no other probe runs signed in as acme.
	// The POST /admin/mfa-policy probe makes globex's admin set up MFA
	// before anything else, which would turn the later probes' 404s into
	// redirects: it comes after the other POSTs.
	rank := func(r route) int {
		switch {
		case r.method == http.MethodGet:
			return 0
		case r.path == "/admin/mfa-policy":
			return 2
		case r.path == "/login":
			return 3
		case r.path == "/logout":
			return 4
		}
		return 1
	}
	sort.SliceStable(routes, func(i, j int) bool { return rank(routes[i]) < rank(routes[j]) })

	globexAdmin := srv.NewClient(t)
	globexAdmin.Login(globex, "admin@globex.test")
	stolen := srv.NewClient(t)
	setCookie(stolen, srv, acme, globexAdmin.SessionCookie(globex))
	anon := srv.NewClient(t)

	globexXAPI := srv.NewClient(t)
	// Globex's API client: its token is probed on acme's host (below).
	if _, err := models.NewAPIClientStore(srv.DB).CreateWithSecret(context.Background(), tenantID(t, srv, "globex"), "Globex BI",
		"globex-probe-client", "globex-probe-secret", models.Scopes); err != nil {
		t.Fatal(err)
	}
	globexToken := clientToken(t, srv, globex, "globex-probe-client", "globex-probe-secret")
	globexBearer := srv.NewClient(t)
	for _, r := range routes {
		iso := routeIsolation[r.method+" "+r.path]
		if iso.xapi {
			probeXAPI(t, srv, f, globexXAPI, anon, r.method, r.path, iso)
			continue
		}
		path := r.path
		if iso.params != nil {
			for k, v := range iso.params(f) {
				if k == "*" {
					path = strings.Replace(path, "*", v, 1)
				} else {
					path = strings.Replace(path, ":"+k, v, 1)
				}
			}
		}
		if iso.query != nil {
			path += iso.query(f)
		}
		probes := []struct {
			who    string
			client *testserver.Client
			host   string
		}{
			{"globex admin on globex's host", globexAdmin, globex},
			{"globex admin's cookie on acme's host", stolen, acme},
			{"anonymous on acme's host", anon, acme},
			{"globex's API token on acme's host", globexBearer, acme},
		}
		for _, p := range probes {
			var resp testserver.Response
			form := url.Values{}
			var bearer []string
			if p.client == globexBearer {
				bearer = []string{"Authorization", "Bearer " + globexToken}
			}
			if r.method == http.MethodGet {
				resp = p.client.Get(p.host, path, bearer...)
			} else {
				if iso.form != nil {
					form = iso.form(f)
				}
				form.Set("_csrf", csrfOrEmpty(p.client, p.host))
				resp = p.client.PostForm(p.host, path, form, bearer...)
			}
			what := r.method + " " + path + " as " + p.who
			if resp.Status >= 500 {
				t.Errorf("%s: status %d", what, resp.Status)
			}
			// A form may echo what the prober typed; anything else of acme's is a leak.
			body := resp.Body
			for _, vs := range form {
				for _, v := range vs {
					if v != "" {
						body = strings.ReplaceAll(body, `value="`+v+`"`, "")
					}
				}
			}
			mustNotContain(t, what, body, acmeSecrets...)
			if iso.access == public {
				continue
			}
			signedInHere := p.client == globexAdmin
			if iso.hidden && signedInHere && resp.Status != http.StatusNotFound {
				t.Errorf("%s: status %d, want 404 (acme's ids must look like missing ones)", what, resp.Status)
			}
			switch {
			case resp.Status == http.StatusUnauthorized || resp.Status == http.StatusForbidden || resp.Status == http.StatusNotFound:
			case resp.Status == http.StatusSeeOther && strings.HasPrefix(resp.Header.Get("Location"), "/login"):
				if signedInHere && r.method != http.MethodPost {
					t.Errorf("%s: globex's admin was sent to sign in on their own host", what)
				}
			case resp.Status == http.StatusUpgradeRequired && signedInHere && iso.websocket:
			case resp.Status == http.StatusOK && signedInHere && r.method == http.MethodGet:
				// Globex's own page: it showed no acme data (checked above).
			case iso.own && signedInHere && (resp.Status < 300 || resp.Status == http.StatusSeeOther && strings.HasPrefix(resp.Header.Get("Location"), "/")):
				// Globex's admin acting on their own account or tenant.
			case signedInHere && r.method == http.MethodPost && resp.Status >= 400 && resp.Status < 500:
				// Globex's admin's probe form refused as bad input on
				// globex's own host (an import without a file).
			default:
				t.Errorf("%s: status %d (Location %q), want 401, 403, 404 or a redirect to sign in", what, resp.Status, resp.Header.Get("Location"))
			}
		}
	}

	// Acme's state is untouched: the learner is still locked, acme active,
	// and nobody got signed in to acme.
	var locked bool
	var status string
	srv.DB.Platform(context.Background(), func(tx *gorm.DB) error {
		tx.Raw(`SELECT locked_until > now() FROM users WHERE tenant_id = ? AND id = ?`, f.acmeTenant, f.acmeLearner).Scan(&locked)
		return tx.Raw(`SELECT status FROM tenants WHERE id = ?`, f.acmeTenant).Scan(&status).Error
	})
	if !locked || status != "active" {
		t.Errorf("probes changed acme: learner locked=%v, tenant status=%s", locked, status)
	}
	var mfaRule bool
	var mfaSecrets int64
	srv.DB.Platform(context.Background(), func(tx *gorm.DB) error {
		tx.Raw(`SELECT require_admin_mfa FROM tenants WHERE id = ?`, f.acmeTenant).Scan(&mfaRule)
		return tx.Raw(`SELECT count(*) FROM users WHERE tenant_id = ? AND totp_secret IS NOT NULL`, f.acmeTenant).Scan(&mfaSecrets).Error
	})
	var acmeName string
	var pendingInvitations int64
	srv.DB.Platform(context.Background(), func(tx *gorm.DB) error {
		tx.Raw(`SELECT name FROM tenants WHERE id = ?`, f.acmeTenant).Scan(&acmeName)
		return tx.Raw(`SELECT count(*) FROM one_time_links WHERE tenant_id = ? AND revoked_at IS NULL`, f.acmeTenant).Scan(&pendingInvitations).Error
	})
	if acmeName != "Acme Corp" || pendingInvitations != 1 {
		t.Errorf("probes changed acme: name %q, %d pending invitations", acmeName, pendingInvitations)
	}
	if mfaRule || mfaSecrets != 0 {
		t.Errorf("probes changed acme's MFA: rule %v, %d users with a TOTP key", mfaRule, mfaSecrets)
	}
	for _, resource := range []string{"activities/state", "activities/profile", "agents/profile"} {
		r := srv.NewClient(t).Do(http.MethodGet, acme, "/xapi/"+resource+acmeDocument(resource)(f), nil,
			"Authorization", basic("acme-demo-key", "acme-demo-secret"), "X-Experience-API-Version", "1.0.3")
		if r.Status != http.StatusOK || r.Body != `{"learner":"Lee Learner"}` {
			t.Errorf("acme's %s document after the probes: %d %s", resource, r.Status, r.Body)
		}
	}
	var learnerState, credentialState, tenantState string
	srv.DB.Platform(context.Background(), func(tx *gorm.DB) error {
		tx.Raw(`SELECT role || status || coalesce(learner_id::text, '-') FROM users WHERE tenant_id = ? AND id = ?`,
			f.acmeTenant, f.acmeLearner).Scan(&learnerState)
		tx.Raw(`SELECT (revoked_at IS NULL)::text || encode(secret_hash, 'hex') FROM xapi_credentials WHERE id = ?`,
			f.acmeCredential).Scan(&credentialState)
		return tx.Raw(`SELECT name || brand_color || time_zone || (SELECT string_agg(domain, ',' ORDER BY domain)
				FROM tenant_domains WHERE tenant_id = t.id AND kind = 'email') FROM tenants t WHERE id = ?`,
			f.acmeTenant).Scan(&tenantState).Error
	})
	var importState string
	srv.DB.Platform(context.Background(), func(tx *gorm.DB) error {
		return tx.Raw(`SELECT state FROM import_jobs WHERE tenant_id = ? AND id = ?`, f.acmeTenant, f.acmeImport).Scan(&importState).Error
	})
	if importState != "staged" {
		t.Errorf("probes changed acme's staged import: %s", importState)
	}
	var personState string
	srv.DB.Platform(context.Background(), func(tx *gorm.DB) error {
		return tx.Raw(`SELECT l.name || coalesce(l.pseudonym, '-') || (SELECT count(*) FROM xapi_statements s WHERE s.tenant_id = l.tenant_id AND s.id = ?)
			FROM learners l WHERE l.tenant_id = ? AND l.id = ?`, f.acmeStatement, f.acmeTenant, f.acmePerson).Scan(&personState).Error
	})
	if personState != "Lee Learner-1" {
		t.Errorf("probes changed acme's person or their statement: %q", personState)
	}
	if learnerState != "learneractive-" {
		t.Errorf("probes changed acme's learner user: %s", learnerState)
	}
	if want := "true" + hexSHA256("acme-demo-secret"); credentialState != want {
		t.Errorf("probes changed acme's credential: %s, want %s", credentialState, want)
	}
	var apiClientState string
	srv.DB.Platform(context.Background(), func(tx *gorm.DB) error {
		return tx.Raw(`SELECT (revoked_at IS NULL AND rotated_at IS NULL)::text || encode(secret_hash, 'hex') FROM api_clients WHERE id = ?`,
			f.acmeAPIClient).Scan(&apiClientState).Error
	})
	if want := "true" + hexSHA256(seed.DemoAPIClientSecret); apiClientState != want {
		t.Errorf("probes changed acme's API client: %s, want %s", apiClientState, want)
	}
	var requirementState string
	srv.DB.Platform(context.Background(), func(tx *gorm.DB) error {
		return tx.Raw(`SELECT course_id || audience_key || due_days || due_from || recertify_months || (retired_at IS NULL)
			FROM compliance_requirements WHERE tenant_id = ? AND id = ?`, f.acmeTenant, f.acmeRequirement).Scan(&requirementState).Error
	})
	if want := f.id(f.acmeCourse) + "all30hire0true"; requirementState != want {
		t.Errorf("probes changed acme's requirement: %s, want %s", requirementState, want)
	}
	if tenantState != "Acme Corp#4f46e5Europe/Londonacme.test" {
		t.Errorf("probes changed acme's settings: %s", tenantState)
	}
	for _, c := range []*testserver.Client{globexAdmin, stolen, anon} {
		if r := c.Get(acme, "/"); r.Status == http.StatusOK {
			t.Error("a probe client ended up signed in to acme")
		}
	}
}

// probeXAPI asks an xAPI route with globex's credential for acme's
// statement, and without any credential.
func probeXAPI(t *testing.T, srv *testserver.Server, f *fixture, globexClient, anon *testserver.Client, method, path string, iso isolation) {
	t.Helper()
	q, body := "", ""
	if iso.query != nil {
		q = iso.query(f)
	}
	if iso.body != nil {
		body = iso.body(f)
	}
	headers := []string{"X-Experience-API-Version", "1.0.3", "Content-Type", "application/json"}
	send := func(c *testserver.Client, host string, extra ...string) testserver.Response {
		var rd io.Reader
		if body != "" {
			rd = strings.NewReader(body)
		}
		return c.Do(method, host, path+q, rd, append(headers, extra...)...)
	}
	what := method + " " + path + q
	// Without a credential: 401, on any host.
	for _, host := range []string{acme, globex} {
		if r := send(anon, host); r.Status != http.StatusUnauthorized {
			t.Errorf("%s anonymously on %s: status %d, want 401", what, host, r.Status)
		}
	}
	// With globex's credential, even on acme's host, nothing of acme.
	for _, host := range []string{acme, globex} {
		r := send(globexClient, host, "Authorization", basic("globex-demo-key", "globex-demo-secret"))
		mustNotContain(t, what+" as globex on "+host, r.Body, acmeSecrets...)
		if !iso.echoesQuery {
			mustNotContain(t, what+" as globex on "+host, r.Body, "lms.acme.test")
		}
		switch {
		case iso.xapiStatuses != nil:
			if !slices.Contains(iso.xapiStatuses, r.Status) {
				t.Errorf("%s as globex: status %d, want one of %v (%s)", what, r.Status, iso.xapiStatuses, r.Body)
			}
		case method == http.MethodGet:
			if r.Status != http.StatusNotFound {
				t.Errorf("%s as globex: status %d, want 404 like a missing id", what, r.Status)
			}
		default:
			if r.Status >= 400 {
				t.Errorf("%s as globex: status %d; globex's own statement ids are its own (%s)", what, r.Status, r.Body)
			}
		}
	}
}

// hexSHA256 is the hex SHA-256 of s, as credentials store secrets.
func hexSHA256(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

func basic(key, secret string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(key+":"+secret))
}

// csrfOrEmpty returns the client's CSRF token on host, or "" when the host
// gives it none (then a refusal for the token is as good as any).
func csrfOrEmpty(c *testserver.Client, host string) string {
	for _, p := range []string{"/", "/login"} {
		r := c.Get(host, p)
		if m := csrfPattern.FindStringSubmatch(r.Body); m != nil {
			return m[1]
		}
	}
	return ""
}

// TestSQLInjectionCannotTurnOnPlatformAccess runs what one SQL injection
// in a tenant's transaction could: set the old platform switch, then read
// every tenant table. Acme's data (users, a stored statement and all the
// pipeline made of it) must stay invisible to globex's transaction.
func TestSQLInjectionCannotTurnOnPlatformAccess(t *testing.T) {
	t.Parallel()
	srv := testserver.Start(t)
	ctx := context.Background()
	r := srv.NewClient(t).Do(http.MethodPost, acme, "/xapi/statements",
		strings.NewReader(`{"actor":{"mbox":"mailto:learner@acme.test","name":"Lee Learner"},"verb":{"id":"http://adlnet.gov/expapi/verbs/completed"},"object":{"id":"https://lms.acme.test/courses/secret"}}`),
		"Authorization", basic("acme-demo-key", "acme-demo-secret"), "X-Experience-API-Version", "1.0.3", "Content-Type", "application/json")
	if r.Status != http.StatusOK {
		t.Fatalf("store acme's statement: %d %s", r.Status, r.Body)
	}
	acmeID, globexID := tenantID(t, srv, "acme"), tenantID(t, srv, "globex")
	var tables []string
	if err := srv.DB.Platform(ctx, func(tx *gorm.DB) error {
		return tx.Raw(`SELECT DISTINCT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
			JOIN pg_attribute a ON a.attrelid = c.oid AND a.attname = 'tenant_id' AND NOT a.attisdropped
			WHERE n.nspname = 'public' AND c.relkind = 'r' ORDER BY 1`).Scan(&tables).Error
	}); err != nil {
		t.Fatal(err)
	}
	withAcmeRows := 0
	for _, table := range tables {
		var acmeRows, seen int64
		srv.DB.Platform(ctx, func(tx *gorm.DB) error {
			return tx.Raw(`SELECT count(*) FROM `+table+` WHERE tenant_id = ?`, acmeID).Scan(&acmeRows).Error
		})
		if acmeRows > 0 {
			withAcmeRows++
		}
		err := srv.DB.Tenant(ctx, globexID, func(tx *gorm.DB) error {
			if err := tx.Exec(`SELECT set_config('app.platform', 'on', true)`).Error; err != nil {
				return err
			}
			return tx.Raw(`SELECT count(*) FROM `+table+` WHERE tenant_id <> ?`, globexID).Scan(&seen).Error
		})
		if err != nil {
			t.Fatalf("%s: %v", table, err)
		}
		if seen != 0 {
			t.Errorf("%s: globex's transaction with app.platform on sees %d rows of other tenants (acme has %d)", table, seen, acmeRows)
		}
	}
	if withAcmeRows < 8 {
		t.Fatalf("acme has rows in only %d of %d tenant tables: the probe proves little", withAcmeRows, len(tables))
	}
}

// TestXAPIAttachmentsCrossTenant: attachment data is the tenant's own.
// Globex, knowing the sha2 of acme's certificate (a statement names it),
// stores a statement naming that sha2 by fileUrl; GET attachments=true
// with globex's credential never answers acme's data, neither for
// globex's statement nor for acme's.
func TestXAPIAttachmentsCrossTenant(t *testing.T) {
	t.Parallel()
	srv := testserver.Start(t)
	acmeLRS, globexLRS := newLRS(t, srv, "acme"), newLRS(t, srv, "globex")
	secret := []byte("Lee Learner's certificate, acme only")
	acmeID, globexID := "4b0c9d3e-1f2a-4c5b-8d6e-7f8091a2b3c4", "4b0c9d3e-1f2a-4c5b-8d6e-7f8091a2b3c5"
	if r := acmeLRS.sendMultipart(http.MethodPut, "/xapi/statements?statementId="+acmeID,
		withAttachments("", "learner@acme.test", attachmentJSON(certificateUsage, "text/plain", secret, "")),
		attachmentPart{"text/plain", secret, ""}); r.Status != http.StatusNoContent {
		t.Fatalf("store acme's attachment: %d %s", r.Status, r.Body)
	}
	if r := globexLRS.do(http.MethodPut, "/xapi/statements?statementId="+globexID,
		withAttachments("", "learner@globex.test", attachmentJSON(certificateUsage, "text/plain", secret, "https://files.globex.test/x"))); r.Status != http.StatusNoContent {
		t.Fatalf("store globex's statement: %d %s", r.Status, r.Body)
	}
	for _, path := range []string{"?attachments=true&statementId=" + globexID, "?attachments=true", "?attachments=true&statementId=" + acmeID} {
		r := globexLRS.do(http.MethodGet, "/xapi/statements"+path, "")
		if strings.Contains(r.Body, string(secret)) {
			t.Errorf("globex GET %s: acme's attachment data leaked", path)
		}
		if r.Status == http.StatusOK {
			if headers, _ := readMultipart(t, r); len(headers) != 1 {
				t.Errorf("globex GET %s: %d parts, want only the JSON", path, len(headers))
			}
		}
	}
	// Acme itself still gets it.
	if r := acmeLRS.do(http.MethodGet, "/xapi/statements?attachments=true&statementId="+acmeID, ""); !strings.Contains(r.Body, string(secret)) {
		t.Errorf("acme's own GET attachments=true lacks its data: %d", r.Status)
	}
}
