package xapi

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/go-json-experiment/json/jsontext"
)

var lrsAuthority = Agent{Name: "LearnLens", AccountHomePage: "https://lrs.example.com", AccountName: "client-42"}

func TestFinalizeSetsLRSValues(t *testing.T) {
	s := mustParse(t, minimal)
	stored := time.Date(2024, 6, 1, 12, 30, 0, 123e6, time.FixedZone("CEST", 2*3600))
	out, err := s.Finalize(stored, lrsAuthority)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := canonicalUUID(s.ID); !ok || s.ID[14] != '4' {
		t.Errorf("ID = %q, want a random (version 4) UUID", s.ID)
	}
	if !s.Stored.Equal(stored) || !s.Timestamp.Equal(stored) {
		t.Errorf("stored = %v, timestamp = %v", s.Stored, s.Timestamp)
	}
	if s.Authority == nil || s.Authority.Key() != "account:https://lrs.example.com|client-42" {
		t.Errorf("authority = %+v", s.Authority)
	}
	var doc map[string]any
	if err := json.Unmarshal(out, &doc); err != nil {
		t.Fatal(err)
	}
	if doc["id"] != s.ID || doc["stored"] != "2024-06-01T10:30:00.123Z" || doc["timestamp"] != "2024-06-01T10:30:00.123Z" {
		t.Errorf("id/stored/timestamp = %v %v %v", doc["id"], doc["stored"], doc["timestamp"])
	}
	if doc["version"] != StatementVersion {
		t.Errorf("version = %v, want %s", doc["version"], StatementVersion)
	}
	auth := doc["authority"].(map[string]any)
	if auth["objectType"] != "Agent" || auth["account"].(map[string]any)["name"] != "client-42" {
		t.Errorf("authority = %v", auth)
	}

	back, err := ParseStatement(out)
	if err != nil {
		t.Fatalf("finalized statement does not parse back: %v\n%s", err, out)
	}
	if back.ID != s.ID || !back.Timestamp.Equal(stored) || back.Authority.Key() != s.Authority.Key() {
		t.Errorf("round trip = %+v", back)
	}
}

func TestFinalizeKeepsClientValuesAndReplacesAuthority(t *testing.T) {
	s := mustParse(t, rich)
	stored := time.Date(2024, 6, 1, 0, 0, 0, 0, time.UTC)
	out, err := s.Finalize(stored, lrsAuthority)
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	dec := json.NewDecoder(strings.NewReader(string(out)))
	dec.UseNumber()
	if err := dec.Decode(&doc); err != nil {
		t.Fatal(err)
	}
	if doc["id"] != "6690e6c9-3ef0-4ed3-8b37-7f3964730bee" {
		t.Errorf("id = %v, want the client id in lower case", doc["id"])
	}
	if doc["timestamp"] != "2024-05-18T05:32:34.804Z" {
		t.Errorf("timestamp = %v, want the client timestamp in UTC", doc["timestamp"])
	}
	if doc["stored"] != "2024-06-01T00:00:00.000Z" {
		t.Errorf("stored = %v", doc["stored"])
	}
	if doc["version"] != "1.0.0" {
		t.Errorf("version = %v, want the client's version kept", doc["version"])
	}
	auth := doc["authority"].(map[string]any)
	if name := auth["account"].(map[string]any)["name"]; name != "client-42" {
		t.Errorf("authority account name = %v, want the LRS authority, not the client's", name)
	}
	if s.Authority.AccountName != "client-42" {
		t.Errorf("Statement.Authority = %+v", s.Authority)
	}
	// Numbers survive unchanged and single context activities are arrays.
	ext := doc["context"].(map[string]any)["extensions"].(map[string]any)["http://example.com/ext/session"].(map[string]any)
	if ext["n"] != json.Number("1.50") {
		t.Errorf("extension number = %#v, want 1.50 unchanged", ext["n"])
	}
	if _, ok := doc["context"].(map[string]any)["contextActivities"].(map[string]any)["parent"].([]any); !ok {
		t.Error("parent context activity was not normalised to an array")
	}
	if !strings.Contains(string(out), `"response":"two[,]three"`) {
		t.Errorf("output escapes or alters strings: %s", out)
	}
	if _, err := ParseStatement(out); err != nil {
		t.Fatalf("finalized statement does not parse back: %v", err)
	}
	eq, err := Equivalent([]byte(rich), out)
	if err != nil || !eq {
		t.Errorf("finalized statement not equivalent to the original: %v %v", eq, err)
	}
}

func TestFinalizeGroupAuthority(t *testing.T) {
	s := mustParse(t, minimal)
	oauth := Agent{ObjectType: "Group", Members: []Agent{
		{AccountHomePage: "https://lrs.example.com/OAuth/token", AccountName: "app"},
		{Mbox: "mailto:user@example.com"},
	}}
	out, err := s.Finalize(time.Now(), oauth)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ParseStatement(out); err != nil {
		t.Fatalf("does not parse back: %v", err)
	}
}

func TestFinalizeErrors(t *testing.T) {
	s := mustParse(t, minimal)
	if _, err := s.Finalize(time.Now(), Agent{Name: "no identifier"}); err == nil {
		t.Error("accepted an authority without an identifier")
	}
	if _, err := s.Finalize(time.Time{}, lrsAuthority); err == nil {
		t.Error("accepted a zero stored time")
	}
	var empty Statement
	if _, err := empty.Finalize(time.Now(), lrsAuthority); err == nil {
		t.Error("finalized a statement without Raw")
	}
}

func TestFormatTimestamp(t *testing.T) {
	tests := []struct {
		in   time.Time
		want string
	}{
		{time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC), "2024-01-02T03:04:05.000Z"},
		{time.Date(2024, 1, 2, 3, 4, 5, 120e6, time.UTC), "2024-01-02T03:04:05.120Z"},
		{time.Date(2024, 1, 2, 3, 4, 5, 123456000, time.UTC), "2024-01-02T03:04:05.123456Z"},
		{time.Date(2024, 1, 2, 3, 4, 5, 1, time.FixedZone("", -3600)), "2024-01-02T04:04:05.000000001Z"},
	}
	for _, tc := range tests {
		if got := FormatTimestamp(tc.in); got != tc.want {
			t.Errorf("FormatTimestamp(%v) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// TestEncodedStringsQuoteAsJSONText: the stored JSON's strings are written
// exactly as jsontext quotes them, whichever path writes them (every byte,
// alone and inside a name, and strings that need escapes).
func TestEncodedStringsQuoteAsJSONText(t *testing.T) {
	var cases []string
	for c := 0; c < 256; c++ {
		cases = append(cases, string(rune(c)), "name"+string([]byte{byte(c)})+"x")
	}
	cases = append(cases, "", "https://example.com/a?b=c&d=<e>", `quote " and \ back`, "tab\there", "π and \u2028", "\x7f")
	for _, s := range cases {
		want, wantErr := jsontext.AppendQuote(nil, s)
		got, err := appendString(nil, s)
		if string(got) != string(want) || (err == nil) != (wantErr == nil) {
			t.Errorf("%q: got %s (%v), want %s (%v)", s, got, err, want, wantErr)
		}
	}
}

// TestOneAuthorityFinalizesABatch: the statements of a batch finalised by
// one Authority each carry it, and finalising the next leaves the JSON of
// the one before unchanged (they share the authority's value in Raw).
func TestOneAuthorityFinalizesABatch(t *testing.T) {
	stored := time.Date(2024, 6, 1, 0, 0, 0, 0, time.UTC)
	auth, err := NewAuthority(lrsAuthority)
	if err != nil {
		t.Fatal(err)
	}
	stmts, err := ParseStatements([]byte("[" + minimal + "," + rich + "]"))
	if err != nil {
		t.Fatal(err)
	}
	var outs [][]byte
	for i := range stmts {
		out, err := stmts[i].FinalizeBy(stored, auth)
		if err != nil {
			t.Fatal(err)
		}
		outs = append(outs, out)
	}
	for i, out := range outs {
		back, err := ParseStatement(out)
		if err != nil {
			t.Fatalf("statement %d does not parse back: %v", i, err)
		}
		if back.Authority.Key() != "account:https://lrs.example.com|client-42" || back.ID != stmts[i].ID {
			t.Errorf("statement %d: authority %q, id %q", i, back.Authority.Key(), back.ID)
		}
		again, err := encodeJSON(stmts[i].Raw)
		if err != nil || string(again) != string(out) {
			t.Errorf("statement %d changed after finalising: %s, then %s", i, out, again)
		}
	}
	if _, err := NewAuthority(Agent{Name: "no identifier"}); err == nil {
		t.Error("an authority without an identifier was accepted")
	}
}
