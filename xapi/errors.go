package xapi

import (
	"fmt"
	"strconv"
)

// ValidationError says which property broke which rule. The HTTP layer
// returns it as 400 Bad Request with Error() as the message.
type ValidationError struct {
	Path    string // JSON path of the property, e.g. "statements[3].actor.mbox", or the query parameter name
	Rule    string // short rule name, e.g. "actor-ifi", "iri", "language-map", "score-range"
	Message string // plain English explanation
	Err     error  // underlying cause, if any
}

// Error returns "<path>: <message> (rule <rule>)"; the path part is left out
// when the error concerns the whole body.
func (e *ValidationError) Error() string {
	if e.Path == "" {
		return fmt.Sprintf("%s (rule %s)", e.Message, e.Rule)
	}
	return fmt.Sprintf("%s: %s (rule %s)", e.Path, e.Message, e.Rule)
}

// Unwrap returns the underlying cause, if any.
func (e *ValidationError) Unwrap() error { return e.Err }

// verr builds a ValidationError with a formatted message.
func verr(path, rule, format string, args ...any) *ValidationError {
	return &ValidationError{Path: path, Rule: rule, Message: fmt.Sprintf(format, args...)}
}

// join appends an object key to a JSON path.
func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// index appends an array index to a JSON path.
func index(path string, i int) string {
	return path + "[" + strconv.Itoa(i) + "]"
}

// withPrefix prefixes the path of a ValidationError, leaving other errors alone.
func withPrefix(err error, prefix string) error {
	if ve, ok := err.(*ValidationError); ok {
		cp := *ve
		if cp.Path == "" {
			cp.Path = prefix
		} else {
			cp.Path = prefix + "." + cp.Path
		}
		return &cp
	}
	return err
}

// jsonTypeName names the JSON type of a decoded value for error messages.
func jsonTypeName(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case string:
		return "a string"
	case bool:
		return "a boolean"
	case map[string]any:
		return "an object"
	case []any:
		return "an array"
	default:
		return "a number"
	}
}
