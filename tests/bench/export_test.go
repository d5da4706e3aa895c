package bench

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/learnlens/learnlens/auth"
	"github.com/learnlens/learnlens/models"
	"github.com/learnlens/learnlens/tests/testserver"
)

// BenchmarkExport streams the whole-tenant enrolments export
// (completion/enrolments, one row per person and course) of a tenant
// already loaded by `learnlens seed --bench`, as CSV and as XLSX, through
// the real server as the tenant's admin, and prints for each the rows,
// bytes, time to the first byte, rows per second and the process's peak
// RSS during it (server and client: the client counts the bytes and keeps
// none). Flat memory means the peak does not grow with the rows.
//
//	BENCH_EXPORT_URL     superuser URL of the loaded database (required)
//	BENCH_EXPORT_TENANT  the tenant's slug (default huge001); its admin is
//	                     admin@<slug>.test with the demo password (created if
//	                     missing)
func BenchmarkExport(b *testing.B) {
	db, t := loadedTenant(b, "BENCH_EXPORT", "Rebuilds at scale")
	slug := t.Slug
	admin := "admin@" + slug + ".test"
	ensureUsers(b, db, t.ID, models.NewUser{Email: admin, Name: "Export Admin", Role: models.RoleTenantAdmin})
	srv := testserver.StartWith(b, db, nil)
	host := slug + ".localhost"
	clients := newClients(b, srv, 1)
	signIn(b, srv, host, clients, admin)
	c := clients[0]

	fmt.Printf("\n%s: completion/enrolments exported as the admin, load average %s\n", slug, loadAverage())
	fmt.Printf("%-6s %10s %10s %12s %10s %12s %14s\n", "format", "rows", "MB", "first byte", "total", "rows/s", "peak RSS")
	for _, format := range []string{"csv", "xlsx"} {
		req, err := http.NewRequest(http.MethodGet, srv.URL(host, "/tables/completion/enrolments/export."+format), nil)
		if err != nil {
			b.Fatal(err)
		}
		req.AddCookie(&http.Cookie{Name: auth.CookieName, Value: c.sessions[admin]})
		resetPeakRSS(b)
		start := time.Now()
		resp, err := c.http.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		first := time.Since(start)
		var n countingWriter
		_, err = io.Copy(&n, resp.Body)
		resp.Body.Close()
		took := time.Since(start)
		if err != nil || resp.StatusCode != http.StatusOK {
			b.Fatalf("%s export: %d %v", format, resp.StatusCode, err)
		}
		rows := n.lines - 6 // the four lines about the export, an empty one and the header
		if format == "xlsx" {
			rows = -1 // counted from the CSV: the workbook is compressed
		}
		fmt.Printf("%-6s %10s %10.1f %11.1fs %9.1fs %12s %11d MB\n", format, rowsText(rows), float64(n.bytes)/1e6,
			first.Seconds(), took.Seconds(), rateText(rows, took), peakRSS(b)/1024)
	}
}

// countingWriter counts the bytes and lines written to it.
type countingWriter struct{ bytes, lines int }

func (w *countingWriter) Write(p []byte) (int, error) {
	w.bytes += len(p)
	w.lines += bytes.Count(p, []byte{'\n'})
	return len(p), nil
}

func rowsText(rows int) string {
	if rows < 0 {
		return "(same)"
	}
	return strconv.Itoa(rows)
}

func rateText(rows int, d time.Duration) string {
	if rows < 0 {
		return ""
	}
	return strconv.Itoa(int(float64(rows) / d.Seconds()))
}

// resetPeakRSS starts a new peak of the process's resident memory (Linux:
// writing 5 to clear_refs resets VmHWM).
func resetPeakRSS(b *testing.B) {
	if err := os.WriteFile("/proc/self/clear_refs", []byte("5"), 0); err != nil {
		b.Fatalf("reset the peak RSS: %v", err)
	}
}

// peakRSS is the process's peak resident memory in kB since the last
// resetPeakRSS.
func peakRSS(b *testing.B) int {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		if rest, ok := strings.CutPrefix(s.Text(), "VmHWM:"); ok {
			kb, err := strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(rest), " kB"))
			if err != nil {
				b.Fatal(err)
			}
			return kb
		}
	}
	b.Fatal("no VmHWM in /proc/self/status")
	return 0
}
