package handlers

import (
	"testing"

	"github.com/learnlens/learnlens/models"
)

func TestSafeNext(t *testing.T) {
	cases := map[string]string{
		"":                     "/",
		"/admin/users":         "/admin/users",
		"/admin/audit?page=2":  "/admin/audit?page=2",
		"//evil.example/":      "/",
		"https://evil.example": "/",
		"/\\evil.example":      "/",
		"/ok\r\nSet-Cookie: x": "/",
		"admin":                "/",
	}
	for in, want := range cases {
		if got := safeNext(in); got != want {
			t.Errorf("safeNext(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestBrandRGB(t *testing.T) {
	cases := map[string]string{"#4f46e5": "79 70 229", "#000000": "0 0 0", "4f46e5": "", "#4f46e": "", "#zzzzzz": "", "#4f46e5;}": ""}
	for in, want := range cases {
		if got := brandRGB(in); got != want {
			t.Errorf("brandRGB(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestNavFor(t *testing.T) {
	labels := func(role, path string) (out []string, active string) {
		for _, n := range navFor(role, path) {
			out = append(out, n.Label)
			if n.Active {
				active = n.Label
			}
		}
		return out, active
	}
	tenantAdminNav := []string{"Home", "Completion", "Engagement", "Compliance", "Assessments", "Team", "My learning", "Users",
		"xAPI", "Imports", "Settings", "Requirements", "Audit log", "Usage"}
	cases := []struct {
		role, path string
		want       []string
		active     string
	}{
		{models.RoleTenantAdmin, "/admin/users", tenantAdminNav, "Users"},
		{models.RoleTenantAdmin, "/", tenantAdminNav, "Home"},
		{models.RoleTenantAdmin, "/admin/settings", tenantAdminNav, "Settings"},
		{models.RoleTenantAdmin, "/admin/imports/12", tenantAdminNav, "Imports"},
		{models.RoleTenantAdmin, "/admin/usage", tenantAdminNav, "Usage"},
		{models.RoleTenantAdmin, "/admin/requirements/3", tenantAdminNav, "Requirements"},
		{models.RoleLearner, "/", []string{"Home", "My learning"}, "Home"},
		{models.RoleManager, "/dashboards/completion/courses/3", []string{"Home", "Completion", "Engagement", "Compliance", "Assessments", "Team", "My learning"}, "Completion"},
		{models.RoleManager, "/somewhere", []string{"Home", "Completion", "Engagement", "Compliance", "Assessments", "Team", "My learning"}, ""},
		{models.RolePlatformAdmin, "/platform/tenants", []string{"Tenants"}, "Tenants"},
	}
	for _, tc := range cases {
		got, active := labels(tc.role, tc.path)
		if len(got) != len(tc.want) || active != tc.active {
			t.Errorf("navFor(%s, %s) = %v (active %q), want %v (active %q)", tc.role, tc.path, got, active, tc.want, tc.active)
			continue
		}
		for i := range got {
			if got[i] != tc.want[i] {
				t.Errorf("navFor(%s) = %v, want %v", tc.role, got, tc.want)
			}
		}
	}
}
