package xapi

import (
	"net/url"
	"testing"
	"time"
)

// FuzzParseStatements checks that parsing never panics and that every
// accepted statement finalizes into JSON that parses back and is
// equivalent to the input.
func FuzzParseStatements(f *testing.F) {
	for _, seed := range []string{minimal, rich, "[" + minimal + "]", "[]", `{"actor":null}`, `{"result":{"duration":"P1Y"}}`} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		stmts, err := ParseStatements(body)
		if err != nil {
			return
		}
		for i := range stmts {
			s := &stmts[i]
			before, err := encodeJSON(s.Raw)
			if err != nil {
				t.Fatal(err)
			}
			out, err := s.Finalize(time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC), lrsAuthority)
			if err != nil {
				t.Fatalf("finalize: %v", err)
			}
			if _, err := ParseStatement(out); err != nil {
				t.Fatalf("finalized statement does not parse back: %v\n%s", err, out)
			}
			if eq, err := Equivalent(before, out); err != nil || !eq {
				t.Fatalf("finalized statement not equivalent (%v): %s\n%s", err, before, out)
			}
		}
	})
}

// FuzzParseQuery checks that query parsing never panics.
func FuzzParseQuery(f *testing.F) {
	f.Add("statementId=6690e6c9-3ef0-4ed3-8b37-7f3964730bee&format=ids")
	f.Add(`agent={"mbox":"mailto:a@example.com"}&limit=10&since=2024-01-01T00:00:00Z`)
	f.Fuzz(func(t *testing.T, q string) {
		v, err := url.ParseQuery(q)
		if err != nil {
			return
		}
		_, _ = ParseQuery(v)
	})
}
