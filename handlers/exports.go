package handlers

import (
	"archive/zip"
	"bufio"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net"
	"reflect"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/xuri/excelize/v2"

	"github.com/learnlens/learnlens/analytics"
	"github.com/learnlens/learnlens/auth"
	"github.com/learnlens/learnlens/models"
	"github.com/learnlens/learnlens/views/format"
)

// exportTimeout bounds one streamed export.
const exportTimeout = 30 * time.Minute

// export checks an export request (bad filters, ids out of scope and
// unknown tables fail before anything is sent), records it in the audit
// log and returns how to stream it.
func (h *Handlers) export(c *fiber.Ctx, format string) (func(ctx context.Context, head func(analytics.Table) error, emit func([]any) error) error, []string, error) {
	id, err := tableID(c)
	if err != nil {
		return nil, nil, err
	}
	p, err := drillParams(c)
	if err != nil {
		return nil, nil, err
	}
	r, err := h.analyticsRequest(c)
	if err != nil {
		return nil, nil, err
	}
	var meta []string
	err = analyticsError(h.analytics.Run(c.UserContext(), r, func(q *analytics.Q) error {
		if err := q.CheckTable(id, p); err != nil {
			return err
		}
		asOf := "no data yet"
		if !q.AsOf.IsZero() {
			asOf = q.AsOf.Format("2006-01-02 15:04 MST")
		}
		meta = []string{"LearnLens export: " + auth.Tenant(c).Name + " · " + id, "Data as of: " + asOf,
			"Filters: " + q.F.Values().Encode(), "Exported: " + time.Now().In(r.Loc).Format("2006-01-02 15:04 MST")}
		return nil
	}))
	if err != nil {
		return nil, nil, err
	}
	u := auth.User(c)
	details, _ := json.Marshal(map[string]string{"table": id, "format": format, "filters": r.Filters.Values().Encode()})
	if err := h.audit.Record(c.UserContext(), models.AuditEntry{TenantID: auth.Tenant(c).ID, ActorUserID: &u.ID, ActorEmail: u.Email,
		Action: models.AuditExport, Target: "table:" + id, IP: h.clientIP(c), RequestID: requestID(c), Details: details}); err != nil {
		return nil, nil, err
	}
	run := func(ctx context.Context, head func(analytics.Table) error, emit func([]any) error) error {
		return h.analytics.Run(ctx, r, func(q *analytics.Q) error { return q.TableStream(id, p, head, emit) })
	}
	return run, meta, nil
}

// exportCSV streams a table as CSV: a few "key: value" lines (what, data
// as of, filters), an empty line, the header and the rows. Rows are sent
// as they are read, so a large export starts at once in flat memory.
func (h *Handlers) exportCSV(c *fiber.Ctx) error {
	run, meta, err := h.export(c, "csv")
	if err != nil {
		return err
	}
	h.streamCSV(c, h.exportName(c, "csv"), "export", func(ctx context.Context, write func([]string) error) error {
		for _, m := range meta {
			if err := write([]string{m}); err != nil {
				return err
			}
		}
		if err := write(nil); err != nil {
			return err
		}
		var t analytics.Table
		var shown []int
		return run(ctx, func(head analytics.Table) error {
			t, shown = head, visibleColumns(head.Columns)
			header := make([]string, len(shown))
			for i, j := range shown {
				header[i] = columnLabel(t.ID, t.Columns[j].Key)
			}
			return write(header)
		}, func(row []any) error {
			rec := make([]string, len(shown))
			for i, j := range shown {
				rec[i] = csvCell(t.Columns[j], row[j], t.Loc)
			}
			return write(rec)
		})
	})
	return nil
}

// streamCSV answers a CSV file named filename whose rows fill writes, from
// a context of its own (exportTimeout), flushed every 1,000 rows. If fill
// fails once headers are gone, the file says so in a last line rather than
// end silently, but never with the error's text (a database error names
// tables and values): the log has it, under what.
func (h *Handlers) streamCSV(c *fiber.Ctx, filename, what string, fill func(ctx context.Context, write func([]string) error) error) {
	c.Set(fiber.HeaderContentType, "text/csv; charset=utf-8")
	c.Set(fiber.HeaderContentDisposition, `attachment; filename="`+filename+`"`)
	c.Set(fiber.HeaderCacheControl, "no-store")
	log, reqID, conn := h.log, requestID(c), c.Context().Conn()
	c.Context().SetBodyStreamWriter(func(bw *bufio.Writer) {
		ctx, cancel := context.WithTimeout(context.Background(), exportTimeout)
		defer cancel()
		w := csv.NewWriter(keepWriting{bw, conn})
		n := 0
		err := fill(ctx, func(rec []string) error {
			if err := w.Write(rec); err != nil {
				return err
			}
			if n++; n%1000 == 0 {
				w.Flush()
				return w.Error()
			}
			return nil
		})
		w.Flush()
		if err != nil {
			_ = w.Write([]string{exportIncomplete(reqID)})
			w.Flush()
			log.Error(what+" failed", "request_id", reqID, "err", err)
		}
	})
}

// exportIncomplete is the last line of a CSV export that failed after its
// first bytes were sent.
func exportIncomplete(requestID string) string {
	return "EXPORT INCOMPLETE: the rows above are not the whole table; something went wrong on our side (request " + requestID + "). Please export again."
}

// csvCell is a value as an export's CSV shows it. Text that a spreadsheet
// would read as a formula (it starts with =, +, -, @, a tab or a carriage
// return: OWASP's CSV injection rule) gets a leading apostrophe, so an
// activity or learner name sent by any xAPI client or roster import cannot
// run in the admin's spreadsheet. Numbers, dates and booleans are written
// as they are: they come from typed columns, not from anyone's text, and a
// negative number must stay a number.
func csvCell(c analytics.Column, v any, loc *time.Location) string {
	s := analytics.Format(c, v, loc)
	switch v.(type) {
	case nil, int64, int32, float64, bool, time.Time:
		return s
	}
	return neutraliseFormula(s)
}

// neutraliseFormula prefixes s with an apostrophe when a spreadsheet would
// take it for a formula.
func neutraliseFormula(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}

// exportXLSX writes a table as an XLSX workbook in flat memory: the rows
// are read into excelize's stream writer (which keeps them in a temporary
// file past 16 MB), then the workbook's parts go to the connection as
// they are compressed. A failed query still answers with an error page,
// since nothing is sent before the last row is read.
func (h *Handlers) exportXLSX(c *fiber.Ctx) error {
	run, meta, err := h.export(c, "xlsx")
	if err != nil {
		return err
	}
	f := excelize.NewFile()
	sending := false
	defer func() {
		if !sending {
			f.Close()
		}
	}()
	sheet := "Export"
	if err := f.SetSheetName("Sheet1", sheet); err != nil {
		return err
	}
	sw, err := f.NewStreamWriter(sheet)
	if err != nil {
		return err
	}
	rowNum := 1
	write := func(vals []any) error {
		cell, _ := excelize.CoordinatesToCellName(1, rowNum)
		rowNum++
		return sw.SetRow(cell, vals)
	}
	for _, m := range meta {
		if err := write([]any{m}); err != nil {
			return err
		}
	}
	rowNum++
	styles, err := xlsxStyles(f)
	if err != nil {
		return err
	}
	var t analytics.Table
	var shown []int
	err = run(c.UserContext(), func(head analytics.Table) error {
		t, shown = head, visibleColumns(head.Columns)
		header := make([]any, len(shown))
		for i, j := range shown {
			header[i] = columnLabel(t.ID, t.Columns[j].Key)
		}
		return write(header)
	}, func(row []any) error {
		vals := make([]any, len(shown))
		for i, j := range shown {
			vals[i] = xlsxCell(styles, t.Columns[j], row[j], t.Loc)
		}
		return write(vals)
	})
	if err != nil {
		return analyticsError(err)
	}
	if err := sw.Flush(); err != nil {
		return err
	}
	c.Set(fiber.HeaderContentType, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
	c.Set(fiber.HeaderContentDisposition, `attachment; filename="`+h.exportName(c, "xlsx")+`"`)
	c.Set(fiber.HeaderCacheControl, "no-store")
	sending = true
	log, reqID, conn := h.log, requestID(c), c.Context().Conn()
	c.Context().SetBodyStreamWriter(func(bw *bufio.Writer) {
		defer f.Close()
		// excelize's Write compresses the whole workbook into memory
		// before writing it; its zip writer, given the connection, sends
		// each part as it is compressed and leaves that buffer empty.
		f.SetZipWriter(func(io.Writer) excelize.ZipWriter { return zip.NewWriter(keepWriting{bw, conn}) })
		if err := f.Write(io.Discard); err != nil {
			log.Error("xlsx export failed", "request_id", reqID, "err", err)
		}
	})
	return nil
}

// exportStall is how long an export's client may take to accept more
// bytes. The server's WriteTimeout (60 s) otherwise bounds the whole
// response, which a large export outlasts.
const exportStall = 60 * time.Second

// keepWriting is w that moves conn's write deadline exportStall ahead
// before each write.
type keepWriting struct {
	w    io.Writer
	conn net.Conn
}

func (k keepWriting) Write(p []byte) (int, error) {
	if k.conn != nil {
		if err := k.conn.SetWriteDeadline(time.Now().Add(exportStall)); err != nil {
			return 0, err
		}
	}
	return k.w.Write(p)
}

// visibleColumns is the indexes of the columns an export shows (not ids).
func visibleColumns(cols []analytics.Column) []int {
	var out []int
	for i, c := range cols {
		if c.Kind != analytics.ID {
			out = append(out, i)
		}
	}
	return out
}

// xlsxStyles are the workbook's number formats by column kind, the same
// rules as on screen (format.XLSX*).
func xlsxStyles(f *excelize.File) (map[analytics.Kind]int, error) {
	out := map[analytics.Kind]int{}
	for kind, nf := range map[analytics.Kind]string{analytics.Int: format.XLSXInt, analytics.Number: format.XLSXNumber,
		analytics.Percent: format.XLSXPercent} {
		id, err := f.NewStyle(&excelize.Style{CustomNumFmt: &nf})
		if err != nil {
			return nil, fmt.Errorf("xlsx style: %w", err)
		}
		out[kind] = id
	}
	return out, nil
}

// xlsxCell keeps numbers numeric in the workbook, with their column's
// number format; every other value is a string cell (excelize writes Go
// strings as text cells of type inlineStr, never as formulas), so text needs no
// apostrophe there and keeps its exact value.
func xlsxCell(styles map[analytics.Kind]int, c analytics.Column, v any, loc *time.Location) any {
	switch x := v.(type) {
	case int64, int32:
		return excelize.Cell{StyleID: styles[c.Kind], Value: x}
	case float64:
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return nil
		}
		return excelize.Cell{StyleID: styles[c.Kind], Value: x}
	}
	return analytics.Format(c, v, loc)
}

// exportName is the file name of an export: tenant, dashboard, table, date.
func (h *Handlers) exportName(c *fiber.Ctx, ext string) string {
	return fmt.Sprintf("%s-%s-%s-%s.%s", auth.Tenant(c).Slug, c.Params("dash"), c.Params("table"),
		analytics.DateAt(h.cfg.Clock(), tenantLocation(auth.Tenant(c))).Format(time.DateOnly), ext)
}

// jsonSafe turns NaN and infinite floats (an average of nothing) into
// null, which JSON can carry, keeping the names the json tags give.
func jsonSafe(v any) any { return cleanFloats(reflect.ValueOf(v)) }

func cleanFloats(v reflect.Value) any {
	switch v.Kind() {
	case reflect.Invalid:
		return nil
	case reflect.Float32, reflect.Float64:
		if f := v.Float(); math.IsNaN(f) || math.IsInf(f, 0) {
			return nil
		}
		return v.Interface()
	case reflect.Pointer, reflect.Interface:
		if v.IsNil() {
			return nil
		}
		return cleanFloats(v.Elem())
	case reflect.Struct:
		if t, ok := v.Interface().(time.Time); ok {
			return t
		}
		m := map[string]any{}
		for i := range v.NumField() {
			f := v.Type().Field(i)
			name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
			if !f.IsExported() || name == "-" {
				continue
			}
			if name == "" {
				name = f.Name
			}
			m[name] = cleanFloats(v.Field(i))
		}
		return m
	case reflect.Map:
		m := make(map[string]any, v.Len())
		for it := v.MapRange(); it.Next(); {
			m[fmt.Sprint(it.Key().Interface())] = cleanFloats(it.Value())
		}
		return m
	case reflect.Slice, reflect.Array:
		if v.Kind() == reflect.Slice && v.IsNil() {
			return []any{}
		}
		out := make([]any, v.Len())
		for i := range out {
			out[i] = cleanFloats(v.Index(i))
		}
		return out
	}
	return v.Interface()
}
