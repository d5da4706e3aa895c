package xapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"unicode/utf8"
)

// maxDepth bounds the nesting of decoded JSON so hostile bodies cannot
// exhaust the stack.
const maxDepth = 256

// decodeJSON decodes one JSON value with numbers kept as json.Number,
// rejecting invalid UTF-8, duplicate object keys (Data 2.2.s2.b2: a
// statement uses each property no more than once), excessive nesting and
// trailing data.
func decodeJSON(data []byte) (any, error) {
	if !utf8.Valid(data) {
		return nil, verr("", "encoding", "body is not valid UTF-8")
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	v, err := decodeValue(dec, "", 0)
	if err != nil {
		return nil, err
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, &ValidationError{Rule: "json", Message: "body has data after the JSON value", Err: err}
	}
	return v, nil
}

func syntaxError(err error) error {
	if errors.Is(err, io.EOF) {
		err = io.ErrUnexpectedEOF
	}
	return &ValidationError{Rule: "json", Message: "body is not valid JSON: " + err.Error(), Err: err}
}

func decodeValue(dec *json.Decoder, path string, depth int) (any, error) {
	if depth > maxDepth {
		return nil, verr(path, "json", "JSON is nested more than %d levels deep", maxDepth)
	}
	tok, err := dec.Token()
	if err != nil {
		return nil, syntaxError(err)
	}
	delim, ok := tok.(json.Delim)
	if !ok {
		return tok, nil // string, json.Number, bool or nil
	}
	switch delim {
	case '{':
		m := map[string]any{}
		for dec.More() {
			kt, err := dec.Token()
			if err != nil {
				return nil, syntaxError(err)
			}
			key, _ := kt.(string)
			if _, dup := m[key]; dup {
				return nil, verr(join(path, key), "duplicate-property", "property %q appears more than once", key)
			}
			v, err := decodeValue(dec, join(path, key), depth+1)
			if err != nil {
				return nil, err
			}
			m[key] = v
		}
		if _, err := dec.Token(); err != nil {
			return nil, syntaxError(err)
		}
		return m, nil
	case '[':
		a := []any{}
		for dec.More() {
			v, err := decodeValue(dec, index(path, len(a)), depth+1)
			if err != nil {
				return nil, err
			}
			a = append(a, v)
		}
		if _, err := dec.Token(); err != nil {
			return nil, syntaxError(err)
		}
		return a, nil
	}
	return nil, verr(path, "json", "unexpected %q", delim.String())
}

// encodeJSON serialises v without HTML escaping and without a trailing newline.
func encodeJSON(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimRight(buf.Bytes(), "\n"), nil
}
