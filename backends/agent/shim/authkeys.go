package shim

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"

	"golang.org/x/crypto/ssh"
)

// hostKeyMarker is the comment of the authorized_keys lines the shim adds
// for tasks; it never touches a line without it (the fleet's own key, the
// user's keys).
const hostKeyMarker = "dstack-task-key"

// hostKeys adds tasks' keys to host users' ~/.ssh/authorized_keys, so that
// the CLI can reach the host as host_ssh_user, and removes them when the
// tasks end. Two tasks may bring the same key (two runs of one user): a key
// is counted per task, in a state file of the shim, and its line goes when
// the last task that needs it ends. A key that was in the file before any
// task (without the marker) is never removed.
type hostKeys struct {
	mu     sync.Mutex
	state  string // JSON: user → fingerprint → ids of the tasks that need it
	lookup func(name string) (*user.User, error)
}

type hostKeyRefs map[string]map[string][]string

// parseHostKeys checks a task's keys: each a bare public key on one line.
func parseHostKeys(keys []string) ([]ssh.PublicKey, error) {
	out := make([]ssh.PublicKey, 0, len(keys))
	for i, k := range keys {
		k = strings.TrimSpace(k)
		if strings.ContainsAny(k, "\r\n") {
			return nil, fmt.Errorf("%w: host_ssh_keys[%d] spans several lines; send one key per entry", errBadRequest, i)
		}
		pk, _, options, rest, err := ssh.ParseAuthorizedKey([]byte(k))
		if err != nil {
			return nil, fmt.Errorf("%w: host_ssh_keys[%d] is not a public key in authorized_keys format: %v", errBadRequest, i, err)
		}
		if len(options) > 0 || len(rest) > 0 {
			return nil, fmt.Errorf("%w: host_ssh_keys[%d] must be a bare key, without authorized_keys options", errBadRequest, i)
		}
		out = append(out, pk)
	}
	return out, nil
}

// add makes the keys valid logins of userName for the task.
func (h *hostKeys) add(userName, task string, keys []ssh.PublicKey) error {
	if len(keys) == 0 || userName == "" {
		return nil
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	refs, err := h.load()
	if err != nil {
		return err
	}
	if refs[userName] == nil {
		refs[userName] = map[string][]string{}
	}
	err = editAuthorizedKeys(h.lookup, userName, func(lines []string) []string {
		present := map[string]bool{}
		for _, l := range lines {
			if pk, _, _, _, err := ssh.ParseAuthorizedKey([]byte(l)); err == nil {
				present[ssh.FingerprintSHA256(pk)] = true
			}
		}
		for _, k := range keys {
			fp := ssh.FingerprintSHA256(k)
			if !slices.Contains(refs[userName][fp], task) {
				refs[userName][fp] = append(refs[userName][fp], task)
			}
			if !present[fp] {
				lines = append(lines, strings.TrimSpace(string(ssh.MarshalAuthorizedKey(k)))+" "+hostKeyMarker)
				present[fp] = true
			}
		}
		return lines
	})
	if err != nil {
		return err
	}
	return h.save(refs)
}

// release drops the task's claim on its keys; marked lines no task needs
// any more are removed.
func (h *hostKeys) release(task string) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	refs, err := h.load()
	if err != nil {
		return err
	}
	var errs []error
	for userName, byKey := range refs {
		drop := map[string]bool{}
		for fp, tasks := range byKey {
			if i := slices.Index(tasks, task); i >= 0 {
				tasks = slices.Delete(tasks, i, i+1)
				byKey[fp] = tasks
				if len(tasks) == 0 {
					drop[fp] = true
					delete(byKey, fp)
				}
			}
		}
		if len(byKey) == 0 {
			delete(refs, userName)
		}
		if len(drop) == 0 {
			continue
		}
		errs = append(errs, editAuthorizedKeys(h.lookup, userName, func(lines []string) []string {
			return slices.DeleteFunc(lines, func(l string) bool {
				pk, comment, _, _, err := ssh.ParseAuthorizedKey([]byte(l))
				return err == nil && comment == hostKeyMarker && drop[ssh.FingerprintSHA256(pk)]
			})
		}))
	}
	return errors.Join(append(errs, h.save(refs))...)
}

func (h *hostKeys) load() (hostKeyRefs, error) {
	refs := hostKeyRefs{}
	data, err := os.ReadFile(h.state)
	if errors.Is(err, os.ErrNotExist) {
		return refs, nil
	} else if err != nil {
		return nil, fmt.Errorf("read %s: %w", h.state, err)
	}
	if err := json.Unmarshal(data, &refs); err != nil {
		return nil, fmt.Errorf("read %s: %w", h.state, err)
	}
	return refs, nil
}

func (h *hostKeys) save(refs hostKeyRefs) error {
	data, err := json.Marshal(refs)
	if err != nil {
		return err
	}
	return writeAtomic(h.state, data, 0o600, -1, -1)
}

// editAuthorizedKeys rewrites a user's authorized_keys with edit applied to
// its lines, creating ~/.ssh when needed; the file keeps its owner.
func editAuthorizedKeys(lookup func(string) (*user.User, error), userName string, edit func([]string) []string) error {
	u, err := lookup(userName)
	if err != nil {
		return fmt.Errorf("lookup user %q: %w", userName, err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	dir := filepath.Join(u.HomeDir, ".ssh")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("create %s: %w", dir, err)
	}
	_ = os.Chown(dir, uid, gid)
	p := filepath.Join(dir, "authorized_keys")
	data, err := os.ReadFile(p)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("read %s: %w", p, err)
	}
	var lines []string
	if text := strings.TrimRight(string(data), "\n"); text != "" {
		lines = strings.Split(text, "\n")
	}
	out := strings.Join(edit(lines), "\n")
	if out != "" {
		out += "\n"
	}
	return writeAtomic(p, []byte(out), 0o600, uid, gid)
}

// writeAtomic replaces p with data through a temporary file in its
// directory, so that sshd never reads half a file; uid -1 keeps the owner
// of the writer.
func writeAtomic(p string, data []byte, mode os.FileMode, uid, gid int) error {
	f, err := os.CreateTemp(filepath.Dir(p), "."+filepath.Base(p)+".tmp-*")
	if err != nil {
		return fmt.Errorf("write %s: %w", p, err)
	}
	tmp := f.Name()
	_, err = f.Write(data)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(tmp, mode)
	}
	if err == nil && uid >= 0 {
		_ = os.Chown(tmp, uid, gid)
	}
	if err == nil {
		err = os.Rename(tmp, p)
	}
	if err != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("write %s: %w", p, err)
	}
	return nil
}
