package shim

import (
	"errors"
	"fmt"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
)

// authorizedKeys adds and removes task keys in a host user's
// ~/.ssh/authorized_keys, so that the CLI can reach the host as host_ssh_user.
type authorizedKeys struct {
	user string
}

func (a authorizedKeys) path() (string, *user.User, error) {
	u, err := user.Lookup(a.user)
	if err != nil {
		return "", nil, fmt.Errorf("lookup user %q: %w", a.user, err)
	}
	return filepath.Join(u.HomeDir, ".ssh", "authorized_keys"), u, nil
}

// add appends the keys that are not present yet.
func (a authorizedKeys) add(keys []string) error {
	if len(keys) == 0 || a.user == "" {
		return nil
	}
	p, u, err := a.path()
	if err != nil {
		return err
	}
	lines, err := readLines(p)
	if err != nil {
		return err
	}
	present := map[string]bool{}
	for _, l := range lines {
		present[strings.TrimSpace(l)] = true
	}
	for _, k := range keys {
		if k = strings.TrimSpace(k); k != "" && !present[k] {
			lines = append(lines, k)
			present[k] = true
		}
	}
	if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
		return fmt.Errorf("create ssh dir: %w", err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	_ = os.Chown(filepath.Dir(p), uid, gid)
	return writeLines(p, lines, uid, gid)
}

// remove deletes the keys again.
func (a authorizedKeys) remove(keys []string) error {
	if len(keys) == 0 || a.user == "" {
		return nil
	}
	p, u, err := a.path()
	if err != nil {
		return err
	}
	lines, err := readLines(p)
	if err != nil {
		return err
	}
	drop := map[string]bool{}
	for _, k := range keys {
		drop[strings.TrimSpace(k)] = true
	}
	kept := lines[:0]
	for _, l := range lines {
		if !drop[strings.TrimSpace(l)] {
			kept = append(kept, l)
		}
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	return writeLines(p, kept, uid, gid)
}

func readLines(p string) ([]string, error) {
	data, err := os.ReadFile(p)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", p, err)
	}
	return strings.Split(strings.TrimRight(string(data), "\n"), "\n"), nil
}

func writeLines(p string, lines []string, uid, gid int) error {
	data := strings.Join(lines, "\n")
	if data != "" {
		data += "\n"
	}
	if err := os.WriteFile(p, []byte(data), 0o600); err != nil {
		return fmt.Errorf("write %s: %w", p, err)
	}
	_ = os.Chown(p, uid, gid)
	return nil
}
