package runner

import (
	"archive/tar"
	"bufio"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"strings"
)

// extractTar unpacks a tar (optionally gzipped) stream under dest. rename maps
// each entry name (may be nil); entries escaping dest are rejected. New files
// and dirs are chowned to uid/gid when chown is set.
func extractTar(r io.Reader, dest string, rename func(string) string, env *jobEnv) error {
	br := bufio.NewReader(r)
	if magic, _ := br.Peek(2); len(magic) == 2 && magic[0] == 0x1f && magic[1] == 0x8b {
		gz, err := gzip.NewReader(br)
		if err != nil {
			return fmt.Errorf("open gzip: %w", err)
		}
		defer gz.Close()
		r = gz
	} else {
		r = br
	}
	tr := tar.NewReader(r)
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("read tar: %w", err)
		}
		name := hdr.Name
		if rename != nil {
			name = rename(name)
		}
		target, err := safeJoin(dest, name)
		if err != nil {
			return err
		}
		if err := noSymlinkOnPath(dest, target, hdr.Typeflag == tar.TypeDir); err != nil {
			return fmt.Errorf("tar entry %q: %w", hdr.Name, err)
		}
		if err := extractEntry(tr, hdr, target); err != nil {
			return fmt.Errorf("extract %s: %w", hdr.Name, err)
		}
		if env != nil && env.Cred != nil {
			_ = os.Lchown(target, env.UID, env.GID)
		}
	}
}

// safeJoin joins name under dest, refusing absolute escapes and "..".
func safeJoin(dest, name string) (string, error) {
	clean := path.Clean("/" + strings.TrimPrefix(name, "./"))
	if clean == "/" {
		return dest, nil
	}
	target := filepath.Join(dest, filepath.FromSlash(clean))
	if !strings.HasPrefix(target, filepath.Clean(dest)+string(filepath.Separator)) {
		return "", fmt.Errorf("tar entry %q escapes the destination", name)
	}
	return target, nil
}

// noSymlinkOnPath refuses a target whose parents under dest (and, for a
// directory entry, the target itself) are symlinks: an archive may hold
// links, but writing through one would land wherever it points, outside
// the destination.
func noSymlinkOnPath(dest, target string, self bool) error {
	rel, err := filepath.Rel(dest, target)
	if err != nil || rel == "." {
		return err
	}
	parts := strings.Split(rel, string(filepath.Separator))
	if !self {
		parts = parts[:len(parts)-1]
	}
	p := dest
	for _, part := range parts {
		p = filepath.Join(p, part)
		st, err := os.Lstat(p)
		if errors.Is(err, os.ErrNotExist) {
			return nil // created below as a plain directory
		} else if err != nil {
			return err
		}
		if st.Mode()&os.ModeSymlink != 0 {
			return fmt.Errorf("it would be written through the symlink %s; archives may hold links but not write through them", p)
		}
	}
	return nil
}

func extractEntry(tr *tar.Reader, hdr *tar.Header, target string) error {
	mode := os.FileMode(hdr.Mode).Perm()
	switch hdr.Typeflag {
	case tar.TypeDir:
		if err := os.MkdirAll(target, 0o755); err != nil {
			return err
		}
		return os.Chmod(target, mode|0o700)
	case tar.TypeReg:
		if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
			return err
		}
		_ = os.Remove(target)
		f, err := os.OpenFile(target, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, mode)
		if err != nil {
			return err
		}
		_, err = io.Copy(f, tr)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		return err
	case tar.TypeSymlink:
		if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
			return err
		}
		_ = os.Remove(target)
		return os.Symlink(hdr.Linkname, target)
	default:
		return nil // hard links, devices and fifos are skipped
	}
}

// isSafeName accepts a single path element usable as a file name.
func isSafeName(name string) bool {
	return name != "." && name != ".." && !strings.ContainsAny(name, "/\\\x00")
}
