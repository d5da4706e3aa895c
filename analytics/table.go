package analytics

import (
	"context"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

// PageSize is the rows of a table page.
const PageSize = 25

// Kind says how a column's values read.
type Kind int

const (
	Text    Kind = iota
	Int          // a count
	Percent      // 0–100 with one decimal
	Number       // one decimal
	Date         // a local date
	Time         // a timestamp, shown in the tenant's zone
	Bool         // yes / no
	ID           // an id: carried for links and JSON, not shown
)

// Column is one column of a table. Key is its SQL output name, sort key
// and JSON field; labels and links are the handlers' business.
type Column struct {
	Key  string
	Kind Kind
}

// Numeric reports whether the column holds numbers (right-aligned).
func (c Column) Numeric() bool { return c.Kind == Int || c.Kind == Percent || c.Kind == Number }

// Table is one page of a table, or the header of an export.
type Table struct {
	ID      string
	Columns []Column
	Rows    [][]any
	Total   int
	Page    int
	Sort    string
	Desc    bool
	Search  bool // the table has a search box
	Loc     *time.Location
}

// Pages is the number of pages.
func (t Table) Pages() int { return max(1, (t.Total+PageSize-1)/PageSize) }

// tableQuery defines a table by SQL: sql yields one row per table row with
// a column named like each Column's Key.
type tableQuery struct {
	id          string
	columns     []Column
	sql         string
	args        pgx.NamedArgs
	defaultSort string
	defaultDesc bool
	search      string // SQL expression the search box matches, if any
	// indexed, when set, serves the default order without a search by
	// an index instead of sorting and counting every row.
	indexed *indexedPage
}

// indexedPage is a table's default order read along an index: sql yields
// the rows of @limit and @offset in that order (the order tableQuery.order
// gives, tiebreak included), total counts all rows without reading them.
type indexedPage struct {
	sql   string
	total func() (int, error)
}

// order is the ORDER BY of f's sort (or the default) with a stable tiebreak.
func (q tableQuery) order(f Filters) (string, string, bool, error) {
	sort, desc := q.defaultSort, q.defaultDesc
	if f.Sort != "" {
		ok := false
		for _, c := range q.columns {
			ok = ok || (c.Key == f.Sort && c.Kind != ID)
		}
		if !ok {
			return "", "", false, &InputError{"sort", "is not a column of this table"}
		}
		sort, desc = f.Sort, f.Desc
	}
	dir := "ASC NULLS LAST"
	if desc {
		dir = "DESC NULLS LAST"
	}
	return fmt.Sprintf("ORDER BY %q %s, 1, 2", sort, dir), sort, desc, nil
}

func (q tableQuery) where(f Filters) string {
	if q.search == "" || f.Q == "" {
		return ""
	}
	q.args["q"] = "%" + strings.NewReplacer(`\`, `\\`, "%", `\%`, "_", `\_`).Replace(f.Q) + "%"
	return " WHERE " + q.search + " ILIKE @q"
}

// page runs the query for f's page.
func (q tableQuery) page(ctx context.Context, tx pgx.Tx, f Filters) (Table, error) {
	t, _, err := q.pageSumming(ctx, tx, f, nil)
	return t, err
}

// pageSumming is page, also summing the columns sum names over every row
// the search leaves (not only the page's), by window sums in the same
// read; sums is nil when it could not (an index-read page, a page past the
// end), and then the caller sums them itself.
func (q tableQuery) pageSumming(ctx context.Context, tx pgx.Tx, f Filters, sum []string) (Table, []int64, error) {
	t := Table{ID: q.id, Columns: q.columns, Page: f.Page, Search: q.search != ""}
	order, sort, desc, err := q.order(f)
	if err != nil {
		return t, nil, err
	}
	t.Sort, t.Desc = sort, desc
	if q.indexed != nil && f.Q == "" && sort == q.defaultSort && desc == q.defaultDesc {
		t, err := q.indexedPage(ctx, tx, f, t)
		return t, nil, err
	}
	windows := ""
	for _, k := range sum {
		windows += fmt.Sprintf(", coalesce(sum(t.%s) OVER (), 0)::bigint", pgx.Identifier{k}.Sanitize())
	}
	sql := fmt.Sprintf(`SELECT t.*, count(*) OVER ()%s FROM (%s) t%s %s LIMIT %d OFFSET %d`,
		windows, q.sql, q.where(f), order, PageSize, (f.Page-1)*PageSize)
	rows, err := tx.Query(ctx, sql, q.args)
	if err != nil {
		return t, nil, fmt.Errorf("table %s: %w", q.id, err)
	}
	defer rows.Close()
	sums := make([]int64, len(sum))
	for rows.Next() {
		vals, err := rows.Values()
		if err != nil {
			return t, nil, err
		}
		n := len(vals) - len(sum)
		for i := range sums {
			sums[i] = vals[n+i].(int64)
		}
		t.Total = int(vals[n-1].(int64))
		t.Rows = append(t.Rows, vals[:n-1])
	}
	if err := rows.Err(); err != nil {
		return t, nil, fmt.Errorf("table %s: %w", q.id, err)
	}
	if len(t.Rows) == 0 && f.Page > 1 {
		// Past the end: count what there is, so the pager can step back.
		err := tx.QueryRow(ctx, fmt.Sprintf(`SELECT count(*) FROM (%s) t%s`, q.sql, q.where(f)), q.args).Scan(&t.Total)
		return t, nil, err
	}
	return t, sums, nil
}

// indexedPage reads f's page by q.indexed.
func (q tableQuery) indexedPage(ctx context.Context, tx pgx.Tx, f Filters, t Table) (Table, error) {
	total, err := q.indexed.total()
	if err != nil {
		return t, fmt.Errorf("table %s: count: %w", q.id, err)
	}
	t.Total = total
	q.args["limit"], q.args["offset"] = PageSize, (f.Page-1)*PageSize
	rows, err := tx.Query(ctx, q.indexed.sql, q.args)
	if err != nil {
		return t, fmt.Errorf("table %s: %w", q.id, err)
	}
	defer rows.Close()
	for rows.Next() {
		vals, err := rows.Values()
		if err != nil {
			return t, err
		}
		t.Rows = append(t.Rows, vals)
	}
	if err := rows.Err(); err != nil {
		return t, fmt.Errorf("table %s: %w", q.id, err)
	}
	return t, nil
}

// stream runs the query for every row, in the table's order, calling emit
// for each as it arrives (memory stays flat whatever the row count).
func (q tableQuery) stream(ctx context.Context, tx pgx.Tx, f Filters, emit func([]any) error) error {
	order, _, _, err := q.order(f)
	if err != nil {
		return err
	}
	rows, err := tx.Query(ctx, fmt.Sprintf(`SELECT t.* FROM (%s) t%s %s`, q.sql, q.where(f), order), q.args)
	if err != nil {
		return fmt.Errorf("table %s: %w", q.id, err)
	}
	defer rows.Close()
	for rows.Next() {
		vals, err := rows.Values()
		if err != nil {
			return err
		}
		if err := emit(vals); err != nil {
			return err
		}
	}
	return rows.Err()
}

// Format renders one value of column c as text (for HTML and CSV).
func Format(c Column, v any, loc *time.Location) string {
	if v == nil {
		return ""
	}
	switch x := v.(type) {
	case string:
		return x
	case bool:
		if x {
			return "yes"
		}
		return "no"
	case int64:
		return strconv.FormatInt(x, 10)
	case int32:
		return strconv.FormatInt(int64(x), 10)
	case float64:
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return ""
		}
		return strconv.FormatFloat(x, 'f', 1, 64)
	case time.Time:
		if c.Kind == Time {
			if loc == nil {
				loc = time.UTC
			}
			return x.In(loc).Format("2006-01-02 15:04")
		}
		return x.Format(time.DateOnly)
	}
	return fmt.Sprint(v)
}

// Record is a row as a JSON object keyed by column.
func Record(cols []Column, row []any) map[string]any {
	m := make(map[string]any, len(cols))
	for i, c := range cols {
		v := row[i]
		if t, ok := v.(time.Time); ok && c.Kind == Date {
			v = t.Format(time.DateOnly)
		}
		m[c.Key] = v
	}
	return m
}

// TableRow is one row of a table page, read by column key.
type TableRow struct {
	cols []Column
	vals []any
}

// Records is the page's rows, to read by column key.
func (t Table) Records() []TableRow {
	out := make([]TableRow, len(t.Rows))
	for i, r := range t.Rows {
		out[i] = TableRow{cols: t.Columns, vals: r}
	}
	return out
}

func (r TableRow) value(key string) any {
	for i, c := range r.cols {
		if c.Key == key {
			return r.vals[i]
		}
	}
	return nil
}

// Int is the row's whole number in column key (0 when null or missing).
func (r TableRow) Int(key string) int64 {
	switch x := r.value(key).(type) {
	case int64:
		return x
	case int32:
		return int64(x)
	}
	return 0
}

// Text is the row's text in column key ("" when null or missing).
func (r TableRow) Text(key string) string {
	s, _ := r.value(key).(string)
	return s
}

// TableJSON is a table page as the JSON API sends it: the columns, each
// row as an object keyed by column (dates as YYYY-MM-DD, times in RFC
// 3339), and the paging state.
type TableJSON struct {
	ID       string           `json:"id"`
	Columns  []ColumnJSON     `json:"columns"`
	Rows     []map[string]any `json:"rows"`
	Total    int              `json:"total"`
	Page     int              `json:"page"`
	PageSize int              `json:"page_size"`
	Sort     string           `json:"sort"`
	Desc     bool             `json:"desc"`
}

// ColumnJSON describes a column of a TableJSON.
type ColumnJSON struct {
	Key   string `json:"key"`
	Label string `json:"label"`
	Kind  string `json:"kind"`
}

var kindNames = map[Kind]string{Text: "text", Int: "int", Percent: "percent", Number: "number", Date: "date", Time: "time", Bool: "bool", ID: "id"}

// JSON is the page as the API sends it, without labels (the caller's).
func (t Table) JSON() TableJSON {
	out := TableJSON{ID: t.ID, Columns: make([]ColumnJSON, len(t.Columns)), Rows: make([]map[string]any, len(t.Rows)),
		Total: t.Total, Page: t.Page, PageSize: PageSize, Sort: t.Sort, Desc: t.Desc}
	for i, c := range t.Columns {
		out.Columns[i] = ColumnJSON{Key: c.Key, Kind: kindNames[c.Kind]}
	}
	for i, r := range t.Rows {
		out.Rows[i] = Record(t.Columns, r)
	}
	return out
}
