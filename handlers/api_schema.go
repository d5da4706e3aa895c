package handlers

import (
	"net/url"
	"reflect"
	"strings"
	"time"
)

// schemas turns the Go types the API sends into JSON Schemas (OpenAPI 3.1
// uses JSON Schema 2020-12) as jsonSafe and encoding/json write them, so
// the document says what the handlers really send:
//   - a float may be null (jsonSafe writes NaN and ±Inf as null);
//   - a pointer may be null;
//   - a slice is an array (jsonSafe writes a nil slice as []; a handler
//     that sends a nil slice through c.JSON is caught by the tests that
//     validate real responses against the document);
//   - a struct is a named schema under components, with every field
//     required unless its tag says omitempty.
type schemas struct {
	named map[string]any          // component name → schema
	types map[string]reflect.Type // component name → the type it describes
}

func newSchemas() *schemas {
	return &schemas{named: map[string]any{}, types: map[string]reflect.Type{}}
}

var (
	timeType   = reflect.TypeFor[time.Time]()
	valuesType = reflect.TypeFor[url.Values]()
)

// of returns the schema of t: a $ref for a struct, inline for the rest.
func (s *schemas) of(t reflect.Type) map[string]any {
	switch t {
	case timeType:
		return map[string]any{"type": "string", "format": "date-time"}
	case valuesType:
		return map[string]any{"type": "object", "additionalProperties": map[string]any{"type": "array", "items": map[string]any{"type": "string"}}}
	}
	switch t.Kind() {
	case reflect.Bool:
		return map[string]any{"type": "boolean"}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return map[string]any{"type": "integer"}
	case reflect.Float32, reflect.Float64:
		return map[string]any{"type": []string{"number", "null"}}
	case reflect.String:
		return map[string]any{"type": "string"}
	case reflect.Pointer:
		return nullable(s.of(t.Elem()))
	case reflect.Slice, reflect.Array:
		return map[string]any{"type": "array", "items": s.of(t.Elem())}
	case reflect.Map:
		return map[string]any{"type": "object", "additionalProperties": s.of(t.Elem())}
	case reflect.Interface:
		return map[string]any{} // any JSON value
	case reflect.Struct:
		return s.ref(t)
	}
	panic("openapi: no schema for " + t.String())
}

// ref registers struct t as a component and returns a reference to it.
func (s *schemas) ref(t reflect.Type) map[string]any {
	name := t.Name()
	if prev, ok := s.types[name]; ok && prev != t {
		panic("openapi: two types named " + name + ": " + prev.String() + " and " + t.String())
	}
	if _, ok := s.named[name]; !ok {
		s.types[name] = t
		s.named[name] = nil // a placeholder, for types that refer to themselves
		props, required := map[string]any{}, []string{}
		s.fields(t, props, &required)
		s.named[name] = map[string]any{"type": "object", "properties": props, "required": required}
	}
	return map[string]any{"$ref": "#/components/schemas/" + name}
}

// fields adds the JSON fields of struct t to props, as encoding/json sees
// them: an embedded struct without a name of its own lends its fields.
func (s *schemas) fields(t reflect.Type, props map[string]any, required *[]string) {
	for i := range t.NumField() {
		f := t.Field(i)
		tag, opts, _ := strings.Cut(f.Tag.Get("json"), ",")
		if f.Anonymous && tag == "" && f.Type.Kind() == reflect.Struct {
			s.fields(f.Type, props, required)
			continue
		}
		if !f.IsExported() || tag == "-" {
			continue
		}
		if tag == "" {
			tag = f.Name
		}
		props[tag] = s.of(f.Type)
		if !strings.Contains(opts, "omitempty") {
			*required = append(*required, tag)
		}
	}
}

// nullable is schema or null.
func nullable(schema map[string]any) map[string]any {
	if typ, ok := schema["type"].(string); ok && len(schema) == 1 {
		return map[string]any{"type": []string{typ, "null"}}
	}
	return map[string]any{"anyOf": []any{schema, map[string]any{"type": "null"}}}
}
