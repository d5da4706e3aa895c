package xapi

import (
	"reflect"
	"testing"
	"time"
)

func TestAgentKeys(t *testing.T) {
	s := mustParse(t, rich)
	if _, err := s.Finalize(time.Now(), lrsAuthority); err != nil {
		t.Fatal(err)
	}
	got := s.AgentKeys(false)
	want := []string{"account:https://lms.example.com|ada"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("AgentKeys(false) = %v, want %v", got, want)
	}
	got = s.AgentKeys(true)
	want = []string{
		"account:https://lms.example.com|ada",
		"account:https://lrs.example.com|client-42", // authority
		"mbox:mailto:Teacher.One@example.com",       // instructor group members (domain lower-cased)
		"openid:http://openid.example.org/teacher2",
		"mbox:mailto:team@example.com", // team
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("AgentKeys(true) =\n%v\nwant\n%v", got, want)
	}
}

func TestAgentKeysObjectAndGroups(t *testing.T) {
	body := edit(t, minimal, "actor", `{"objectType": "Group", "mbox": "mailto:team@example.com", "member": [{"mbox": "mailto:a@example.com"}]}`)
	body = edit(t, string(body), "object", `{"objectType": "Agent", "mbox_sha1sum": "EBD31E95054C018B10727CCFFD2EF2EC3A016EE9"}`)
	s := mustParse(t, string(body))
	want := []string{"mbox:mailto:team@example.com", "mbox:mailto:a@example.com", "mbox_sha1sum:ebd31e95054c018b10727ccffd2ef2ec3a016ee9"}
	if got := s.AgentKeys(false); !reflect.DeepEqual(got, want) {
		t.Errorf("AgentKeys(false) = %v, want %v", got, want)
	}
}

func TestAgentKeysSubStatement(t *testing.T) {
	body := edit(t, minimal, "object", `{"objectType": "SubStatement", "actor": {"mbox": "mailto:sub@example.com"},
		"verb": {"id": "http://example.com/v"}, "object": {"objectType": "Agent", "mbox": "mailto:subobj@example.com"},
		"context": {"instructor": {"mbox": "mailto:learner@example.com"}, "team": {"objectType": "Group", "openid": "http://o.example.org/t"}}}`)
	s := mustParse(t, string(body))
	if got, want := s.AgentKeys(false), []string{"mbox:mailto:learner@example.com"}; !reflect.DeepEqual(got, want) {
		t.Errorf("AgentKeys(false) = %v, want %v", got, want)
	}
	want := []string{"mbox:mailto:learner@example.com", "mbox:mailto:sub@example.com", "mbox:mailto:subobj@example.com", "openid:http://o.example.org/t"}
	if got := s.AgentKeys(true); !reflect.DeepEqual(got, want) {
		t.Errorf("AgentKeys(true) = %v, want %v (duplicates removed)", got, want)
	}
}

func TestActivityIDs(t *testing.T) {
	s := mustParse(t, rich)
	if got, want := s.ActivityIDs(false), []string{"http://example.com/quiz/1/question/2"}; !reflect.DeepEqual(got, want) {
		t.Errorf("ActivityIDs(false) = %v, want %v", got, want)
	}
	want := []string{"http://example.com/quiz/1/question/2", "http://example.com/quiz/1", "http://example.com/course/algebra", CategoryCMI5}
	if got := s.ActivityIDs(true); !reflect.DeepEqual(got, want) {
		t.Errorf("ActivityIDs(true) = %v, want %v", got, want)
	}
}

func TestActivityIDsSubStatementAndNonActivity(t *testing.T) {
	body := edit(t, minimal, "object", `{"objectType": "SubStatement", "actor": {"mbox": "mailto:sub@example.com"},
		"verb": {"id": "http://example.com/v"}, "object": {"id": "http://example.com/sub-object"},
		"context": {"contextActivities": {"grouping": [{"id": "http://example.com/sub-group"}]}}}`)
	body = edit(t, string(body), "context", `{"contextActivities": {"other": {"id": "http://example.com/other"}}}`)
	s := mustParse(t, string(body))
	if got := s.ActivityIDs(false); len(got) != 0 {
		t.Errorf("ActivityIDs(false) = %v, want none for a SubStatement object", got)
	}
	want := []string{"http://example.com/other", "http://example.com/sub-object", "http://example.com/sub-group"}
	if got := s.ActivityIDs(true); !reflect.DeepEqual(got, want) {
		t.Errorf("ActivityIDs(true) = %v, want %v", got, want)
	}
}

func TestAgentKeyAndEmail(t *testing.T) {
	tests := []struct {
		a          Agent
		key, email string
	}{
		{Agent{Mbox: "mailto:Ada.L@Example.COM"}, "mbox:mailto:Ada.L@example.com", "ada.l@example.com"},
		{Agent{MboxSHA1Sum: "ABCDEF0123456789ABCDEF0123456789ABCDEF01"}, "mbox_sha1sum:abcdef0123456789abcdef0123456789abcdef01", ""},
		{Agent{OpenID: "http://openid.example.org/ada"}, "openid:http://openid.example.org/ada", ""},
		{Agent{AccountHomePage: "https://lms.example.com", AccountName: "42"}, "account:https://lms.example.com|42", ""},
		{Agent{ObjectType: "Group", Members: []Agent{{Mbox: "mailto:a@example.com"}}}, "", ""},
	}
	for _, tc := range tests {
		if got := tc.a.Key(); got != tc.key {
			t.Errorf("Key(%+v) = %q, want %q", tc.a, got, tc.key)
		}
		if got := tc.a.Email(); got != tc.email {
			t.Errorf("Email(%+v) = %q, want %q", tc.a, got, tc.email)
		}
	}
}
