package xapi

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// benchBody is a batch of 1,000 statements like tests/bench posts.
func benchBody() []byte {
	stmts := make([]string, 1000)
	for i := range stmts {
		stmts[i] = fmt.Sprintf(`{"actor":{"mbox":"mailto:learner%d@run1.test","name":"Learner %d"},"verb":{"id":"http://adlnet.gov/expapi/verbs/passed"},"object":{"id":"https://lms.run1.test/courses/%d","definition":{"name":{"en-US":"Course %d"}}},"timestamp":"2026-10-01T10:00:00Z","result":{"score":{"scaled":0.%02d},"success":true}}`,
			i%500, i%500, i%20, i%20, i%100)
	}
	return []byte("[" + strings.Join(stmts, ",") + "]")
}

// BenchmarkParseAndFinalize measures what a 1,000-statement POST costs in
// Go before it reaches the database: parsing, validation and finalising.
func BenchmarkParseAndFinalize(b *testing.B) {
	body := benchBody()
	stored := time.Date(2026, 11, 26, 0, 0, 0, 0, time.UTC)
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		stmts, err := ParseStatements(body)
		if err != nil {
			b.Fatal(err)
		}
		auth, err := NewAuthority(lrsAuthority) // once per batch, as the pipeline does
		if err != nil {
			b.Fatal(err)
		}
		for i := range stmts {
			if _, err := stmts[i].FinalizeBy(stored, auth); err != nil {
				b.Fatal(err)
			}
		}
	}
}
