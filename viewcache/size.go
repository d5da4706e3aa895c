package viewcache

import "reflect"

// SizeOf estimates the bytes a value holds in memory: its strings and
// slices' contents plus a word per number and a header per slice, map
// and pointer. It is for the cache's byte budget, not exact accounting.
func SizeOf(v any) int { return sizeOf(reflect.ValueOf(v), 0) }

func sizeOf(v reflect.Value, depth int) int {
	if depth > 32 {
		return 0
	}
	switch v.Kind() {
	case reflect.Invalid:
		return 0
	case reflect.String:
		return 16 + v.Len()
	case reflect.Pointer, reflect.Interface:
		if v.IsNil() {
			return 8
		}
		return 16 + sizeOf(v.Elem(), depth+1)
	case reflect.Struct:
		n := 0
		for i := range v.NumField() {
			n += sizeOf(v.Field(i), depth+1)
		}
		return n
	case reflect.Slice, reflect.Array:
		n := 24
		for i := range v.Len() {
			n += sizeOf(v.Index(i), depth+1)
		}
		return n
	case reflect.Map:
		n := 48
		for it := v.MapRange(); it.Next(); {
			n += sizeOf(it.Key(), depth+1) + sizeOf(it.Value(), depth+1) + 16
		}
		return n
	}
	return 8
}
