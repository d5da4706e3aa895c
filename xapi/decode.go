package xapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/go-json-experiment/json/jsontext"
)

// Limits on one request body, enforced while it is decoded, so that a
// hostile body is refused after a bounded amount of work and memory rather
// than after building a huge value (issue 14: a 14 MB body of one
// 7-million-element array cost 500 MB). Exceeding one is a
// ValidationError whose rule starts with "limit-"; TooLarge tells which
// of them mean 413.
const (
	MaxStatements    = 5000    // statements in one POST
	MaxArrayLength   = 10_000  // elements of any other array
	MaxObjectMembers = 10_000  // properties of one object
	MaxStringBytes   = 1 << 20 // bytes of one string or property name
	MaxValues        = 500_000 // JSON values in one body, all levels
	maxDepth         = 256     // nesting, so hostile bodies cannot exhaust the stack
)

// decodeJSON decodes one JSON value with numbers kept as json.Number,
// rejecting invalid UTF-8, duplicate object keys (Data 2.2.s2.b2: a
// statement uses each property no more than once), excessive nesting,
// bodies beyond the limits above and trailing data. It reads tokens with
// jsontext, several times faster than encoding/json's Decoder.Token;
// duplicates are found here, to name their path.
func decodeJSON(data []byte) (any, error) {
	if !utf8.Valid(data) {
		return nil, verr("", "encoding", "body is not valid UTF-8")
	}
	d := &decoder{dec: jsontext.NewDecoder(bytes.NewReader(data), jsontext.AllowDuplicateNames(true))}
	v, err := d.value("", 0)
	if err != nil {
		return nil, err
	}
	if _, err := d.dec.ReadToken(); !errors.Is(err, io.EOF) {
		return nil, &ValidationError{Rule: "json", Message: "body has data after the JSON value", Err: err}
	}
	return v, nil
}

// decoder counts what it has decoded against MaxValues.
type decoder struct {
	dec    *jsontext.Decoder
	values int
}

// TooLarge reports whether e is a size limit (413 Content Too Large)
// rather than a malformed or invalid statement (400).
func (e *ValidationError) TooLarge() bool {
	return strings.HasPrefix(e.Rule, "limit-")
}

// nulError refuses a NUL character (\u0000) in a string or property name:
// valid JSON, but PostgreSQL's jsonb cannot store it, and an LRS must not
// accept what it cannot keep exactly.
func nulError(path string) error {
	return verr(path, "nul-character", "strings must not contain the NUL character \\u0000")
}

func syntaxError(err error) error {
	if errors.Is(err, io.EOF) {
		err = io.ErrUnexpectedEOF
	}
	return &ValidationError{Rule: "json", Message: "body is not valid JSON: " + err.Error(), Err: err}
}

func (d *decoder) value(path string, depth int) (any, error) {
	if depth > maxDepth {
		return nil, verr(path, "json", "JSON is nested more than %d levels deep", maxDepth)
	}
	if d.values++; d.values > MaxValues {
		return nil, verr(path, "limit-values", "the body holds more than %d JSON values; send fewer statements per request", MaxValues)
	}
	dec := d.dec
	tok, err := dec.ReadToken()
	if err != nil {
		return nil, syntaxError(err)
	}
	switch tok.Kind() {
	case 'n':
		return nil, nil
	case 't', 'f':
		return tok.Bool(), nil
	case '"':
		str := tok.String()
		if err := checkString(path, str); err != nil {
			return nil, err
		}
		return str, nil
	case '0':
		return json.Number(tok.String()), nil // the number exactly as sent
	case '{':
		m := map[string]any{}
		for dec.PeekKind() != '}' {
			kt, err := dec.ReadToken()
			if err != nil {
				return nil, syntaxError(err)
			}
			key := kt.String()
			if err := checkString(path, key); err != nil {
				return nil, err
			}
			if _, dup := m[key]; dup {
				return nil, verr(join(path, key), "duplicate-property", "property %q appears more than once", key)
			}
			if len(m) == MaxObjectMembers {
				return nil, verr(path, "limit-object", "an object may have at most %d properties", MaxObjectMembers)
			}
			v, err := d.value(join(path, key), depth+1)
			if err != nil {
				return nil, err
			}
			m[key] = v
		}
		if _, err := dec.ReadToken(); err != nil {
			return nil, syntaxError(err)
		}
		return m, nil
	case '[':
		limit, what := MaxArrayLength, "an array may have at most %d elements"
		if depth == 0 {
			limit, what = MaxStatements, "a request may carry at most %d statements; split the batch"
		}
		a := []any{}
		for dec.PeekKind() != ']' {
			if len(a) == limit {
				return nil, verr(path, "limit-array", what, limit)
			}
			v, err := d.value(index(path, len(a)), depth+1)
			if err != nil {
				return nil, err
			}
			a = append(a, v)
		}
		if _, err := dec.ReadToken(); err != nil {
			return nil, syntaxError(err)
		}
		return a, nil
	}
	return nil, verr(path, "json", "unexpected %s", tok.Kind())
}

// checkString refuses a string or property name that is too long or holds
// a NUL character.
func checkString(path, s string) error {
	if len(s) > MaxStringBytes {
		return verr(path, "limit-string", "a string may be at most %d bytes", MaxStringBytes)
	}
	if strings.IndexByte(s, 0) >= 0 {
		return nulError(path)
	}
	return nil
}

// encodeJSON serialises v without HTML escaping, objects with their keys
// sorted. Decoded JSON (maps, slices, strings, json.Number, bools, nil) is
// written directly; anything else goes through encoding/json.
func encodeJSON(v any) ([]byte, error) {
	return appendJSON(make([]byte, 0, 512), v)
}

func appendJSON(b []byte, v any) ([]byte, error) {
	switch t := v.(type) {
	case nil:
		return append(b, "null"...), nil
	case bool:
		return strconv.AppendBool(b, t), nil
	case string:
		return appendString(b, t)
	case json.Number:
		// A valid JSON text that starts like a number is one.
		if t == "" || (t[0] != '-' && (t[0] < '0' || t[0] > '9')) || !json.Valid([]byte(t)) {
			return nil, errors.New("xapi: encode: invalid number " + strconv.Quote(string(t)))
		}
		return append(b, t...), nil
	case map[string]any:
		var small [16]string // most objects of a statement: no allocation
		keys := small[:0]
		for k := range t {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		b = append(b, '{')
		for i, k := range keys {
			if i > 0 {
				b = append(b, ',')
			}
			var err error
			if b, err = appendString(b, k); err != nil {
				return nil, err
			}
			b = append(b, ':')
			if b, err = appendJSON(b, t[k]); err != nil {
				return nil, err
			}
		}
		return append(b, '}'), nil
	case []any:
		b = append(b, '[')
		for i, e := range t {
			if i > 0 {
				b = append(b, ',')
			}
			var err error
			if b, err = appendJSON(b, e); err != nil {
				return nil, err
			}
		}
		return append(b, ']'), nil
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return append(b, bytes.TrimRight(buf.Bytes(), "\n")...), nil
}

// appendString appends s quoted as jsontext.AppendQuote does. A string of
// printable ASCII without a quote or a backslash (nearly every name and
// value of a statement) needs no escape, and is copied as it is.
func appendString(b []byte, s string) ([]byte, error) {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c == '"' || c == '\\' || c >= utf8.RuneSelf {
			return jsontext.AppendQuote(b, s)
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"'), nil
}
