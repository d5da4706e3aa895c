package analytics

import (
	"errors"
	"testing"
	"time"
)

func TestParseAsOf(t *testing.T) {
	today := time.Date(2026, 12, 7, 0, 0, 0, 0, time.UTC)
	for _, tt := range []struct {
		in   string
		want string // YYYY-MM-DD, "" for today, "error"
	}{
		{"", ""},
		{"2026-12-07", ""},
		{"2026-12-06", "2026-12-06"},
		{"2016-12-07", "2016-12-07"},
		{"2016-12-06", "error"},
		{"2026-12-08", "error"},
		{"07/12/2026", "error"},
		{"2026-02-30", "error"},
	} {
		d, err := ParseAsOf(tt.in, today)
		var ie *InputError
		switch {
		case tt.want == "error":
			if !errors.As(err, &ie) || ie.Param != "as_of" {
				t.Errorf("ParseAsOf(%q) = %v, %v; want an as_of input error", tt.in, d, err)
			}
		case err != nil:
			t.Errorf("ParseAsOf(%q): %v", tt.in, err)
		case tt.want == "" && !d.IsZero(), tt.want != "" && d.Format(time.DateOnly) != tt.want:
			t.Errorf("ParseAsOf(%q) = %v, want %q", tt.in, d, tt.want)
		}
	}
}

// TestAsOfNodesCountEachPersonOnce: a person reached by a solid and a
// dotted line is counted once in the part above both.
func TestAsOfNodesCountEachPersonOnce(t *testing.T) {
	r := &rosterDay{people: map[int64]*asOfPerson{}, children: map[int64][]asOfEdge{}}
	add := func(id, manager int64, enrolled, completed int64, dotted ...int64) {
		r.people[id] = &asOfPerson{node: TeamNode{ID: id, Name: string(rune('A' + id)), Enrolled: enrolled, Completed: completed}, counted: true, manager: manager}
		if manager != 0 {
			r.children[manager] = append(r.children[manager], asOfEdge{id: id})
		}
		for _, m := range dotted {
			r.children[m] = append(r.children[m], asOfEdge{id: id, dotted: true})
		}
	}
	add(1, 0, 1, 1)    // the top
	add(2, 1, 2, 1)    // reports to 1
	add(3, 1, 2, 2)    // reports to 1
	add(4, 2, 4, 1, 3) // reports to 2, dotted to 3
	nodes := r.nodes([]asOfEdge{{id: 1}})
	if len(nodes) != 1 || nodes[0].People != 4 || nodes[0].Enrolled != 9 || nodes[0].Completed != 5 || nodes[0].Reports != 2 {
		t.Fatalf("top node %+v, want 4 people, 9 enrolled, 5 completed, 2 reports", nodes)
	}
	kids := r.nodes(r.children[3])
	if len(kids) != 1 || !kids[0].Dotted || kids[0].People != 1 {
		t.Errorf("3's reports %+v, want 4 by a dotted line", kids)
	}
	if got := nodes[0].CompletionRate; got < 55.5 || got > 55.6 {
		t.Errorf("completion rate %v, want 5/9", got)
	}
}
