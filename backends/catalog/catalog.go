package catalog

import (
	"context"
	"embed"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/dstackgo/dstack/server/schemas"
)

// DefaultURL is where gpuhunt publishes its catalogs (GPUHUNT_CATALOG_URL
// overrides it, as in gpuhunt).
const DefaultURL = "https://dstack-gpu-pricing.s3.eu-west-1.amazonaws.com/v3"

// RefreshInterval is how often a newer published version is looked for.
const RefreshInterval = 15 * time.Minute

//go:embed snapshot/*.csv
var snapshot embed.FS

// EmbeddedVersion is the version name of the embedded snapshot.
const EmbeddedVersion = "embedded"

// Options configure a Catalog.
type Options struct {
	// URL is the catalogs' base URL; DefaultURL when empty.
	URL string
	// Client fetches the catalogs; a client with a 60 s timeout when nil.
	Client *http.Client
	Logger *slog.Logger
}

// Catalog holds the catalog of each provider in use. It is safe for
// concurrent use.
type Catalog struct {
	base   string
	client *http.Client
	log    *slog.Logger

	mu        sync.RWMutex
	providers map[string]*Provider
}

// Provider is one provider's catalog at one version.
type Provider struct {
	Name    string
	Version string
	Items   []Item

	offersOnce sync.Once
	offers     []schemas.InstanceOffer
}

// Offers are the provider's usable items as offers of backend, built once
// per version and shared: callers must not modify them.
func (p *Provider) Offers(backend string) []schemas.InstanceOffer {
	p.offersOnce.Do(func() {
		p.offers = make([]schemas.InstanceOffer, 0, len(p.Items))
		for i := range p.Items {
			if p.Items[i].Usable() {
				p.offers = append(p.offers, p.Items[i].Offer(backend))
			}
		}
	})
	return p.offers
}

// New returns a catalog that starts from the embedded snapshot.
func New(o Options) *Catalog {
	if o.URL == "" {
		o.URL = DefaultURL
	}
	if o.Client == nil {
		o.Client = &http.Client{Timeout: 60 * time.Second}
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return &Catalog{base: strings.TrimRight(o.URL, "/"), client: o.Client, log: o.Logger, providers: map[string]*Provider{}}
}

// Set installs a provider's catalog (a test's catalog, or one read from a file).
func (c *Catalog) Set(p *Provider) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.providers[p.Name] = p
}

// Get returns the provider's current catalog: the last one downloaded, else
// the embedded snapshot (empty when there is none for the provider).
func (c *Catalog) Get(provider string) *Provider {
	c.mu.RLock()
	p := c.providers[provider]
	c.mu.RUnlock()
	if p != nil {
		return p
	}
	p = &Provider{Name: provider, Version: EmbeddedVersion}
	if f, err := snapshot.Open("snapshot/" + provider + ".csv"); err == nil {
		items, _, err := Parse(f)
		f.Close()
		if err != nil {
			c.log.Error("the embedded catalog snapshot is unreadable", "provider", provider, "err", err)
		}
		p.Items = items
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if cur := c.providers[provider]; cur != nil {
		return cur
	}
	c.providers[provider] = p
	return p
}

// Refresh downloads the provider's latest published catalog unless it is
// the version held already. It reports whether the catalog changed. On any
// error the current catalog stays.
func (c *Catalog) Refresh(ctx context.Context, provider string) (bool, error) {
	raw, err := c.fetch(ctx, c.base+"/"+provider+"/version", 1<<10)
	if err != nil {
		return false, err
	}
	version := strings.TrimSpace(string(raw))
	if version == "" || strings.ContainsAny(version, "/?#") {
		return false, fmt.Errorf("%s/%s/version: %q is not a catalog version", c.base, provider, version)
	}
	if cur := c.Get(provider); cur.Version == version {
		return false, nil
	}
	data, err := c.fetch(ctx, c.base+"/"+provider+"/"+version+"/catalog.zip", 512<<20)
	if err != nil {
		return false, err
	}
	items, skipped, err := ParseZip(data, provider)
	if err != nil {
		return false, fmt.Errorf("%s catalog %s: %w", provider, version, err)
	}
	if skipped > 0 {
		c.log.Warn("skipped malformed catalog rows", "provider", provider, "version", version, "rows", skipped)
	}
	c.Set(&Provider{Name: provider, Version: version, Items: items})
	c.log.Info("catalog updated", "provider", provider, "version", version, "items", len(items))
	return true, nil
}

func (c *Catalog) fetch(ctx context.Context, url string, limit int64) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	res, err := c.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("fetch catalog: %w", err)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("fetch catalog: GET %s: %s", url, res.Status)
	}
	data, err := io.ReadAll(io.LimitReader(res.Body, limit+1))
	if err != nil {
		return nil, fmt.Errorf("fetch catalog: GET %s: %w", url, err)
	}
	if int64(len(data)) > limit {
		return nil, fmt.Errorf("fetch catalog: GET %s: larger than %d bytes", url, limit)
	}
	return data, nil
}

// Run refreshes the catalogs of the providers in use now and every
// interval until ctx ends. A failed refresh is logged once per streak.
func (c *Catalog) Run(ctx context.Context, inUse func() []string, interval time.Duration) {
	if interval <= 0 {
		interval = RefreshInterval
	}
	failing := map[string]bool{}
	for {
		for _, p := range inUse() {
			rctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
			_, err := c.Refresh(rctx, p)
			cancel()
			switch {
			case err != nil && ctx.Err() == nil && !failing[p]:
				c.log.Warn("cannot refresh the offers catalog; keeping the current one", "provider", p,
					"version", c.Get(p).Version, "err", err)
				failing[p] = true
			case err == nil && failing[p]:
				c.log.Info("offers catalog reachable again", "provider", p)
				failing[p] = false
			}
		}
		t := time.NewTimer(interval)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
	}
}
