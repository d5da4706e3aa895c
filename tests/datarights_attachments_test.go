package tests

import (
	"archive/zip"
	"bytes"
	"context"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/learnlens/learnlens/tests/testserver"
)

// TestDataRightsReachAttachments: a person's download has the attachment
// data their statements name; pseudonymising them removes their own
// statements' attachments and the data no other statement names, and
// keeps the data another person's statement still names.
func TestDataRightsReachAttachments(t *testing.T) {
	srv := testserver.Start(t)
	own, shared := []byte("%PDF certificate of Lee Learner"), []byte("%PDF course handbook")
	send := func(email string, parts ...[]byte) {
		t.Helper()
		var att []string
		var mp []attachmentPart
		for _, p := range parts {
			att = append(att, attachmentJSON(certificateUsage, "application/pdf", p, ""))
			mp = append(mp, attachmentPart{contentType: "application/pdf", data: p})
		}
		body, ct := multipartStatements(t, withAttachments("", email, att...), mp...)
		r := srv.NewClient(t).Do(http.MethodPost, acme, "/xapi/statements", body, "Authorization", basic("acme-demo-key", "acme-demo-secret"),
			"X-Experience-API-Version", "1.0.3", "Content-Type", ct)
		if r.Status != http.StatusOK {
			t.Fatalf("send %s's statement: %d %s", email, r.Status, r.Body)
		}
	}
	send("learner@acme.test", own, shared)
	send("manager@acme.test", shared)
	person := learnerID(t, srv, "learner@acme.test")
	admin := srv.NewClient(t)
	admin.Login(acme, "admin@acme.test")

	r := admin.Get(acme, "/admin/people/"+strconv.FormatInt(person, 10)+"/data.zip")
	if r.Status != http.StatusOK {
		t.Fatalf("download: %d", r.Status)
	}
	z, err := zip.NewReader(bytes.NewReader([]byte(r.Body)), int64(len(r.Body)))
	if err != nil {
		t.Fatal(err)
	}
	files := map[string][]byte{}
	for _, f := range z.File {
		rc, _ := f.Open()
		files[f.Name], _ = io.ReadAll(rc)
		rc.Close()
	}
	for _, data := range [][]byte{own, shared} {
		if got := files["attachments/"+sha256Hex(data)]; !bytes.Equal(got, data) {
			t.Errorf("the download's attachments/%s: %q, want %q", sha256Hex(data), got, data)
		}
	}

	if r := post(admin, "/admin/people/"+strconv.FormatInt(person, 10)+"/pseudonymise", url.Values{}); r.Status != http.StatusOK {
		t.Fatalf("pseudonymise: %d %.300s", r.Status, r.Body)
	}
	stored := map[string]bool{}
	err = srv.DB.TenantSnapshot(context.Background(), tenantID(t, srv, "acme"), func(tx pgx.Tx) error {
		rows, err := tx.Query(context.Background(), `SELECT sha2 FROM xapi_attachments`)
		if err != nil {
			return err
		}
		shas, err := pgx.CollectRows(rows, pgx.RowTo[string])
		for _, s := range shas {
			stored[s] = true
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if stored[sha256Hex(own)] || !stored[sha256Hex(shared)] {
		t.Errorf("after pseudonymising: their own certificate kept %v (want false), the shared handbook kept %v (want true)",
			stored[sha256Hex(own)], stored[sha256Hex(shared)])
	}
}
