package tests

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
	"strconv"
	"testing"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"

	"github.com/learnlens/learnlens/seed"
	"github.com/learnlens/learnlens/tests/testserver"
)

// TestAPIDocExamplesWork runs docs/API.md's Go client (x/oauth2's client
// credentials, which sends the secret by HTTP Basic) and its curl requests
// against a server, so the examples stay true.
func TestAPIDocExamplesWork(t *testing.T) {
	srv := testserver.Start(t)
	// acme.localhost resolves here only in browsers: dial the server.
	dial := &http.Transport{DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, network, "127.0.0.1:"+strconv.Itoa(srv.Port))
	}}
	ctx := context.WithValue(context.Background(), oauth2.HTTPClient, &http.Client{Transport: dial})
	host := "http://" + acme + ":" + strconv.Itoa(srv.Port)
	cfg := clientcredentials.Config{ClientID: seed.DemoAPIClientID, ClientSecret: seed.DemoAPIClientSecret,
		TokenURL: host + "/api/v1/oauth/token"}
	client := cfg.Client(ctx)

	resp, err := client.Get(host + "/api/v1/dashboards/completion/kpis?range=30d")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out struct {
		AsOf string `json:"as_of"`
		Data struct {
			Enrolled       int64    `json:"enrolled"`
			Completed      int64    `json:"completed"`
			CompletionRate *float64 `json:"completion_rate"`
		} `json:"data"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("the Go example: %d %v", resp.StatusCode, err)
	}

	// The curl examples, with the same client's token.
	for _, path := range []string{
		"/api/v1/dashboards/completion/kpis?range=90d&department=Engineering",
		"/api/v1/tables/completion/courses?sort=completion_rate&dir=desc&page=2",
		"/api/v1/tables/completion/courses/export.csv?range=90d",
	} {
		r, err := client.Get(host + path)
		if err != nil {
			t.Fatal(err)
		}
		r.Body.Close()
		if r.StatusCode != http.StatusOK {
			t.Errorf("%s: %d", path, r.StatusCode)
		}
	}
}
