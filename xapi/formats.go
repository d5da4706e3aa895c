package xapi

import (
	"mime"
	"net/mail"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// ---------------------------------------------------------------- UUIDs

// canonicalUUID returns the lower-case form of a UUID in the standard
// 8-4-4-4-12 string form, or false. Every version and variant is accepted:
// the spec only recommends the RFC 4122 variant (its own example id
// 12345678-1234-5678-1234-567812345678 is not one).
func canonicalUUID(s string) (string, bool) {
	if len(s) != 36 {
		return "", false
	}
	for i := 0; i < 36; i++ {
		c := s[i]
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return "", false
			}
		default:
			if !isHex(c) {
				return "", false
			}
		}
	}
	return strings.ToLower(s), true
}

func isHex(c byte) bool {
	return ('0' <= c && c <= '9') || ('a' <= c && c <= 'f') || ('A' <= c && c <= 'F')
}

func isHexString(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !isHex(s[i]) {
			return false
		}
	}
	return true
}

// ---------------------------------------------------------------- IRIs

// validIRI reports whether s is an absolute IRI: a scheme, a colon and a
// non-empty remainder, with no whitespace, control or otherwise excluded
// characters and only well-formed percent escapes. This is the best-effort
// validation the spec allows (Data 2.2.s4.b6).
func validIRI(s string) bool {
	colon := strings.IndexByte(s, ':')
	if colon < 1 || colon == len(s)-1 {
		return false
	}
	scheme := s[:colon]
	if !isAlpha(scheme[0]) {
		return false
	}
	for i := 1; i < len(scheme); i++ {
		c := scheme[i]
		if !isAlpha(c) && !isDigit(c) && c != '+' && c != '-' && c != '.' {
			return false
		}
	}
	if !utf8.ValidString(s) || strings.Count(s, "#") > 1 {
		return false
	}
	for i, r := range s {
		switch {
		case r <= 0x20, r == 0x7f, 0x80 <= r && r <= 0x9f:
			return false
		case strings.ContainsRune(`<>"{}|\^`+"`", r):
			return false
		case r == '%':
			if i+2 >= len(s) || !isHex(s[i+1]) || !isHex(s[i+2]) {
				return false
			}
		}
	}
	rest := s[colon+1:]
	if strings.HasPrefix(rest, "//") {
		lower := strings.ToLower(scheme)
		if lower == "http" || lower == "https" {
			auth := rest[2:]
			if i := strings.IndexAny(auth, "/?#"); i >= 0 {
				auth = auth[:i]
			}
			if at := strings.LastIndexByte(auth, '@'); at >= 0 {
				auth = auth[at+1:]
			}
			if auth == "" || auth[0] == ':' {
				return false
			}
		}
	}
	return true
}

// validURI reports whether s is an absolute IRI made only of ASCII characters.
func validURI(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return validIRI(s)
}

func isAlpha(c byte) bool { return ('a' <= c && c <= 'z') || ('A' <= c && c <= 'Z') }
func isDigit(c byte) bool { return '0' <= c && c <= '9' }

// normalizeIRI applies the syntax-based normalisation of RFC 3987 section
// 5.3.2 that the spec allows for comparisons: lower-case scheme and host,
// upper-case percent escapes.
func normalizeIRI(s string) string {
	colon := strings.IndexByte(s, ':')
	if colon < 1 {
		return s
	}
	out := strings.ToLower(s[:colon]) + ":"
	rest := s[colon+1:]
	if strings.HasPrefix(rest, "//") {
		auth := rest[2:]
		tail := ""
		if i := strings.IndexAny(auth, "/?#"); i >= 0 {
			auth, tail = auth[:i], auth[i:]
		}
		user := ""
		if at := strings.LastIndexByte(auth, '@'); at >= 0 {
			user, auth = auth[:at+1], auth[at+1:]
		}
		rest = "//" + user + strings.ToLower(auth) + tail
	}
	out += rest
	if !strings.Contains(out, "%") {
		return out
	}
	b := []byte(out)
	for i := 0; i+2 < len(b); i++ {
		if b[i] == '%' && isHex(b[i+1]) && isHex(b[i+2]) {
			b[i+1] = upperHex(b[i+1])
			b[i+2] = upperHex(b[i+2])
		}
	}
	return string(b)
}

func upperHex(c byte) byte {
	if 'a' <= c && c <= 'f' {
		return c - 'a' + 'A'
	}
	return c
}

// ---------------------------------------------------------------- mail

// validMbox reports whether s is "mailto:" followed by a single plain e-mail address.
func validMbox(s string) bool {
	addr, ok := strings.CutPrefix(s, "mailto:")
	if !ok || addr == "" || strings.ContainsAny(addr, " \t\r\n<>") {
		return false
	}
	parsed, err := mail.ParseAddress(addr)
	if err != nil || parsed.Name != "" || parsed.Address != addr {
		return false
	}
	at := strings.LastIndexByte(addr, '@')
	return at > 0 && at < len(addr)-1
}

// canonicalMbox lower-cases the domain part of a mailto IRI, which is case
// insensitive (Data 2.4.2.3.s4.b1); the local part keeps its case.
func canonicalMbox(s string) string {
	at := strings.LastIndexByte(s, '@')
	if at < 0 {
		return s
	}
	return s[:at] + strings.ToLower(s[at:])
}

// ---------------------------------------------------------------- media types and hashes

// validMediaType reports whether s is an Internet media type such as
// "text/plain; charset=ascii".
func validMediaType(s string) bool {
	mt, _, err := mime.ParseMediaType(s)
	if err != nil {
		return false
	}
	typ, sub, ok := strings.Cut(mt, "/")
	return ok && typ != "" && sub != ""
}

// validSHA2 reports whether s is a hex-encoded SHA-224, SHA-256, SHA-384 or SHA-512 digest.
func validSHA2(s string) bool {
	switch len(s) {
	case 56, 64, 96, 128:
		return isHexString(s)
	}
	return false
}

// ---------------------------------------------------------------- language tags

// grandfathered holds the RFC 5646 grandfathered tags, lower-cased.
var grandfathered = map[string]bool{
	"en-gb-oed": true, "i-ami": true, "i-bnn": true, "i-default": true, "i-enochian": true,
	"i-hak": true, "i-klingon": true, "i-lux": true, "i-mingo": true, "i-navajo": true,
	"i-pwn": true, "i-tao": true, "i-tay": true, "i-tsu": true, "sgn-be-fr": true,
	"sgn-be-nl": true, "sgn-ch-de": true, "art-lojban": true, "cel-gaulish": true,
	"no-bok": true, "no-nyn": true, "zh-guoyu": true, "zh-hakka": true, "zh-min": true,
	"zh-min-nan": true, "zh-xiang": true,
}

// ValidLanguageTag reports whether tag is well-formed per the RFC 5646 grammar
// (language, extlang, script, region, variants, extensions, private use and
// the grandfathered tags), including the rule that variants and extension
// singletons do not repeat. Subtags are not checked against the IANA registry.
func ValidLanguageTag(tag string) bool {
	if tag == "" {
		return false
	}
	lower := strings.ToLower(tag)
	if grandfathered[lower] {
		return true
	}
	parts := strings.Split(lower, "-")
	for _, p := range parts {
		if len(p) < 1 || len(p) > 8 || !isAlnumString(p) {
			return false
		}
	}
	if parts[0] == "x" {
		return len(parts) > 1
	}
	lang := parts[0]
	if len(lang) < 2 || !isAlphaString(lang) {
		return false
	}
	i := 1
	if len(lang) <= 3 {
		for n := 0; n < 3 && i < len(parts) && len(parts[i]) == 3 && isAlphaString(parts[i]); n++ {
			i++
		}
	}
	if i < len(parts) && len(parts[i]) == 4 && isAlphaString(parts[i]) {
		i++
	}
	if i < len(parts) && ((len(parts[i]) == 2 && isAlphaString(parts[i])) || (len(parts[i]) == 3 && isDigitString(parts[i]))) {
		i++
	}
	variants := map[string]bool{}
	for i < len(parts) && isVariant(parts[i]) {
		if variants[parts[i]] {
			return false
		}
		variants[parts[i]] = true
		i++
	}
	singletons := map[string]bool{}
	for i < len(parts) && len(parts[i]) == 1 && parts[i] != "x" {
		if singletons[parts[i]] {
			return false
		}
		singletons[parts[i]] = true
		i++
		n := 0
		for i < len(parts) && len(parts[i]) >= 2 {
			i++
			n++
		}
		if n == 0 {
			return false
		}
	}
	if i < len(parts) && parts[i] == "x" {
		return i+1 < len(parts)
	}
	return i == len(parts)
}

func isVariant(p string) bool {
	return (len(p) >= 5 && len(p) <= 8) || (len(p) == 4 && isDigit(p[0]))
}

func isAlnumString(s string) bool {
	for i := 0; i < len(s); i++ {
		if !isAlpha(s[i]) && !isDigit(s[i]) {
			return false
		}
	}
	return true
}

func isAlphaString(s string) bool {
	for i := 0; i < len(s); i++ {
		if !isAlpha(s[i]) {
			return false
		}
	}
	return true
}

func isDigitString(s string) bool {
	for i := 0; i < len(s); i++ {
		if !isDigit(s[i]) {
			return false
		}
	}
	return true
}

// looseLanguageTag reports whether s is shaped like a language tag: subtags
// of letters and digits separated by single hyphens. It is used for
// context.language, where the ADL conformance suite expects an LRS to accept
// even over-long primary subtags.
func looseLanguageTag(s string) bool {
	if s == "" {
		return false
	}
	for _, p := range strings.Split(s, "-") {
		if p == "" || !isAlnumString(p) {
			return false
		}
	}
	return true
}

// ---------------------------------------------------------------- timestamps

var (
	extendedTimestamp = regexp.MustCompile(`^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d+))?)?(?:([Zz])|([+-])(\d{2})(?::?(\d{2}))?)?$`)
	basicTimestamp    = regexp.MustCompile(`^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(?:(\d{2})(?:[.,](\d+))?)?(?:(Z)|([+-])(\d{2})(\d{2})?)?$`)
)

// Messages explaining why a timestamp was rejected.
const (
	msgTimestampFormat = "must be an ISO 8601 date and time such as 2024-05-18T05:32:34.804Z"
	msgTimestampZone   = "must include a time zone (Z or an offset such as +02:00)"
	msgTimestampMinus0 = "must not use the offset -00:00 (unknown local offset); use Z or +00:00"
	msgTimestampRange  = "has a date or time field out of range"
)

// ParseTimestamp parses an xAPI Timestamp: an ISO 8601 combined date and
// time in extended (2024-05-18T05:32:34.804+02:00) or basic
// (20240518T053234Z) format with a time zone. A missing time zone and the
// "unknown offset" forms -00, -0000 and -00:00 are rejected; fractions of a
// second are kept to the nanosecond and truncated beyond.
func ParseTimestamp(s string) (time.Time, error) {
	t, msg := parseTimestamp(s)
	if msg != "" {
		return time.Time{}, verr("", "timestamp", "%s", msg)
	}
	return t, nil
}

func parseTimestamp(s string) (time.Time, string) {
	m := extendedTimestamp.FindStringSubmatch(s)
	if m == nil {
		m = basicTimestamp.FindStringSubmatch(s)
	}
	if m == nil {
		return time.Time{}, msgTimestampFormat
	}
	if m[8] == "" && m[9] == "" {
		return time.Time{}, msgTimestampZone
	}
	num := func(x string) int {
		n, _ := strconv.Atoi(x)
		return n
	}
	year, month, day := num(m[1]), num(m[2]), num(m[3])
	hour, minute, sec := num(m[4]), num(m[5]), num(m[6])
	nsec := 0
	if frac := m[7]; frac != "" {
		if len(frac) > 9 {
			frac = frac[:9]
		}
		nsec = num(frac + strings.Repeat("0", 9-len(frac)))
	}
	offset := 0
	if m[9] != "" {
		oh, om := num(m[10]), num(m[11])
		if oh > 23 || om > 59 {
			return time.Time{}, msgTimestampRange
		}
		if m[9] == "-" && oh == 0 && om == 0 {
			return time.Time{}, msgTimestampMinus0
		}
		offset = oh*3600 + om*60
		if m[9] == "-" {
			offset = -offset
		}
	}
	if month < 1 || month > 12 || day < 1 || hour > 23 || minute > 59 || sec > 59 {
		return time.Time{}, msgTimestampRange
	}
	t := time.Date(year, time.Month(month), day, hour, minute, sec, nsec, time.FixedZone("", offset))
	if t.Day() != day {
		return time.Time{}, msgTimestampRange
	}
	return t, ""
}

// FormatTimestamp renders t in UTC as RFC 3339 with at least millisecond
// precision (more digits only when t has them), the form in which this
// package writes "stored" and "timestamp".
func FormatTimestamp(t time.Time) string {
	s := t.UTC().Format("2006-01-02T15:04:05.000000000")
	// Trim trailing zeros of the fraction but keep at least three digits.
	for len(s) > len("2006-01-02T15:04:05.000") && s[len(s)-1] == '0' {
		s = s[:len(s)-1]
	}
	return s + "Z"
}
