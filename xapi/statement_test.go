package xapi

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestParseMinimal(t *testing.T) {
	s := mustParse(t, minimal)
	if s.ID != "" {
		t.Errorf("ID = %q, want empty until Finalize", s.ID)
	}
	if got := s.Actor.Key(); got != "mbox:mailto:learner@example.com" {
		t.Errorf("actor key = %q", got)
	}
	if s.Actor.ObjectType != "Agent" {
		t.Errorf("actor objectType = %q, want default Agent", s.Actor.ObjectType)
	}
	if s.VerbID != VerbCompleted || s.VerbDisplay["en-US"] != "completed" {
		t.Errorf("verb = %q %v", s.VerbID, s.VerbDisplay)
	}
	if s.ObjectType != "Activity" || s.ObjectID != "http://example.com/activities/course-1" {
		t.Errorf("object = %q %q", s.ObjectType, s.ObjectID)
	}
	if s.Result != nil || s.Authority != nil || !s.Timestamp.IsZero() || s.Raw == nil {
		t.Errorf("unexpected fields: %+v", s)
	}
}

func TestParseRich(t *testing.T) {
	s := mustParse(t, rich)
	if s.ID != "6690e6c9-3ef0-4ed3-8b37-7f3964730bee" {
		t.Errorf("ID = %q, want lower-case canonical form", s.ID)
	}
	if s.Actor.Key() != "account:https://lms.example.com|ada" || s.Actor.Name != "Ada Learner" {
		t.Errorf("actor = %+v", s.Actor)
	}
	if s.InteractionType != "choice" || s.ActivityType != ActivityTypeInteraction || s.ActivityName["en-US"] != "Question 2" {
		t.Errorf("activity = %q %q %v", s.InteractionType, s.ActivityType, s.ActivityName)
	}
	r := s.Result
	if r == nil || *r.Scaled != 0.95 || *r.Raw != 95 || *r.Min != 0 || *r.Max != 100 || !*r.Success || !*r.Completion {
		t.Fatalf("result = %+v", r)
	}
	if r.Response != "two[,]three" || !r.HasDuration || r.Duration != 90*time.Second+500*time.Millisecond || r.DurationISO != "PT1M30.5S" {
		t.Errorf("result response/duration = %q %v %v %q", r.Response, r.HasDuration, r.Duration, r.DurationISO)
	}
	if s.Registration != "ec531277-b57b-4c15-8d91-d292c5b2b8f7" {
		t.Errorf("registration = %q", s.Registration)
	}
	if s.Instructor == nil || !s.Instructor.IsGroup() || s.Instructor.Key() != "" || len(s.Instructor.Members) != 2 {
		t.Errorf("instructor = %+v", s.Instructor)
	}
	if s.Team == nil || s.Team.Key() != "mbox:mailto:team@example.com" {
		t.Errorf("team = %+v", s.Team)
	}
	wantCA := map[string][]string{
		"parent":   {"http://example.com/quiz/1"},
		"grouping": {"http://example.com/course/algebra"},
		"category": {CategoryCMI5},
	}
	if !reflect.DeepEqual(s.ContextActivities, wantCA) {
		t.Errorf("context activities = %v", s.ContextActivities)
	}
	// The single parent object is rewritten as an array of one.
	parent := s.Raw["context"].(map[string]any)["contextActivities"].(map[string]any)["parent"]
	if arr, ok := parent.([]any); !ok || len(arr) != 1 {
		t.Errorf("raw parent = %#v, want an array of one", parent)
	}
	if want := time.Date(2024, 5, 18, 5, 32, 34, 804e6, time.UTC); !s.Timestamp.Equal(want) {
		t.Errorf("timestamp = %v, want %v", s.Timestamp, want)
	}
	if s.Authority == nil || s.Authority.AccountName != "spoofed" {
		t.Errorf("authority = %+v", s.Authority)
	}
	// Numbers keep their text.
	score := s.Raw["result"].(map[string]any)["score"].(map[string]any)
	if got := score["scaled"]; got != any(jsonNumber("0.95")) {
		t.Errorf("raw scaled = %#v", got)
	}
}

func TestParseValidVariants(t *testing.T) {
	tests := []struct {
		name, path, value string
	}{
		{"mbox_sha1sum actor", "actor", `{"mbox_sha1sum": "ebd31e95054c018b10727ccffd2ef2ec3a016ee9"}`},
		{"openid actor", "actor", `{"openid": "http://toby.openid.example.org/"}`},
		{"identified group actor with members", "actor", `{"objectType": "Group", "account": {"homePage": "http://example.com", "name": "g"}, "member": [{"mbox": "mailto:a@example.com"}]}`},
		{"anonymous group actor", "actor", `{"objectType": "Group", "member": [{"mbox": "mailto:a@example.com"}, {"objectType": "Agent", "openid": "http://o.example.org/b"}]}`},
		{"agent object", "object", `{"objectType": "Agent", "mbox": "mailto:b@example.com"}`},
		{"statement ref object", "object", `{"objectType": "StatementRef", "id": "8f87ccde-bb56-4c2e-ab83-44982ef22df0"}`},
		{"substatement object", "object", `{"objectType": "SubStatement", "actor": {"mbox": "mailto:a@example.com"}, "verb": {"id": "http://example.com/planned"}, "object": {"id": "http://example.com/website"}, "timestamp": "2099-01-01T00:00:00Z", "context": {"contextActivities": {"other": {"id": "http://example.com/x"}}}}`},
		{"urn activity id", "object.id", `"urn:uuid:6690e6c9-3ef0-4ed3-8b37-7f3964730bee"`},
		{"unicode activity id", "object.id", `"http://example.com/فعل/خواندن"`},
		{"version 1.0", "version", `"1.0"`},
		{"version 1.0.9", "version", `"1.0.9"`},
		{"non-RFC 4122 variant id", "id", `"12345678-1234-5678-1234-567812345678"`},
		{"duration in years", "result", `{"duration": "P3Y"}`},
		{"duration in weeks", "result", `{"duration": "P4W"}`},
		{"duration full", "result", `{"duration": "P3Y1M29DT4H35M59.14S"}`},
		{"score min equals max", "result", `{"score": {"min": 0, "max": 0, "raw": 0}}`},
		{"negative scaled", "result", `{"score": {"scaled": -1}}`},
		{"extensions with null values", "result", `{"extensions": {"http://example.com/null": null}}`},
		{"grandfathered language tag", "verb.display", `{"i-enochian": "x"}`},
		{"complex language tags", "verb.display", `{"zh-cmn-Hans-CN": "a", "sl-rozaj-biske": "b", "de-CH-1901": "c", "hy-Latn-IT-arevela": "d", "az-Arab-x-AZE-derbend": "e", "x-whatever": "f", "und": "g", "en-GB-oed": "h"}`},
		{"long context language", "context", `{"language": "supercalifragilisticexpialidociouswhatabouthhhhhhh"}`},
		{"basic format timestamp", "timestamp", `"20150101T120000.5Z"`},
		{"timestamp without seconds", "timestamp", `"2015-01-01T12:00+01:00"`},
		{"timestamp with compact offset", "timestamp", `"2015-01-01T12:00:00.123456789-0530"`},
		{"future timestamp", "timestamp", `"2999-01-01T00:00:00Z"`},
		{"client stored is validated and accepted", "stored", `"2013-05-18T05:32:34.804+00:00"`},
		{"authority agent", "authority", `{"mbox": "mailto:auth@example.com"}`},
		{"authority oauth group", "authority", `{"objectType": "Group", "member": [{"account": {"homePage": "http://example.com/xAPI/OAuth/Token", "name": "oauth_consumer_x75db"}}, {"mbox": "mailto:bob@example.com"}]}`},
		{"empty context activities array", "context", `{"contextActivities": {"parent": []}}`},
		{"likert without scale", "object.definition", `{"interactionType": "likert"}`},
		{"empty correct responses", "object.definition", `{"interactionType": "other", "correctResponsesPattern": []}`},
		{"anonymous team", "context", `{"team": {"objectType": "Group", "member": [{"mbox": "mailto:a@example.com"}]}}`},
		{"revision with activity object", "context", `{"revision": "2", "platform": "ios"}`},
		{"empty attachments", "attachments", `[]`},
		{"signature attachment", "attachments", `[{"usageType": "http://adlnet.gov/expapi/attachments/signature", "display": {"en": "sig"}, "contentType": "application/octet-stream", "length": 10, "sha2": "495395e777cd98da653df9615d09c0fd6bb2f8d4788394cd53c56a3bfdcd848a", "fileUrl": "http://example.com/sig"}]`},
		{"agent with name and objectType", "actor", `{"objectType": "Agent", "name": "Ada", "mbox": "mailto:ada@example.com"}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			body := edit(t, minimal, tc.path, tc.value)
			if _, err := ParseStatement(body); err != nil {
				t.Fatalf("rejected valid statement: %v\n%s", err, body)
			}
		})
	}
}

func TestParseVoiding(t *testing.T) {
	body := `{"actor": {"mbox": "mailto:admin@example.com"}, "verb": {"id": "http://adlnet.gov/expapi/verbs/voided"},
		"object": {"objectType": "StatementRef", "id": "E05AA883-ACAF-40AD-BF54-02C8CE485FB0"}}`
	s := mustParse(t, body)
	if s.Voids != "e05aa883-acaf-40ad-bf54-02c8ce485fb0" || s.ObjectID != s.Voids {
		t.Errorf("Voids = %q, ObjectID = %q", s.Voids, s.ObjectID)
	}
	if plain := mustParse(t, minimal); plain.Voids != "" {
		t.Errorf("non-voiding statement has Voids %q", plain.Voids)
	}
}

func TestParseSubStatement(t *testing.T) {
	body := edit(t, minimal, "object", `{"objectType": "SubStatement", "actor": {"objectType": "Group", "mbox": "mailto:g@example.com", "member": [{"mbox": "mailto:m@example.com"}]},
		"verb": {"id": "http://example.com/planned"}, "object": {"objectType": "Agent", "mbox": "mailto:o@example.com"},
		"context": {"instructor": {"mbox": "mailto:i@example.com"}, "contextActivities": {"parent": [{"id": "http://example.com/p"}]}}}`)
	s, err := ParseStatement(body)
	if err != nil {
		t.Fatal(err)
	}
	if s.ObjectType != "SubStatement" || s.Sub == nil || s.ObjectID != "" {
		t.Fatalf("object = %q sub = %v", s.ObjectType, s.Sub)
	}
	if s.Sub.Actor.Key() != "mbox:mailto:g@example.com" || s.Sub.ObjectAgent == nil || s.Sub.Instructor == nil {
		t.Errorf("sub = %+v", s.Sub)
	}
}

func TestParseStatementsBatch(t *testing.T) {
	body := "[" + minimal + "," + rich + "]"
	got, err := ParseStatements([]byte(body))
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[1].ID != "6690e6c9-3ef0-4ed3-8b37-7f3964730bee" {
		t.Fatalf("got %d statements", len(got))
	}

	empty, err := ParseStatements([]byte("[]"))
	if err != nil || empty == nil || len(empty) != 0 {
		t.Fatalf("empty batch = %v, %v", empty, err)
	}

	single, err := ParseStatements([]byte(minimal))
	if err != nil || len(single) != 1 {
		t.Fatalf("single = %v, %v", single, err)
	}
}

func TestParseStatementsBatchErrors(t *testing.T) {
	withID := string(edit(t, minimal, "id", `"6690e6c9-3ef0-4ed3-8b37-7f3964730bee"`))
	upperID := string(edit(t, minimal, "id", `"6690E6C9-3EF0-4ED3-8B37-7F3964730BEE"`))
	badMbox := string(edit(t, minimal, "actor.mbox", `"learner@example.com"`))
	tests := []struct {
		name, body, path, rule string
	}{
		{"duplicate ids", "[" + withID + "," + minimal + "," + upperID + "]", "statements[2].id", "duplicate-id"},
		{"element not an object", `["x"]`, "statements[0]", "type"},
		{"error path is prefixed", "[" + minimal + "," + badMbox + "]", "statements[1].actor.mbox", "mbox"},
		{"duplicate property path is prefixed", `[` + minimal + `, {"actor": {}, "actor": {}}]`, "statements[1].actor", "duplicate-property"},
		{"not json", `[{"actor": `, "", "json"},
		{"top level string", `"statement"`, "", "type"},
		{"trailing data", minimal + `{}`, "", "json"},
		{"invalid utf-8", "{\"actor\": \"\xff\"}", "", "encoding"},
		{"NUL in a string", "[" + string(edit(t, minimal, "verb.display", `{"en-US": "a\u0000b"}`)) + "]", "statements[0].verb.display.en-US", "nul-character"},
		{"NUL in a property name", `[{"actor": {"name\u0000": "x"}}]`, "statements[0].actor", "nul-character"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseStatements([]byte(tc.body))
			wantValidation(t, err, tc.path, tc.rule)
		})
	}
}

func TestParseStatementRejectsArray(t *testing.T) {
	_, err := ParseStatement([]byte("[" + minimal + "]"))
	wantValidation(t, err, "", "type")
}

func TestJSONErrorWraps(t *testing.T) {
	_, err := ParseStatement([]byte(`{"actor": tru}`))
	var ve *ValidationError
	if !errors.As(err, &ve) || ve.Rule != "json" || errors.Unwrap(err) == nil {
		t.Fatalf("got %v, want a wrapped json error", err)
	}
}

// TestParseRejected has at least one rejected case per validation rule.
func TestParseRejected(t *testing.T) {
	const att = `{"usageType": "http://example.com/u", "display": {"en": "A"}, "contentType": "text/plain", "length": 27, "sha2": "495395e777cd98da653df9615d09c0fd6bb2f8d4788394cd53c56a3bfdcd848a", "fileUrl": "http://example.com/f.txt"}`
	attWith := func(key, value string) string {
		return `[` + string(edit(t, att, key, value)) + `]`
	}
	const sub = `{"objectType": "SubStatement", "actor": {"mbox": "mailto:a@example.com"}, "verb": {"id": "http://example.com/v"}, "object": {"id": "http://example.com/o"}}`
	tests := []struct {
		name        string
		path, value string // edit applied to minimal
		wantPath    string
		wantRule    string
	}{
		// top level
		{"unknown top-level property", "foo", `1`, "foo", "unknown-property"},
		{"key with wrong case", "Actor", `{"mbox": "mailto:a@example.com"}`, "Actor", "unknown-property"},
		{"missing actor", "actor", del, "actor", "required"},
		{"missing verb", "verb", del, "verb", "required"},
		{"missing object", "object", del, "object", "required"},
		{"id not a uuid", "id", `"not-a-uuid"`, "id", "uuid"},
		{"id with too many digits", "id", `"AA97B177-9383-4934-8543-0F91A7A028368"`, "id", "uuid"},
		{"id with non-hex letter", "id", `"MA97B177-9383-4934-8543-0F91A7A02836"`, "id", "uuid"},
		{"id without dashes", "id", `"6690e6c93ef04ed38b377f3964730bee"`, "id", "uuid"},
		{"id is a number", "id", `12345`, "id", "type"},
		{"version 1.1.0", "version", `"1.1.0"`, "version", "version"},
		{"version 0.9.9", "version", `"0.9.9"`, "version", "version"},
		{"version is a number", "version", `1.0`, "version", "type"},
		{"null property", "result", `null`, "result", "null"},
		{"null actor name", "actor.name", `null`, "actor.name", "null"},
		{"null language map value", "verb.display.en-US", `null`, "verb.display.en-US", "null"},
		{"extensions itself null", "result", `{"extensions": null}`, "result.extensions", "null"},
		{"actor is a string", "actor", `"learner"`, "actor", "type"},

		// agents
		{"two IFIs", "actor.openid", `"http://openid.example.org/a"`, "actor", "actor-ifi"},
		{"no IFI", "actor", `{"name": "nobody"}`, "actor", "actor-ifi"},
		{"mbox without mailto", "actor.mbox", `"learner@example.com"`, "actor.mbox", "mbox"},
		{"mbox without address", "actor.mbox", `"mailto:should.fail.com"`, "actor.mbox", "mbox"},
		{"mbox http iri", "actor.mbox", `"http://should.fail.com"`, "actor.mbox", "mbox"},
		{"mbox_sha1sum not hex", "actor", `{"mbox_sha1sum": "xyz"}`, "actor.mbox_sha1sum", "mbox_sha1sum"},
		{"openid relative", "actor", `{"openid": "/me"}`, "actor.openid", "iri"},
		{"account missing name", "actor", `{"account": {"homePage": "http://example.com"}}`, "actor.account.name", "required"},
		{"account missing homePage", "actor", `{"account": {"name": "a"}}`, "actor.account.homePage", "required"},
		{"account name not a string", "actor", `{"account": {"homePage": "http://example.com", "name": {"key": "v"}}}`, "actor.account.name", "type"},
		{"account empty name", "actor", `{"account": {"homePage": "http://example.com", "name": ""}}`, "actor.account.name", "account"},
		{"account extra property", "actor", `{"account": {"homePage": "http://example.com", "name": "a", "email": "x"}}`, "actor.account.email", "unknown-property"},
		{"account homePage bad scheme", "actor", `{"account": {"homePage": "ab=c://should.fail.com", "name": "a"}}`, "actor.account.homePage", "irl"},
		{"agent with member", "actor", `{"objectType": "Agent", "mbox": "mailto:a@example.com", "member": []}`, "actor.member", "unknown-property"},
		{"group without objectType", "actor", `{"member": [{"mbox": "mailto:a@example.com"}]}`, "actor.objectType", "required"},
		{"agent objectType wrong case", "actor.objectType", `"agent"`, "actor.objectType", "object-type"},
		{"agent objectType number", "actor.objectType", `123`, "actor.objectType", "type"},
		{"agent name number", "actor.name", `123`, "actor.name", "type"},
		{"anonymous group without member", "actor", `{"objectType": "Group", "name": "g"}`, "actor.member", "group"},
		{"anonymous group with empty member", "actor", `{"objectType": "Group", "member": []}`, "actor.member", "group"},
		{"group member is a group", "actor", `{"objectType": "Group", "member": [{"objectType": "Group", "mbox": "mailto:g@example.com"}]}`, "actor.member[0].objectType", "group-member"},
		{"group member without IFI", "actor", `{"objectType": "Group", "member": [{"name": "x"}]}`, "actor.member[0]", "actor-ifi"},
		{"identified group with two IFIs", "actor", `{"objectType": "Group", "mbox": "mailto:g@example.com", "openid": "http://o.example.org/g"}`, "actor", "actor-ifi"},
		{"group member not an array", "actor", `{"objectType": "Group", "member": {"mbox": "mailto:a@example.com"}}`, "actor.member", "type"},

		// verb
		{"verb missing id", "verb.id", del, "verb.id", "required"},
		{"verb id relative", "verb.id", `"completed"`, "verb.id", "iri"},
		{"verb id empty", "verb.id", `""`, "verb.id", "iri"},
		{"verb id with space", "verb.id", `"http://example.com/my verb"`, "verb.id", "iri"},
		{"verb id bad percent escape", "verb.id", `"http://example.com/%zz"`, "verb.id", "iri"},
		{"verb id http without host", "verb.id", `"http:///completed"`, "verb.id", "iri"},
		{"verb unknown property", "verb.name", `"x"`, "verb.name", "unknown-property"},
		{"verb display is a string", "verb.display", `"completed"`, "verb.display", "language-map"},
		{"verb display empty", "verb.display", `{}`, "verb.display", "language-map"},
		{"verb display two regions", "verb.display", `{"de-419-DE": "besucht"}`, "verb.display.de-419-DE", "language-map"},
		{"verb display single-letter primary", "verb.display", `{"a-DE": "x"}`, "verb.display.a-DE", "language-map"},
		{"verb display repeated singleton", "verb.display", `{"ar-a-aaa-b-bbb-a-ccc": "x"}`, "verb.display.ar-a-aaa-b-bbb-a-ccc", "language-map"},
		{"verb display invalid key", "verb.display", `{"a12345": "x"}`, "verb.display.a12345", "language-map"},
		{"verb display value number", "verb.display", `{"en": 1}`, "verb.display.en", "type"},

		// object
		{"activity missing id", "object.id", del, "object.id", "required"},
		{"activity id relative", "object.id", `"course-1"`, "object.id", "iri"},
		{"object objectType wrong case", "object.objectType", `"activity"`, "object.objectType", "object-type"},
		{"object objectType unknown", "object.objectType", `"Course"`, "object.objectType", "object-type"},
		{"activity unknown property", "object.name", `"x"`, "object.name", "unknown-property"},
		{"agent object without objectType", "object", `{"mbox": "mailto:a@example.com"}`, "object.objectType", "required"},
		{"agent object without IFI", "object", `{"objectType": "Agent", "name": "x"}`, "object", "actor-ifi"},
		{"definition not an object", "object.definition", `"x"`, "object.definition", "type"},
		{"definition unknown property", "object.definition", `{"title": "x"}`, "object.definition.title", "unknown-property"},
		{"definition name not a language map", "object.definition", `{"name": "x"}`, "object.definition.name", "language-map"},
		{"definition description empty", "object.definition", `{"description": {}}`, "object.definition.description", "language-map"},
		{"definition type not an IRI", "object.definition", `{"type": "quiz"}`, "object.definition.type", "iri"},
		{"definition moreInfo not an IRL", "object.definition", `{"moreInfo": "www.example.com"}`, "object.definition.moreInfo", "irl"},
		{"definition moreInfo null", "object.definition", `{"moreInfo": null}`, "object.definition.moreInfo", "null"},
		{"definition extension key not an IRI", "object.definition", `{"extensions": {"difficulty": 3}}`, "object.definition.extensions.difficulty", "iri"},
		{"interactionType wrong case", "object.definition", `{"interactionType": "Choice"}`, "object.definition.interactionType", "interaction"},
		{"interactionType unknown", "object.definition", `{"interactionType": "essay"}`, "object.definition.interactionType", "interaction"},
		{"correctResponsesPattern without interactionType", "object.definition", `{"correctResponsesPattern": ["a"]}`, "object.definition.correctResponsesPattern", "interaction"},
		{"correctResponsesPattern not strings", "object.definition", `{"interactionType": "numeric", "correctResponsesPattern": [4]}`, "object.definition.correctResponsesPattern[0]", "type"},
		{"choices on true-false", "object.definition", `{"interactionType": "true-false", "choices": [{"id": "a"}]}`, "object.definition.choices", "interaction"},
		{"scale on choice", "object.definition", `{"interactionType": "choice", "scale": [{"id": "a"}]}`, "object.definition.scale", "interaction"},
		{"duplicate component ids", "object.definition", `{"interactionType": "matching", "source": [{"id": "a"}, {"id": "a"}]}`, "object.definition.source[1].id", "interaction"},
		{"component without id", "object.definition", `{"interactionType": "performance", "steps": [{"description": {"en": "x"}}]}`, "object.definition.steps[0].id", "required"},
		{"component unknown property", "object.definition", `{"interactionType": "likert", "scale": [{"id": "a", "label": "x"}]}`, "object.definition.scale[0].label", "unknown-property"},
		{"component bad description", "object.definition", `{"interactionType": "sequencing", "choices": [{"id": "a", "description": {"de-419-DE": "x"}}]}`, "object.definition.choices[0].description.de-419-DE", "language-map"},
		{"statement ref without id", "object", `{"objectType": "StatementRef"}`, "object.id", "required"},
		{"statement ref bad id", "object", `{"objectType": "StatementRef", "id": "abc"}`, "object.id", "uuid"},
		{"statement ref extra property", "object", `{"objectType": "StatementRef", "id": "8f87ccde-bb56-4c2e-ab83-44982ef22df0", "definition": {}}`, "object.definition", "unknown-property"},
		{"substatement with id", "object", string(edit(t, sub, "id", `"8f87ccde-bb56-4c2e-ab83-44982ef22df0"`)), "object.id", "substatement"},
		{"substatement with stored", "object", string(edit(t, sub, "stored", `"2024-01-01T00:00:00Z"`)), "object.stored", "substatement"},
		{"substatement with version", "object", string(edit(t, sub, "version", `"1.0.0"`)), "object.version", "substatement"},
		{"substatement with authority", "object", string(edit(t, sub, "authority", `{"mbox": "mailto:a@example.com"}`)), "object.authority", "substatement"},
		{"nested substatement", "object", string(edit(t, sub, "object", sub)), "object.object.objectType", "substatement"},
		{"substatement missing verb", "object", string(edit(t, sub, "verb", del)), "object.verb", "required"},
		{"substatement bad timestamp", "object", string(edit(t, sub, "timestamp", `"should fail"`)), "object.timestamp", "timestamp"},

		// result
		{"result not an object", "result", `[]`, "result", "type"},
		{"result unknown property", "result", `{"grade": "A"}`, "result.grade", "unknown-property"},
		{"scaled above 1", "result", `{"score": {"scaled": 1.5}}`, "result.score.scaled", "score-range"},
		{"scaled below -1", "result", `{"score": {"scaled": -1.01}}`, "result.score.scaled", "score-range"},
		{"raw above max", "result", `{"score": {"raw": 101, "min": 0, "max": 100}}`, "result.score.raw", "score-range"},
		{"raw below min", "result", `{"score": {"raw": -1, "min": 0}}`, "result.score.raw", "score-range"},
		{"min above max", "result", `{"score": {"min": 10, "max": 5}}`, "result.score.min", "score-range"},
		{"max as string", "result", `{"score": {"max": "100"}}`, "result.score.max", "type"},
		{"score unknown property", "result", `{"score": {"percent": 50}}`, "result.score.percent", "unknown-property"},
		{"success as string", "result", `{"success": "true"}`, "result.success", "type"},
		{"completion as number", "result", `{"completion": 1}`, "result.completion", "type"},
		{"response as number", "result", `{"response": 42}`, "result.response", "type"},
		{"duration garbage", "result", `{"duration": "should fail"}`, "result.duration", "duration"},
		{"duration bad designator", "result", `{"duration": "PA1H0M0S"}`, "result.duration", "duration"},
		{"duration weeks combined", "result", `{"duration": "P4W1D"}`, "result.duration", "duration"},
		{"duration empty time part", "result", `{"duration": "P1DT"}`, "result.duration", "duration"},
		{"duration alternative format", "result", `{"duration": "PT01:30:00"}`, "result.duration", "duration"},
		{"duration as number", "result", `{"duration": 12345}`, "result.duration", "type"},
		{"result extension key not an IRI", "result", `{"extensions": {"attempt": 2}}`, "result.extensions.attempt", "iri"},

		// context
		{"context not an object", "context", `"x"`, "context", "type"},
		{"context unknown property", "context", `{"device": "x"}`, "context.device", "unknown-property"},
		{"registration not a uuid", "context", `{"registration": "MA97B177-9383-4934-8543-0F91A7A02836"}`, "context.registration", "uuid"},
		{"registration null", "context", `{"registration": null}`, "context.registration", "null"},
		{"instructor without IFI", "context", `{"instructor": {"name": "x"}}`, "context.instructor", "actor-ifi"},
		{"team is an agent", "context", `{"team": {"mbox": "mailto:a@example.com"}}`, "context.team.objectType", "team"},
		{"context activities unknown key", "context", `{"contextActivities": {"parents": []}}`, "context.contextActivities.parents", "unknown-property"},
		{"context activities value string", "context", `{"contextActivities": {"parent": "http://example.com/p"}}`, "context.contextActivities.parent", "type"},
		{"context activity without id", "context", `{"contextActivities": {"parent": [{"objectType": "Activity"}]}}`, "context.contextActivities.parent[0].id", "required"},
		{"context activity is an agent", "context", `{"contextActivities": {"other": [{"objectType": "Agent", "mbox": "mailto:a@example.com"}]}}`, "context.contextActivities.other[0].mbox", "unknown-property"},
		{"language with space", "context", `{"language": "en US"}`, "context.language", "language"},
		{"language empty", "context", `{"language": ""}`, "context.language", "language"},
		{"context statement without objectType", "context", `{"statement": {"id": "8f87ccde-bb56-4c2e-ab83-44982ef22df0"}}`, "context.statement.objectType", "required"},
		{"context statement wrong objectType", "context", `{"statement": {"objectType": "Activity", "id": "8f87ccde-bb56-4c2e-ab83-44982ef22df0"}}`, "context.statement.objectType", "object-type"},
		{"context statement bad id", "context", `{"statement": {"objectType": "StatementRef", "id": 12345}}`, "context.statement.id", "type"},
		{"context extension key not an IRI", "context", `{"extensions": {"": 1}}`, "context.extensions.", "iri"},

		// timestamps
		{"timestamp garbage", "timestamp", `"should fail"`, "timestamp", "timestamp"},
		{"timestamp US date", "timestamp", `"01/011/2015"`, "timestamp", "timestamp"},
		{"timestamp without zone", "timestamp", `"2015-01-01T12:00:00.123"`, "timestamp", "timestamp"},
		{"timestamp -00:00", "timestamp", `"2008-09-15T15:53:00.601-00:00"`, "timestamp", "timestamp"},
		{"timestamp -0000", "timestamp", `"2008-09-15T15:53:00.601-0000"`, "timestamp", "timestamp"},
		{"timestamp -00", "timestamp", `"2008-09-15T15:53:00.601-00"`, "timestamp", "timestamp"},
		{"timestamp february 30", "timestamp", `"2015-02-30T12:00:00Z"`, "timestamp", "timestamp"},
		{"timestamp hour 24", "timestamp", `"2015-02-01T24:00:00Z"`, "timestamp", "timestamp"},
		{"timestamp date only", "timestamp", `"2015-02-01"`, "timestamp", "timestamp"},
		{"timestamp as number", "timestamp", `1431000000`, "timestamp", "type"},
		{"stored garbage", "stored", `"yesterday"`, "stored", "timestamp"},

		// authority
		{"authority without IFI", "authority", `{"name": "x"}`, "authority", "actor-ifi"},
		{"authority identified group", "authority", `{"objectType": "Group", "openid": "http://openid.example.org/12345", "member": [{"mbox": "mailto:a@example.com"}, {"mbox": "mailto:b@example.com"}]}`, "authority", "authority"},
		{"authority group of one", "authority", `{"objectType": "Group", "member": [{"mbox": "mailto:bob@example.com"}]}`, "authority", "authority"},
		{"authority group of three", "authority", `{"objectType": "Group", "member": [{"mbox": "mailto:a@example.com"}, {"mbox": "mailto:b@example.com"}, {"mbox": "mailto:c@example.com"}]}`, "authority", "authority"},

		// voiding
		{"voided verb with activity object", "verb.id", `"http://adlnet.gov/expapi/verbs/voided"`, "object", "voiding"},

		// attachments
		{"attachments not an array", "attachments", att, "attachments", "type"},
		{"attachment is a string", "attachments", `["x"]`, "attachments[0]", "type"},
		{"attachment usageType not an IRI", "attachments", attWith("usageType", `"should fail"`), "attachments[0].usageType", "iri"},
		{"attachment missing display", "attachments", attWith("display", del), "attachments[0].display", "required"},
		{"attachment display bad tag", "attachments", attWith("display", `{"de-419-DE": "x"}`), "attachments[0].display.de-419-DE", "language-map"},
		{"attachment description not a map", "attachments", attWith("description", `12345`), "attachments[0].description", "language-map"},
		{"attachment contentType not a media type", "attachments", attWith("contentType", `"should fail"`), "attachments[0].contentType", "content-type"},
		{"attachment contentType without subtype", "attachments", attWith("contentType", `"text"`), "attachments[0].contentType", "content-type"},
		{"attachment length as string", "attachments", attWith("length", `"27"`), "attachments[0].length", "type"},
		{"attachment length negative", "attachments", attWith("length", `-1`), "attachments[0].length", "length"},
		{"attachment length fractional", "attachments", attWith("length", `2.5`), "attachments[0].length", "length"},
		{"attachment sha2 number", "attachments", attWith("sha2", `12345`), "attachments[0].sha2", "type"},
		{"attachment sha2 not a hash", "attachments", attWith("sha2", `"abc"`), "attachments[0].sha2", "sha2"},
		{"attachment fileUrl not an IRL", "attachments", attWith("fileUrl", `"should fail"`), "attachments[0].fileUrl", "irl"},
		{"attachment unknown property", "attachments", attWith("data", `"aGVsbG8="`), "attachments[0].data", "unknown-property"},
		{"signature attachment wrong content type", "attachments", attWith("usageType", `"http://adlnet.gov/expapi/attachments/signature"`), "attachments[0].contentType", "signature"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseStatement(edit(t, minimal, tc.path, tc.value))
			wantValidation(t, err, tc.wantPath, tc.wantRule)
		})
	}
}

// TestParseRejectsRevisionAndPlatform checks that revision and platform are
// only accepted when the object is an Activity (Data 2.4.6.s4.b1-b2).
func TestParseRejectsRevisionAndPlatform(t *testing.T) {
	tests := []struct{ name, object, context, path string }{
		{"revision with agent object", `{"objectType": "Agent", "mbox": "mailto:b@example.com"}`, `{"revision": "1"}`, "context.revision"},
		{"platform with group object", `{"objectType": "Group", "openid": "http://o.example.org/g"}`, `{"platform": "web"}`, "context.platform"},
		{"platform with statement ref object", `{"objectType": "StatementRef", "id": "8f87ccde-bb56-4c2e-ab83-44982ef22df0"}`, `{"platform": "web"}`, "context.platform"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			body := edit(t, minimal, "object", tc.object)
			body = edit(t, string(body), "context", tc.context)
			_, err := ParseStatement(body)
			wantValidation(t, err, tc.path, "context")
		})
	}
}

func TestParseRejectsDuplicateProperty(t *testing.T) {
	body := `{"actor": {"mbox": "mailto:a@example.com", "mbox": "mailto:b@example.com"}, "verb": {"id": "http://example.com/v"}, "object": {"id": "http://example.com/o"}}`
	_, err := ParseStatement([]byte(body))
	wantValidation(t, err, "actor.mbox", "duplicate-property")
}

func TestParseRejectsDeepNesting(t *testing.T) {
	body := strings.Repeat("[", 1000) + strings.Repeat("]", 1000)
	_, err := ParseStatements([]byte(body))
	var ve *ValidationError
	if !errors.As(err, &ve) || ve.Rule != "json" {
		t.Fatalf("got %v, want a json error", err)
	}
}

func TestUnknownPropertySuggestsCase(t *testing.T) {
	_, err := ParseStatement(edit(t, minimal, "Actor", `{}`))
	if err == nil || !strings.Contains(err.Error(), `did you mean "actor"`) {
		t.Fatalf("got %v", err)
	}
}

func TestParseStatementsStopsAtTheLimits(t *testing.T) {
	many := func(n int, elem string) string {
		return "[" + strings.TrimSuffix(strings.Repeat(elem+",", n), ",") + "]"
	}
	ext := func(v string) string {
		body := strings.TrimSpace(minimal)
		return "[" + strings.TrimSuffix(body, "}") + `, "result": {"extensions": {"http://example.com/x": ` + v + "}}}]"
	}
	deepObjects := strings.Repeat(`{"a":`, 300) + "1" + strings.Repeat("}", 300)
	members := "{" + strings.TrimSuffix(strings.Repeat(`"k":1,`, 1), ",")
	for i := 0; i < MaxObjectMembers; i++ {
		members += fmt.Sprintf(`,"k%d":1`, i)
	}
	members += "}"
	tests := []struct {
		name, body, path, rule string
	}{
		{"statements", many(MaxStatements+1, minimal), "", "limit-array"},
		{"within the limits", ext(many(MaxArrayLength, "0")), "", ""},
		{"long array in extensions", ext(many(MaxArrayLength+1, "0")), "statements[0].result.extensions.http://example.com/x", "limit-array"},
		{"long string", ext(`"` + strings.Repeat("x", MaxStringBytes+1) + `"`), "statements[0].result.extensions.http://example.com/x", "limit-string"},
		{"object members", ext(members), "statements[0].result.extensions.http://example.com/x", "limit-object"},
		{"values", ext(many(100, many(MaxArrayLength, "0"))), "", "limit-values"},
		{"depth", ext(deepObjects), "", "json"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseStatements([]byte(tc.body))
			if tc.rule == "" {
				if err != nil {
					t.Fatalf("within the limits: %v", err)
				}
				return
			}
			var ve *ValidationError
			if !errors.As(err, &ve) || ve.Rule != tc.rule || (tc.path != "" && ve.Path != tc.path) {
				t.Fatalf("got %v, want rule %s at %q", err, tc.rule, tc.path)
			}
			if ve.TooLarge() != strings.HasPrefix(tc.rule, "limit-") {
				t.Errorf("TooLarge() = %v for rule %s", ve.TooLarge(), tc.rule)
			}
		})
	}
}

// TestNullCheckFastPathAgreesWithItsErrors: hasNull, which spares a
// statement without nulls the ordered walk, finds a null exactly where the
// ordered walk reports one (at any depth, in arrays, and in extensions
// only when extensions itself is null or not an object).
func TestNullCheckFastPathAgreesWithItsErrors(t *testing.T) {
	for _, doc := range []string{
		`null`, `{}`, `{"a":1}`, `{"a":null}`, `{"a":{"b":{"c":[1,{"d":null}]}}}`, `{"a":{"b":{"c":[1,{"d":2}]}}}`,
		`[1,[2,[null]]]`, `{"extensions":{"x":null}}`, `{"extensions":null}`, `{"extensions":[null]}`,
		`{"a":{"extensions":{"x":{"y":null}}}}`, `{"a":[{"extensions":{"x":null}},{"b":null}]}`,
	} {
		v, err := decodeJSON([]byte(doc))
		if err != nil {
			t.Fatal(err)
		}
		if got, want := hasNull(v), findNull(v, "") != nil; got != want {
			t.Errorf("%s: hasNull %v, the ordered walk finds one: %v", doc, got, want)
		}
	}
}
