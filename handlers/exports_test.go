package handlers

import (
	"testing"
	"time"

	"github.com/learnlens/learnlens/analytics"
)

func TestCSVCellNeutralisesFormulasButKeepsNumbers(t *testing.T) {
	text, num := analytics.Column{Key: "name"}, analytics.Column{Key: "n", Kind: analytics.Number}
	cases := []struct {
		col  analytics.Column
		v    any
		want string
	}{
		{text, "=1+1", "'=1+1"},
		{text, "+1", "'+1"},
		{text, "-1", "'-1"},
		{text, "@SUM(A1)", "'@SUM(A1)"},
		{text, "\tx", "'\tx"},
		{text, "\rx", "'\rx"},
		{text, "Ann =1", "Ann =1"},
		{text, "", ""},
		{num, -3.5, "-3.5"},
		{analytics.Column{Key: "n", Kind: analytics.Int}, int64(-2), "-2"},
		{text, nil, ""},
	}
	for _, c := range cases {
		if got := csvCell(c.col, c.v, time.UTC); got != c.want {
			t.Errorf("csvCell(%q) = %q, want %q", c.v, got, c.want)
		}
	}
}
