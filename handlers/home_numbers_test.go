package handlers

import (
	"testing"
	"time"
)

func TestOlderAsOf(t *testing.T) {
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Fatal(err)
	}
	page := time.Date(2026, 12, 7, 9, 30, 0, 0, time.UTC)
	tests := []struct {
		name    string
		section time.Time
		want    time.Time
	}{
		{"as new as the page", page, time.Time{}},
		{"no data", time.Time{}, time.Time{}},
		{"older", page.Add(-90 * time.Second), page.Add(-90 * time.Second).In(berlin)},
		{"newer (read after the page's newest)", page.Add(time.Second), time.Time{}},
	}
	for _, tt := range tests {
		got := olderAsOf(tt.section, page, berlin)
		if !got.Equal(tt.want) || (!got.IsZero() && got.Location() != berlin) {
			t.Errorf("%s: olderAsOf = %v, want %v in Berlin", tt.name, got, tt.want)
		}
	}
}
