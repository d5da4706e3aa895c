package imports

import (
	"archive/zip"
	"bytes"
	"errors"
	"strings"
	"testing"
)

// zipBomb is a workbook-shaped ZIP whose part name inflates to size bytes
// of zeros (a few hundred KB compressed).
func zipBomb(t testing.TB, name string, size int) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	w, err := zw.Create("[Content_Types].xml")
	if err != nil {
		t.Fatal(err)
	}
	w.Write([]byte(`<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"></Types>`))
	w, _ = zw.Create(name)
	zeros := make([]byte, 1<<20)
	for range size >> 20 {
		w.Write(zeros)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestXLSXRefusesZipBombsBeforeInflating(t *testing.T) {
	cases := []struct {
		part string
		size int
		want string
	}{
		{"xl/styles.xml", 64 << 20, "part xl/styles.xml unpacks to 64 MiB, more than the 16 MiB allowed"},
		{"xl/worksheets/sheet1.xml", 300 << 20, "its parts unpack to more than 256 MiB"},
	}
	for _, c := range cases {
		data := zipBomb(t, c.part, c.size)
		_, err := Parse(KindRoster, "bomb.xlsx", data)
		if !errors.Is(err, ErrTooLarge) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s of %d MiB (%d KB compressed): %v, want ErrTooLarge saying %q", c.part, c.size>>20, len(data)>>10, err, c.want)
		}
	}
}
