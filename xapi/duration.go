package xapi

import (
	"errors"
	"fmt"
	"math/big"
	"strings"
	"time"
)

// ErrCalendarDuration is returned (wrapped) by ParseDuration for a valid ISO
// 8601 duration that uses years or months, whose length in time depends on
// the calendar. Such durations are valid in statements but have no fixed
// time.Duration.
var ErrCalendarDuration = errors.New("duration uses years or months, which have no fixed length")

// durationPart is one number-and-designator component of an ISO 8601 duration.
type durationPart struct {
	value  string // digits, possibly with one '.' or ',' and fraction
	unit   byte   // Y, M (month), W, D, H, m (minute), S
	inTime bool
}

// parseDurationParts splits an ISO 8601 duration in the format with
// designators (ISO 8601:2004 4.4.3.2) into its components, or explains why
// it is not one. The alternative format (P0001-02-03T04:05:06) is not
// accepted, as the spec requires; only the smallest component may have a
// fraction; weeks cannot be combined with other components.
func parseDurationParts(s string) ([]durationPart, error) {
	rest, ok := strings.CutPrefix(s, "P")
	if !ok {
		return nil, errors.New("must start with P, e.g. PT1H30M")
	}
	if rest == "" {
		return nil, errors.New("must have at least one component after P")
	}
	datePart, timePart, hasT := strings.Cut(rest, "T")
	if hasT && timePart == "" {
		return nil, errors.New("must have at least one component after T")
	}
	var parts []durationPart
	scan := func(seg string, order string, inTime bool) error {
		pos := 0 // index into order of the next allowed designator
		for seg != "" {
			i := 0
			for i < len(seg) && (isDigit(seg[i]) || seg[i] == '.' || seg[i] == ',') {
				i++
			}
			if i == len(seg) {
				return fmt.Errorf("number %q has no designator", seg)
			}
			num, unit := seg[:i], seg[i]
			if !validDurationNumber(num) {
				return fmt.Errorf("%q is not a valid number", num+string(unit))
			}
			k := strings.IndexByte(order[pos:], unit)
			if k < 0 {
				if strings.IndexByte(order, unit) >= 0 {
					return fmt.Errorf("designator %c is out of order or repeated", unit)
				}
				return fmt.Errorf("unexpected designator %c", unit)
			}
			pos += k + 1
			if inTime && unit == 'M' {
				unit = 'm'
			}
			parts = append(parts, durationPart{value: num, unit: unit, inTime: inTime})
			seg = seg[i+1:]
		}
		return nil
	}
	if err := scan(datePart, "YMWD", false); err != nil {
		return nil, err
	}
	if err := scan(timePart, "HMS", true); err != nil {
		return nil, err
	}
	for i, p := range parts {
		if p.unit == 'W' && len(parts) > 1 {
			return nil, errors.New("weeks cannot be combined with other components (e.g. P4W, not P4W1D)")
		}
		if strings.ContainsAny(p.value, ".,") && i != len(parts)-1 {
			return nil, errors.New("only the smallest component may have a fraction")
		}
	}
	return parts, nil
}

// validDurationNumber reports whether s is digits with at most one decimal
// separator that has digits on both sides.
func validDurationNumber(s string) bool {
	intPart, frac, hasFrac := strings.Cut(strings.ReplaceAll(s, ",", "."), ".")
	if intPart == "" || !isDigitString(intPart) {
		return false
	}
	if hasFrac {
		return frac != "" && isDigitString(frac)
	}
	return true
}

// ValidDuration reports whether s is an ISO 8601 duration in the format
// the spec requires for result.duration (years, months and weeks included).
func ValidDuration(s string) bool {
	_, err := parseDurationParts(s)
	return err == nil
}

// ParseDuration parses an ISO 8601 duration such as "PT1H30M", "P1DT2.5S"
// or "P4W" into elapsed time, counting a day as 24 hours and a week as 7
// days. Durations with years or months are valid ISO 8601 (and accepted in
// statements) but have no fixed length: for them ParseDuration returns an
// error wrapping ErrCalendarDuration. Precision beyond a nanosecond is
// truncated; durations too long for time.Duration are rejected.
func ParseDuration(s string) (time.Duration, error) {
	parts, err := parseDurationParts(s)
	if err != nil {
		return 0, fmt.Errorf("invalid duration %q: %w", s, err)
	}
	total := new(big.Rat)
	for _, p := range parts {
		var unit time.Duration
		switch p.unit {
		case 'Y', 'M':
			return 0, fmt.Errorf("duration %q: %w", s, ErrCalendarDuration)
		case 'W':
			unit = 7 * 24 * time.Hour
		case 'D':
			unit = 24 * time.Hour
		case 'H':
			unit = time.Hour
		case 'm':
			unit = time.Minute
		case 'S':
			unit = time.Second
		}
		v, ok := new(big.Rat).SetString(strings.ReplaceAll(p.value, ",", "."))
		if !ok {
			return 0, fmt.Errorf("invalid duration %q: bad number %q", s, p.value)
		}
		total.Add(total, v.Mul(v, new(big.Rat).SetInt64(int64(unit))))
	}
	ns := new(big.Int).Quo(total.Num(), total.Denom())
	if !ns.IsInt64() {
		return 0, fmt.Errorf("duration %q is too long", s)
	}
	return time.Duration(ns.Int64()), nil
}

// canonicalDuration renders a duration for statement comparison: as a
// string (units are not converted, Data 2.3.1.b8) with the seconds fraction
// cut to 0.01 s and trailing zeros dropped (Data 4.6.s1.b5).
func canonicalDuration(s string) string {
	parts, err := parseDurationParts(s)
	if err != nil {
		return s
	}
	var b strings.Builder
	b.WriteByte('P')
	wroteT := false
	for _, p := range parts {
		if p.inTime && !wroteT {
			b.WriteByte('T')
			wroteT = true
		}
		v := strings.ReplaceAll(p.value, ",", ".")
		intPart, frac, _ := strings.Cut(v, ".")
		intPart = strings.TrimLeft(intPart, "0")
		if intPart == "" {
			intPart = "0"
		}
		if p.unit == 'S' && len(frac) > 2 {
			frac = frac[:2]
		}
		frac = strings.TrimRight(frac, "0")
		b.WriteString(intPart)
		if frac != "" {
			b.WriteString("." + frac)
		}
		if p.unit == 'm' {
			b.WriteByte('M')
		} else {
			b.WriteByte(p.unit)
		}
	}
	return b.String()
}
