package xapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"testing"
)

// minimal is the smallest valid statement used as a base for edits.
const minimal = `{
	"actor": {"mbox": "mailto:learner@example.com"},
	"verb": {"id": "http://adlnet.gov/expapi/verbs/completed", "display": {"en-US": "completed"}},
	"object": {"id": "http://example.com/activities/course-1"}
}`

// rich is a statement using most properties: a cmi.interaction object, a
// result, context activities (one given as a single object), a
// registration, a group instructor, a team, extensions, an attachment with
// a fileUrl, a timestamp with an offset and a client authority.
const rich = `{
	"id": "6690E6C9-3EF0-4ED3-8B37-7F3964730BEE",
	"actor": {"objectType": "Agent", "name": "Ada Learner", "account": {"homePage": "https://lms.example.com", "name": "ada"}},
	"verb": {"id": "http://adlnet.gov/expapi/verbs/answered", "display": {"en-US": "answered", "de": "beantwortete"}},
	"object": {
		"objectType": "Activity",
		"id": "http://example.com/quiz/1/question/2",
		"definition": {
			"name": {"en-US": "Question 2"},
			"description": {"en-US": "Which of these are prime?"},
			"type": "http://adlnet.gov/expapi/activities/cmi.interaction",
			"interactionType": "choice",
			"correctResponsesPattern": ["two[,]three"],
			"choices": [
				{"id": "two", "description": {"en-US": "2"}},
				{"id": "three", "description": {"en-US": "3"}},
				{"id": "four", "description": {"en-US": "4"}}
			],
			"extensions": {"http://example.com/ext/difficulty": 3}
		}
	},
	"result": {
		"score": {"scaled": 0.95, "raw": 95, "min": 0, "max": 100},
		"success": true,
		"completion": true,
		"response": "two[,]three",
		"duration": "PT1M30.5S",
		"extensions": {"http://example.com/ext/attempt": 2, "http://example.com/ext/nothing": null}
	},
	"context": {
		"registration": "EC531277-B57B-4C15-8D91-D292C5B2B8F7",
		"instructor": {
			"objectType": "Group",
			"name": "Teachers",
			"member": [
				{"mbox": "mailto:Teacher.One@Example.COM"},
				{"openid": "http://openid.example.org/teacher2"}
			]
		},
		"team": {"objectType": "Group", "mbox": "mailto:team@example.com"},
		"contextActivities": {
			"parent": {"id": "http://example.com/quiz/1"},
			"grouping": [{"id": "http://example.com/course/algebra", "objectType": "Activity"}],
			"category": [{"id": "https://w3id.org/xapi/cmi5/context/categories/cmi5"}]
		},
		"revision": "r2",
		"platform": "web",
		"language": "en-US",
		"statement": {"objectType": "StatementRef", "id": "9e13cefd-53d3-4eac-b5ed-2cf6693903bb"},
		"extensions": {"http://example.com/ext/session": {"id": "abc", "n": 1.50}}
	},
	"timestamp": "2024-05-18T07:32:34.804+02:00",
	"authority": {"objectType": "Agent", "account": {"homePage": "https://client.example.com", "name": "spoofed"}},
	"version": "1.0.0",
	"attachments": [{
		"usageType": "http://example.com/attachment-usage/certificate",
		"display": {"en-US": "Certificate"},
		"description": {"en-US": "Completion certificate"},
		"contentType": "application/pdf",
		"length": 12345,
		"sha2": "495395e777cd98da653df9615d09c0fd6bb2f8d4788394cd53c56a3bfdcd848a",
		"fileUrl": "https://files.example.com/cert.pdf"
	}]
}`

// del is the edit value that removes a property.
const del = "\x00delete"

// edit returns base with the value at path (dot-separated keys and [i]
// indexes) replaced by the JSON text value, or removed when value is del.
func edit(t *testing.T, base, path, value string) []byte {
	t.Helper()
	dec := json.NewDecoder(strings.NewReader(base))
	dec.UseNumber()
	var root any
	if err := dec.Decode(&root); err != nil {
		t.Fatalf("edit: base does not parse: %v", err)
	}
	var newVal any
	if value != del {
		d := json.NewDecoder(strings.NewReader(value))
		d.UseNumber()
		if err := d.Decode(&newVal); err != nil {
			t.Fatalf("edit: value %q does not parse: %v", value, err)
		}
	}
	segs := splitPath(path)
	cur := root
	for i, seg := range segs {
		last := i == len(segs)-1
		switch c := cur.(type) {
		case map[string]any:
			if last {
				if value == del {
					delete(c, seg)
				} else {
					c[seg] = newVal
				}
				break
			}
			next, ok := c[seg]
			if !ok {
				next = map[string]any{}
				c[seg] = next
			}
			cur = next
		case []any:
			n, err := strconv.Atoi(seg)
			if err != nil || n >= len(c) {
				t.Fatalf("edit: bad index %q in %q", seg, path)
			}
			if last {
				c[n] = newVal
				break
			}
			cur = c[n]
		default:
			t.Fatalf("edit: cannot descend into %q of %q", seg, path)
		}
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(root); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// splitPath splits "a.b[2].c" into "a", "b", "2", "c".
func splitPath(p string) []string {
	p = strings.ReplaceAll(p, "[", ".")
	p = strings.ReplaceAll(p, "]", "")
	return strings.Split(p, ".")
}

// wantValidation asserts err is a *ValidationError with the given path and
// rule whose message names both.
func wantValidation(t *testing.T, err error, path, rule string) {
	t.Helper()
	if err == nil {
		t.Fatalf("expected a %s error at %q, got nil", rule, path)
	}
	var ve *ValidationError
	if !errors.As(err, &ve) {
		t.Fatalf("expected *ValidationError, got %T: %v", err, err)
	}
	if ve.Path != path || ve.Rule != rule {
		t.Fatalf("got path %q rule %q (%v), want path %q rule %q", ve.Path, ve.Rule, err, path, rule)
	}
	msg := err.Error()
	if path != "" && !strings.Contains(msg, path) {
		t.Errorf("message %q does not name the property %q", msg, path)
	}
	if !strings.Contains(msg, "(rule "+rule+")") {
		t.Errorf("message %q does not name the rule %q", msg, rule)
	}
	if ve.Message == "" || ve.Message != strings.ToLower(ve.Message[:1])+ve.Message[1:] {
		t.Errorf("message %q should start in lower case", ve.Message)
	}
}

func mustParse(t *testing.T, body string) Statement {
	t.Helper()
	s, err := ParseStatement([]byte(body))
	if err != nil {
		t.Fatalf("ParseStatement: %v", err)
	}
	return s
}

// jsonNumber builds a json.Number for comparisons with Raw.
func jsonNumber(s string) json.Number { return json.Number(s) }
