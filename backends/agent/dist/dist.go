package dist

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"time"
)

// DefaultReleaseURL is where release archives of a version are published:
// dstack_<version>_<os>_<arch>.tar.gz and checksums.txt.
const DefaultReleaseURL = "https://github.com/dstackgo/dstack/releases/download/v{version}"

// Options configure a Locator.
type Options struct {
	// Version is the running server's version; only a release version
	// (1.2.3) has a release download.
	Version string
	// Configured is a path or an http(s) URL of an executable or of a
	// .tar.gz holding one named dstack; {os}, {arch} and {version} are
	// replaced (DSTACK_SERVER_AGENT_BINARY).
	Configured string
	// CacheDir keeps what was downloaded (<server dir>/bin).
	CacheDir string
	// ReleaseURL is the folder of a version's release archives, with
	// {version}; DefaultReleaseURL when empty.
	ReleaseURL string
	// HTTP downloads; a client with a 10-minute timeout when nil.
	HTTP *http.Client
	// Self is the running executable and SelfOS/SelfArch its platform;
	// os.Executable() and runtime.GOOS/GOARCH when empty.
	Self, SelfOS, SelfArch string
}

// Locator finds executables per platform; it is safe for concurrent use.
type Locator struct {
	opts   Options
	mu     sync.Mutex
	found  map[string]string
	failed map[string]failure
}

type failure struct {
	err error
	at  time.Time
}

// retryAfter is how long a platform nothing was found for is not looked
// up again: a deploy retried every few seconds does not download each time.
const retryAfter = time.Minute

// New returns a Locator.
func New(o Options) *Locator {
	if o.ReleaseURL == "" {
		o.ReleaseURL = DefaultReleaseURL
	}
	if o.HTTP == nil {
		o.HTTP = &http.Client{Timeout: 10 * time.Minute}
	}
	if o.Self == "" {
		o.Self, _ = os.Executable()
	}
	if o.SelfOS == "" {
		o.SelfOS, o.SelfArch = runtime.GOOS, runtime.GOARCH
	}
	return &Locator{opts: o, found: map[string]string{}, failed: map[string]failure{}}
}

// NotFoundError says that no executable for a platform could be had, and
// what was tried.
type NotFoundError struct {
	OS, Arch, Version string
	// Tried lists each place looked at, with why it did not fit.
	Tried []string
}

func (e *NotFoundError) Error() string {
	return fmt.Sprintf("no %s/%s dstack binary of version %s: tried %s; "+
		"set DSTACK_SERVER_AGENT_BINARY to the path or URL of a %s/%s build ({arch} stands for amd64 or arm64)",
		e.OS, e.Arch, e.Version, strings.Join(e.Tried, "; "), e.OS, e.Arch)
}

// Path returns a local path of a dstack executable for goos/goarch.
func (l *Locator) Path(ctx context.Context, goos, goarch string) (string, error) {
	key := goos + "/" + goarch
	l.mu.Lock()
	defer l.mu.Unlock()
	if p, ok := l.found[key]; ok {
		return p, nil
	}
	if f, ok := l.failed[key]; ok && time.Since(f.at) < retryAfter {
		return "", f.err
	}
	p, err := l.locate(ctx, goos, goarch)
	if err != nil {
		l.failed[key] = failure{err: err, at: time.Now()}
		return "", err
	}
	delete(l.failed, key)
	l.found[key] = p
	return p, nil
}

// locate tries each source in order.
func (l *Locator) locate(ctx context.Context, goos, goarch string) (string, error) {
	o := l.opts
	nf := &NotFoundError{OS: goos, Arch: goarch, Version: o.Version}
	if o.Configured != "" {
		ref := expand(o.Configured, goos, goarch, o.Version)
		p, err := l.configured(ctx, ref, goos, goarch)
		if err == nil {
			return p, nil
		}
		nf.Tried = append(nf.Tried, fmt.Sprintf("DSTACK_SERVER_AGENT_BINARY %s: %v", ref, err))
	}
	if o.SelfOS == goos && o.SelfArch == goarch && o.Self != "" {
		if err := Check(o.Self, goos, goarch); err == nil {
			return o.Self, nil
		} else {
			nf.Tried = append(nf.Tried, fmt.Sprintf("this executable %s: %v", o.Self, err))
		}
	} else {
		nf.Tried = append(nf.Tried, fmt.Sprintf("this executable (built for %s/%s)", o.SelfOS, o.SelfArch))
	}
	if !IsRelease(o.Version) {
		nf.Tried = append(nf.Tried, fmt.Sprintf("release download (version %q is not a release)", o.Version))
		return "", nf
	}
	cached := filepath.Join(o.CacheDir, strings.TrimPrefix(o.Version, "v"), goos+"_"+goarch, "dstack")
	if err := Check(cached, goos, goarch); err == nil {
		return cached, nil
	}
	url := expand(o.ReleaseURL, goos, goarch, o.Version) + "/" + ArchiveName(o.Version, goos, goarch)
	if err := l.fetchRelease(ctx, url, cached); err != nil {
		nf.Tried = append(nf.Tried, fmt.Sprintf("cache %s (absent) and release download %s: %v", cached, url, err))
		return "", nf
	}
	return cached, nil
}

// configured resolves the configured path or URL for one platform.
func (l *Locator) configured(ctx context.Context, ref, goos, goarch string) (string, error) {
	if !isURL(ref) {
		return ref, Check(ref, goos, goarch)
	}
	cached := filepath.Join(l.opts.CacheDir, "url", shortHash(ref), "dstack")
	if Check(cached, goos, goarch) == nil {
		return cached, nil
	}
	if err := l.fetch(ctx, ref, cached, ""); err != nil {
		return "", err
	}
	return cached, Check(cached, goos, goarch)
}

// ArchiveName is the release archive of version for goos/goarch, as
// goreleaser.yaml names it.
func ArchiveName(version, goos, goarch string) string {
	return fmt.Sprintf("dstack_%s_%s_%s.tar.gz", strings.TrimPrefix(version, "v"), goos, goarch)
}

var releaseVersion = regexp.MustCompile(`^v?[0-9]+\.[0-9]+\.[0-9]+$`)

// IsRelease reports whether version names a published release (not dev, a
// snapshot or a commit).
func IsRelease(version string) bool { return releaseVersion.MatchString(version) }

func expand(s, goos, goarch, version string) string {
	return strings.NewReplacer("{os}", goos, "{arch}", goarch, "{version}", strings.TrimPrefix(version, "v")).Replace(s)
}

func isURL(s string) bool {
	return strings.HasPrefix(s, "http://") || strings.HasPrefix(s, "https://")
}
