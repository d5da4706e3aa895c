package xapi

import (
	"bytes"
	"crypto/sha1"
	"encoding/hex"
	"encoding/json"
	"net/url"
	"sort"
	"strings"
	"time"
)

// DocumentResource names one of the three document resources
// (Communication 2.3 State, 2.6 Activity Profile, 2.7 Agent Profile).
type DocumentResource string

// The document resources, as stored.
const (
	StateResource           DocumentResource = "state"
	ActivityProfileResource DocumentResource = "activity_profile"
	AgentProfileResource    DocumentResource = "agent_profile"
)

// DocumentQuery is the parsed query string of a document resource request.
type DocumentQuery struct {
	Resource     DocumentResource
	ActivityID   string    // State and Activity Profile
	AgentKey     string    // Agent.Key() of the agent parameter (an Agent, not a Group): State and Agent Profile
	Registration string    // canonical UUID, State only; "" = none
	DocumentID   string    // stateId or profileId; "" = every document of the scope
	Since        time.Time // zero = unset; only when listing ids
}

// Longest parameters that name a document, in bytes: together they fit a
// PostgreSQL index entry (about 2,700 bytes), as they make the documents'
// primary key.
const (
	MaxDocumentIRIBytes = 1000 // activityId, and the agent's identifier
	MaxDocumentIDBytes  = 500  // stateId, profileId
)

// documentParams lists each resource's parameters and the name of its
// document id parameter.
var documentParams = map[DocumentResource]struct {
	id     string
	params []string
}{
	StateResource:           {"stateId", []string{"activityId", "agent", "registration", "stateId", "since"}},
	ActivityProfileResource: {"profileId", []string{"activityId", "profileId", "since"}},
	AgentProfileResource:    {"profileId", []string{"agent", "profileId", "since"}},
}

// ParseDocumentQuery validates the query parameters of a request to a
// document resource with the given HTTP method (GET, HEAD, PUT, POST or
// DELETE): only the resource's parameters, each at most once; activityId
// (an IRI) and agent (a JSON Agent or identified Group) where the resource
// needs them; registration a UUID; the document id required to write, and
// to delete a profile (only the State resource deletes a whole scope);
// since only when listing ids. Errors are *ValidationError with Path set to
// the parameter.
func ParseDocumentQuery(r DocumentResource, method string, values url.Values) (DocumentQuery, error) {
	spec := documentParams[r]
	q := DocumentQuery{Resource: r}
	if err := checkParams(values, spec.params); err != nil {
		return q, err
	}
	get := func(name string) (string, bool) {
		v, ok := values[name]
		if !ok {
			return "", false
		}
		return v[0], true
	}
	needs := func(name string) (string, error) {
		v, ok := get(name)
		if !ok {
			return "", verr(name, "required", "the %s parameter is required", name)
		}
		return v, nil
	}
	var err error
	if r != AgentProfileResource {
		if q.ActivityID, err = needs("activityId"); err != nil {
			return q, err
		}
		if !validIRI(q.ActivityID) {
			return q, verr("activityId", "iri", "must be an activity IRI, got %q", q.ActivityID)
		}
		if len(q.ActivityID) > MaxDocumentIRIBytes {
			return q, verr("activityId", "length", "must be at most %d bytes, got %d", MaxDocumentIRIBytes, len(q.ActivityID))
		}
	}
	if r != ActivityProfileResource {
		v, err := needs("agent")
		if err != nil {
			return q, err
		}
		a, err := parseAgentNotGroup(v)
		if err != nil {
			return q, err
		}
		q.AgentKey = a.Key()
		if len(q.AgentKey) > MaxDocumentIRIBytes {
			return q, verr("agent", "length", "its identifier must be at most %d bytes", MaxDocumentIRIBytes)
		}
	}
	if v, ok := get("registration"); ok {
		if q.Registration, err = queryUUID("registration", v); err != nil {
			return q, err
		}
	}
	q.DocumentID, _ = get(spec.id)
	_, hasID := values[spec.id]
	if hasID && q.DocumentID == "" {
		return q, verr(spec.id, "required", "%s must not be empty", spec.id)
	}
	if len(q.DocumentID) > MaxDocumentIDBytes {
		return q, verr(spec.id, "length", "must be at most %d bytes, got %d", MaxDocumentIDBytes, len(q.DocumentID))
	}
	writes := method == "PUT" || method == "POST" || (method == "DELETE" && r != StateResource)
	if writes && !hasID {
		return q, verr(spec.id, "required", "%s needs the %s parameter", method, spec.id)
	}
	if v, ok := get("since"); ok {
		if hasID || (method != "GET" && method != "HEAD") {
			return q, verr("since", "parameter-combination", "since only applies when listing ids with GET, without %s", spec.id)
		}
		ts, msg := parseTimestamp(v)
		if msg != "" {
			return q, verr("since", "timestamp", "%s, got %q", msg, v)
		}
		q.Since = ts
	}
	return q, nil
}

// ParseActivityQuery validates the query of GET activities
// (Communication 2.5): only activityId, an IRI.
func ParseActivityQuery(values url.Values) (string, error) {
	if err := checkParams(values, []string{"activityId"}); err != nil {
		return "", err
	}
	v, ok := values["activityId"]
	if !ok {
		return "", verr("activityId", "required", "the activityId parameter is required")
	}
	if !validIRI(v[0]) {
		return "", verr("activityId", "iri", "must be an activity IRI, got %q", v[0])
	}
	return v[0], nil
}

// ParseAgentsQuery validates the query of GET agents (Communication 2.4):
// only agent, a JSON Agent or identified Group.
func ParseAgentsQuery(values url.Values) (Agent, error) {
	if err := checkParams(values, []string{"agent"}); err != nil {
		return Agent{}, err
	}
	v, ok := values["agent"]
	if !ok {
		return Agent{}, verr("agent", "required", "the agent parameter is required")
	}
	return parseAgentNotGroup(v[0])
}

// parseAgentNotGroup parses the agent parameter of the Agents and document
// resources, which is an Agent, not a Group (Communication 2.4.s2, 2.6.s3):
// content keeps a group's data under the group's identifier in an Agent.
func parseAgentNotGroup(v string) (Agent, error) {
	a, err := ParseAgentParameter(v)
	if err == nil && a.IsGroup() {
		err = verr("agent", "agent-not-group", `must be an Agent, not a Group; send the group's identifier in an Agent object (without "objectType":"Group")`)
	}
	return a, err
}

// checkParams refuses a parameter not in known, naming a near miss in
// case, and one given more than once.
func checkParams(values url.Values, known []string) error {
	names := make([]string, 0, len(values))
	for name := range values {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		found := false
		for _, p := range known {
			if p == name {
				found = true
			} else if strings.EqualFold(p, name) {
				return verr(name, "unknown-parameter", "unknown parameter %q; parameter names are case sensitive, did you mean %q?", name, p)
			}
		}
		if !found {
			return verr(name, "unknown-parameter", "unknown parameter %q; this resource takes %s", name, strings.Join(known, ", "))
		}
		if len(values[name]) != 1 {
			return verr(name, "duplicate-parameter", "parameter %q is given %d times; give it once", name, len(values[name]))
		}
	}
	return nil
}

// ParseAgentParameter parses an agent query parameter: a JSON Agent or
// identified Group with exactly one inverse functional identifier.
func ParseAgentParameter(v string) (Agent, error) {
	parsed, err := decodeJSON([]byte(v))
	if err != nil {
		return Agent{}, &ValidationError{Path: "agent", Rule: "json", Message: "must be a JSON Agent object such as {\"mbox\":\"mailto:learner@example.com\"}", Err: err}
	}
	if err := checkNulls(parsed, ""); err != nil {
		return Agent{}, withPrefix(err, "agent")
	}
	a, err := parseAgent(parsed, "", roleQuery)
	if err != nil {
		return Agent{}, withPrefix(err, "agent")
	}
	return a, nil
}

// DocumentETag is the entity tag of a document: the hex SHA-1 of its
// content (Communication 3.1), without quotes.
func DocumentETag(content []byte) string {
	sum := sha1.Sum(content)
	return hex.EncodeToString(sum[:])
}

// ETagMatches reports whether an If-Match or If-None-Match header value
// ("*", or a comma-separated list of quoted tags) names etag. Unquoted and
// weak tags are accepted too, as some content libraries send them.
func ETagMatches(header, etag string) bool {
	for _, tag := range strings.Split(header, ",") {
		tag = strings.TrimSpace(tag)
		if tag == "*" {
			return true
		}
		tag = strings.Trim(strings.TrimPrefix(tag, "W/"), `"`)
		if strings.EqualFold(tag, etag) {
			return true
		}
	}
	return false
}

// IsJSONMediaType reports whether a Content-Type header is application/json
// (parameters such as charset aside).
func IsJSONMediaType(contentType string) bool {
	mt, _, _ := strings.Cut(contentType, ";")
	return strings.EqualFold(strings.TrimSpace(mt), "application/json")
}

// MergeDocuments merges a posted JSON document into a stored one as
// Communication 2.2.s7 says: both must be JSON objects; each top-level
// property of the posted object replaces or adds the stored object's
// property of that name, and the values themselves are not merged (one
// level deep). stored nil means there is no stored document: the posted
// object is kept as sent.
func MergeDocuments(stored, posted []byte) ([]byte, error) {
	add, err := jsonObject(posted, "the posted document")
	if err != nil {
		return nil, err
	}
	if stored == nil {
		return posted, nil
	}
	merged, err := jsonObject(stored, "the stored document")
	if err != nil {
		return nil, err
	}
	for k, v := range add {
		merged[k] = v
	}
	return json.Marshal(merged)
}

// jsonObject decodes a JSON object, keeping its property values as sent.
func jsonObject(doc []byte, what string) (map[string]json.RawMessage, error) {
	var obj map[string]json.RawMessage
	trimmed := bytes.TrimSpace(doc)
	if len(trimmed) == 0 || trimmed[0] != '{' || json.Unmarshal(trimmed, &obj) != nil {
		return nil, verr("", "document-merge", "%s is not a JSON object, so the two cannot be merged; PUT it instead", what)
	}
	return obj, nil
}

// Person returns the Person object of the Agents resource (Communication
// 2.4.s4) for a: LearnLens combines no identities, so it holds a's own
// name and identifier, each in an array.
func Person(a Agent) map[string]any {
	p := map[string]any{"objectType": "Person"}
	if a.Name != "" {
		p["name"] = []string{a.Name}
	}
	switch {
	case a.Mbox != "":
		p["mbox"] = []string{a.Mbox}
	case a.MboxSHA1Sum != "":
		p["mbox_sha1sum"] = []string{a.MboxSHA1Sum}
	case a.OpenID != "":
		p["openid"] = []string{a.OpenID}
	case a.AccountName != "":
		p["account"] = []map[string]string{{"homePage": a.AccountHomePage, "name": a.AccountName}}
	}
	return p
}
