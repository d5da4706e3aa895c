package xapi

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"testing"
)

// TestAttachmentParts_1_5_2 checks how a request's statements and its
// attachment parts must match (Communication 1.5.2.s3.b5): an attachment
// without fileUrl needs a part (in a JSON request it cannot have one),
// every part belongs to an attachment, and lengths agree.
func TestAttachmentParts_1_5_2(t *testing.T) {
	data := []byte("here is a simple attachment")
	sum := sha256.Sum256(data)
	sha := hex.EncodeToString(sum[:])
	att := func(length int, fileURL string) string {
		u := ""
		if fileURL != "" {
			u = fmt.Sprintf(`,"fileUrl":%q`, fileURL)
		}
		return fmt.Sprintf(`[{"usageType":"http://example.com/u","display":{"en":"A"},"contentType":"text/plain","length":%d,"sha2":%q%s}]`, length, sha, u)
	}
	statement := func(attachments string) string {
		return `{"actor":{"mbox":"mailto:a@example.com"},"verb":{"id":"http://example.com/v"},"object":{"id":"http://example.com/o"},"attachments":` + attachments + `}`
	}
	sub := `{"actor":{"mbox":"mailto:a@example.com"},"verb":{"id":"http://example.com/v"},"object":{"objectType":"SubStatement","actor":{"mbox":"mailto:a@example.com"},"verb":{"id":"http://example.com/v"},"object":{"id":"http://example.com/o"},"attachments":` + att(len(data), "") + `}}`
	part := []AttachmentPart{{SHA2: sha, ContentType: "text/plain", Data: data, SizeDeclared: true}}
	undeclared := []AttachmentPart{{SHA2: sha, ContentType: "text/plain", Data: data}}
	other := []AttachmentPart{{SHA2: strings.Repeat("a", 64), Data: []byte("x")}}
	for _, tc := range []struct {
		name, body string
		parts      []AttachmentPart
		path, rule string
	}{
		{"JSON with fileUrl", statement(att(len(data), "http://example.com/f.txt")), nil, "", ""},
		{"JSON without fileUrl", statement(att(len(data), "")), nil, "attachments[0].fileUrl", "attachment-data"},
		{"JSON SubStatement without fileUrl", sub, nil, "object.attachments[0].fileUrl", "attachment-data"},
		{"part matches", statement(att(len(data), "")), part, "", ""},
		{"part for a SubStatement", sub, part, "", ""},
		{"part and fileUrl", statement(att(len(data), "http://example.com/f.txt")), part, "", ""},
		{"missing part", statement(att(len(data), "")), other, "attachments[0].sha2", "attachment-data"},
		{"part of no attachment", statement(att(len(data), "")), append(part, other...), "part 3", "attachment-data"},
		{"wrong length", statement(att(len(data)+1, "")), part, "attachments[0].length", "length"},
		{"length unchecked without Content-Length", statement(att(len(data)+1, "")), undeclared, "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ss, err := ParseStatements([]byte(tc.body))
			if err != nil {
				t.Fatal(err)
			}
			err = CheckAttachmentParts(ss, tc.parts)
			var ve *ValidationError
			switch {
			case tc.rule == "" && err != nil:
				t.Fatalf("refused: %v", err)
			case tc.rule != "" && (!errors.As(err, &ve) || ve.Rule != tc.rule || ve.Path != tc.path):
				t.Fatalf("got %v, want rule %s at %q", err, tc.rule, tc.path)
			}
		})
	}
}

// TestParseMultipart_1_5_2 checks the transmission format: the JSON part
// first, then parts with a matching X-Experience-API-Hash and a binary
// transfer encoding.
func TestParseMultipart_1_5_2(t *testing.T) {
	data := "here is a simple attachment"
	sum := sha256.Sum256([]byte(data))
	sha := hex.EncodeToString(sum[:])
	body := func(first string, part ...string) string {
		b := "--xx\r\nContent-Type: " + first + "\r\n\r\n{}\r\n"
		for _, p := range part {
			b += "--xx\r\n" + p + "\r\n"
		}
		return b + "--xx--\r\n"
	}
	good := "Content-Type: text/plain\r\nContent-Transfer-Encoding: binary\r\nX-Experience-API-Hash: " + sha + "\r\n\r\n" + data
	for _, tc := range []struct {
		name, contentType, body string
		path, rule              string
	}{
		{"good", "multipart/mixed; boundary=xx", body("application/json", good), "", ""},
		{"no encoding assumes binary", "multipart/mixed; boundary=xx", body("application/json", "X-Experience-API-Hash: "+strings.ToUpper(sha)+"\r\n\r\n"+data), "", ""},
		{"no boundary", "multipart/mixed", body("application/json"), "", "multipart"},
		{"first part not JSON", "multipart/mixed; boundary=xx", body("text/plain"), "part 1", "multipart"},
		{"no hash", "multipart/mixed; boundary=xx", body("application/json", "Content-Type: text/plain\r\n\r\n"+data), "part 2", "attachment-hash"},
		{"hash mismatch", "multipart/mixed; boundary=xx", body("application/json", strings.Replace(good, data, data+"!", 1)), "part 2", "attachment-hash"},
		{"Content-Length not the data's", "multipart/mixed; boundary=xx", body("application/json", "Content-Length: 3\r\n"+good), "part 2", "length"},
		{"base64 encoding", "multipart/mixed; boundary=xx", body("application/json", strings.Replace(good, "binary", "base64", 1)), "part 2", "multipart"},
		{"empty body", "multipart/mixed; boundary=xx", "--xx--\r\n", "", "multipart"},
		{"preamble, headers without a space, no final line end", "multipart/mixed; boundary=xx",
			"\r\n--xx\r\nContent-Type:application/json\r\n\r\n{}\r\n--xx\r\nContent-Type:text/plain\r\nContent-Transfer-Encoding:binary\r\nX-Experience-API-Hash:" + sha + "\r\n\r\n" + data + "\r\n--xx--", "", ""},
		{"bare LF line ends", "multipart/mixed; boundary=xx", strings.ReplaceAll(body("application/json", good), "\r\n", "\n"), "", ""},
		{"statements in two parts", "multipart/mixed; boundary=xx", body("application/json", "Content-Type: application/json\r\n\r\n{}", good), "part 2", "attachment-hash"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			js, parts, err := ParseMultipart([]byte(tc.body), tc.contentType)
			var ve *ValidationError
			switch {
			case tc.rule == "" && err != nil:
				t.Fatalf("refused: %v", err)
			case tc.rule == "" && (string(js) != "{}" || len(parts) != 1 || string(parts[0].Data) != data || parts[0].SHA2 != sha):
				t.Fatalf("parsed %s %+v", js, parts)
			case tc.rule != "" && (!errors.As(err, &ve) || ve.Rule != tc.rule || ve.Path != tc.path):
				t.Fatalf("got %v, want rule %s at %q", err, tc.rule, tc.path)
			}
		})
	}
}
