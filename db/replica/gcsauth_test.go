package replica

import (
	"bytes"
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// tokenServer plays Google's OAuth token endpoint and the metadata
// server: it checks each grant as Google does (a service account's JWT
// against the account's public key) and counts the tokens it issues.
type tokenServer struct {
	url    string
	key    *rsa.PrivateKey
	issued atomic.Int64
	// refuse makes the token endpoint reject every grant.
	refuse atomic.Bool
}

const (
	testEmail   = "litestream@dstack-test.iam.gserviceaccount.com"
	testToken   = "ya29.test-token"
	testRefresh = "1//refresh-token"
)

func startTokenServer(t *testing.T) *tokenServer {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	require.NoError(t, err)
	ts := &tokenServer{key: key}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /token", func(w http.ResponseWriter, r *http.Request) {
		if ts.refuse.Load() {
			w.WriteHeader(http.StatusBadRequest)
			_, _ = w.Write([]byte(`{"error":"invalid_grant","error_description":"Invalid JWT Signature."}`))
			return
		}
		if err := ts.checkGrant(r); err != nil {
			http.Error(w, err.Error(), http.StatusUnauthorized)
			return
		}
		ts.issue(w)
	})
	mux.HandleFunc("GET /computeMetadata/v1/instance/service-accounts/default/token", func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Metadata-Flavor") != "Google" {
			http.Error(w, "Metadata-Flavor: Google is required", http.StatusForbidden)
			return
		}
		ts.issue(w)
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	ts.url = srv.URL
	return ts
}

func (ts *tokenServer) issue(w http.ResponseWriter) {
	ts.issued.Add(1)
	w.Header().Set("Content-Type", "application/json")
	_, _ = fmt.Fprintf(w, `{"access_token":%q,"expires_in":3600,"token_type":"Bearer"}`, testToken)
}

// checkGrant verifies a JWT bearer grant (signature, issuer, audience,
// scope, lifetime) or a refresh-token grant.
func (ts *tokenServer) checkGrant(r *http.Request) error {
	if err := r.ParseForm(); err != nil {
		return err
	}
	switch r.PostForm.Get("grant_type") {
	case "refresh_token":
		if r.PostForm.Get("refresh_token") != testRefresh || r.PostForm.Get("client_id") != "client-id.apps.googleusercontent.com" ||
			r.PostForm.Get("client_secret") != "client-secret" {
			return fmt.Errorf("bad refresh grant %v", r.PostForm)
		}
		return nil
	case "urn:ietf:params:oauth:grant-type:jwt-bearer":
	default:
		return fmt.Errorf("grant_type %q", r.PostForm.Get("grant_type"))
	}
	parts := strings.Split(r.PostForm.Get("assertion"), ".")
	if len(parts) != 3 {
		return fmt.Errorf("a JWT has 3 parts, not %d", len(parts))
	}
	sig, err := base64.RawURLEncoding.DecodeString(parts[2])
	if err != nil {
		return err
	}
	sum := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	if err := rsa.VerifyPKCS1v15(&ts.key.PublicKey, crypto.SHA256, sum[:], sig); err != nil {
		return fmt.Errorf("signature: %w", err)
	}
	var header struct{ Alg, Typ, Kid string }
	var claims struct {
		Iss, Scope, Aud string
		Iat, Exp        int64
	}
	for i, v := range []any{&header, &claims} {
		b, err := base64.RawURLEncoding.DecodeString(parts[i])
		if err != nil {
			return err
		}
		if err := json.Unmarshal(b, v); err != nil {
			return err
		}
	}
	now := time.Now().Unix()
	switch {
	case header.Alg != "RS256" || header.Typ != "JWT" || header.Kid != "key-1":
		return fmt.Errorf("header %+v", header)
	case claims.Iss != testEmail || claims.Aud != ts.url+"/token" || claims.Scope != gcsScope:
		return fmt.Errorf("claims %+v", claims)
	case claims.Iat < now-60 || claims.Iat > now+60 || claims.Exp-claims.Iat != 3600:
		return fmt.Errorf("lifetime %+v", claims)
	}
	return nil
}

// serviceAccountKey is a key file as the console downloads it; pkcs1
// encodes the key as older files do.
func (ts *tokenServer) serviceAccountKey(t *testing.T, pkcs1 bool) string {
	t.Helper()
	block := &pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(ts.key)}
	if !pkcs1 {
		der, err := x509.MarshalPKCS8PrivateKey(ts.key)
		require.NoError(t, err)
		block = &pem.Block{Type: "PRIVATE KEY", Bytes: der}
	}
	b, err := json.Marshal(map[string]string{
		"type": "service_account", "project_id": "dstack-test", "private_key_id": "key-1",
		"private_key": string(pem.EncodeToMemory(block)), "client_email": testEmail,
		"client_id": "1234", "token_uri": ts.url + "/token",
	})
	require.NoError(t, err)
	return string(b)
}

// authorizedUser is gcloud's application default credentials file.
func (ts *tokenServer) authorizedUser() string {
	return fmt.Sprintf(`{"type":"authorized_user","client_id":"client-id.apps.googleusercontent.com",`+
		`"client_secret":"client-secret","refresh_token":%q,"token_uri":%q}`, testRefresh, ts.url+"/token")
}

// clearGoogleEnv leaves no credentials in the environment; an emulator
// started before stays reachable through the client's base.
func clearGoogleEnv(t *testing.T) {
	for _, k := range []string{"STORAGE_EMULATOR_HOST", "GOOGLE_APPLICATION_CREDENTIALS", "GOOGLE_APPLICATION_CREDENTIALS_JSON", "GCE_METADATA_HOST"} {
		t.Setenv(k, "")
	}
	t.Setenv("CLOUDSDK_CONFIG", t.TempDir())
}

// TestGCSCredentials: each kind of credentials gets a token that the
// bucket accepts, fetched once and reused until shortly before it expires.
func TestGCSCredentials(t *testing.T) {
	tests := []struct {
		name  string
		setup func(t *testing.T, ts *tokenServer)
	}{
		{"service account key file", func(t *testing.T, ts *tokenServer) {
			path := filepath.Join(t.TempDir(), "key.json")
			require.NoError(t, os.WriteFile(path, []byte(ts.serviceAccountKey(t, false)), 0o600))
			t.Setenv("GOOGLE_APPLICATION_CREDENTIALS", path)
		}},
		{"service account key in GOOGLE_APPLICATION_CREDENTIALS_JSON, PKCS #1", func(t *testing.T, ts *tokenServer) {
			t.Setenv("GOOGLE_APPLICATION_CREDENTIALS_JSON", ts.serviceAccountKey(t, true))
		}},
		{"gcloud application default credentials", func(t *testing.T, ts *tokenServer) {
			dir := os.Getenv("CLOUDSDK_CONFIG")
			require.NoError(t, os.WriteFile(filepath.Join(dir, "application_default_credentials.json"), []byte(ts.authorizedUser()), 0o600))
		}},
		{"authorized user in GOOGLE_APPLICATION_CREDENTIALS_JSON", func(t *testing.T, ts *tokenServer) {
			t.Setenv("GOOGLE_APPLICATION_CREDENTIALS_JSON", ts.authorizedUser())
		}},
		{"metadata server", func(t *testing.T, ts *tokenServer) {
			t.Setenv("GCE_METADATA_HOST", strings.TrimPrefix(ts.url, "http://"))
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := startEmulator(t, "b")
			want := "Bearer " + testToken
			e.auth.Store(&want)
			clearGoogleEnv(t)
			ts := startTokenServer(t)
			tt.setup(t, ts)

			c, err := newGCSClient("b", "db")
			require.NoError(t, err)
			c.base = e.url
			ctx := context.Background()
			f := ltxFile(t, 1, 1, time.Now())
			_, err = c.WriteLTXFile(ctx, 0, 1, 1, bytes.NewReader(f))
			require.NoError(t, err)
			require.Len(t, listLTX(t, c, 0, 0), 1)
			require.Equal(t, f, readLTX(t, c, 0, 1, 1, 0, 0))
			require.Equal(t, int64(1), ts.issued.Load(), "one token for every request")

			c.tokens.now = func() time.Time { return time.Now().Add(58 * time.Minute) }
			require.Len(t, listLTX(t, c, 0, 0), 1)
			require.Equal(t, int64(1), ts.issued.Load(), "a token with two minutes left is kept")
			c.tokens.now = func() time.Time { return time.Now().Add(59*time.Minute + 30*time.Second) }
			require.Len(t, listLTX(t, c, 0, 0), 1)
			require.Equal(t, int64(2), ts.issued.Load(), "a token about to expire is replaced")
		})
	}
}

// TestGCSCredentialsErrors: bad credentials are clear errors at Init or
// at the first request.
func TestGCSCredentialsErrors(t *testing.T) {
	clearGoogleEnv(t)
	ts := startTokenServer(t)
	ctx := context.Background()
	newClient := func(t *testing.T) *gcsClient {
		c, err := newGCSClient("b", "db")
		require.NoError(t, err)
		return c
	}

	t.Setenv("GOOGLE_APPLICATION_CREDENTIALS", filepath.Join(t.TempDir(), "missing.json"))
	require.ErrorContains(t, newClient(t).Init(ctx), "read GOOGLE_APPLICATION_CREDENTIALS: open ")

	t.Setenv("GOOGLE_APPLICATION_CREDENTIALS", "")
	t.Setenv("GOOGLE_APPLICATION_CREDENTIALS_JSON", `{"type":"external_account","audience":"x"}`)
	require.ErrorContains(t, newClient(t).Init(ctx), `GOOGLE_APPLICATION_CREDENTIALS_JSON: credentials of type "external_account" are not supported`)

	t.Setenv("GOOGLE_APPLICATION_CREDENTIALS_JSON", `{"type":"service_account","private_key":"nope"}`)
	require.ErrorContains(t, newClient(t).Init(ctx), "GOOGLE_APPLICATION_CREDENTIALS_JSON: private_key: no PEM block")

	t.Setenv("GOOGLE_APPLICATION_CREDENTIALS_JSON", "not json")
	require.ErrorContains(t, newClient(t).Init(ctx), "GOOGLE_APPLICATION_CREDENTIALS_JSON is not a Google credentials file")

	t.Setenv("GOOGLE_APPLICATION_CREDENTIALS_JSON", ts.serviceAccountKey(t, false))
	ts.refuse.Store(true)
	itr, err := newClient(t).LTXFiles(ctx, 0, 0, false)
	require.NoError(t, err)
	require.False(t, itr.Next())
	require.EqualError(t, itr.Close(), "list gs://b/db/ltx/0/: get a Google access token from "+ts.url+
		"/token: 400 Bad Request: invalid_grant: Invalid JWT Signature.")

	t.Setenv("GOOGLE_APPLICATION_CREDENTIALS_JSON", "")
	t.Setenv("GCE_METADATA_HOST", strings.TrimPrefix(ts.url, "http://")+"/nowhere")
	itr, _ = newClient(t).LTXFiles(ctx, 0, 0, false)
	require.False(t, itr.Next())
	require.ErrorContains(t, itr.Close(), "no Google credentials (GOOGLE_APPLICATION_CREDENTIALS or GOOGLE_APPLICATION_CREDENTIALS_JSON) and no token from the metadata server")
	require.ErrorContains(t, itr.Close(), "404 Not Found")
}
