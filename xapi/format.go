package xapi

import (
	"encoding/json"
	"sort"
	"strconv"
	"strings"
)

// FormatStatement rewrites a stored statement for the GET format parameter:
// FormatExact returns it unchanged; FormatIDs keeps only what identifies
// agents, groups, activities and verbs; FormatCanonical keeps one language
// of every language map, the first of languages (in preference order) that
// the map has, else "und", else the first tag in order. This LRS keeps no
// canonical activity definitions apart from the statements, so canonical
// uses the statement's own definitions.
func FormatStatement(doc []byte, format string, languages []string) ([]byte, error) {
	if format == "" || format == FormatExact {
		return doc, nil
	}
	var st map[string]any
	d := json.NewDecoder(strings.NewReader(string(doc)))
	d.UseNumber()
	if err := d.Decode(&st); err != nil {
		return nil, err
	}
	switch format {
	case FormatIDs:
		idsStatement(st)
	case FormatCanonical:
		canonicalValue(st, languages)
	}
	return json.Marshal(st)
}

func idsStatement(st map[string]any) {
	for _, k := range []string{"actor", "authority"} {
		if a, ok := st[k].(map[string]any); ok {
			st[k] = idsAgent(a)
		}
	}
	if v, ok := st["verb"].(map[string]any); ok {
		st["verb"] = map[string]any{"id": v["id"]}
	}
	if o, ok := st["object"].(map[string]any); ok {
		st["object"] = idsObject(o)
	}
	if c, ok := st["context"].(map[string]any); ok {
		for _, k := range []string{"instructor", "team"} {
			if a, ok := c[k].(map[string]any); ok {
				c[k] = idsAgent(a)
			}
		}
		if ca, ok := c["contextActivities"].(map[string]any); ok {
			for key, list := range ca {
				if acts, ok := list.([]any); ok {
					for i, a := range acts {
						if m, ok := a.(map[string]any); ok {
							acts[i] = idsObject(m)
						}
					}
					ca[key] = acts
				}
			}
		}
	}
}

func idsObject(o map[string]any) map[string]any {
	switch o["objectType"] {
	case "Agent", "Group":
		return idsAgent(o)
	case "SubStatement":
		idsStatement(o)
		return o
	case "StatementRef":
		return map[string]any{"objectType": "StatementRef", "id": o["id"]}
	}
	out := map[string]any{"id": o["id"]}
	if t, ok := o["objectType"]; ok {
		out["objectType"] = t
	}
	return out
}

func idsAgent(a map[string]any) map[string]any {
	out := map[string]any{}
	if t, ok := a["objectType"]; ok {
		out["objectType"] = t
	}
	identified := false
	for _, k := range []string{"mbox", "mbox_sha1sum", "openid", "account"} {
		if v, ok := a[k]; ok {
			out[k] = v
			identified = true
		}
	}
	// An anonymous group is identified by its members.
	if members, ok := a["member"].([]any); ok && !identified {
		for i, m := range members {
			if mm, ok := m.(map[string]any); ok {
				members[i] = idsAgent(mm)
			}
		}
		out["member"] = members
	}
	return out
}

// languageMapKeys are the properties whose values are language maps.
var languageMapKeys = map[string]bool{"display": true, "name": true, "description": true}

// canonicalValue reduces every language map under v to one language.
// Extensions are left alone: their contents are not the spec's to define.
func canonicalValue(v any, languages []string) {
	switch x := v.(type) {
	case map[string]any:
		for k, child := range x {
			if k == "extensions" {
				continue
			}
			if m, ok := child.(map[string]any); ok && languageMapKeys[k] && isLanguageMap(m) {
				x[k] = pickLanguage(m, languages)
				continue
			}
			canonicalValue(child, languages)
		}
	case []any:
		for _, child := range x {
			canonicalValue(child, languages)
		}
	}
}

func isLanguageMap(m map[string]any) bool {
	for k, v := range m {
		if _, ok := v.(string); !ok || !ValidLanguageTag(k) {
			return false
		}
	}
	return len(m) > 0
}

func pickLanguage(m map[string]any, languages []string) map[string]any {
	for _, want := range languages {
		for tag, v := range m {
			if strings.EqualFold(tag, want) {
				return map[string]any{tag: v}
			}
		}
		// "en" also takes "en-US" when no exact match exists.
		for tag, v := range m {
			if strings.HasPrefix(strings.ToLower(tag), strings.ToLower(want)+"-") {
				return map[string]any{tag: v}
			}
		}
	}
	if v, ok := m["und"]; ok {
		return map[string]any{"und": v}
	}
	tags := make([]string, 0, len(m))
	for tag := range m {
		tags = append(tags, tag)
	}
	sort.Strings(tags)
	return map[string]any{tags[0]: m[tags[0]]}
}

// AcceptLanguages parses an Accept-Language header into tags in preference
// order (q values respected, "*" dropped).
func AcceptLanguages(header string) []string {
	type pref struct {
		tag string
		q   float64
	}
	var prefs []pref
	for _, part := range strings.Split(header, ",") {
		tag, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		if tag == "" || tag == "*" {
			continue
		}
		q := 1.0
		if p := strings.TrimSpace(params); strings.HasPrefix(p, "q=") {
			v, err := strconv.ParseFloat(strings.TrimSpace(p[2:]), 64)
			if err != nil {
				v = 0
			}
			q = v
		}
		if q > 0 {
			prefs = append(prefs, pref{tag, q})
		}
	}
	sort.SliceStable(prefs, func(a, b int) bool { return prefs[a].q > prefs[b].q })
	out := make([]string, len(prefs))
	for i, p := range prefs {
		out[i] = p.tag
	}
	return out
}
