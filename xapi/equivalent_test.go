package xapi

import (
	"testing"
	"time"
)

func TestEquivalent(t *testing.T) {
	const base = `{"id": "6690e6c9-3ef0-4ed3-8b37-7f3964730bee",
		"actor": {"objectType": "Group", "name": "Team", "member": [{"mbox": "mailto:a@example.com"}, {"mbox": "mailto:b@example.com"}]},
		"verb": {"id": "http://adlnet.gov/expapi/verbs/passed", "display": {"en-US": "passed"}},
		"object": {"id": "http://example.com/quiz", "definition": {"name": {"en": "Quiz"}}},
		"result": {"score": {"scaled": 0.5, "raw": 50}, "duration": "PT1M0.123S", "extensions": {"http://example.com/e": [1, 2.0]}},
		"context": {"registration": "ec531277-b57b-4c15-8d91-d292c5b2b8f7", "contextActivities": {"parent": [{"id": "http://example.com/course"}]}},
		"timestamp": "2024-05-18T05:32:34.804Z",
		"stored": "2024-05-18T05:33:00.000Z",
		"authority": {"mbox": "mailto:lrs@example.com"},
		"version": "1.0.0"}`
	finalized, err := func() ([]byte, error) {
		s := mustParse(t, minimal)
		return s.Finalize(time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC), lrsAuthority)
	}()
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		a, b string
		want bool
	}{
		{"identical", base, base, true},
		{"different key order", base, `{"version": "1.0.0", "authority": {"mbox": "mailto:lrs@example.com"}, "stored": "2024-05-18T05:33:00.000Z",
			"timestamp": "2024-05-18T05:32:34.804Z",
			"context": {"contextActivities": {"parent": [{"id": "http://example.com/course"}]}, "registration": "ec531277-b57b-4c15-8d91-d292c5b2b8f7"},
			"result": {"extensions": {"http://example.com/e": [1, 2.0]}, "duration": "PT1M0.123S", "score": {"raw": 50, "scaled": 0.5}},
			"object": {"definition": {"name": {"en": "Quiz"}}, "id": "http://example.com/quiz"},
			"verb": {"display": {"en-US": "passed"}, "id": "http://adlnet.gov/expapi/verbs/passed"},
			"actor": {"member": [{"mbox": "mailto:a@example.com"}, {"mbox": "mailto:b@example.com"}], "name": "Team", "objectType": "Group"},
			"id": "6690e6c9-3ef0-4ed3-8b37-7f3964730bee"}`, true},
		{"timestamp in another zone", base, string(edit(t, base, "timestamp", `"2024-05-18T07:32:34.804+02:00"`)), true},
		{"timestamp beyond milliseconds", base, string(edit(t, base, "timestamp", `"2024-05-18T05:32:34.8049Z"`)), true},
		{"different stored", base, string(edit(t, base, "stored", `"2030-01-01T00:00:00Z"`)), true},
		{"different authority", base, string(edit(t, base, "authority", `{"mbox": "mailto:other@example.com"}`)), true},
		{"missing version", base, string(edit(t, base, "version", del)), true},
		{"timestamp only on one side", base, string(edit(t, base, "timestamp", del)), true},
		{"id only on one side", base, string(edit(t, base, "id", del)), true},
		{"upper-case ids", base, string(edit(t, string(edit(t, base, "id", `"6690E6C9-3EF0-4ED3-8B37-7F3964730BEE"`)), "context.registration", `"EC531277-B57B-4C15-8D91-D292C5B2B8F7"`)), true},
		{"numbers compared by value", base, string(edit(t, string(edit(t, base, "result.score", `{"scaled": 0.50, "raw": 5e1}`)), "result.extensions", `{"http://example.com/e": [1.0, 2]}`)), true},
		{"members in another order", base, string(edit(t, base, "actor.member", `[{"mbox": "mailto:b@example.com"}, {"objectType": "Agent", "mbox": "mailto:a@example.com"}]`)), true},
		{"verb display differs", base, string(edit(t, base, "verb.display", `{"fr": "réussi"}`)), true},
		{"activity definition differs", base, string(edit(t, base, "object.definition", del)), true},
		{"explicit default objectType", base, string(edit(t, base, "object.objectType", `"Activity"`)), true},
		{"single context activity", base, string(edit(t, base, "context.contextActivities.parent", `{"id": "http://example.com/course"}`)), true},
		{"iri scheme and host case", base, string(edit(t, base, "verb.id", `"HTTP://ADLNET.gov/expapi/verbs/passed"`)), true},
		{"duration beyond hundredths", base, string(edit(t, base, "result.duration", `"PT1M0.12S"`)), true},
		{"mbox domain case", minimal, string(edit(t, minimal, "actor.mbox", `"mailto:learner@EXAMPLE.com"`)), true},
		{"finalized vs original", minimal, string(finalized), true},
		{"attachments ignored", minimal, string(edit(t, minimal, "attachments", `[{"usageType": "http://adlnet.gov/expapi/attachments/signature"}]`)), true},

		{"different result", base, string(edit(t, base, "result.score.raw", `51`)), false},
		{"result added", minimal, string(edit(t, minimal, "result", `{"success": true}`)), false},
		{"different success", base, string(edit(t, base, "result.success", `false`)), false},
		{"different timestamp instant", base, string(edit(t, base, "timestamp", `"2024-05-18T05:32:35.804Z"`)), false},
		{"different id", base, string(edit(t, base, "id", `"7690e6c9-3ef0-4ed3-8b37-7f3964730bee"`)), false},
		{"different verb", base, string(edit(t, base, "verb.id", `"http://adlnet.gov/expapi/verbs/failed"`)), false},
		{"iri path case", base, string(edit(t, base, "object.id", `"http://example.com/Quiz"`)), false},
		{"duration units not converted", base, string(edit(t, base, "result.duration", `"PT60.123S"`)), false},
		{"mbox local part case", minimal, string(edit(t, minimal, "actor.mbox", `"mailto:Learner@example.com"`)), false},
		{"different member", base, string(edit(t, base, "actor.member[1]", `{"mbox": "mailto:c@example.com"}`)), false},
		{"context activity order matters", base, string(edit(t, base, "context.contextActivities.parent", `[{"id": "http://example.com/course"}, {"id": "http://example.com/x"}]`)), false},
		{"agent name differs", minimal, string(edit(t, minimal, "actor.name", `"Ada"`)), false},
		{"extension value differs", base, string(edit(t, base, "result.extensions", `{"http://example.com/e": [1, 3]}`)), false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Equivalent([]byte(tc.a), []byte(tc.b))
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Errorf("Equivalent = %v, want %v\na: %s\nb: %s", got, tc.want, tc.a, tc.b)
			}
			back, err := Equivalent([]byte(tc.b), []byte(tc.a))
			if err != nil || back != got {
				t.Errorf("Equivalent is not symmetric: %v / %v (%v)", got, back, err)
			}
		})
	}
}

func TestEquivalentErrors(t *testing.T) {
	if _, err := Equivalent([]byte(`{`), []byte(minimal)); err == nil {
		t.Error("accepted invalid JSON")
	}
	if _, err := Equivalent([]byte(minimal), []byte(`[]`)); err == nil {
		t.Error("accepted an array")
	}
}

func TestEquivalentHugeExponent(t *testing.T) {
	a := edit(t, minimal, "result", `{"extensions": {"http://example.com/e": 1e999999999}}`)
	b := edit(t, minimal, "result", `{"extensions": {"http://example.com/e": 1e999999998}}`)
	if _, err := Equivalent(a, b); err != nil {
		t.Fatal(err)
	}
}
