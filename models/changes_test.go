package models

import "testing"

func TestAuthChangePayloadsRoundTrip(t *testing.T) {
	hash := SessionTokenHash("secret-token")
	for _, tc := range []struct {
		change  AuthChange
		payload string
	}{
		{AuthChange{Kind: ChangedSession, TokenHash: hash}, "session:" + hash},
		{AuthChange{Kind: ChangedUser, TenantID: 3, UserID: 42}, "user:3:42"},
		{AuthChange{Kind: ChangedTenant, TenantID: 7}, "tenant:7"},
		{AuthChange{Kind: ChangedClient, TenantID: 3, ClientID: "acme-demo-api"}, "client:3:acme-demo-api"},
	} {
		if got := tc.change.Payload(); got != tc.payload {
			t.Errorf("%+v: payload %q, want %q", tc.change, got, tc.payload)
		}
		back, err := ParseAuthChange(tc.payload)
		if err != nil || back != tc.change {
			t.Errorf("%q parsed as %+v, %v", tc.payload, back, err)
		}
	}
	for _, bad := range []string{"", "session:secret-token", "user:3", "user:x:1", "tenant:", "gold:1", "client:3:", "client:x:abc"} {
		if _, err := ParseAuthChange(bad); err == nil {
			t.Errorf("%q parsed without error", bad)
		}
	}
}
