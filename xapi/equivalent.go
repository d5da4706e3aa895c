package xapi

import (
	"encoding/json"
	"fmt"
	"math/big"
	"reflect"
	"sort"
	"strconv"
	"strings"
)

// Equivalent reports whether two statement JSON documents are the same
// statement under the spec's Statement Comparison Requirements (Data
// 2.3.1): differences that the immutability exceptions allow are ignored,
// every other difference counts. Use it for the conflict rule: a repeated
// id with an equivalent statement is a no-op, otherwise 409 Conflict.
// Pass the stored document and the incoming statement (as received, or
// after Finalize).
//
// Ignored: key order; "stored", "authority", "version" and "attachments";
// "id" and "timestamp" when only one side has them (the LRS may have
// assigned them); activity definitions and verb display (not part of the
// statement); the order of group members; the case of UUIDs, of the domain
// of a mailto IRI, of mbox_sha1sum hex and of context.language; the case of
// IRI schemes and hosts and of percent escapes (RFC 3987 syntax-based
// normalisation); a single context activity versus an array of one; an
// omitted objectType versus its default. Timestamps are compared as
// instants at millisecond precision whatever their time zone, numbers by
// value, and durations as strings (no unit conversion) with seconds cut to
// 0.01 s.
func Equivalent(a, b []byte) (bool, error) {
	ca, err := canonicalDoc(a)
	if err != nil {
		return false, fmt.Errorf("xapi: equivalent: first statement: %w", err)
	}
	cb, err := canonicalDoc(b)
	if err != nil {
		return false, fmt.Errorf("xapi: equivalent: second statement: %w", err)
	}
	for _, k := range []string{"id", "timestamp"} {
		_, inA := ca[k]
		_, inB := cb[k]
		if inA != inB {
			delete(ca, k)
			delete(cb, k)
		}
	}
	return reflect.DeepEqual(ca, cb), nil
}

// canonNumber is a number reduced to a canonical string of its value.
type canonNumber string

func canonicalDoc(data []byte) (map[string]any, error) {
	v, err := decodeJSON(data)
	if err != nil {
		return nil, err
	}
	obj, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("statement must be a JSON object, got %s", jsonTypeName(v))
	}
	return canonStatement(obj), nil
}

func canonStatement(obj map[string]any) map[string]any {
	out := map[string]any{}
	for k, v := range obj {
		switch k {
		case "stored", "authority", "version", "attachments":
			// assigned by the LRS or not part of the statement (Data 2.3.1)
		case "id":
			out[k] = lowerString(v)
		case "timestamp":
			out[k] = canonTimestamp(v)
		case "actor":
			out[k] = canonAgent(v)
		case "verb":
			out[k] = canonVerb(v)
		case "object":
			out[k] = canonObject(v)
		case "result":
			out[k] = canonResult(v)
		case "context":
			out[k] = canonContext(v)
		default:
			out[k] = canonValue(v)
		}
	}
	return out
}

func lowerString(v any) any {
	if s, ok := v.(string); ok {
		return strings.ToLower(s)
	}
	return canonValue(v)
}

func iriString(v any) any {
	if s, ok := v.(string); ok {
		return normalizeIRI(s)
	}
	return canonValue(v)
}

func canonTimestamp(v any) any {
	s, ok := v.(string)
	if !ok {
		return canonValue(v)
	}
	t, msg := parseTimestamp(s)
	if msg != "" {
		return s
	}
	return "instant:" + strconv.FormatInt(t.UnixMilli(), 10)
}

func canonAgent(v any) any {
	obj, ok := v.(map[string]any)
	if !ok {
		return canonValue(v)
	}
	out := map[string]any{"objectType": "Agent"}
	for k, val := range obj {
		switch k {
		case "mbox":
			if s, ok := val.(string); ok {
				out[k] = canonicalMbox(s)
			} else {
				out[k] = canonValue(val)
			}
		case "mbox_sha1sum":
			out[k] = lowerString(val)
		case "openid":
			out[k] = iriString(val)
		case "account":
			acc, ok := val.(map[string]any)
			if !ok {
				out[k] = canonValue(val)
				continue
			}
			ca := canonValue(acc).(map[string]any)
			if hp, ok := acc["homePage"]; ok {
				ca["homePage"] = iriString(hp)
			}
			out[k] = ca
		case "member":
			arr, ok := val.([]any)
			if !ok {
				out[k] = canonValue(val)
				continue
			}
			members := make([]any, len(arr))
			keys := make([]string, len(arr))
			for i, m := range arr {
				members[i] = canonAgent(m)
			}
			for i, m := range members {
				b, _ := json.Marshal(m)
				keys[i] = string(b)
			}
			sort.Sort(byKey{members, keys})
			out[k] = members
		default:
			out[k] = canonValue(val)
		}
	}
	return out
}

// byKey sorts values by parallel string keys.
type byKey struct {
	vals []any
	keys []string
}

func (b byKey) Len() int           { return len(b.vals) }
func (b byKey) Less(i, j int) bool { return b.keys[i] < b.keys[j] }
func (b byKey) Swap(i, j int) {
	b.vals[i], b.vals[j] = b.vals[j], b.vals[i]
	b.keys[i], b.keys[j] = b.keys[j], b.keys[i]
}

func canonVerb(v any) any {
	obj, ok := v.(map[string]any)
	if !ok {
		return canonValue(v)
	}
	return map[string]any{"id": iriString(obj["id"])} // display is not part of the statement (Data 2.3.1.b3)
}

func canonActivity(obj map[string]any) any {
	// The definition is not part of the statement (Data 2.3.1.b2).
	return map[string]any{"objectType": "Activity", "id": iriString(obj["id"])}
}

func canonObject(v any) any {
	obj, ok := v.(map[string]any)
	if !ok {
		return canonValue(v)
	}
	ot, _ := obj["objectType"].(string)
	switch ot {
	case "", "Activity":
		return canonActivity(obj)
	case "Agent", "Group":
		return canonAgent(obj)
	case "StatementRef":
		return map[string]any{"objectType": "StatementRef", "id": lowerString(obj["id"])}
	case "SubStatement":
		return canonStatement(obj)
	}
	return canonValue(obj)
}

func canonResult(v any) any {
	obj, ok := v.(map[string]any)
	if !ok {
		return canonValue(v)
	}
	out := map[string]any{}
	for k, val := range obj {
		switch k {
		case "duration":
			if s, ok := val.(string); ok {
				out[k] = canonicalDuration(s)
			} else {
				out[k] = canonValue(val)
			}
		case "extensions":
			out[k] = canonExtensions(val)
		default:
			out[k] = canonValue(val)
		}
	}
	return out
}

func canonContext(v any) any {
	obj, ok := v.(map[string]any)
	if !ok {
		return canonValue(v)
	}
	out := map[string]any{}
	for k, val := range obj {
		switch k {
		case "registration", "language":
			out[k] = lowerString(val)
		case "instructor", "team":
			out[k] = canonAgent(val)
		case "statement":
			if ref, ok := val.(map[string]any); ok {
				out[k] = map[string]any{"objectType": "StatementRef", "id": lowerString(ref["id"])}
			} else {
				out[k] = canonValue(val)
			}
		case "contextActivities":
			ca, ok := val.(map[string]any)
			if !ok {
				out[k] = canonValue(val)
				continue
			}
			cout := map[string]any{}
			for typ, acts := range ca {
				var items []any
				switch t := acts.(type) {
				case map[string]any:
					items = []any{t}
				case []any:
					items = t
				default:
					cout[typ] = canonValue(acts)
					continue
				}
				list := make([]any, len(items))
				for i, it := range items {
					if m, ok := it.(map[string]any); ok {
						list[i] = canonActivity(m)
					} else {
						list[i] = canonValue(it)
					}
				}
				cout[typ] = list
			}
			out[k] = cout
		case "extensions":
			out[k] = canonExtensions(val)
		default:
			out[k] = canonValue(val)
		}
	}
	return out
}

func canonExtensions(v any) any {
	obj, ok := v.(map[string]any)
	if !ok {
		return canonValue(v)
	}
	out := map[string]any{}
	for k, val := range obj {
		out[normalizeIRI(k)] = canonValue(val)
	}
	return out
}

// canonValue copies a decoded JSON value with numbers reduced to their value.
func canonValue(v any) any {
	switch t := v.(type) {
	case json.Number:
		return canonNum(t)
	case map[string]any:
		out := make(map[string]any, len(t))
		for k, val := range t {
			out[k] = canonValue(val)
		}
		return out
	case []any:
		out := make([]any, len(t))
		for i, val := range t {
			out[i] = canonValue(val)
		}
		return out
	}
	return v
}

// canonNum renders a number's value exactly when its exponent is modest,
// and as a float64 otherwise (to bound the work on hostile input).
func canonNum(n json.Number) canonNumber {
	s := string(n)
	if i := strings.IndexAny(s, "eE"); i >= 0 {
		if exp, err := strconv.Atoi(s[i+1:]); err != nil || exp > 400 || exp < -400 {
			if f, err := n.Float64(); err == nil {
				return canonNumber("f:" + strconv.FormatFloat(f, 'g', -1, 64))
			}
			return canonNumber("s:" + s)
		}
	}
	r, ok := new(big.Rat).SetString(s)
	if !ok {
		return canonNumber("s:" + s)
	}
	return canonNumber("r:" + r.RatString())
}
