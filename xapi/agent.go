package xapi

import (
	"strings"
)

// Agent is an identified agent or group (the identified parts only).
type Agent struct {
	ObjectType      string // "Agent" or "Group"
	Name            string
	Mbox            string // "mailto:" IRI
	MboxSHA1Sum     string // hex SHA-1 of a mailto IRI
	OpenID          string
	AccountHomePage string
	AccountName     string
	Members         []Agent // for groups
}

// Key returns the canonical inverse-functional-identifier key of an
// identified agent or group: "mbox:mailto:x@y" (domain lower-cased, as it
// is case insensitive), "mbox_sha1sum:<lower-case hex>", "openid:<uri>" or
// "account:<homePage>|<name>"; "" for an anonymous group.
func (a Agent) Key() string {
	switch {
	case a.Mbox != "":
		return "mbox:" + canonicalMbox(a.Mbox)
	case a.MboxSHA1Sum != "":
		return "mbox_sha1sum:" + strings.ToLower(a.MboxSHA1Sum)
	case a.OpenID != "":
		return "openid:" + a.OpenID
	case a.AccountHomePage != "" || a.AccountName != "":
		return "account:" + a.AccountHomePage + "|" + a.AccountName
	}
	return ""
}

// Email returns the address of a mailto: mbox, lower-cased, or "".
func (a Agent) Email() string {
	addr, ok := strings.CutPrefix(a.Mbox, "mailto:")
	if !ok {
		return ""
	}
	return strings.ToLower(addr)
}

// IsGroup reports whether the agent is a Group.
func (a Agent) IsGroup() bool { return a.ObjectType == "Group" }

// JSON returns the agent as an xAPI Agent or Group object, ready to be
// marshalled (as Finalize does for the authority).
func (a Agent) JSON() map[string]any {
	m := map[string]any{}
	if a.ObjectType != "" {
		m["objectType"] = a.ObjectType
	} else {
		m["objectType"] = "Agent"
	}
	if a.Name != "" {
		m["name"] = a.Name
	}
	switch {
	case a.Mbox != "":
		m["mbox"] = a.Mbox
	case a.MboxSHA1Sum != "":
		m["mbox_sha1sum"] = a.MboxSHA1Sum
	case a.OpenID != "":
		m["openid"] = a.OpenID
	case a.AccountHomePage != "" || a.AccountName != "":
		m["account"] = map[string]any{"homePage": a.AccountHomePage, "name": a.AccountName}
	}
	if len(a.Members) > 0 {
		members := make([]any, len(a.Members))
		for i, mem := range a.Members {
			members[i] = mem.JSON()
		}
		m["member"] = members
	}
	return m
}

// agentRole says where an agent appears, which changes the rules it follows.
type agentRole int

const (
	roleActor      agentRole = iota // statement actor: Agent or Group, objectType optional
	roleObject                      // statement object: objectType already checked by the caller
	roleMember                      // group member: Agent only
	roleAuthority                   // authority: Agent, or anonymous Group of exactly two Agents
	roleInstructor                  // context.instructor: Agent or Group
	roleTeam                        // context.team: Group
	roleQuery                       // the agent query parameter: Agent or identified Group
)

var (
	agentKeys = []string{"objectType", "name", "mbox", "mbox_sha1sum", "openid", "account"}
	groupKeys = []string{"objectType", "name", "mbox", "mbox_sha1sum", "openid", "account", "member"}
)

// parseAgent validates an Agent or Group object and returns its identified parts.
func parseAgent(v any, path string, role agentRole) (Agent, error) {
	obj, ok := v.(map[string]any)
	if !ok {
		return Agent{}, verr(path, "type", "must be an Agent or Group object, got %s", jsonTypeName(v))
	}
	var a Agent
	ot, has, err := optString(obj, "objectType", path)
	if err != nil {
		return a, err
	}
	switch {
	case !has:
		if _, ok := obj["member"]; ok {
			return a, verr(join(path, "objectType"), "required", `a Group must have objectType "Group" (without it the object is taken to be an Agent, which has no member property)`)
		}
		ot = "Agent"
	case ot != "Agent" && ot != "Group":
		return a, verr(join(path, "objectType"), "object-type", `must be "Agent" or "Group", got %q`, ot)
	}
	a.ObjectType = ot
	switch role {
	case roleMember:
		if ot == "Group" {
			return a, verr(join(path, "objectType"), "group-member", "a group member must be an Agent, not a Group")
		}
	case roleTeam:
		if ot != "Group" {
			return a, verr(join(path, "objectType"), "team", `context.team must be a Group with objectType "Group"`)
		}
	}
	kind := "agent"
	if ot == "Group" {
		kind = "group"
		if err := checkKeys(obj, path, groupKeys...); err != nil {
			return a, err
		}
	} else if err := checkKeys(obj, path, agentKeys...); err != nil {
		return a, err
	}
	if a.Name, _, err = optString(obj, "name", path); err != nil {
		return a, err
	}
	ifis := 0
	if s, ok, err := optString(obj, "mbox", path); err != nil {
		return a, err
	} else if ok {
		ifis++
		if !validMbox(s) {
			return a, verr(join(path, "mbox"), "mbox", `must be a mailto IRI such as "mailto:learner@example.com", got %q`, s)
		}
		a.Mbox = s
	}
	if s, ok, err := optString(obj, "mbox_sha1sum", path); err != nil {
		return a, err
	} else if ok {
		ifis++
		if len(s) != 40 || !isHexString(s) {
			return a, verr(join(path, "mbox_sha1sum"), "mbox_sha1sum", "must be the 40-character hex SHA-1 of a mailto IRI, got %q", s)
		}
		a.MboxSHA1Sum = s
	}
	if s, ok, err := optString(obj, "openid", path); err != nil {
		return a, err
	} else if ok {
		ifis++
		if !validURI(s) {
			return a, verr(join(path, "openid"), "iri", "must be an absolute URI, got %q", s)
		}
		a.OpenID = s
	}
	if acc, ok, err := optObject(obj, "account", path); err != nil {
		return a, err
	} else if ok {
		ifis++
		ap := join(path, "account")
		if err := checkKeys(acc, ap, "homePage", "name"); err != nil {
			return a, err
		}
		home, ok, err := optString(acc, "homePage", ap)
		if err != nil {
			return a, err
		}
		if !ok {
			return a, verr(join(ap, "homePage"), "required", "account must have a homePage")
		}
		if !validIRI(home) {
			return a, verr(join(ap, "homePage"), "irl", "must be an absolute IRL, got %q", home)
		}
		name, ok, err := optString(acc, "name", ap)
		if err != nil {
			return a, err
		}
		if !ok {
			return a, verr(join(ap, "name"), "required", "account must have a name")
		}
		if name == "" {
			return a, verr(join(ap, "name"), "account", "account name must not be empty")
		}
		a.AccountHomePage, a.AccountName = home, name
	}
	if ot == "Group" {
		if mv, ok := obj["member"]; ok {
			arr, isArr := mv.([]any)
			if !isArr {
				return a, verr(join(path, "member"), "type", "must be an array of Agent objects, got %s", jsonTypeName(mv))
			}
			for i, m := range arr {
				mem, err := parseAgent(m, index(join(path, "member"), i), roleMember)
				if err != nil {
					return a, err
				}
				a.Members = append(a.Members, mem)
			}
		}
	}
	if ifis > 1 {
		return a, verr(path, "actor-ifi", "%s must have exactly one inverse functional identifier (mbox, mbox_sha1sum, openid or account), found %d", kind, ifis)
	}
	if role == roleAuthority && ot == "Group" {
		if ifis != 0 || len(a.Members) != 2 {
			return a, verr(path, "authority", "an authority Group must be an anonymous group of exactly two Agents (the OAuth application and the user), found %d identifier(s) and %d member(s)", ifis, len(a.Members))
		}
		return a, nil
	}
	if ifis == 0 {
		if ot != "Group" {
			return a, verr(path, "actor-ifi", "agent must have exactly one inverse functional identifier (mbox, mbox_sha1sum, openid or account), found 0")
		}
		if role == roleQuery {
			return a, verr(path, "actor-ifi", "the agent parameter must be an Agent or identified Group with exactly one inverse functional identifier, found 0")
		}
		if len(a.Members) == 0 {
			return a, verr(join(path, "member"), "group", "an anonymous group (one without mbox, mbox_sha1sum, openid or account) must list its members in a non-empty member array")
		}
	}
	return a, nil
}
