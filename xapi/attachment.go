package xapi

import (
	"bytes"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"mime"
	"mime/multipart"
	"slices"
	"strconv"
	"strings"

	"github.com/golang-jwt/jwt/v5"
)

// Size limits of attachment data (Communication 1.5.2.s3.b7: an LRS may
// refuse what is larger than it is configured to allow). Exceeding one is
// a ValidationError with rule limit-attachment, which the HTTP layer
// answers with 413. The whole request is bounded by the server's body
// limit (16 MB), so the attachments of one request are too.
const (
	MaxAttachmentBytes = 10 << 20 // one attachment's data
	MaxAttachmentParts = 100      // attachment parts in one request
)

// Attachment is one entry of a statement's attachments array.
type Attachment struct {
	Path        string // JSON path of the attachment object, for messages
	UsageType   string
	ContentType string
	Length      int64
	SHA2        string // lower-case hex
	FileURL     string // "" when the data must travel with the statement
}

// AttachmentPart is the data of one attachment sent as a part of a
// multipart/mixed statement request (Communication 1.5.2).
type AttachmentPart struct {
	SHA2        string // lower-case hex, as the part's X-Experience-API-Hash named it and its data hashes to
	ContentType string // the part's Content-Type ("application/octet-stream" when it sent none)
	Data        []byte
	// SizeDeclared says the part had a Content-Length header (which
	// equals len(Data)): the attachment's length must then equal it too.
	SizeDeclared bool
}

// AllAttachments returns the attachments of s and of its SubStatement.
func (s *Statement) AllAttachments() []Attachment {
	if s.Sub == nil {
		return s.Attachments
	}
	return append(append([]Attachment(nil), s.Attachments...), s.Sub.Attachments...)
}

// ParseMultipart splits the body of a multipart/mixed statement request
// (Communication 1.5.2) whose Content-Type header is contentType: the
// first part is the statements' JSON (application/json); every other part
// is one attachment's data, with an X-Experience-API-Hash header that its
// data must hash to (rule attachment-hash) and a Content-Transfer-Encoding
// of binary (assumed when absent, 1.5.2.s3.b6; any other is refused).
func ParseMultipart(body []byte, contentType string) (statements []byte, parts []AttachmentPart, err error) {
	mt, params, err := mime.ParseMediaType(contentType)
	if err != nil || mt != "multipart/mixed" || params["boundary"] == "" {
		return nil, nil, verr("", "multipart", "the Content-Type must be multipart/mixed with a boundary parameter, got %q", contentType)
	}
	r := multipart.NewReader(bytes.NewReader(body), params["boundary"])
	for i := 0; ; i++ {
		// NextRawPart, not NextPart: the latter would decode, and hide,
		// a quoted-printable transfer encoding.
		p, err := r.NextRawPart()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, nil, verr("", "multipart", "the multipart/mixed body is malformed: %v", err)
		}
		name := fmt.Sprintf("part %d", i+1)
		if i == 0 {
			if pt, _, err := mime.ParseMediaType(p.Header.Get("Content-Type")); err != nil || pt != "application/json" {
				return nil, nil, verr(name, "multipart", "the first part must be the statements as application/json, got Content-Type %q", p.Header.Get("Content-Type"))
			}
			if statements, err = io.ReadAll(p); err != nil {
				return nil, nil, verr(name, "multipart", "the multipart/mixed body is malformed: %v", err)
			}
			continue
		}
		if len(parts) == MaxAttachmentParts {
			return nil, nil, verr(name, "limit-attachment", "a request may carry at most %d attachment parts", MaxAttachmentParts)
		}
		part, err := readAttachmentPart(p, name)
		if err != nil {
			return nil, nil, err
		}
		parts = append(parts, part)
	}
	if statements == nil {
		return nil, nil, verr("", "multipart", "the multipart/mixed body has no part; its first part must be the statements as application/json")
	}
	return statements, parts, nil
}

func readAttachmentPart(p *multipart.Part, name string) (AttachmentPart, error) {
	if cte := p.Header.Get("Content-Transfer-Encoding"); cte != "" && !strings.EqualFold(cte, "binary") {
		return AttachmentPart{}, verr(name, "multipart", "attachment parts must be sent with Content-Transfer-Encoding: binary, got %q", cte)
	}
	sum := strings.ToLower(strings.TrimSpace(p.Header.Get("X-Experience-API-Hash")))
	if sum == "" {
		return AttachmentPart{}, verr(name, "attachment-hash", "every part after the first must have an X-Experience-API-Hash header: the SHA-2 of its data, as the attachment's sha2")
	}
	h := newSHA2(sum)
	if h == nil {
		return AttachmentPart{}, verr(name, "attachment-hash", "X-Experience-API-Hash must be a hex SHA-224, SHA-256, SHA-384 or SHA-512, got %q", sum)
	}
	data, err := io.ReadAll(io.LimitReader(p, MaxAttachmentBytes+1))
	if err != nil {
		return AttachmentPart{}, verr(name, "multipart", "the multipart/mixed body is malformed: %v", err)
	}
	if len(data) > MaxAttachmentBytes {
		return AttachmentPart{}, verr(name, "limit-attachment", "an attachment's data may be at most %d MB", MaxAttachmentBytes>>20)
	}
	h.Write(data)
	if got := hex.EncodeToString(h.Sum(nil)); got != sum {
		return AttachmentPart{}, verr(name, "attachment-hash", "the data hashes to %s, not to its X-Experience-API-Hash %s", got, sum)
	}
	declared := p.Header.Get("Content-Length")
	if declared != "" && declared != strconv.Itoa(len(data)) {
		return AttachmentPart{}, verr(name, "length", "the part's Content-Length is %s, but its data is %d octets long", declared, len(data))
	}
	ct := p.Header.Get("Content-Type")
	if ct == "" {
		ct = "application/octet-stream"
	}
	return AttachmentPart{SHA2: sum, ContentType: ct, Data: data, SizeDeclared: declared != ""}, nil
}

// newSHA2 returns the SHA-2 function whose hex digest has sum's length, or
// nil when sum is not such a digest.
func newSHA2(sum string) hash.Hash {
	if !validSHA2(sum) {
		return nil
	}
	switch len(sum) {
	case 56:
		return sha256.New224()
	case 64:
		return sha256.New()
	case 96:
		return sha512.New384()
	}
	return sha512.New()
}

// CheckAttachmentParts checks a request's statements against the
// attachment parts it carried (none for an application/json request):
// every attachment without a fileUrl has a part with its sha2
// (Communication 1.5.2.s3.b5), every part belongs to an attachment, the
// attachment's length equals the part's Content-Length when the part
// declares one (1.5.2.s2.b2.b5: a part's parameters and the attachment's
// properties match; without the header the data is identified by its
// hash alone, and the ADL conformance suite sends a length unrelated to
// the data and expects it accepted), and every signature with data
// is a valid JWS of its statement (Data 2.6, see VerifySignature). The
// statements must not have been finalized yet: a signature is compared
// with the statement as sent. Errors are *ValidationError (400).
func CheckAttachmentParts(stmts []Statement, parts []AttachmentPart) error {
	data := make(map[string][]byte, len(parts))
	declared := make(map[string]bool, len(parts))
	for _, p := range parts {
		data[p.SHA2] = p.Data
		declared[p.SHA2] = declared[p.SHA2] || p.SizeDeclared
	}
	used := make(map[string]bool, len(parts))
	for i := range stmts {
		s := &stmts[i]
		for _, a := range s.AllAttachments() {
			d, ok := data[a.SHA2]
			if !ok {
				if a.FileURL == "" {
					if parts == nil {
						return verr(join(a.Path, "fileUrl"), "attachment-data", "an attachment without a fileUrl needs its data: send the request as multipart/mixed with a part whose X-Experience-API-Hash is %s", a.SHA2)
					}
					return verr(join(a.Path, "sha2"), "attachment-data", "no part of the request has X-Experience-API-Hash %s, and the attachment has no fileUrl", a.SHA2)
				}
				continue
			}
			used[a.SHA2] = true
			if declared[a.SHA2] && int64(len(d)) != a.Length {
				return verr(join(a.Path, "length"), "length", "the attachment's data is %d octets long, not %d", len(d), a.Length)
			}
		}
		for _, a := range s.Attachments {
			if d, ok := data[a.SHA2]; ok && a.UsageType == AttachmentUsageSignature {
				if err := VerifySignature(s, d); err != nil {
					return withPrefix(err, a.Path)
				}
			}
		}
	}
	for i, p := range parts {
		if !used[p.SHA2] {
			return verr(fmt.Sprintf("part %d", i+2), "attachment-data", "the part with X-Experience-API-Hash %s belongs to no attachment of the statements", p.SHA2)
		}
	}
	return nil
}

// signatureAlgorithms are the JWS algorithms a signed statement may use
// (Data 2.6.s4.b4).
var signatureAlgorithms = []string{"RS256", "RS384", "RS512"}

// VerifySignature checks a signed statement's JWS (Data 2.6.s5): jws is
// the compact serialization; its algorithm is RS256, RS384 or RS512; its
// payload is a statement equivalent to s as sent (Equivalent: id,
// timestamp, stored, authority, version and attachments, which the LRS
// sets or the signature itself adds, are ignored); and when its header
// carries an x5c certificate chain, the signature verifies with the
// public key of the first certificate, each certificate of the chain
// being signed by the next. Call it before s is finalized. Errors are
// *ValidationError with rule signature.
func VerifySignature(s *Statement, jws []byte) error {
	fail := func(format string, args ...any) error { return verr("", "signature", format, args...) }
	segs := strings.Split(strings.TrimSpace(string(jws)), ".")
	if len(segs) != 3 {
		return fail("the signature is not a JWS in compact serialization (three base64url segments separated by dots)")
	}
	rawHeader, err1 := base64URL(segs[0])
	payload, err2 := base64URL(segs[1])
	sig, err3 := base64URL(segs[2])
	if err := errors.Join(err1, err2, err3); err != nil {
		return fail("the signature's JWS is not base64url: %v", err)
	}
	var header struct {
		Alg string   `json:"alg"`
		X5C []string `json:"x5c"`
	}
	if err := json.Unmarshal(rawHeader, &header); err != nil {
		return fail("the signature's JWS header is not a JSON object: %v", err)
	}
	method := jwt.GetSigningMethod(header.Alg)
	if method == nil || !slices.Contains(signatureAlgorithms, header.Alg) {
		return fail("the signature's JWS algorithm must be RS256, RS384 or RS512, got %q", header.Alg)
	}
	current, err := encodeJSON(s.Raw)
	if err != nil {
		return err
	}
	same, err := Equivalent(payload, current)
	if err != nil {
		return fail("the signature's JWS payload is not a statement: %v", err)
	}
	if !same {
		return fail("the signature's JWS payload is not the statement it signs: the statement differs from the one signed")
	}
	if len(header.X5C) == 0 {
		return nil
	}
	certs := make([]*x509.Certificate, len(header.X5C))
	for i, c := range header.X5C {
		der, err := base64.StdEncoding.DecodeString(c)
		if err == nil {
			certs[i], err = x509.ParseCertificate(der)
		}
		if err != nil {
			return fail("x5c[%d] of the signature's JWS header is not a base64 DER X.509 certificate: %v", i, err)
		}
	}
	for i := 0; i+1 < len(certs); i++ {
		if err := certs[i].CheckSignatureFrom(certs[i+1]); err != nil {
			return fail("x5c[%d] of the signature's JWS header is not signed by x5c[%d]: %v", i, i+1, err)
		}
	}
	key, ok := certs[0].PublicKey.(*rsa.PublicKey)
	if !ok {
		return fail("the certificate x5c[0] of the signature's JWS header has no RSA key, which %s needs", header.Alg)
	}
	if err := method.Verify(segs[0]+"."+segs[1], sig, key); err != nil {
		return fail("the signature does not verify with the certificate x5c[0] of its JWS header: %v", err)
	}
	return nil
}

// base64URL decodes a JWS segment (base64url without padding; padding is
// tolerated).
func base64URL(s string) ([]byte, error) {
	return base64.RawURLEncoding.DecodeString(strings.TrimRight(s, "="))
}
