package xapi

import (
	"errors"
	"net/url"
	"strings"
	"testing"
)

func TestMergeDocuments(t *testing.T) {
	for _, tc := range []struct {
		name, stored, posted, want string
		noStored, invalid          bool
	}{
		{name: "spec example (Communication 2.2.s7)", stored: `{"x":"foo","y":"bar"}`, posted: `{"x":"bash","z":"faz"}`, want: `{"x":"bash","y":"bar","z":"faz"}`},
		{name: "one level deep", stored: `{"o":{"a":1,"b":2}}`, posted: `{"o":{"c":3}}`, want: `{"o":{"c":3}}`},
		{name: "values kept (numbers as written)", stored: `{"n":1.50}`, posted: `{"m":[1, 2]}`, want: `{"m":[1,2],"n":1.50}`},
		{name: "no stored document", noStored: true, posted: ` {"a":1} `, want: ` {"a":1} `},
		{name: "posted array", stored: `{}`, posted: `[1]`, invalid: true},
		{name: "posted scalar", noStored: true, posted: `"x"`, invalid: true},
		{name: "posted invalid JSON", stored: `{}`, posted: `{"a":`, invalid: true},
		{name: "stored not an object", stored: `plain text`, posted: `{"a":1}`, invalid: true},
	} {
		var stored []byte
		if !tc.noStored {
			stored = []byte(tc.stored)
		}
		got, err := MergeDocuments(stored, []byte(tc.posted))
		var ve *ValidationError
		switch {
		case tc.invalid && !errors.As(err, &ve):
			t.Errorf("%s: got %s, %v; want a ValidationError", tc.name, got, err)
		case !tc.invalid && (err != nil || string(got) != tc.want):
			t.Errorf("%s: got %s, %v; want %s", tc.name, got, err, tc.want)
		}
	}
}

func TestETagMatches(t *testing.T) {
	etag := DocumentETag([]byte(`{"a":1}`))
	for header, want := range map[string]bool{
		`*`:                       true,
		`"` + etag + `"`:          true,
		etag:                      true, // unquoted, as TinCanJS sends it
		`W/"` + etag + `"`:        true,
		`"other", "` + etag + `"`: true,
		`"other"`:                 false,
		`"` + etag[:39] + `"`:     false,
	} {
		if got := ETagMatches(header, etag); got != want {
			t.Errorf("ETagMatches(%s): %v, want %v", header, got, want)
		}
	}
}

func TestParseDocumentQuery(t *testing.T) {
	agent := `{"mbox":"mailto:A@Example.com"}`
	for _, tc := range []struct {
		name     string
		resource DocumentResource
		method   string
		query    string
		errPath  string // "" = valid
	}{
		{"state document", StateResource, "GET", "activityId=http://x.example/a&agent=" + url.QueryEscape(agent) + "&stateId=s", ""},
		{"state ids since", StateResource, "GET", "activityId=http://x.example/a&agent=" + url.QueryEscape(agent) + "&since=2026-01-01T00:00:00Z", ""},
		{"state delete all", StateResource, "DELETE", "activityId=http://x.example/a&agent=" + url.QueryEscape(agent), ""},
		{"profile delete needs an id", ActivityProfileResource, "DELETE", "activityId=http://x.example/a", "profileId"},
		{"empty id", AgentProfileResource, "GET", "agent=" + url.QueryEscape(agent) + "&profileId=", "profileId"},
		{"since with an id", AgentProfileResource, "GET", "agent=" + url.QueryEscape(agent) + "&profileId=p&since=2026-01-01T00:00:00Z", "since"},
		{"since on PUT", StateResource, "PUT", "activityId=http://x.example/a&agent=" + url.QueryEscape(agent) + "&stateId=s&since=2026-01-01T00:00:00Z", "since"},
		{"activityId not on agent profiles", AgentProfileResource, "GET", "agent=" + url.QueryEscape(agent) + "&activityId=http://x.example/a", "activityId"},
		{"a long activityId", ActivityProfileResource, "GET", "activityId=http://x.example/" + strings.Repeat("a", MaxDocumentIRIBytes), "activityId"},
		{"a long stateId", StateResource, "PUT", "activityId=http://x.example/a&agent=" + url.QueryEscape(agent) + "&stateId=" + strings.Repeat("s", MaxDocumentIDBytes+1), "stateId"},
		{"registration not on profiles", ActivityProfileResource, "GET", "activityId=http://x.example/a&registration=11111111-2222-4333-8444-555555555555", "registration"},
	} {
		values, _ := url.ParseQuery(tc.query)
		q, err := ParseDocumentQuery(tc.resource, tc.method, values)
		var ve *ValidationError
		switch {
		case tc.errPath == "" && err != nil:
			t.Errorf("%s: %v", tc.name, err)
		case tc.errPath != "" && (!errors.As(err, &ve) || ve.Path != tc.errPath):
			t.Errorf("%s: error %v, want one about %s", tc.name, err, tc.errPath)
		case tc.errPath == "" && tc.resource != ActivityProfileResource && q.AgentKey != "mbox:mailto:A@example.com":
			t.Errorf("%s: agent key %q, want the canonical mbox key", tc.name, q.AgentKey)
		}
	}
}
