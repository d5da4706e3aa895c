package analytics

import (
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"
)

// TableSummary is a drill-down level at a glance: the totals of every
// row of its table (not only the page shown), for its tiles and chart.
type TableSummary struct {
	Rows int64 `json:"rows"`
	// Sums are the totals of the table's count columns by key (enrolled,
	// completed, overdue, assigned, compliant, …).
	Sums map[string]int64 `json:"sums"`
	// Statuses counts the rows by their status column, most first; empty
	// when the table has none.
	Statuses []StatusCount `json:"statuses"`
}

// StatusCount is how many rows have one status.
type StatusCount struct {
	Status string `json:"status"`
	Rows   int64  `json:"rows"`
}

// Rate is part of whole in percent, NaN without a whole.
func (s TableSummary) Rate(part, whole string) float64 { return pct(s.Sums[part], s.Sums[whole]) }

// summed is the columns a summary sums (the count columns) and whether
// the table has a status column to count rows by.
func (tq tableQuery) summed() (keys []string, status bool) {
	for _, c := range tq.columns {
		switch {
		case c.Kind == Int:
			keys = append(keys, c.Key)
		case c.Key == "status":
			status = true
		}
	}
	return keys, status
}

// pageWithSummary is pageTable and TableSummary of table id. For a table
// without a status column (a drill-down's teams) both come from one read:
// the page's query sums every row by window sums before the page is cut,
// and the page a drill-down shows has no search, so every row counts.
func (q *Q) pageWithSummary(id string, p Params) (Table, TableSummary, error) {
	f := q.F
	q.F = f.WithoutTable()
	defer func() { q.F = f }()
	tq, err := q.table(id, p)
	if err != nil {
		return Table{}, TableSummary{}, err
	}
	keys, status := tq.summed()
	var sums []int64
	t := Table{}
	if !status {
		t, sums, err = tq.pageSumming(q.ctx, q.tx, q.F, keys)
		t.Loc = q.Loc
	} else {
		t, err = q.TablePage(id, p)
	}
	if err != nil {
		return t, TableSummary{}, err
	}
	if sums == nil {
		s, err := q.TableSummary(id, p)
		return t, s, err
	}
	s := TableSummary{Rows: int64(t.Total), Sums: map[string]int64{}}
	for i, k := range keys {
		s.Sums[k] = sums[i]
	}
	return t, s, nil
}

// TableSummary sums every row of table id for p, whatever the page,
// sort or search. The table's rows are read once: with a status column,
// grouped by it, the totals being the groups' sums (the drill-downs' people
// tables took two passes over their rows before, one for the sums and one
// for the statuses).
func (q *Q) TableSummary(id string, p Params) (TableSummary, error) {
	out := TableSummary{Sums: map[string]int64{}}
	tq, err := q.table(id, p)
	if err != nil {
		return out, err
	}
	keys, status := tq.summed()
	sel := []string{"count(*)"}
	for _, k := range keys {
		sel = append(sel, fmt.Sprintf("coalesce(sum(t.%s), 0)::bigint", pgx.Identifier{k}.Sanitize()))
	}
	if !status {
		vals := make([]int64, len(keys))
		dest := []any{&out.Rows}
		for i := range vals {
			dest = append(dest, &vals[i])
		}
		if err := q.one(`SELECT `+strings.Join(sel, ", ")+` FROM (`+tq.sql+`) t`, tq.args, dest...); err != nil {
			return out, fmt.Errorf("summarise %s: %w", id, err)
		}
		for i, k := range keys {
			out.Sums[k] = vals[i]
		}
		return out, nil
	}
	out.Statuses = []StatusCount{}
	for _, k := range keys {
		out.Sums[k] = 0
	}
	rows, err := q.tx.Query(q.ctx, `SELECT t.status, `+strings.Join(sel, ", ")+` FROM (`+tq.sql+`) t GROUP BY 1 ORDER BY 2 DESC, 1`, tq.args)
	if err != nil {
		return out, fmt.Errorf("summarise %s: %w", id, err)
	}
	var sc StatusCount
	vals := make([]int64, len(keys))
	dest := []any{&sc.Status, &sc.Rows}
	for i := range vals {
		dest = append(dest, &vals[i])
	}
	_, err = pgx.ForEachRow(rows, dest, func() error {
		out.Statuses = append(out.Statuses, sc)
		out.Rows += sc.Rows
		for i, k := range keys {
			out.Sums[k] += vals[i]
		}
		return nil
	})
	if err != nil {
		return out, fmt.Errorf("summarise %s: %w", id, err)
	}
	return out, nil
}
