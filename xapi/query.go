package xapi

import (
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Formats of the GET statements "format" parameter.
const (
	FormatExact     = "exact"
	FormatIDs       = "ids"
	FormatCanonical = "canonical"
)

// Query is the parsed query string of GET /xapi/statements.
type Query struct {
	StatementID, VoidedStatementID string    // canonical lower-case UUIDs
	Agent                          string    // Agent.Key() of the JSON agent parameter
	Verb, Activity, Registration   string    // verb IRI, activity IRI, canonical registration UUID
	RelatedActivities              bool      // related_activities
	RelatedAgents                  bool      // related_agents
	Since, Until                   time.Time // zero = unset
	Limit                          int       // 0 = server default
	Format                         string    // "exact" (default), "ids" or "canonical"
	Attachments, Ascending         bool
}

// queryParams lists the parameters of GET statements (Communication 2.1.3).
var queryParams = []string{
	"statementId", "voidedStatementId", "agent", "verb", "activity", "registration",
	"related_activities", "related_agents", "since", "until", "limit", "format",
	"attachments", "ascending",
}

// ParseQuery validates the query parameters of GET statements. An unknown
// parameter (including one that differs only in case) is an error;
// statementId and voidedStatementId cannot be combined with each other or
// with any parameter other than attachments and format; UUIDs, IRIs,
// timestamps, limit (a non-negative integer), format and the booleans
// ("true" or "false") are checked; the agent parameter must be a JSON Agent
// or identified Group with exactly one inverse functional identifier. A
// parameter given more than once is an error. Errors are *ValidationError
// with Path set to the parameter name.
//
// The HTTP layer must remove parameters that belong to it before calling:
// those of the alternate request syntax (method, content and the header
// parameters) and any paging token of its own "more" links.
func ParseQuery(values url.Values) (Query, error) {
	q := Query{Format: FormatExact}
	names := make([]string, 0, len(values))
	for name := range values {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		known := false
		for _, p := range queryParams {
			if p == name {
				known = true
				break
			}
		}
		if !known {
			for _, p := range queryParams {
				if strings.EqualFold(p, name) {
					return q, verr(name, "unknown-parameter", "unknown parameter %q; parameter names are case sensitive, did you mean %q?", name, p)
				}
			}
			return q, verr(name, "unknown-parameter", "unknown parameter %q for GET statements", name)
		}
		if len(values[name]) != 1 {
			return q, verr(name, "duplicate-parameter", "parameter %q is given %d times; give it once", name, len(values[name]))
		}
	}
	_, hasID := values["statementId"]
	_, hasVoided := values["voidedStatementId"]
	if hasID && hasVoided {
		return q, verr("voidedStatementId", "parameter-combination", "statementId and voidedStatementId cannot be used together")
	}
	if hasID || hasVoided {
		single := "statementId"
		if hasVoided {
			single = "voidedStatementId"
		}
		for _, name := range names {
			if name != single && name != "attachments" && name != "format" {
				return q, verr(name, "parameter-combination", "%s can only be combined with attachments and format, not %s", single, name)
			}
		}
	}

	get := func(name string) (string, bool) {
		v, ok := values[name]
		if !ok {
			return "", false
		}
		return v[0], true
	}
	var err error
	if v, ok := get("statementId"); ok {
		if q.StatementID, err = queryUUID("statementId", v); err != nil {
			return q, err
		}
	}
	if v, ok := get("voidedStatementId"); ok {
		if q.VoidedStatementID, err = queryUUID("voidedStatementId", v); err != nil {
			return q, err
		}
	}
	if v, ok := get("agent"); ok {
		if q.Agent, err = queryAgent(v); err != nil {
			return q, err
		}
	}
	if v, ok := get("verb"); ok {
		if !validIRI(v) {
			return q, verr("verb", "iri", "must be a verb IRI such as http://adlnet.gov/expapi/verbs/completed, got %q", v)
		}
		q.Verb = v
	}
	if v, ok := get("activity"); ok {
		if !validIRI(v) {
			return q, verr("activity", "iri", "must be an activity IRI, got %q", v)
		}
		q.Activity = v
	}
	if v, ok := get("registration"); ok {
		if q.Registration, err = queryUUID("registration", v); err != nil {
			return q, err
		}
	}
	for _, b := range []struct {
		name string
		dst  *bool
	}{
		{"related_activities", &q.RelatedActivities},
		{"related_agents", &q.RelatedAgents},
		{"attachments", &q.Attachments},
		{"ascending", &q.Ascending},
	} {
		if v, ok := get(b.name); ok {
			switch v {
			case "true":
				*b.dst = true
			case "false":
				*b.dst = false
			default:
				return q, verr(b.name, "type", `must be "true" or "false", got %q`, v)
			}
		}
	}
	for _, t := range []struct {
		name string
		dst  *time.Time
	}{{"since", &q.Since}, {"until", &q.Until}} {
		if v, ok := get(t.name); ok {
			ts, msg := parseTimestamp(v)
			if msg != "" {
				return q, verr(t.name, "timestamp", "%s, got %q", msg, v)
			}
			*t.dst = ts
		}
	}
	if v, ok := get("limit"); ok {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 || !isDigitString(v) {
			return q, &ValidationError{Path: "limit", Rule: "limit", Message: "must be a non-negative integer, got " + strconv.Quote(v), Err: err}
		}
		q.Limit = n
	}
	if v, ok := get("format"); ok {
		switch v {
		case FormatExact, FormatIDs, FormatCanonical:
			q.Format = v
		default:
			return q, verr("format", "format", `must be "exact", "ids" or "canonical", got %q`, v)
		}
	}
	return q, nil
}

func queryUUID(name, v string) (string, error) {
	c, ok := canonicalUUID(v)
	if !ok {
		return "", verr(name, "uuid", "must be a UUID in standard form, got %q", v)
	}
	return c, nil
}

// queryAgent parses the JSON agent parameter and returns its key.
func queryAgent(v string) (string, error) {
	a, err := ParseAgentParameter(v)
	if err != nil {
		return "", err
	}
	return a.Key(), nil
}
