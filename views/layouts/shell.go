// Package layouts holds the page frames every LearnLens page is drawn in.
package layouts

// Shell is what the page frame needs to know about the request.
type Shell struct {
	Title    string
	CSRF     string
	OrgName  string // the tenant's name, or "LearnLens" on the bare domain
	BrandRGB string // space-separated red green blue, e.g. "79 70 229"
	// ThemeColor is the brand colour as #rrggbb, for the browser's and the
	// installed app's title bar.
	ThemeColor string
	LogoURL    string // the tenant's logo, "" for none
	User       *SignedIn
	Nav        []NavItem
	Support    *SupportBanner // a platform admin's support access, else nil
}

// SignedIn is the signed-in user as the header shows them.
type SignedIn struct {
	Name, Email, RoleLabel string
}

// NavItem is one entry of the role's navigation.
type NavItem struct {
	Label, Href string
	Active      bool
	TestID      string
	// Managing puts the entry in the header's "Manage" menu (an admin's
	// pages) rather than in the row of dashboards, so the row fits at
	// 1280 px.
	Managing bool
}

// navSplit returns the entries of the header's row and those of its
// "Manage" menu, each in order, and whether a menu entry is the current
// page.
func navSplit(nav []NavItem) (row, manage []NavItem, manageActive bool) {
	for _, n := range nav {
		if n.Managing {
			manage = append(manage, n)
			manageActive = manageActive || n.Active
		} else {
			row = append(row, n)
		}
	}
	return row, manage, manageActive
}
