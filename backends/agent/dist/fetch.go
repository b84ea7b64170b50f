package dist

import (
	"archive/tar"
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"debug/elf"
	"debug/macho"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"strings"
)

// maxDownload bounds an executable or archive download.
const maxDownload = 512 << 20

// Check fails unless path is an executable file built for goos/goarch
// (ELF for linux, Mach-O for darwin).
func Check(path, goos, goarch string) error {
	f, err := os.Open(path)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return errors.New("no such file")
		}
		return err
	}
	defer f.Close()
	got, err := platformOf(f)
	if err != nil {
		return err
	}
	if want := goos + "/" + goarch; got != want {
		return fmt.Errorf("built for %s, not %s", got, want)
	}
	return nil
}

// platformOf reads the executable format's header.
func platformOf(r io.ReaderAt) (string, error) {
	if ef, err := elf.NewFile(r); err == nil {
		switch ef.Machine {
		case elf.EM_X86_64:
			return "linux/amd64", nil
		case elf.EM_AARCH64:
			return "linux/arm64", nil
		}
		return "linux/" + strings.ToLower(strings.TrimPrefix(ef.Machine.String(), "EM_")), nil
	}
	if mf, err := macho.NewFile(r); err == nil {
		switch mf.Cpu {
		case macho.CpuAmd64:
			return "darwin/amd64", nil
		case macho.CpuArm64:
			return "darwin/arm64", nil
		}
		return "darwin/" + mf.Cpu.String(), nil
	}
	return "", errors.New("not an executable (neither ELF nor Mach-O)")
}

// fetchRelease downloads a release archive, checks it against the
// release's checksums.txt and unpacks its dstack executable to dst.
func (l *Locator) fetchRelease(ctx context.Context, url, dst string) error {
	sums, err := l.get(ctx, url[:strings.LastIndex(url, "/")+1]+"checksums.txt")
	if err != nil {
		return fmt.Errorf("checksums.txt: %w", err)
	}
	want := checksumOf(sums, path.Base(url))
	if want == "" {
		return fmt.Errorf("checksums.txt lists no %s", path.Base(url))
	}
	return l.fetch(ctx, url, dst, want)
}

// checksumOf finds name's SHA-256 in a checksums.txt ("<hex>  <name>").
func checksumOf(sums []byte, name string) string {
	sc := bufio.NewScanner(bytes.NewReader(sums))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) == 2 && strings.TrimPrefix(f[1], "*") == name {
			return strings.ToLower(f[0])
		}
	}
	return ""
}

// fetch downloads url (an executable, or a .tar.gz with one named dstack)
// to dst, checking its SHA-256 when sha is set.
func (l *Locator) fetch(ctx context.Context, url, dst, sha string) error {
	body, err := l.get(ctx, url)
	if err != nil {
		return err
	}
	if sha != "" {
		if sum := sha256.Sum256(body); hex.EncodeToString(sum[:]) != sha {
			return fmt.Errorf("SHA-256 %s differs from checksums.txt's %s", hex.EncodeToString(sum[:]), sha)
		}
	}
	if strings.HasSuffix(url, ".tar.gz") || strings.HasSuffix(url, ".tgz") {
		if body, err = untarDstack(body); err != nil {
			return fmt.Errorf("%s: %w", path.Base(url), err)
		}
	}
	return writeExecutable(dst, body)
}

func (l *Locator) get(ctx context.Context, url string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	resp, err := l.opts.HTTP.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxDownload+1))
	if err != nil {
		return nil, fmt.Errorf("GET %s: %w", url, err)
	}
	if len(body) > maxDownload {
		return nil, fmt.Errorf("GET %s: larger than %d MiB", url, maxDownload>>20)
	}
	return body, nil
}

// untarDstack returns the file named dstack from a .tar.gz.
func untarDstack(archive []byte) ([]byte, error) {
	zr, err := gzip.NewReader(bytes.NewReader(archive))
	if err != nil {
		return nil, fmt.Errorf("not a gzip archive: %w", err)
	}
	tr := tar.NewReader(zr)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return nil, errors.New("the archive holds no file named dstack")
		}
		if err != nil {
			return nil, fmt.Errorf("read archive: %w", err)
		}
		if h.Typeflag == tar.TypeReg && path.Base(h.Name) == "dstack" {
			return io.ReadAll(io.LimitReader(tr, maxDownload))
		}
	}
}

// writeExecutable writes data to path atomically, mode 0755.
func writeExecutable(path string, data []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".dstack-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Chmod(0o755); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

func shortHash(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:8])
}
