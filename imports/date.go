package imports

import (
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/xuri/excelize/v2"
)

// Date is a calendar date without time zone.
type Date struct {
	Year  int
	Month time.Month
	Day   int
}

// String formats the date as YYYY-MM-DD; the zero Date gives "".
func (d Date) String() string {
	if d.IsZero() {
		return ""
	}
	return fmt.Sprintf("%04d-%02d-%02d", d.Year, int(d.Month), d.Day)
}

// IsZero reports whether d is the zero Date (no date given).
func (d Date) IsZero() bool { return d == Date{} }

// Time returns midnight UTC at the start of the date.
func (d Date) Time() time.Time { return time.Date(d.Year, d.Month, d.Day, 0, 0, 0, 0, time.UTC) }

// Compare returns -1, 0 or +1 as d is before, equal to or after o.
func (d Date) Compare(o Date) int {
	switch {
	case d.Year != o.Year:
		return cmpInt(d.Year, o.Year)
	case d.Month != o.Month:
		return cmpInt(int(d.Month), int(o.Month))
	default:
		return cmpInt(d.Day, o.Day)
	}
}

// Before reports whether d is strictly before o.
func (d Date) Before(o Date) bool { return d.Compare(o) < 0 }

func cmpInt(a, b int) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// Plausible years for every date in an import. Anything outside is almost
// certainly a typo (0224-01-05) or a number that is not a date.
const (
	minYear = 1900
	maxYear = 2199
)

// minSerial is the smallest number read as an Excel serial date
// (1927-05-18). Smaller numbers in a date column are far more likely a year
// ("2024") or a mistake than a date in the 1900s.
const minSerial = 10000

var (
	// 2024-01-05, 2024/1/5, 2024.01.05, optionally followed by a time.
	reYMD = regexp.MustCompile(`^(\d{4})([-/.])(\d{1,2})([-/.])(\d{1,2})(?:(?:[Tt]|\s+)(.*))?$`)
	// The time part of an ISO-like datetime: 10:30, 10:30:00.123Z, 10:30:00+02:00, 10:30:00 +0200.
	reTime = regexp.MustCompile(`^\d{1,2}:\d{2}(?::\d{2}(?:[.,]\d+)?)?\s*(?:[Zz]|(?:UTC|GMT)|[+-]\d{2}(?::?\d{2})?)?$`)
	// 05/01/2024, 1-5-24, 05.01.2024: day/month order unknown.
	reDMY = regexp.MustCompile(`^\d{1,2}([-/.])\d{1,2}([-/.])\d{2,4}(?:(?:[Tt]|\s+).*)?$`)
	// An Excel serial day number, possibly with a time fraction.
	reSerial = regexp.MustCompile(`^\d+(?:\.\d+)?(?:[eE][+-]?\d+)?$`)
)

const (
	reasonNotDate       = "not a date: use YYYY-MM-DD"
	reasonAmbiguousDate = "not a date: use YYYY-MM-DD; day/month order is ambiguous"
)

// parseDate reads a date cell: YYYY-MM-DD, YYYY/MM/DD, an ISO datetime (the
// date part is kept as written) or an Excel serial day number. The empty
// string gives the zero Date. On failure it returns a reason.
func parseDate(s string, date1904 bool) (Date, string) {
	if s == "" {
		return Date{}, ""
	}
	if m := reYMD.FindStringSubmatch(s); m != nil {
		if m[2] != m[4] {
			return Date{}, reasonNotDate
		}
		if m[6] != "" && !reTime.MatchString(strings.TrimSpace(m[6])) {
			return Date{}, reasonNotDate
		}
		y, _ := strconv.Atoi(m[1])
		mo, _ := strconv.Atoi(m[3])
		d, _ := strconv.Atoi(m[5])
		return makeDate(y, mo, d)
	}
	if reSerial.MatchString(s) {
		f, err := strconv.ParseFloat(s, 64)
		if err != nil || math.IsInf(f, 0) || math.IsNaN(f) || f < minSerial || f > 1e6 {
			return Date{}, reasonNotDate
		}
		t, err := excelize.ExcelDateToTime(f, date1904)
		if err != nil {
			return Date{}, reasonNotDate
		}
		if y := t.Year(); y < minYear || y > maxYear {
			return Date{}, reasonNotDate
		}
		return Date{t.Year(), t.Month(), t.Day()}, ""
	}
	if reDMY.MatchString(s) {
		return Date{}, reasonAmbiguousDate
	}
	return Date{}, reasonNotDate
}

// makeDate validates a year, month and day.
func makeDate(y, m, d int) (Date, string) {
	if m < 1 || m > 12 {
		return Date{}, "not a date: month must be 01 to 12 (use YYYY-MM-DD)"
	}
	if d < 1 || d > daysIn(y, time.Month(m)) {
		return Date{}, fmt.Sprintf("not a real date: %s %d has %d days", time.Month(m), y, daysIn(y, time.Month(m)))
	}
	if y < minYear || y > maxYear {
		return Date{}, fmt.Sprintf("date out of range: the year must be between %d and %d", minYear, maxYear)
	}
	return Date{y, time.Month(m), d}, ""
}

// daysIn returns the number of days in month m of year y.
func daysIn(y int, m time.Month) int {
	return time.Date(y, m+1, 0, 0, 0, 0, 0, time.UTC).Day()
}
