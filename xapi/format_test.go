package xapi

import (
	"encoding/json"
	"reflect"
	"testing"
)

const richDoc = `{"id":"3fa85f64-5717-4562-b3fc-2c963f66afa6",
 "actor":{"objectType":"Agent","name":"Lee","mbox":"mailto:lee@acme.test"},
 "verb":{"id":"http://adlnet.gov/expapi/verbs/completed","display":{"en-US":"completed","de":"abgeschlossen"}},
 "object":{"objectType":"Activity","id":"https://lms.acme.test/c","definition":{"name":{"en-US":"Safety","fr":"Sécurité"},"description":{"und":"x","fr":"y"},"extensions":{"http://x.example/e":{"name":{"en":"kept"}}}}},
 "context":{"instructor":{"name":"Ina","account":{"homePage":"https://lms.acme.test","name":"ina"}},
   "contextActivities":{"parent":[{"id":"https://lms.acme.test/p","definition":{"name":{"en":"Parent"}}}]}},
 "authority":{"objectType":"Group","member":[{"name":"A","mbox":"mailto:a@x.test"},{"name":"B","account":{"homePage":"https://x.test","name":"b"}}]},
 "stored":"2026-01-01T00:00:00Z"}`

func decode(t *testing.T, b []byte) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func TestFormatStatementIDs(t *testing.T) {
	out, err := FormatStatement([]byte(richDoc), FormatIDs, nil)
	if err != nil {
		t.Fatal(err)
	}
	got := decode(t, out)
	want := map[string]any{
		"actor":  map[string]any{"objectType": "Agent", "mbox": "mailto:lee@acme.test"},
		"verb":   map[string]any{"id": "http://adlnet.gov/expapi/verbs/completed"},
		"object": map[string]any{"objectType": "Activity", "id": "https://lms.acme.test/c"},
		"authority": map[string]any{"objectType": "Group", "member": []any{
			map[string]any{"mbox": "mailto:a@x.test"},
			map[string]any{"account": map[string]any{"homePage": "https://x.test", "name": "b"}}}},
	}
	for k, w := range want {
		if !reflect.DeepEqual(got[k], w) {
			t.Errorf("ids %s = %v, want %v", k, got[k], w)
		}
	}
	ctx := got["context"].(map[string]any)
	if !reflect.DeepEqual(ctx["instructor"], map[string]any{"account": map[string]any{"homePage": "https://lms.acme.test", "name": "ina"}}) {
		t.Errorf("ids instructor = %v", ctx["instructor"])
	}
	if p := ctx["contextActivities"].(map[string]any)["parent"].([]any)[0]; !reflect.DeepEqual(p, map[string]any{"id": "https://lms.acme.test/p"}) {
		t.Errorf("ids parent = %v", p)
	}
	if got["id"] == nil || got["stored"] == nil {
		t.Error("ids dropped the statement's own properties")
	}
}

func TestFormatStatementCanonical(t *testing.T) {
	cases := []struct {
		langs             []string
		verb, name, descr map[string]any
	}{
		{[]string{"fr"}, map[string]any{"de": "abgeschlossen"}, map[string]any{"fr": "Sécurité"}, map[string]any{"fr": "y"}},
		{[]string{"en"}, map[string]any{"en-US": "completed"}, map[string]any{"en-US": "Safety"}, map[string]any{"und": "x"}},
		{nil, map[string]any{"de": "abgeschlossen"}, map[string]any{"en-US": "Safety"}, map[string]any{"und": "x"}},
	}
	for _, tc := range cases {
		out, err := FormatStatement([]byte(richDoc), FormatCanonical, tc.langs)
		if err != nil {
			t.Fatal(err)
		}
		got := decode(t, out)
		def := got["object"].(map[string]any)["definition"].(map[string]any)
		if !reflect.DeepEqual(got["verb"].(map[string]any)["display"], tc.verb) ||
			!reflect.DeepEqual(def["name"], tc.name) || !reflect.DeepEqual(def["description"], tc.descr) {
			t.Errorf("canonical %v: verb %v name %v description %v", tc.langs, got["verb"], def["name"], def["description"])
		}
		ext := def["extensions"].(map[string]any)["http://x.example/e"].(map[string]any)
		if !reflect.DeepEqual(ext["name"], map[string]any{"en": "kept"}) {
			t.Errorf("canonical changed an extension: %v", ext)
		}
	}
	if out, _ := FormatStatement([]byte(richDoc), FormatExact, nil); string(out) != richDoc {
		t.Error("exact changed the document")
	}
}

func TestAcceptLanguages(t *testing.T) {
	cases := map[string][]string{
		"":                            {},
		"fr":                          {"fr"},
		"en-GB,en;q=0.8,de;q=0.9,*":   {"en-GB", "de", "en"},
		"de;q=0, fr;q=0.5 , es;q=bad": {"fr"},
	}
	for in, want := range cases {
		if got := AcceptLanguages(in); !reflect.DeepEqual(got, want) {
			t.Errorf("AcceptLanguages(%q) = %v, want %v", in, got, want)
		}
	}
}
