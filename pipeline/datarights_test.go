package pipeline

import (
	"strings"
	"testing"

	"github.com/learnlens/learnlens/imports"
)

func TestReplaceAgentsRewritesEveryAppearanceAndNothingElse(t *testing.T) {
	keys := []string{"mbox:mailto:ana@acme.test", "account:https://lms.acme.test|E42"}
	for _, tc := range []struct{ name, in, want string }{
		{"actor by mbox, domain in another case",
			`{"actor":{"mbox":"mailto:ana@ACME.test","name":"Ana"},"result":{"score":{"scaled":0.850}}}`,
			`{"actor":{"account":{"homePage":"urn:learnlens:pseudonym","name":"p-1"}},"result":{"score":{"scaled":0.850}}}`},
		{"instructor by account, team member, object agent",
			`{"actor":{"mbox":"mailto:bo@acme.test"},"object":{"objectType":"Agent","mbox":"mailto:ana@acme.test"},` +
				`"context":{"instructor":{"account":{"homePage":"https://lms.acme.test","name":"E42"},"name":"Ana"},` +
				`"team":{"objectType":"Group","member":[{"mbox":"mailto:ana@acme.test"},{"mbox":"mailto:cy@acme.test"}]}}}`,
			`{"actor":{"mbox":"mailto:bo@acme.test"},"context":{"instructor":{"account":{"homePage":"urn:learnlens:pseudonym","name":"p-1"}},` +
				`"team":{"member":[{"account":{"homePage":"urn:learnlens:pseudonym","name":"p-1"}},{"mbox":"mailto:cy@acme.test"}],"objectType":"Group"}},` +
				`"object":{"account":{"homePage":"urn:learnlens:pseudonym","name":"p-1"},"objectType":"Agent"}}`},
		{"sub-statement actor",
			`{"object":{"objectType":"SubStatement","actor":{"mbox":"mailto:ana@acme.test"}}}`,
			`{"object":{"actor":{"account":{"homePage":"urn:learnlens:pseudonym","name":"p-1"}},"objectType":"SubStatement"}}`},
		{"someone else untouched",
			`{"actor":{"mbox":"mailto:anastasia@acme.test","name":"Ana"}}`,
			`{"actor":{"mbox":"mailto:anastasia@acme.test","name":"Ana"}}`},
	} {
		got, err := replaceAgents([]byte(tc.in), keys, "p-1")
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if string(got) != tc.want {
			t.Errorf("%s:\n got %s\nwant %s", tc.name, got, tc.want)
		}
	}
}

func TestFileNamesFindsThePersonAndOnlyThem(t *testing.T) {
	who := person{email: "ana@acme.test", employee: "E4", name: "Ana Ruiz"}
	who.identifiers = []string{who.email, who.employee, who.name}
	for _, tc := range []struct {
		name, csv, report string
		want              bool
	}{
		{"their row", "employee_id,email,name\nE4,ana@acme.test,Ana Ruiz\n", "[]", true},
		{"their employee id as a manager", "employee_id,email,name,manager_employee_id\nE5,bo@acme.test,Bo,E4\n", "[]", true},
		{"an employee id that only starts like theirs", "employee_id,email,name\nE40,bo@acme.test,Bo\n", "[]", false},
		{"their email in the error report", "x\n", `[{"Line":2,"Column":"email","Value":"ANA@acme.test","Reason":"taken"}]`, true},
		{"nobody of theirs", "employee_id,email,name\nE5,bo@acme.test,Bo Diaz\n", "[]", false},
	} {
		if got := fileNames(imports.KindRoster, "r.csv", []byte(tc.csv), tc.report, who); got != tc.want {
			t.Errorf("%s: %v, want %v", tc.name, got, tc.want)
		}
	}
	if !wholeCell(strings.ToLower(`"e4";x`), "e4") || wholeCell("e44,x", "e4") {
		t.Error("wholeCell")
	}
}
