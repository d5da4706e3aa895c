package xapi

import (
	"errors"
	"testing"
	"time"
)

func TestParseDuration(t *testing.T) {
	valid := []struct {
		in   string
		want time.Duration
	}{
		{"PT1H30M", 90 * time.Minute},
		{"P1DT2.5S", 24*time.Hour + 2500*time.Millisecond},
		{"PT4H35M59.14S", 4*time.Hour + 35*time.Minute + 59140*time.Millisecond},
		{"PT16559.14S", 16559140 * time.Millisecond},
		{"PT0S", 0},
		{"P4W", 4 * 7 * 24 * time.Hour},
		{"P2D", 48 * time.Hour},
		{"PT1.5H", 90 * time.Minute},
		{"PT0,5S", 500 * time.Millisecond},
		{"PT0.000000001S", time.Nanosecond},
		{"PT0.0000000019S", time.Nanosecond},
		{"PT1H0M0S", time.Hour},
	}
	for _, tc := range valid {
		got, err := ParseDuration(tc.in)
		if err != nil || got != tc.want {
			t.Errorf("ParseDuration(%q) = %v, %v; want %v", tc.in, got, err, tc.want)
		}
		if !ValidDuration(tc.in) {
			t.Errorf("ValidDuration(%q) = false", tc.in)
		}
	}
	invalid := []string{
		"", "P", "PT", "1H", "pt1h", "PT1h", "-PT1S", "P1DT", "PT1.5H30M", "P4W1D", "P1D1Y",
		"PT1S1M", "PT1H1H", "PT.5S", "PT5.S", "PT1:30:00", "P0001-02-03T04:05:06", "PA1H0M0S",
		"P16559.14S", "PT1X", "PT1", "P1Y T", "should fail", "PT9999999999999999H",
	}
	for _, in := range invalid {
		if d, err := ParseDuration(in); err == nil {
			t.Errorf("ParseDuration(%q) = %v, want an error", in, d)
		}
	}
	for _, in := range []string{"P1Y", "P1M", "P3Y1M29DT4H35M59.14S", "P1MT1M"} {
		_, err := ParseDuration(in)
		if !errors.Is(err, ErrCalendarDuration) {
			t.Errorf("ParseDuration(%q) error = %v, want ErrCalendarDuration", in, err)
		}
		if !ValidDuration(in) {
			t.Errorf("ValidDuration(%q) = false; years and months are valid in statements", in)
		}
	}
}

func TestCanonicalDuration(t *testing.T) {
	tests := map[string]string{
		"PT1M0.123S": "PT1M0.12S",
		"PT1M0.120S": "PT1M0.12S",
		"PT01M0,5S":  "PT1M0.5S",
		"P1Y2M":      "P1Y2M",
		"PT1.50H":    "PT1.5H",
	}
	for in, want := range tests {
		if got := canonicalDuration(in); got != want {
			t.Errorf("canonicalDuration(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestValidLanguageTag(t *testing.T) {
	valid := []string{"en", "en-US", "zh-Hans-CN", "und", "de", "ine", "zh-Hant", "sr-Latn", "zh-cmn-Hans-CN",
		"sr-Latn-RS", "sl-rozaj-biske", "de-CH-1901", "hy-Latn-IT-arevela", "de-DE", "az-Arab-x-AZE-derbend",
		"x-whatever", "i-enochian", "en-GB-oed", "es-419", "en-a-bbb-x-a-ccc", "tlh", "EN-us"}
	for _, tag := range valid {
		if !ValidLanguageTag(tag) {
			t.Errorf("ValidLanguageTag(%q) = false", tag)
		}
	}
	invalid := []string{"", "a-DE", "de-419-DE", "ar-a-aaa-b-bbb-a-ccc", "a12345", "en_US", "en-", "-en", "en--US",
		"de-DE-1901-1901", "en-a", "x", "en-x", "toolongtag", "en US", "é"}
	for _, tag := range invalid {
		if ValidLanguageTag(tag) {
			t.Errorf("ValidLanguageTag(%q) = true", tag)
		}
	}
}

func TestValidIRI(t *testing.T) {
	valid := []string{"http://example.com", "https://example.com/a/b?c=d#e", "urn:uuid:6690e6c9-3ef0-4ed3-8b37-7f3964730bee",
		"mailto:a@example.com", "tag:adlnet.gov,2013:expapi:0.9:activities:x", "http://example.com/%C3%A9",
		"http://example.com/فعل/خواندن", "file:///tmp/x", "x-custom+scheme.v1:thing"}
	for _, s := range valid {
		if !validIRI(s) {
			t.Errorf("validIRI(%q) = false", s)
		}
	}
	invalid := []string{"", "example.com", "/relative/path", "#fragment", ":nothing", "http:", "1http://x",
		"ab=c://should.fail.com", "http://exa mple.com", " http://example.com", "http://example.com/\n",
		"http://example.com/<x>", "http://example.com/%2", "http://example.com/#a#b", "http://", "https:///x", "http://user@/x"}
	for _, s := range invalid {
		if validIRI(s) {
			t.Errorf("validIRI(%q) = true", s)
		}
	}
	if validURI("http://example.com/é") {
		t.Error("validURI accepted a non-ASCII character")
	}
}

func TestNormalizeIRI(t *testing.T) {
	tests := map[string]string{
		"HTTP://Example.COM/Path%2fx": "http://example.com/Path%2Fx",
		"urn:ISBN:0451450523":         "urn:ISBN:0451450523",
		"http://User@Example.com:80/": "http://User@example.com:80/",
	}
	for in, want := range tests {
		if got := normalizeIRI(in); got != want {
			t.Errorf("normalizeIRI(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestParseTimestamp(t *testing.T) {
	valid := []struct {
		in   string
		want time.Time
	}{
		{"2013-05-18T05:32:34.804Z", time.Date(2013, 5, 18, 5, 32, 34, 804e6, time.UTC)},
		{"2013-05-18T05:32:34.804+00:00", time.Date(2013, 5, 18, 5, 32, 34, 804e6, time.UTC)},
		{"2013-05-18T07:32:34+02:00", time.Date(2013, 5, 18, 5, 32, 34, 0, time.UTC)},
		{"2013-05-18t05:32:34z", time.Date(2013, 5, 18, 5, 32, 34, 0, time.UTC)},
		{"2013-05-18T05:32Z", time.Date(2013, 5, 18, 5, 32, 0, 0, time.UTC)},
		{"2013-05-18T00:02:34-0530", time.Date(2013, 5, 18, 5, 32, 34, 0, time.UTC)},
		{"2013-05-18T06:32:34+01", time.Date(2013, 5, 18, 5, 32, 34, 0, time.UTC)},
		{"20130518T053234.5Z", time.Date(2013, 5, 18, 5, 32, 34, 5e8, time.UTC)},
		{"2013-05-18T05:32:34.1234567891234Z", time.Date(2013, 5, 18, 5, 32, 34, 123456789, time.UTC)},
		{"2016-02-29T00:00:00Z", time.Date(2016, 2, 29, 0, 0, 0, 0, time.UTC)},
	}
	for _, tc := range valid {
		got, err := ParseTimestamp(tc.in)
		if err != nil || !got.Equal(tc.want) {
			t.Errorf("ParseTimestamp(%q) = %v, %v; want %v", tc.in, got, err, tc.want)
		}
	}
	invalid := []string{"", "should fail", "01/011/2015", "2013-05-18", "2013-05-18T05:32:34", "2013-05-18 05:32:34Z",
		"2013-05-18T05:32:34-00:00", "2013-05-18T05:32:34-0000", "2013-05-18T05:32:34-00", "2015-02-29T00:00:00Z",
		"2013-13-01T00:00:00Z", "2013-05-18T25:00:00Z", "2013-05-18T05:60:00Z", "2013-05-18T05:32:60Z",
		"2013-05-18T05:32:34+24:00", "2013-05-18T05:32:34.Z", "2013-05-18T05:32:34+2:00", "20130518T05:32:34Z"}
	for _, in := range invalid {
		if got, err := ParseTimestamp(in); err == nil {
			t.Errorf("ParseTimestamp(%q) = %v, want an error", in, got)
		}
	}
}

func TestCanonicalUUID(t *testing.T) {
	if got, ok := canonicalUUID("6690E6C9-3EF0-4ED3-8B37-7F3964730BEE"); !ok || got != "6690e6c9-3ef0-4ed3-8b37-7f3964730bee" {
		t.Errorf("canonicalUUID upper = %q %v", got, ok)
	}
	for _, s := range []string{"", "6690e6c9-3ef0-4ed3-8b37-7f3964730be", "{6690e6c9-3ef0-4ed3-8b37-7f3964730bee}",
		"urn:uuid:6690e6c9-3ef0-4ed3-8b37-7f3964730bee", "6690e6c9_3ef0-4ed3-8b37-7f3964730bee", "g690e6c9-3ef0-4ed3-8b37-7f3964730bee"} {
		if _, ok := canonicalUUID(s); ok {
			t.Errorf("canonicalUUID(%q) accepted", s)
		}
	}
}

func TestValidMediaTypeAndMbox(t *testing.T) {
	for _, s := range []string{"text/plain", "text/plain; charset=ascii", "application/octet-stream", "image/svg+xml"} {
		if !validMediaType(s) {
			t.Errorf("validMediaType(%q) = false", s)
		}
	}
	for _, s := range []string{"", "text", "should fail", "text/", "/plain"} {
		if validMediaType(s) {
			t.Errorf("validMediaType(%q) = true", s)
		}
	}
	for _, s := range []string{"mailto:a@example.com", "mailto:first.last+tag@sub.example.co.uk"} {
		if !validMbox(s) {
			t.Errorf("validMbox(%q) = false", s)
		}
	}
	for _, s := range []string{"a@example.com", "mailto:", "mailto:a", "mailto:a@", "mailto:@example.com", "MAILTO:a@example.com",
		"mailto:Ada <a@example.com>", "mailto:a@example.com, b@example.com", "mailto:a b@example.com"} {
		if validMbox(s) {
			t.Errorf("validMbox(%q) = true", s)
		}
	}
}
