package cli

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/dstackgo/dstack/server/schemas"
)

// uploadFiles archives each `files:` mapping and uploads it. Relative local
// paths are taken from the configuration file's directory and rewritten to
// absolute ones in the configuration, as the official CLI sends them.
func uploadFiles(ctx context.Context, cn *conn, files []schemas.FilePathMapping, confPath string) ([]schemas.FileArchiveRef, error) {
	baseDir, _ := os.Getwd()
	if confPath != "-" {
		if abs, err := filepath.Abs(confPath); err == nil {
			baseDir = filepath.Dir(abs)
		}
	}
	refs := []schemas.FileArchiveRef{}
	for i := range files {
		local := expandHome(files[i].LocalPath)
		if !filepath.IsAbs(local) {
			local = filepath.Join(baseDir, local)
		}
		if _, err := os.Stat(local); err != nil {
			return nil, fmt.Errorf("files: path %s does not exist", local)
		}
		files[i].LocalPath = local
		data, hash, err := fileArchive(local)
		if err != nil {
			return nil, fmt.Errorf("archive %s: %w", local, err)
		}
		fa, err := cn.UploadArchive(ctx, hash, bytes.NewReader(data))
		if err != nil {
			return nil, err
		}
		refs = append(refs, schemas.FileArchiveRef{ID: fa.ID, Path: files[i].Path})
	}
	return refs, nil
}

func expandHome(p string) string {
	if rest, ok := strings.CutPrefix(p, "~/"); ok {
		if home, err := os.UserHomeDir(); err == nil {
			return filepath.Join(home, rest)
		}
	}
	return p
}

// fileArchive packs root (a file or a directory) into an uncompressed tar
// whose entries are named relative to root's parent, so the top entry is
// root's base name: the runner renames it to the mapping's path. Entries
// are sorted for a reproducible hash; .git and what .gitignore or
// .dstackignore at root list (simple glob patterns) are left out. Symlinks
// pointing inside root stay relative links; others are archived as the
// file they point to. It returns the archive and its sha256 hex.
func fileArchive(root string) ([]byte, string, error) {
	ignore := loadIgnore(root)
	var paths []string
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		if p != root && (d.Name() == ".git" || ignore(rel, d.IsDir())) {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		paths = append(paths, p)
		return nil
	})
	if err != nil {
		return nil, "", err
	}
	sort.Strings(paths)
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, p := range paths {
		if err := addToTar(tw, root, p); err != nil {
			return nil, "", err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, "", err
	}
	sum := sha256.Sum256(buf.Bytes())
	return buf.Bytes(), hex.EncodeToString(sum[:]), nil
}

func addToTar(tw *tar.Writer, root, p string) error {
	name, err := filepath.Rel(filepath.Dir(root), p)
	if err != nil {
		return err
	}
	fi, err := os.Lstat(p)
	if err != nil {
		return err
	}
	link := ""
	if fi.Mode()&fs.ModeSymlink != 0 {
		if link, fi, err = resolveLink(root, p); err != nil {
			return err
		}
	}
	hdr, err := tar.FileInfoHeader(fi, link)
	if err != nil {
		return err
	}
	hdr.Name = filepath.ToSlash(name)
	if fi.IsDir() {
		hdr.Name += "/"
	}
	if err := tw.WriteHeader(hdr); err != nil {
		return err
	}
	if !fi.Mode().IsRegular() {
		return nil
	}
	f, err := os.Open(p)
	if err != nil {
		return err
	}
	defer f.Close()
	_, err = io.Copy(tw, f)
	return err
}

// resolveLink returns a relative link target for a symlink into root, or
// the target's own file info (archived as a plain file) for one outside.
func resolveLink(root, p string) (string, fs.FileInfo, error) {
	target, err := filepath.EvalSymlinks(p)
	if err != nil {
		return "", nil, fmt.Errorf("symlink %s: %w", p, err)
	}
	realRoot, _ := filepath.EvalSymlinks(root)
	if rel, err := filepath.Rel(realRoot, target); err == nil && !strings.HasPrefix(rel, "..") {
		linkRel, err := filepath.Rel(filepath.Dir(p), filepath.Join(root, rel))
		if err != nil {
			return "", nil, err
		}
		fi, err := os.Lstat(p)
		return filepath.ToSlash(linkRel), fi, err
	}
	fi, err := os.Stat(target)
	return "", fi, err
}

// loadIgnore reads .gitignore and .dstackignore at a directory root and
// returns a matcher of relative paths (glob patterns on the path or its
// base name; a trailing "/" matches directories only; "!" is not supported).
func loadIgnore(root string) func(rel string, dir bool) bool {
	var patterns []string
	for _, f := range []string{".gitignore", ".dstackignore"} {
		data, err := os.ReadFile(filepath.Join(root, f))
		if err != nil {
			continue
		}
		for _, line := range strings.Split(string(data), "\n") {
			line = strings.TrimSpace(line)
			if line != "" && !strings.HasPrefix(line, "#") && !strings.HasPrefix(line, "!") {
				patterns = append(patterns, line)
			}
		}
	}
	return func(rel string, dir bool) bool {
		rel = filepath.ToSlash(rel)
		for _, pat := range patterns {
			dirOnly := strings.HasSuffix(pat, "/")
			pat = strings.Trim(strings.TrimSuffix(pat, "/"), "/")
			if dirOnly && !dir {
				continue
			}
			if ok, _ := filepath.Match(pat, rel); ok {
				return true
			}
			if ok, _ := filepath.Match(pat, filepath.Base(rel)); ok && !strings.Contains(pat, "/") {
				return true
			}
		}
		return false
	}
}
