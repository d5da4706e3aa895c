package xapi

import (
	"net/url"
	"testing"
	"time"
)

func TestParseQueryValid(t *testing.T) {
	tests := []struct {
		name  string
		query string
		check func(t *testing.T, q Query)
	}{
		{"empty", "", func(t *testing.T, q Query) {
			if q != (Query{Format: FormatExact}) {
				t.Errorf("q = %+v", q)
			}
		}},
		{"statementId with format and attachments", "statementId=6690E6C9-3EF0-4ED3-8B37-7F3964730BEE&format=ids&attachments=true", func(t *testing.T, q Query) {
			if q.StatementID != "6690e6c9-3ef0-4ed3-8b37-7f3964730bee" || q.Format != FormatIDs || !q.Attachments {
				t.Errorf("q = %+v", q)
			}
		}},
		{"voidedStatementId", "voidedStatementId=6690e6c9-3ef0-4ed3-8b37-7f3964730bee", func(t *testing.T, q Query) {
			if q.VoidedStatementID != "6690e6c9-3ef0-4ed3-8b37-7f3964730bee" {
				t.Errorf("q = %+v", q)
			}
		}},
		{"all filters", "agent=" + url.QueryEscape(`{"objectType":"Agent","mbox":"mailto:Ada@Example.com"}`) +
			"&verb=" + url.QueryEscape(VerbCompleted) + "&activity=" + url.QueryEscape("http://example.com/a") +
			"&registration=ec531277-b57b-4c15-8d91-d292c5b2b8f7&related_activities=true&related_agents=true" +
			"&since=2024-01-01T00:00:00Z&until=" + url.QueryEscape("2024-02-01T02:00:00+02:00") +
			"&limit=25&format=canonical&attachments=false&ascending=true", func(t *testing.T, q Query) {
			want := Query{
				Agent: "mbox:mailto:Ada@example.com", Verb: VerbCompleted, Activity: "http://example.com/a",
				Registration: "ec531277-b57b-4c15-8d91-d292c5b2b8f7", RelatedActivities: true, RelatedAgents: true,
				Limit: 25, Format: FormatCanonical, Ascending: true,
			}
			since, until := q.Since, q.Until
			q.Since, q.Until = time.Time{}, time.Time{}
			if q != want {
				t.Errorf("q = %+v\nwant %+v", q, want)
			}
			if !since.Equal(time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)) || !until.Equal(time.Date(2024, 2, 1, 0, 0, 0, 0, time.UTC)) {
				t.Errorf("since %v until %v", since, until)
			}
		}},
		{"identified group agent", "agent=" + url.QueryEscape(`{"objectType":"Group","account":{"homePage":"http://example.com","name":"g"}}`), func(t *testing.T, q Query) {
			if q.Agent != "account:http://example.com|g" {
				t.Errorf("agent = %q", q.Agent)
			}
		}},
		{"limit zero", "limit=0", func(t *testing.T, q Query) {
			if q.Limit != 0 {
				t.Errorf("limit = %d", q.Limit)
			}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			v, err := url.ParseQuery(tc.query)
			if err != nil {
				t.Fatal(err)
			}
			q, err := ParseQuery(v)
			if err != nil {
				t.Fatalf("ParseQuery(%q): %v", tc.query, err)
			}
			tc.check(t, q)
		})
	}
}

func TestParseQueryInvalid(t *testing.T) {
	const id = "6690e6c9-3ef0-4ed3-8b37-7f3964730bee"
	tests := []struct {
		name, query, path, rule string
	}{
		{"unknown parameter", "foo=bar", "foo", "unknown-parameter"},
		{"parameter with wrong case", "StatementId=" + id, "StatementId", "unknown-parameter"},
		{"parameter given twice", "verb=http://a.example/v&verb=http://b.example/v", "verb", "duplicate-parameter"},
		{"statementId and voidedStatementId", "statementId=" + id + "&voidedStatementId=" + id, "voidedStatementId", "parameter-combination"},
		{"statementId with verb", "statementId=" + id + "&verb=http://example.com/v", "verb", "parameter-combination"},
		{"voidedStatementId with limit", "voidedStatementId=" + id + "&limit=1", "limit", "parameter-combination"},
		{"statementId not a uuid", "statementId=abc", "statementId", "uuid"},
		{"voidedStatementId not a uuid", "voidedStatementId=", "voidedStatementId", "uuid"},
		{"registration not a uuid", "registration=MA97B177-9383-4934-8543-0F91A7A02836", "registration", "uuid"},
		{"verb not an IRI", "verb=completed", "verb", "iri"},
		{"verb empty", "verb=", "verb", "iri"},
		{"activity not an IRI", "activity=" + url.QueryEscape("my activity"), "activity", "iri"},
		{"agent not JSON", "agent=ada", "agent", "json"},
		{"agent without IFI", "agent=" + url.QueryEscape(`{"name":"Ada"}`), "agent", "actor-ifi"},
		{"agent with two IFIs", "agent=" + url.QueryEscape(`{"mbox":"mailto:a@example.com","openid":"http://o.example.org/a"}`), "agent", "actor-ifi"},
		{"agent anonymous group", "agent=" + url.QueryEscape(`{"objectType":"Group","member":[{"mbox":"mailto:a@example.com"}]}`), "agent", "actor-ifi"},
		{"agent bad mbox", "agent=" + url.QueryEscape(`{"mbox":"a@example.com"}`), "agent.mbox", "mbox"},
		{"agent unknown property", "agent=" + url.QueryEscape(`{"mbox":"mailto:a@example.com","email":"x"}`), "agent.email", "unknown-property"},
		{"agent null name", "agent=" + url.QueryEscape(`{"mbox":"mailto:a@example.com","name":null}`), "agent.name", "null"},
		{"agent is an array", "agent=" + url.QueryEscape(`[]`), "agent", "type"},
		{"since garbage", "since=yesterday", "since", "timestamp"},
		{"until without zone", "until=2024-01-01T00:00:00", "until", "timestamp"},
		{"limit negative", "limit=-1", "limit", "limit"},
		{"limit with sign", "limit=%2B5", "limit", "limit"},
		{"limit not a number", "limit=ten", "limit", "limit"},
		{"limit too big", "limit=99999999999999999999", "limit", "limit"},
		{"format unknown", "format=full", "format", "format"},
		{"format wrong case", "format=Exact", "format", "format"},
		{"related_activities not boolean", "related_activities=yes", "related_activities", "type"},
		{"related_agents wrong case", "related_agents=True", "related_agents", "type"},
		{"attachments empty", "attachments=", "attachments", "type"},
		{"ascending as number", "ascending=1", "ascending", "type"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			v, err := url.ParseQuery(tc.query)
			if err != nil {
				t.Fatal(err)
			}
			_, err = ParseQuery(v)
			wantValidation(t, err, tc.path, tc.rule)
		})
	}
}
