package replica

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

// gcsScope lets a token list, read, write and delete objects.
const gcsScope = "https://www.googleapis.com/auth/devstorage.read_write"

// googleTokenURL is where Google's credential files send their grants when
// they name no token_uri.
const googleTokenURL = "https://oauth2.googleapis.com/token"

// tokenSource hands out OAuth access tokens for Cloud Storage, fetching a
// new one shortly before the cached one expires.
type tokenSource struct {
	fetch func(ctx context.Context) (string, time.Duration, error)
	now   func() time.Time

	mu      sync.Mutex
	token   string
	expires time.Time
}

// tokenEarly is how long before its expiry a token is replaced, so that a
// request never carries one that expires in flight.
const tokenEarly = time.Minute

// Token returns a valid access token.
func (s *tokenSource) Token(ctx context.Context) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.token != "" && s.now().Before(s.expires.Add(-tokenEarly)) {
		return s.token, nil
	}
	token, ttl, err := s.fetch(ctx)
	if err != nil {
		return "", err
	}
	s.token, s.expires = token, s.now().Add(ttl)
	return token, nil
}

// googleCredentials are the fields of a credentials file (a service
// account's key or `gcloud auth application-default login`'s file) that
// the two supported types use.
type googleCredentials struct {
	Type         string `json:"type"`
	ClientEmail  string `json:"client_email"`
	PrivateKeyID string `json:"private_key_id"`
	PrivateKey   string `json:"private_key"`
	TokenURI     string `json:"token_uri"`
	ClientID     string `json:"client_id"`
	ClientSecret string `json:"client_secret"`
	RefreshToken string `json:"refresh_token"`
}

// newGoogleTokenSource finds credentials as Google's Application Default
// Credentials do: the file GOOGLE_APPLICATION_CREDENTIALS names, else
// GOOGLE_APPLICATION_CREDENTIALS_JSON (the file's content), else gcloud's
// application default file, else the metadata server of the VM the server
// runs on (GCE_METADATA_HOST, 169.254.169.254 by default).
func newGoogleTokenSource(hc *http.Client) (*tokenSource, error) {
	var data []byte
	var from string
	if path := os.Getenv("GOOGLE_APPLICATION_CREDENTIALS"); path != "" {
		b, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("read GOOGLE_APPLICATION_CREDENTIALS: %w", err)
		}
		data, from = b, "GOOGLE_APPLICATION_CREDENTIALS "+path
	} else if js := os.Getenv("GOOGLE_APPLICATION_CREDENTIALS_JSON"); js != "" {
		data, from = []byte(js), "GOOGLE_APPLICATION_CREDENTIALS_JSON"
	} else if path := gcloudCredentialsPath(); path != "" {
		if b, err := os.ReadFile(path); err == nil {
			data, from = b, path
		} else if !errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("read Google credentials: %w", err)
		}
	}
	ts := &tokenSource{now: time.Now}
	if data == nil {
		host := os.Getenv("GCE_METADATA_HOST")
		if host == "" {
			host = "169.254.169.254"
		}
		ts.fetch = func(ctx context.Context) (string, time.Duration, error) {
			return metadataToken(ctx, hc, host)
		}
		return ts, nil
	}
	var c googleCredentials
	if err := json.Unmarshal(data, &c); err != nil {
		return nil, fmt.Errorf("%s is not a Google credentials file: %w", from, err)
	}
	if c.TokenURI == "" {
		c.TokenURI = googleTokenURL
	}
	switch c.Type {
	case "service_account":
		key, err := parseRSAKey(c.PrivateKey)
		if err != nil {
			return nil, fmt.Errorf("%s: private_key: %w", from, err)
		}
		if c.ClientEmail == "" {
			return nil, fmt.Errorf("%s: client_email is missing", from)
		}
		ts.fetch = func(ctx context.Context) (string, time.Duration, error) {
			assertion, err := signJWT(key, c.PrivateKeyID, c.ClientEmail, c.TokenURI, time.Now())
			if err != nil {
				return "", 0, err
			}
			return grantToken(ctx, hc, c.TokenURI, url.Values{
				"grant_type": {"urn:ietf:params:oauth:grant-type:jwt-bearer"},
				"assertion":  {assertion},
			})
		}
	case "authorized_user":
		if c.RefreshToken == "" || c.ClientID == "" {
			return nil, fmt.Errorf("%s: refresh_token and client_id are required", from)
		}
		ts.fetch = func(ctx context.Context) (string, time.Duration, error) {
			return grantToken(ctx, hc, c.TokenURI, url.Values{
				"grant_type":    {"refresh_token"},
				"client_id":     {c.ClientID},
				"client_secret": {c.ClientSecret},
				"refresh_token": {c.RefreshToken},
			})
		}
	default:
		return nil, fmt.Errorf("%s: credentials of type %q are not supported: use a service account key (service_account) or gcloud's application default credentials (authorized_user)", from, c.Type)
	}
	return ts, nil
}

// gcloudCredentialsPath is where `gcloud auth application-default login`
// writes its credentials.
func gcloudCredentialsPath() string {
	if dir := os.Getenv("CLOUDSDK_CONFIG"); dir != "" {
		return filepath.Join(dir, "application_default_credentials.json")
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return ""
	}
	return filepath.Join(home, ".config", "gcloud", "application_default_credentials.json")
}

// parseRSAKey reads a service account's PEM private key (PKCS #8, or
// PKCS #1 in older keys).
func parseRSAKey(s string) (*rsa.PrivateKey, error) {
	block, _ := pem.Decode([]byte(s))
	if block == nil {
		return nil, errors.New("no PEM block")
	}
	if k, err := x509.ParsePKCS8PrivateKey(block.Bytes); err == nil {
		rk, ok := k.(*rsa.PrivateKey)
		if !ok {
			return nil, fmt.Errorf("a %T key, not RSA", k)
		}
		return rk, nil
	}
	return x509.ParsePKCS1PrivateKey(block.Bytes)
}

// signJWT makes the RS256 assertion a service account trades for an access
// token (RFC 7523): issued by the account, for the token endpoint, valid
// for an hour.
func signJWT(key *rsa.PrivateKey, keyID, email, aud string, now time.Time) (string, error) {
	header, err := json.Marshal(map[string]string{"alg": "RS256", "typ": "JWT", "kid": keyID})
	if err != nil {
		return "", err
	}
	claims, err := json.Marshal(map[string]any{
		"iss": email, "scope": gcsScope, "aud": aud,
		"iat": now.Unix(), "exp": now.Add(time.Hour).Unix(),
	})
	if err != nil {
		return "", err
	}
	enc := base64.RawURLEncoding
	signed := enc.EncodeToString(header) + "." + enc.EncodeToString(claims)
	sum := sha256.Sum256([]byte(signed))
	sig, err := rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA256, sum[:])
	if err != nil {
		return "", fmt.Errorf("sign the token request: %w", err)
	}
	return signed + "." + enc.EncodeToString(sig), nil
}

// tokenResponse is an OAuth token endpoint's answer (RFC 6749 5.1), also
// the metadata server's.
type tokenResponse struct {
	AccessToken string `json:"access_token"`
	ExpiresIn   int64  `json:"expires_in"`
	// Error and Description are set on a refused grant (RFC 6749 5.2).
	Error       string `json:"error"`
	Description string `json:"error_description"`
}

// grantToken posts a grant to an OAuth token endpoint.
func grantToken(ctx context.Context, hc *http.Client, tokenURL string, form url.Values) (string, time.Duration, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, tokenURL, strings.NewReader(form.Encode()))
	if err != nil {
		return "", 0, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	token, ttl, err := readToken(hc, req)
	if err != nil {
		return "", 0, fmt.Errorf("get a Google access token from %s: %w", tokenURL, err)
	}
	return token, ttl, nil
}

// metadataToken asks the VM's metadata server for its service account's
// token.
func metadataToken(ctx context.Context, hc *http.Client, host string) (string, time.Duration, error) {
	u := "http://" + host + "/computeMetadata/v1/instance/service-accounts/default/token"
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return "", 0, err
	}
	req.Header.Set("Metadata-Flavor", "Google")
	token, ttl, err := readToken(hc, req)
	if err != nil {
		return "", 0, fmt.Errorf("no Google credentials (GOOGLE_APPLICATION_CREDENTIALS or GOOGLE_APPLICATION_CREDENTIALS_JSON) and no token from the metadata server %s: %w", host, err)
	}
	return token, ttl, nil
}

// readToken sends a token request and reads the access token and its
// lifetime.
func readToken(hc *http.Client, req *http.Request) (string, time.Duration, error) {
	resp, err := hc.Do(req)
	if err != nil {
		return "", 0, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return "", 0, err
	}
	var tr tokenResponse
	jsonErr := json.Unmarshal(body, &tr)
	if resp.StatusCode != http.StatusOK {
		if jsonErr == nil && tr.Error != "" {
			return "", 0, fmt.Errorf("%s: %s: %s", resp.Status, tr.Error, tr.Description)
		}
		return "", 0, fmt.Errorf("%s: %s", resp.Status, snippet(body))
	}
	if jsonErr != nil || tr.AccessToken == "" {
		return "", 0, fmt.Errorf("no access token in the answer: %s", snippet(body))
	}
	return tr.AccessToken, time.Duration(tr.ExpiresIn) * time.Second, nil
}

// snippet is the start of a response body, for errors.
func snippet(b []byte) string {
	s := strings.TrimSpace(string(b))
	if len(s) > 300 {
		s = s[:300] + "…"
	}
	return s
}
