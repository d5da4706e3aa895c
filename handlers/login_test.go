package handlers

import "testing"

func TestSafeNextKeepsOnlyCleanSameSitePaths(t *testing.T) {
	cases := []struct{ next, want string }{
		{"/admin/users", "/admin/users"},
		{"/dashboards/completion?department=Sales&q=a%20b", "/dashboards/completion?department=Sales&q=a%20b"},
		{"/learners/7#top", "/learners/7#top"},
		{"", "/"},
		{"admin", "/"},
		{"https://evil.example/", "/"},
		{"//evil.example", "/"},
		{"/\\evil.example", "/"},
		{"/\t/evil.example", "/"}, // browsers drop the tab: //evil.example
		{"/\n/evil.example", "/"},
		{"/\r/evil.example", "/"},
		{"/ /evil.example", "/"},
		{"/\v/evil.example", "/"},
		{"/\f/evil.example", "/"},
		{"/\x00/evil.example", "/"},
		{"/\x1f/evil.example", "/"},
		{"/\x7f/evil.example", "/"},
		{"/\u00a0/evil.example", "/"},
		{"/\u2028/evil.example", "/"},
		{"/\u200b/evil.example", "/"},
		{"/\xff/evil.example", "/"},
	}
	for _, c := range cases {
		if got := safeNext(c.next); got != c.want {
			t.Errorf("safeNext(%q) = %q, want %q", c.next, got, c.want)
		}
	}
}
