package xapi

import (
	"encoding/json"
	"slices"
	"sort"
	"strconv"
	"strings"
)

// checkKeys rejects the first property (in sorted order) that is not in allowed.
func checkKeys(obj map[string]any, path string, allowed ...string) error {
	var unknown []string
	for k := range obj {
		if !slices.Contains(allowed, k) {
			unknown = append(unknown, k)
		}
	}
	if len(unknown) == 0 {
		return nil
	}
	sort.Strings(unknown)
	k := unknown[0]
	for _, a := range allowed {
		if strings.EqualFold(a, k) {
			return verr(join(path, k), "unknown-property", "property %q is not allowed here; property names are case sensitive, did you mean %q?", k, a)
		}
	}
	return verr(join(path, k), "unknown-property", "property %q is not allowed here (allowed: %s)", k, strings.Join(allowed, ", "))
}

// optString reads an optional string property.
func optString(obj map[string]any, key, path string) (string, bool, error) {
	v, ok := obj[key]
	if !ok {
		return "", false, nil
	}
	s, isStr := v.(string)
	if !isStr {
		return "", true, typeErr(join(path, key), "a string", v)
	}
	return s, true, nil
}

// optObject reads an optional object property.
func optObject(obj map[string]any, key, path string) (map[string]any, bool, error) {
	v, ok := obj[key]
	if !ok {
		return nil, false, nil
	}
	m, isObj := v.(map[string]any)
	if !isObj {
		return nil, true, typeErr(join(path, key), "an object", v)
	}
	return m, true, nil
}

// optBool reads an optional boolean property.
func optBool(obj map[string]any, key, path string) (*bool, error) {
	v, ok := obj[key]
	if !ok {
		return nil, nil
	}
	b, isBool := v.(bool)
	if !isBool {
		return nil, typeErr(join(path, key), "a boolean (true or false, not a string)", v)
	}
	return &b, nil
}

// optNumber reads an optional number property as float64.
func optNumber(obj map[string]any, key, path string) (*float64, error) {
	v, ok := obj[key]
	if !ok {
		return nil, nil
	}
	n, isNum := v.(json.Number)
	if !isNum {
		return nil, typeErr(join(path, key), "a number (not a string)", v)
	}
	f, err := strconv.ParseFloat(string(n), 64)
	if err != nil {
		return nil, &ValidationError{Path: join(path, key), Rule: "type", Message: "number " + string(n) + " is out of range", Err: err}
	}
	return &f, nil
}

func typeErr(path, want string, got any) error {
	if got == nil {
		return verr(path, "null", "must not be null")
	}
	return verr(path, "type", "must be %s, got %s", want, jsonTypeName(got))
}

// checkNulls rejects null values anywhere except inside extensions maps
// (Data 2.2.s4.b1.b1).
func checkNulls(v any, path string) error {
	if !hasNull(v) {
		return nil
	}
	return findNull(v, path)
}

// hasNull reports whether v holds a null that checkNulls refuses. It
// walks v as findNull does, without ordering keys or building paths,
// which only the error needs (a statement without nulls, nearly every
// one, costs a tenth of that).
func hasNull(v any) bool {
	switch t := v.(type) {
	case nil:
		return true
	case map[string]any:
		for k, child := range t {
			if k == "extensions" && child != nil {
				if _, isObj := child.(map[string]any); isObj {
					continue
				}
			}
			if hasNull(child) {
				return true
			}
		}
	case []any:
		for _, e := range t {
			if hasNull(e) {
				return true
			}
		}
	}
	return false
}

// findNull returns the error for the first null checkNulls refuses, in
// the order of sorted keys, so the same body always names the same path.
func findNull(v any, path string) error {
	switch t := v.(type) {
	case nil:
		return verr(path, "null", "must not be null (null is only allowed inside extensions)")
	case map[string]any:
		keys := make([]string, 0, len(t))
		for k := range t {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			child := t[k]
			if k == "extensions" {
				if child == nil {
					return verr(join(path, k), "null", "must not be null")
				}
				if _, isObj := child.(map[string]any); isObj {
					continue // values inside extensions may be null
				}
			}
			if err := findNull(child, join(path, k)); err != nil {
				return err
			}
		}
	case []any:
		for i, e := range t {
			if err := findNull(e, index(path, i)); err != nil {
				return err
			}
		}
	}
	return nil
}

// langMap validates a language map and returns it as a Go map.
func langMap(v any, path string) (map[string]string, error) {
	obj, ok := v.(map[string]any)
	if !ok {
		return nil, verr(path, "language-map", "must be a language map object such as {\"en-US\": \"text\"}, got %s", jsonTypeName(v))
	}
	if len(obj) == 0 {
		return nil, verr(path, "language-map", "language map must have at least one entry")
	}
	keys := make([]string, 0, len(obj))
	for k := range obj {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	out := make(map[string]string, len(obj))
	for _, k := range keys {
		if !ValidLanguageTag(k) {
			return nil, verr(join(path, k), "language-map", "key %q is not an RFC 5646 language tag (e.g. en, en-US, zh-Hans-CN, und)", k)
		}
		s, isStr := obj[k].(string)
		if !isStr {
			return nil, typeErr(join(path, k), "a string", obj[k])
		}
		out[k] = s
	}
	return out, nil
}

// optLangMap reads an optional language map property.
func optLangMap(obj map[string]any, key, path string) (map[string]string, error) {
	v, ok := obj[key]
	if !ok {
		return nil, nil
	}
	return langMap(v, join(path, key))
}

// optExtensions validates an optional extensions map: an object whose keys
// are IRIs and whose values are any JSON (Data 4.1).
func optExtensions(obj map[string]any, path string) error {
	ext, ok, err := optObject(obj, "extensions", path)
	if err != nil || !ok {
		return err
	}
	keys := make([]string, 0, len(ext))
	for k := range ext {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if !validIRI(k) {
			return verr(join(join(path, "extensions"), k), "iri", "extension key %q must be an absolute IRI", k)
		}
	}
	return nil
}

// reqIRI reads a required IRI property.
func reqIRI(obj map[string]any, key, path, what string) (string, error) {
	s, ok, err := optString(obj, key, path)
	if err != nil {
		return "", err
	}
	if !ok {
		return "", verr(join(path, key), "required", "%s is required", what)
	}
	if !validIRI(s) {
		return "", verr(join(path, key), "iri", "%s must be an absolute IRI with a scheme (e.g. http://example.com/x), got %q", what, s)
	}
	return s, nil
}

// optIRI reads an optional IRI (or IRL, per rule) property.
func optIRI(obj map[string]any, key, path, rule string) (string, error) {
	s, ok, err := optString(obj, key, path)
	if err != nil || !ok {
		return "", err
	}
	if !validIRI(s) {
		return "", verr(join(path, key), rule, "must be an absolute %s with a scheme (e.g. http://example.com/x), got %q", strings.ToUpper(rule), s)
	}
	return s, nil
}
