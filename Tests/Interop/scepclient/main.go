// Command scepclient is an independent SCEP (RFC 8894) test client used by the
// Scepter interop tests.
//
// Every SCEP-specific piece of it comes from micromdm's SCEP library as
// packaged by Debian (golang-github-micromdm-scep-dev) and from
// go.mozilla.org/pkcs7: CSR construction with challengePassword
// (cryptoutil/x509util), PKCSReq construction (scep.NewCSRRequest when the
// library can express the request), EnvelopedData/SignedData construction
// (pkcs7.Encrypt, pkcs7.NewSignedData), and above all the CertRep parser
// (scep.ParsePKIMessage + DecryptPKIEnvelope), which is the independent check
// of what the server answers. This file only wires those pieces together.
//
// Output: exactly one JSON line on stdout (except -op caps, which prints the
// GetCACaps body verbatim). Exit status: 0 when a response was received and
// accepted by the library parser (whatever its pkiStatus; the transactionID
// and recipientNonce checks are reported in the JSON, and only turn into exit
// status 2 with -strict), 1 on client-side errors, 2 when the server answered
// 200 but the body was rejected (not a valid CertRep / GetCACert answer, bad
// signature, undecryptable envelope), 3 when the server answered with a
// non-200 HTTP status.
package main

import (
	"bytes"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/big"
	"mime"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/micromdm/scep/v2/cryptoutil"
	"github.com/micromdm/scep/v2/cryptoutil/x509util"
	"github.com/micromdm/scep/v2/scep"
	"go.mozilla.org/pkcs7"
)

const (
	exitOK          = 0
	exitClientError = 1
	exitBadResponse = 2
	exitHTTPStatus  = 3

	maxBody = 16 << 20

	contentTypeCACert   = "application/x-x509-ca-cert"
	contentTypeCARACert = "application/x-x509-ca-ra-cert"
	contentTypePKIMsg   = "application/x-pki-message"

	// SCEP messageType values (RFC 8894 section 3.2.1.2).
	msgTypePKCSReq    = "19"
	msgTypeRenewalReq = "17"
	msgTypeCertPoll   = "20"
)

// SCEP authenticated attributes (RFC 8894 section 3.2.1) and the UPN otherName.
var (
	oidSCEPmessageType    = asn1.ObjectIdentifier{2, 16, 840, 1, 113733, 1, 9, 2}
	oidSCEPpkiStatus      = asn1.ObjectIdentifier{2, 16, 840, 1, 113733, 1, 9, 3}
	oidSCEPfailInfo       = asn1.ObjectIdentifier{2, 16, 840, 1, 113733, 1, 9, 4}
	oidSCEPsenderNonce    = asn1.ObjectIdentifier{2, 16, 840, 1, 113733, 1, 9, 5}
	oidSCEPrecipientNonce = asn1.ObjectIdentifier{2, 16, 840, 1, 113733, 1, 9, 6}
	oidSCEPtransactionID  = asn1.ObjectIdentifier{2, 16, 840, 1, 113733, 1, 9, 7}

	oidSubjectAltName = asn1.ObjectIdentifier{2, 5, 29, 17}
	oidMSUPN          = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 311, 20, 2, 3}
)

// stdout is the real standard output. os.Stdout is pointed at stderr for the
// whole run so that library code that prints (go.mozilla.org/pkcs7 does a
// fmt.Printf on unsupported content-encryption algorithms) cannot corrupt the
// single JSON line.
var stdout *os.File

var verbose bool

func logf(format string, args ...interface{}) {
	if verbose {
		fmt.Fprintf(os.Stderr, "scepclient: "+format+"\n", args...)
	}
}

type options struct {
	url         string
	op          string
	challenge   string
	cn          string
	dns         string
	email       string
	upn         string
	uri         string
	cipher      string
	digest      string
	method      string
	keyBits     int
	keyOut      string
	certOut     string
	caOut       string
	renewCert   string
	renewKey    string
	txid        string
	messageType string
	keyIn       string
	rawOut      string
	timeout     time.Duration
	strict      bool
}

// exitError carries an exit status out of the operation functions.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }

func clientErr(format string, args ...interface{}) error {
	return &exitError{code: exitClientError, err: fmt.Errorf(format, args...)}
}

func main() {
	stdout = os.Stdout
	os.Stdout = os.Stderr
	os.Exit(run(os.Args[1:]))
}

func run(args []string) int {
	var o options
	fs := flag.NewFlagSet("scepclient", flag.ContinueOnError)
	fs.SetOutput(os.Stderr)
	fs.StringVar(&o.url, "url", "", "SCEP endpoint, e.g. http://127.0.0.1:8080/scep/default (required)")
	fs.StringVar(&o.op, "op", "enroll", "operation: caps | getcacert | enroll | poll")
	fs.StringVar(&o.challenge, "challenge", "", "challengePassword put in the CSR (empty = no challengePassword attribute)")
	fs.StringVar(&o.cn, "cn", "scepter-interop", "subject CN of the CSR (and of the transient self-signed signer)")
	fs.StringVar(&o.dns, "dns", "", "comma-separated dNSName SANs")
	fs.StringVar(&o.email, "email", "", "comma-separated rfc822Name SANs")
	fs.StringVar(&o.upn, "upn", "", "comma-separated UPN otherName SANs (1.3.6.1.4.1.311.20.2.3, UTF8String)")
	fs.StringVar(&o.uri, "uri", "", "comma-separated uniformResourceIdentifier SANs")
	fs.StringVar(&o.cipher, "cipher", "aes128", "content encryption of the request: des | 3des | aes128 | aes256 (3des is not supported by the packaged pkcs7 and is rejected)")
	fs.StringVar(&o.digest, "digest", "sha256", "SignerInfo digest: sha1 | sha256 | sha384 | sha512")
	fs.StringVar(&o.method, "method", "post", "HTTP method for PKIOperation: get | post")
	fs.IntVar(&o.keyBits, "key-bits", 2048, "RSA modulus size of the generated key")
	fs.StringVar(&o.keyOut, "key-out", "", "write the request key (PKCS#1 PEM) here")
	fs.StringVar(&o.certOut, "cert-out", "", "write the issued certificate (PEM) here")
	fs.StringVar(&o.caOut, "ca-out", "", "write all GetCACert certificates (PEM) here")
	fs.StringVar(&o.renewCert, "renew-cert", "", "existing certificate (PEM) that signs the request (RenewalReq)")
	fs.StringVar(&o.renewKey, "renew-key", "", "private key (PEM) of -renew-cert")
	fs.StringVar(&o.txid, "txid", "", "transactionID to send instead of the one derived from the public key")
	fs.StringVar(&o.messageType, "message-type", "", "pkcsreq | renewalreq | certpoll (default: renewalreq with -renew-cert, certpoll with -op poll, else pkcsreq)")
	fs.StringVar(&o.keyIn, "key-in", "", "use this RSA key (PKCS#1 or PKCS#8 PEM) instead of generating one")
	fs.StringVar(&o.rawOut, "raw-out", "", "write the raw body of the last HTTP response here")
	fs.DurationVar(&o.timeout, "timeout", 30*time.Second, "HTTP timeout per request")
	fs.BoolVar(&o.strict, "strict", false, "exit 2 (instead of 0) when a CertRep fails a check: signature, transactionID echo, recipientNonce, and on SUCCESS public key and issuer")
	fs.BoolVar(&verbose, "v", false, "log progress to stderr")
	if err := fs.Parse(args); err != nil {
		return exitClientError
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(os.Stderr, "scepclient: unexpected arguments: %v\n", fs.Args())
		return exitClientError
	}

	var err error
	switch o.op {
	case "caps":
		err = opCaps(&o)
	case "getcacert":
		err = opGetCACert(&o)
	case "enroll", "poll":
		err = opPKIOperation(&o)
	default:
		err = clientErr("unknown -op %q (want caps, getcacert, enroll or poll)", o.op)
	}
	if err == nil {
		return exitOK
	}
	var ee *exitError
	if errors.As(err, &ee) {
		fmt.Fprintf(os.Stderr, "scepclient: %v\n", ee.err)
		return ee.code
	}
	fmt.Fprintf(os.Stderr, "scepclient: %v\n", err)
	return exitClientError
}

// ---------------------------------------------------------------------------
// Output

func emit(v interface{}) {
	b, err := json.Marshal(v)
	if err != nil {
		fmt.Fprintf(os.Stderr, "scepclient: cannot encode output: %v\n", err)
		return
	}
	stdout.Write(append(b, '\n'))
}

type httpErrorOutput struct {
	HTTPStatus int    `json:"httpStatus"`
	Body       string `json:"body"`
	Operation  string `json:"operation"`
}

type certRepOutput struct {
	HTTPStatus       int    `json:"httpStatus"`
	PKIStatus        string `json:"pkiStatus"`
	FailInfo         string `json:"failInfo"`
	TransactionID    string `json:"transactionID"`
	Serial           string `json:"serial"`
	Subject          string `json:"subject"`
	RecipientNonceOK bool   `json:"recipientNonceOK"`
	SignatureOK      bool   `json:"signatureOK"`
	TransactionIDOK  bool   `json:"transactionIDOK"`
	// What was sent, so a test can poll or retransmit.
	SentTransactionID string `json:"sentTransactionID"`
	SentMessageType   string `json:"sentMessageType"`
	ContentType       string `json:"contentType"`
	// Only meaningful on SUCCESS.
	PublicKeyOK bool `json:"publicKeyOK"`
	IssuerOK    bool `json:"issuerOK"`
	// Set when the response was rejected (exit status 2).
	Error string `json:"error,omitempty"`
}

type caCertOutput struct {
	HTTPStatus  int          `json:"httpStatus"`
	ContentType string       `json:"contentType"`
	Certs       []certDigest `json:"certs"`
	Recipient   string       `json:"recipient"`
	Error       string       `json:"error,omitempty"`
}

type certDigest struct {
	Subject          string `json:"subject"`
	Issuer           string `json:"issuer"`
	Serial           string `json:"serial"`
	IsCA             bool   `json:"isCA"`
	KeyEncipherment  bool   `json:"keyEncipherment"`
	DigitalSignature bool   `json:"digitalSignature"`
}

// ---------------------------------------------------------------------------
// HTTP

type response struct {
	operation   string
	status      int
	contentType string
	body        []byte
}

type transport struct {
	base   *url.URL
	client *http.Client
	rawOut string
}

func newTransport(o *options) (*transport, error) {
	if o.url == "" {
		return nil, clientErr("-url is required")
	}
	u, err := url.Parse(o.url)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, clientErr("bad -url %q", o.url)
	}
	return &transport{base: u, client: &http.Client{Timeout: o.timeout}, rawOut: o.rawOut}, nil
}

func (t *transport) opURL(operation string, message *string) string {
	u := *t.base
	q := u.Query()
	q.Set("operation", operation)
	if message != nil {
		q.Set("message", *message)
	}
	u.RawQuery = q.Encode()
	return u.String()
}

func (t *transport) do(operation string, req *http.Request) (*response, error) {
	logf("%s %s", req.Method, req.URL.String())
	resp, err := t.client.Do(req)
	if err != nil {
		return nil, clientErr("%s: %v", operation, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	if err != nil {
		return nil, clientErr("%s: reading body: %v", operation, err)
	}
	r := &response{operation: operation, status: resp.StatusCode, contentType: resp.Header.Get("Content-Type"), body: body}
	logf("%s -> HTTP %d, Content-Type %q, %d bytes", operation, r.status, r.contentType, len(body))
	if t.rawOut != "" {
		if err := os.WriteFile(t.rawOut, body, 0o644); err != nil {
			return nil, clientErr("writing -raw-out: %v", err)
		}
	}
	if r.status != http.StatusOK {
		s := string(body)
		if rs := []rune(s); len(rs) > 200 {
			s = string(rs[:200])
		}
		emit(httpErrorOutput{HTTPStatus: r.status, Body: s, Operation: operation})
		return nil, &exitError{code: exitHTTPStatus, err: fmt.Errorf("%s: HTTP %d", operation, r.status)}
	}
	return r, nil
}

func (t *transport) get(operation string, message *string) (*response, error) {
	req, err := http.NewRequest(http.MethodGet, t.opURL(operation, message), nil)
	if err != nil {
		return nil, clientErr("%s: %v", operation, err)
	}
	return t.do(operation, req)
}

func (t *transport) pkiOperation(method string, msg []byte) (*response, error) {
	if method == "get" {
		// RFC 8894 section 4.3: base64, then URL-encoded (url.Values does the
		// percent-encoding of '+', '/' and '=').
		m := base64.StdEncoding.EncodeToString(msg)
		return t.get("PKIOperation", &m)
	}
	req, err := http.NewRequest(http.MethodPost, t.opURL("PKIOperation", nil), bytes.NewReader(msg))
	if err != nil {
		return nil, clientErr("PKIOperation: %v", err)
	}
	req.Header.Set("Content-Type", contentTypePKIMsg)
	return t.do("PKIOperation", req)
}

// ---------------------------------------------------------------------------
// GetCACaps / GetCACert

func opCaps(o *options) error {
	t, err := newTransport(o)
	if err != nil {
		return err
	}
	r, err := t.get("GetCACaps", nil)
	if err != nil {
		return err
	}
	stdout.Write(r.body)
	return nil
}

type caInfo struct {
	contentType string
	certs       []*x509.Certificate
	recipient   *x509.Certificate
	issuer      *x509.Certificate
}

func isCA(c *x509.Certificate) bool { return c.BasicConstraintsValid && c.IsCA }

func digestCert(c *x509.Certificate) certDigest {
	return certDigest{
		Subject:          c.Subject.String(),
		Issuer:           c.Issuer.String(),
		Serial:           c.SerialNumber.Text(16),
		IsCA:             isCA(c),
		KeyEncipherment:  c.KeyUsage&x509.KeyUsageKeyEncipherment != 0,
		DigitalSignature: c.KeyUsage&x509.KeyUsageDigitalSignature != 0,
	}
}

// parseCACert interprets a GetCACert answer according to its Content-Type
// (RFC 8894 section 4.2.1) and picks the recipient of our requests.
func parseCACert(r *response) (info *caInfo, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("GetCACert: parser panic: %v", p)
		}
	}()
	mt, _, perr := mime.ParseMediaType(r.contentType)
	if perr != nil {
		return nil, fmt.Errorf("GetCACert: bad Content-Type %q: %v", r.contentType, perr)
	}
	info = &caInfo{contentType: r.contentType}
	switch mt {
	case contentTypeCACert:
		c, err := x509.ParseCertificate(r.body)
		if err != nil {
			return nil, fmt.Errorf("GetCACert: %s body is not a single DER certificate: %v", mt, err)
		}
		info.certs = []*x509.Certificate{c}
	case contentTypeCARACert:
		certs, err := scep.CACerts(r.body)
		if err != nil {
			return nil, fmt.Errorf("GetCACert: %s body is not a degenerate PKCS#7: %v", mt, err)
		}
		if len(certs) == 0 {
			return nil, fmt.Errorf("GetCACert: %s PKCS#7 holds no certificates", mt)
		}
		info.certs = certs
	default:
		return nil, fmt.Errorf("GetCACert: unexpected Content-Type %q", r.contentType)
	}
	info.recipient = selectRecipient(info.certs, mt == contentTypeCARACert)
	info.issuer = selectIssuer(info.certs, info.recipient)
	return info, nil
}

// selectRecipient picks the certificate requests are encrypted to: the only
// certificate, else the RA (not a CA, preferably with keyEncipherment), else
// a certificate allowing key encipherment, else the first one.
func selectRecipient(certs []*x509.Certificate, raExpected bool) *x509.Certificate {
	if len(certs) == 1 {
		if raExpected {
			logf("GetCACert: %s with a single certificate, encrypting to it", contentTypeCARACert)
		}
		return certs[0]
	}
	var nonCA []*x509.Certificate
	for _, c := range certs {
		if !isCA(c) {
			nonCA = append(nonCA, c)
		}
	}
	if enc := scep.EnciphermentCertsSelector().SelectCerts(nonCA); len(enc) > 0 {
		return enc[0]
	}
	if len(nonCA) > 0 {
		logf("GetCACert: RA certificate %q has no keyEncipherment usage, encrypting to it anyway", nonCA[0].Subject)
		return nonCA[0]
	}
	logf("GetCACert: no RA certificate (all certificates are CAs)")
	if enc := scep.EnciphermentCertsSelector().SelectCerts(certs); len(enc) > 0 {
		return enc[0]
	}
	return certs[0]
}

// selectIssuer picks the CA that issues certificates (used for the issuer of
// GetCertInitial's IssuerAndSubject): the CA that issued the RA, else the
// first CA, else the first certificate.
func selectIssuer(certs []*x509.Certificate, recipient *x509.Certificate) *x509.Certificate {
	if !isCA(recipient) {
		for _, c := range certs {
			if isCA(c) && bytes.Equal(c.RawSubject, recipient.RawIssuer) {
				return c
			}
		}
	}
	for _, c := range certs {
		if isCA(c) {
			return c
		}
	}
	return certs[0]
}

func fetchCA(t *transport, o *options) (*caInfo, *response, error) {
	r, err := t.get("GetCACert", nil)
	if err != nil {
		return nil, nil, err
	}
	info, err := parseCACert(r)
	if err != nil {
		return nil, r, err
	}
	logf("GetCACert: %d certificate(s), recipient %q, issuer %q", len(info.certs), info.recipient.Subject, info.issuer.Subject)
	if o.caOut != "" {
		var buf bytes.Buffer
		for _, c := range info.certs {
			pem.Encode(&buf, &pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})
		}
		if err := os.WriteFile(o.caOut, buf.Bytes(), 0o644); err != nil {
			return nil, r, clientErr("writing -ca-out: %v", err)
		}
	}
	return info, r, nil
}

func opGetCACert(o *options) error {
	t, err := newTransport(o)
	if err != nil {
		return err
	}
	info, r, err := fetchCA(t, o)
	if err != nil {
		var ee *exitError
		if errors.As(err, &ee) {
			return err
		}
		emit(caCertOutput{HTTPStatus: r.status, ContentType: r.contentType, Certs: []certDigest{}, Error: err.Error()})
		return &exitError{code: exitBadResponse, err: err}
	}
	out := caCertOutput{HTTPStatus: r.status, ContentType: r.contentType, Recipient: info.recipient.Subject.String()}
	for _, c := range info.certs {
		out.Certs = append(out.Certs, digestCert(c))
	}
	emit(out)
	return nil
}

// ---------------------------------------------------------------------------
// Keys, certificates, CSR

func readPEMBlocks(path string) ([]*pem.Block, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var blocks []*pem.Block
	for {
		var b *pem.Block
		b, data = pem.Decode(data)
		if b == nil {
			break
		}
		blocks = append(blocks, b)
	}
	if len(blocks) == 0 {
		return nil, fmt.Errorf("%s: no PEM block", path)
	}
	return blocks, nil
}

func loadRSAKey(path string) (*rsa.PrivateKey, error) {
	blocks, err := readPEMBlocks(path)
	if err != nil {
		return nil, err
	}
	for _, b := range blocks {
		switch b.Type {
		case "RSA PRIVATE KEY":
			return x509.ParsePKCS1PrivateKey(b.Bytes)
		case "PRIVATE KEY":
			k, err := x509.ParsePKCS8PrivateKey(b.Bytes)
			if err != nil {
				return nil, err
			}
			rk, ok := k.(*rsa.PrivateKey)
			if !ok {
				return nil, fmt.Errorf("%s: %T keys are not supported (the SCEP library handles RSA only)", path, k)
			}
			return rk, nil
		}
	}
	return nil, fmt.Errorf("%s: no unencrypted RSA PRIVATE KEY or PRIVATE KEY block", path)
}

func loadCert(path string) (*x509.Certificate, error) {
	blocks, err := readPEMBlocks(path)
	if err != nil {
		return nil, err
	}
	for _, b := range blocks {
		if b.Type == "CERTIFICATE" {
			return x509.ParseCertificate(b.Bytes)
		}
	}
	return nil, fmt.Errorf("%s: no CERTIFICATE block", path)
}

func writePEM(path, typ string, der []byte, mode os.FileMode) error {
	return os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), mode)
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

func ia5(s string) error {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return fmt.Errorf("%q is not IA5String (ASCII)", s)
		}
	}
	return nil
}

// marshalSAN builds a subjectAltName extension by hand; Go's x509 package
// cannot emit otherName, so this is only used when -upn is given.
func marshalSAN(dns, emails, uris, upns []string) (pkix.Extension, error) {
	var names []asn1.RawValue
	add := func(tag int, vals []string) error {
		for _, v := range vals {
			if err := ia5(v); err != nil {
				return err
			}
			names = append(names, asn1.RawValue{Class: asn1.ClassContextSpecific, Tag: tag, Bytes: []byte(v)})
		}
		return nil
	}
	if err := add(2, dns); err != nil { // dNSName [2] IA5String
		return pkix.Extension{}, err
	}
	if err := add(1, emails); err != nil { // rfc822Name [1] IA5String
		return pkix.Extension{}, err
	}
	if err := add(6, uris); err != nil { // uniformResourceIdentifier [6] IA5String
		return pkix.Extension{}, err
	}
	for _, u := range upns {
		// otherName [0] IMPLICIT SEQUENCE { type-id OID, value [0] EXPLICIT UTF8String }
		utf8, err := asn1.MarshalWithParams(u, "utf8")
		if err != nil {
			return pkix.Extension{}, err
		}
		value, err := asn1.Marshal(asn1.RawValue{Class: asn1.ClassContextSpecific, Tag: 0, IsCompound: true, Bytes: utf8})
		if err != nil {
			return pkix.Extension{}, err
		}
		typeID, err := asn1.Marshal(oidMSUPN)
		if err != nil {
			return pkix.Extension{}, err
		}
		names = append(names, asn1.RawValue{Class: asn1.ClassContextSpecific, Tag: 0, IsCompound: true, Bytes: append(typeID, value...)})
	}
	der, err := asn1.Marshal(names)
	if err != nil {
		return pkix.Extension{}, err
	}
	return pkix.Extension{Id: oidSubjectAltName, Value: der}, nil
}

func buildCSR(o *options, key *rsa.PrivateKey) (*x509.CertificateRequest, error) {
	dns, emails, uriStrs, upns := splitList(o.dns), splitList(o.email), splitList(o.uri), splitList(o.upn)
	tmpl := &x509util.CertificateRequest{
		CertificateRequest: x509.CertificateRequest{
			Subject:            pkix.Name{CommonName: o.cn},
			SignatureAlgorithm: x509.SHA256WithRSA,
		},
		ChallengePassword: o.challenge,
	}
	if len(upns) > 0 {
		ext, err := marshalSAN(dns, emails, uriStrs, upns)
		if err != nil {
			return nil, err
		}
		tmpl.ExtraExtensions = []pkix.Extension{ext}
	} else {
		tmpl.DNSNames = dns
		tmpl.EmailAddresses = emails
		for _, s := range uriStrs {
			u, err := url.Parse(s)
			if err != nil {
				return nil, fmt.Errorf("bad -uri %q: %v", s, err)
			}
			tmpl.URIs = append(tmpl.URIs, u)
		}
	}
	der, err := x509util.CreateCertificateRequest(rand.Reader, tmpl, key)
	if err != nil {
		return nil, fmt.Errorf("creating CSR: %v", err)
	}
	csr, err := x509.ParseCertificateRequest(der)
	if err != nil {
		return nil, fmt.Errorf("re-parsing our CSR: %v", err)
	}
	if err := csr.CheckSignature(); err != nil {
		return nil, fmt.Errorf("our CSR does not verify: %v", err)
	}
	return csr, nil
}

// selfSigned makes the transient signer certificate of RFC 8894 section 2.3:
// same subject and key as the CSR. It is deterministic for a given key and
// subject (serial derived from the public key, fixed validity, and PKCS#1 v1.5
// signatures are deterministic), so a retransmission or a CertPoll made with
// -key-in is signed by the very same certificate (same issuerAndSerialNumber)
// as the original request, whichever of the two the server encrypts to.
func selfSigned(key *rsa.PrivateKey, subject pkix.Name) (*x509.Certificate, error) {
	id, err := cryptoutil.GenerateSubjectKeyID(&key.PublicKey)
	if err != nil {
		return nil, err
	}
	serial := new(big.Int).SetBytes(id[:8])
	serial.Add(serial, big.NewInt(1)) // positive, non-zero
	tmpl := &x509.Certificate{
		SerialNumber:       serial,
		Subject:            subject,
		NotBefore:          time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC),
		NotAfter:           time.Date(2049, 12, 31, 23, 59, 59, 0, time.UTC),
		KeyUsage:           x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
		SubjectKeyId:       id,
		SignatureAlgorithm: x509.SHA256WithRSA,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, err
	}
	return x509.ParseCertificate(der)
}

// ---------------------------------------------------------------------------
// PKIMessage

var ciphers = map[string]int{
	"des":    pkcs7.EncryptionAlgorithmDESCBC,
	"aes128": pkcs7.EncryptionAlgorithmAES128CBC,
	"aes256": pkcs7.EncryptionAlgorithmAES256CBC,
}

var digests = map[string]asn1.ObjectIdentifier{
	"sha1":   pkcs7.OIDDigestAlgorithmSHA1,
	"sha256": pkcs7.OIDDigestAlgorithmSHA256,
	"sha384": pkcs7.OIDDigestAlgorithmSHA384,
	"sha512": pkcs7.OIDDigestAlgorithmSHA512,
}

var messageTypes = map[string]string{
	"pkcsreq":    msgTypePKCSReq,
	"renewalreq": msgTypeRenewalReq,
	"certpoll":   msgTypeCertPoll,
}

var messageTypeNames = map[string]string{
	msgTypePKCSReq:    "PKCSReq",
	msgTypeRenewalReq: "RenewalReq",
	msgTypeCertPoll:   "CertPoll",
}

func isPrintableString(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case strings.IndexByte(" '()+,-./:=?", c) >= 0:
		default:
			return false
		}
	}
	return true
}

func printable(s string) asn1.RawValue {
	return asn1.RawValue{Class: asn1.ClassUniversal, Tag: asn1.TagPrintableString, Bytes: []byte(s)}
}

// derivedTransactionID is what scep.NewCSRRequest uses: base64 of the
// RFC 7093 key identifier of the public key.
func derivedTransactionID(pub crypto.PublicKey) (string, error) {
	id, err := cryptoutil.GenerateSubjectKeyID(pub)
	if err != nil {
		return "", err
	}
	return base64.StdEncoding.EncodeToString(id), nil
}

// buildPKIMessage is scep.NewCSRRequest with the knobs the library does not
// expose (transactionID, messageType, content, digest), using the same
// go.mozilla.org/pkcs7 calls and the same attribute encodings.
func buildPKIMessage(content []byte, recipient, signerCert *x509.Certificate, signerKey *rsa.PrivateKey,
	msgType, txid string, nonce []byte, digest asn1.ObjectIdentifier) ([]byte, error) {
	e7, err := pkcs7.Encrypt(content, []*x509.Certificate{recipient})
	if err != nil {
		return nil, fmt.Errorf("pkcs7.Encrypt: %v", err)
	}
	sd, err := pkcs7.NewSignedData(e7)
	if err != nil {
		return nil, err
	}
	sd.SetDigestAlgorithm(digest)
	cfg := pkcs7.SignerInfoConfig{
		ExtraSignedAttributes: []pkcs7.Attribute{
			{Type: oidSCEPtransactionID, Value: printable(txid)},
			{Type: oidSCEPmessageType, Value: printable(msgType)},
			{Type: oidSCEPsenderNonce, Value: nonce},
		},
	}
	if err := sd.AddSigner(signerCert, signerKey, cfg); err != nil {
		return nil, fmt.Errorf("pkcs7 AddSigner: %v", err)
	}
	return sd.Finish()
}

type request struct {
	raw        []byte
	msgType    string
	txid       string
	nonce      []byte
	signerCert *x509.Certificate
	signerKey  *rsa.PrivateKey
	reqKey     *rsa.PrivateKey // key whose certificate we expect back
}

func prepareRequest(o *options, ca *caInfo) (*request, error) {
	// Message type.
	mtName := o.messageType
	if mtName == "" {
		switch {
		case o.op == "poll":
			mtName = "certpoll"
		case o.renewCert != "":
			mtName = "renewalreq"
		default:
			mtName = "pkcsreq"
		}
	}
	msgType, ok := messageTypes[mtName]
	if !ok {
		return nil, clientErr("unknown -message-type %q (want pkcsreq, renewalreq or certpoll)", o.messageType)
	}
	if o.op == "poll" && msgType != msgTypeCertPoll {
		return nil, clientErr("-op poll sends certpoll, not %s", mtName)
	}

	// Request key.
	var key *rsa.PrivateKey
	var err error
	if o.keyIn != "" {
		if key, err = loadRSAKey(o.keyIn); err != nil {
			return nil, clientErr("-key-in: %v", err)
		}
	} else if msgType == msgTypeCertPoll {
		return nil, clientErr("certpoll needs -key-in (the key of the pending request)")
	} else {
		if o.keyBits < 512 {
			return nil, clientErr("-key-bits %d is too small", o.keyBits)
		}
		if key, err = rsa.GenerateKey(rand.Reader, o.keyBits); err != nil {
			return nil, clientErr("generating key: %v", err)
		}
	}
	if o.keyOut != "" {
		if err := writePEM(o.keyOut, "RSA PRIVATE KEY", x509.MarshalPKCS1PrivateKey(key), 0o600); err != nil {
			return nil, clientErr("writing -key-out: %v", err)
		}
	}

	// Signer: the existing certificate, or a transient self-signed one.
	subject := pkix.Name{CommonName: o.cn}
	req := &request{msgType: msgType, reqKey: key}
	if (o.renewCert == "") != (o.renewKey == "") {
		return nil, clientErr("-renew-cert and -renew-key go together")
	}
	if o.renewCert != "" {
		if req.signerCert, err = loadCert(o.renewCert); err != nil {
			return nil, clientErr("-renew-cert: %v", err)
		}
		if req.signerKey, err = loadRSAKey(o.renewKey); err != nil {
			return nil, clientErr("-renew-key: %v", err)
		}
		pub, ok := req.signerCert.PublicKey.(*rsa.PublicKey)
		if !ok || !pub.Equal(&req.signerKey.PublicKey) {
			return nil, clientErr("-renew-key does not match -renew-cert")
		}
	} else {
		if msgType == msgTypeRenewalReq {
			fmt.Fprintln(os.Stderr, "scepclient: warning: renewalreq without -renew-cert is signed with a self-signed certificate")
		}
		req.signerKey = key
		if req.signerCert, err = selfSigned(key, subject); err != nil {
			return nil, clientErr("self-signed signer certificate: %v", err)
		}
	}

	// Cipher and digest.
	if o.cipher == "3des" {
		return nil, clientErr("-cipher 3des: the packaged go.mozilla.org/pkcs7 cannot encrypt with DES-EDE3-CBC " +
			"(pkcs7.Encrypt offers DES-CBC, AES-128/256-CBC and AES-GCM only; 3DES is decrypt-only there)")
	}
	alg, ok := ciphers[o.cipher]
	if !ok {
		return nil, clientErr("unknown -cipher %q (want des, 3des, aes128 or aes256)", o.cipher)
	}
	pkcs7.ContentEncryptionAlgorithm = alg
	digest, ok := digests[o.digest]
	if !ok {
		return nil, clientErr("unknown -digest %q (want sha1, sha256, sha384 or sha512)", o.digest)
	}

	// Transaction ID.
	req.txid = o.txid
	if req.txid == "" {
		if msgType == msgTypeCertPoll {
			return nil, clientErr("certpoll needs -txid (the transactionID of the pending request)")
		}
		if req.txid, err = derivedTransactionID(&key.PublicKey); err != nil {
			return nil, clientErr("transactionID: %v", err)
		}
	} else if !isPrintableString(req.txid) {
		return nil, clientErr("-txid %q has characters outside PrintableString", req.txid)
	}

	// messageData: the CSR, or IssuerAndSubject for GetCertInitial.
	var content []byte
	if msgType == msgTypeCertPoll {
		ias := struct {
			Issuer  asn1.RawValue
			Subject pkix.RDNSequence
		}{asn1.RawValue{FullBytes: ca.issuer.RawSubject}, subject.ToRDNSequence()}
		if content, err = asn1.Marshal(ias); err != nil {
			return nil, clientErr("IssuerAndSubject: %v", err)
		}
	} else {
		csr, err := buildCSR(o, key)
		if err != nil {
			return nil, clientErr("%v", err)
		}
		content = csr.Raw
		if o.digest == "sha1" && o.txid == "" {
			// The library can express this request: let it build it.
			tmpl := &scep.PKIMessage{
				MessageType: scep.MessageType(msgType),
				Recipients:  []*x509.Certificate{ca.recipient},
				SignerKey:   req.signerKey,
				SignerCert:  req.signerCert,
			}
			msg, err := scep.NewCSRRequest(csr, tmpl)
			if err != nil {
				return nil, clientErr("scep.NewCSRRequest: %v", err)
			}
			req.raw, req.txid, req.nonce = msg.Raw, string(msg.TransactionID), []byte(msg.SenderNonce)
			logf("built %s with scep.NewCSRRequest", messageTypeNames[msgType])
			return req, nil
		}
	}
	req.nonce = make([]byte, 16)
	if _, err := rand.Read(req.nonce); err != nil {
		return nil, clientErr("nonce: %v", err)
	}
	if req.raw, err = buildPKIMessage(content, ca.recipient, req.signerCert, req.signerKey, msgType, req.txid, req.nonce, digest); err != nil {
		return nil, clientErr("%v", err)
	}
	logf("built %s by hand (digest %s)", messageTypeNames[msgType], o.digest)
	return req, nil
}

// ---------------------------------------------------------------------------
// CertRep

var pkiStatusNames = map[string]string{
	string(scep.SUCCESS): "SUCCESS",
	scep.FAILURE:         "FAILURE",
	scep.PENDING:         "PENDING",
}

var failInfoNames = map[string]string{
	string(scep.BadAlg):  "badAlg",
	scep.BadMessageCheck: "badMessageCheck",
	scep.BadRequest:      "badRequest",
	scep.BadTime:         "badTime",
	scep.BadCertID:       "badCertId",
}

func nameOr(m map[string]string, v string) string {
	if n, ok := m[v]; ok {
		return n
	}
	if v == "" {
		return ""
	}
	return "unknown(" + v + ")"
}

// safely runs f, turning a panic in library code into an error.
func safely(what string, f func() error) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("%s: panic: %v", what, p)
		}
	}()
	return f()
}

// describeRejected fills out as much as the raw SignedData allows when the
// library parser refuses the CertRep, so the failure is diagnosable.
func describeRejected(body []byte, caCerts []*x509.Certificate, out *certRepOutput) string {
	var hint string
	_ = safely("pkcs7", func() error {
		p7, err := pkcs7.Parse(body)
		if err != nil {
			return err
		}
		var s string
		if p7.UnmarshalSignedAttribute(oidSCEPtransactionID, &s) == nil {
			out.TransactionID = s
		}
		if p7.UnmarshalSignedAttribute(oidSCEPpkiStatus, &s) == nil {
			out.PKIStatus = nameOr(pkiStatusNames, s)
		}
		if p7.UnmarshalSignedAttribute(oidSCEPfailInfo, &s) == nil {
			out.FailInfo = nameOr(failInfoNames, s)
		}
		embedded := p7.Certificates
		p7.Certificates = caCerts
		if err := p7.Verify(); err == nil {
			out.SignatureOK = true
			return nil
		}
		if len(embedded) > 0 {
			p7.Certificates = embedded
			if signer := p7.GetOnlySigner(); signer != nil && p7.Verify() == nil {
				hint = fmt.Sprintf(" (the signature verifies with the embedded certificate %q, which is not a GetCACert certificate)", signer.Subject)
			}
		}
		return nil
	})
	return hint
}

func recipientNonceOf(body []byte) []byte {
	var rn []byte
	_ = safely("pkcs7", func() error {
		p7, err := pkcs7.Parse(body)
		if err != nil {
			return err
		}
		return p7.UnmarshalSignedAttribute(oidSCEPrecipientNonce, &rn)
	})
	return rn
}

func handleCertRep(o *options, r *response, ca *caInfo, req *request) error {
	out := certRepOutput{
		HTTPStatus:        r.status,
		SentTransactionID: req.txid,
		SentMessageType:   messageTypeNames[req.msgType],
		ContentType:       r.contentType,
	}
	reject := func(err error) error {
		out.Error = err.Error()
		emit(out)
		return &exitError{code: exitBadResponse, err: err}
	}

	var msg *scep.PKIMessage
	err := safely("scep.ParsePKIMessage", func() error {
		var err error
		msg, err = scep.ParsePKIMessage(r.body, scep.WithCACerts(ca.certs))
		return err
	})
	if err != nil {
		hint := describeRejected(r.body, ca.certs, &out)
		out.TransactionIDOK = out.TransactionID == req.txid
		out.RecipientNonceOK = bytes.Equal(recipientNonceOf(r.body), req.nonce)
		return reject(fmt.Errorf("CertRep rejected by scep.ParsePKIMessage: %v%s", err, hint))
	}
	out.SignatureOK = true // ParsePKIMessage verified it against the GetCACert certificates
	out.TransactionID = string(msg.TransactionID)
	out.TransactionIDOK = out.TransactionID == req.txid
	if msg.MessageType != scep.CertRep || msg.CertRepMessage == nil {
		return reject(fmt.Errorf("response messageType is %q, not CertRep (3)", string(msg.MessageType)))
	}
	cr := msg.CertRepMessage
	out.PKIStatus = nameOr(pkiStatusNames, string(cr.PKIStatus))
	out.FailInfo = nameOr(failInfoNames, string(cr.FailInfo))
	out.RecipientNonceOK = bytes.Equal(cr.RecipientNonce, req.nonce)

	if cr.PKIStatus == scep.SUCCESS {
		// The reply is encrypted to the certificate that signed the request.
		err := safely("DecryptPKIEnvelope", func() error {
			return msg.DecryptPKIEnvelope(req.signerCert, req.signerKey)
		})
		if err != nil {
			return reject(fmt.Errorf("SUCCESS CertRep: cannot decrypt/parse the envelope: %v", err))
		}
		cert := cr.Certificate
		if cert == nil {
			return reject(errors.New("SUCCESS CertRep without a certificate"))
		}
		out.Serial = cert.SerialNumber.Text(16)
		out.Subject = cert.Subject.String()
		if pub, ok := cert.PublicKey.(*rsa.PublicKey); ok && pub.Equal(&req.reqKey.PublicKey) {
			out.PublicKeyOK = true
		}
		for _, c := range ca.certs {
			if cert.CheckSignatureFrom(c) == nil {
				out.IssuerOK = true
				break
			}
		}
		if o.certOut != "" {
			if err := writePEM(o.certOut, "CERTIFICATE", cert.Raw, 0o644); err != nil {
				return clientErr("writing -cert-out: %v", err)
			}
		}
	}
	emit(out)
	if o.strict {
		var failed []string
		if !out.SignatureOK {
			failed = append(failed, "signature")
		}
		if !out.TransactionIDOK {
			failed = append(failed, "transactionID")
		}
		if !out.RecipientNonceOK {
			failed = append(failed, "recipientNonce")
		}
		if cr.PKIStatus == scep.SUCCESS && !out.PublicKeyOK {
			failed = append(failed, "publicKey")
		}
		if cr.PKIStatus == scep.SUCCESS && !out.IssuerOK {
			failed = append(failed, "issuer")
		}
		if len(failed) > 0 {
			return &exitError{code: exitBadResponse, err: fmt.Errorf("-strict: CertRep failed checks: %s", strings.Join(failed, ", "))}
		}
	}
	return nil
}

func opPKIOperation(o *options) error {
	if o.method != "get" && o.method != "post" {
		return clientErr("unknown -method %q (want get or post)", o.method)
	}
	t, err := newTransport(o)
	if err != nil {
		return err
	}
	ca, r, err := fetchCA(t, o)
	if err != nil {
		var ee *exitError
		if errors.As(err, &ee) {
			return err
		}
		emit(certRepOutput{HTTPStatus: r.status, ContentType: r.contentType, Error: err.Error()})
		return &exitError{code: exitBadResponse, err: err}
	}
	req, err := prepareRequest(o, ca)
	if err != nil {
		return err
	}
	logf("sending %s txid=%s nonce=%s cipher=%s digest=%s method=%s",
		messageTypeNames[req.msgType], req.txid, hex.EncodeToString(req.nonce), o.cipher, o.digest, o.method)
	r, err = t.pkiOperation(o.method, req.raw)
	if err != nil {
		return err
	}
	return handleCertRep(o, r, ca, req)
}
