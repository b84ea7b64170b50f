package ssh

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"strings"
	"time"

	"github.com/pkg/sftp"
)

const (
	sftpUnknown int32 = iota
	sftpAvailable
	sftpUnavailable
)

// Upload writes r to the remote file p with mode, atomically: the data goes
// to a temporary file next to p that is then renamed over p (so a running
// executable can be replaced). Missing parent directories are created. A
// relative p is relative to the user's home. It uses SFTP when the host
// serves it, else `cat > file` over a session.
//
// An upload that fails or is cancelled removes its temporary file (when the
// connection still works), so that no partial copies pile up on the host.
func (c *Conn) Upload(ctx context.Context, p string, mode os.FileMode, r io.Reader) error {
	tmp := tempName(p)
	err := c.upload(ctx, p, tmp, mode, r)
	if err != nil {
		c.removeTemp(ctx, tmp)
	}
	return err
}

func (c *Conn) upload(ctx context.Context, p, tmp string, mode os.FileMode, r io.Reader) error {
	if c.sftpState.Load() != sftpUnavailable {
		err := c.uploadSFTP(ctx, p, tmp, mode, r)
		if !errors.Is(err, errNoSFTP) {
			return err
		}
		c.sftpState.Store(sftpUnavailable)
		c.log.Debug("SFTP unavailable, uploading with cat", "err", err)
	}
	return c.uploadCat(ctx, p, tmp, mode, r)
}

// removeTemp deletes a failed upload's temporary file, within a few
// seconds of its own (ctx may be what was cancelled).
func (c *Conn) removeTemp(ctx context.Context, tmp string) {
	if c.isClosed() {
		return
	}
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if _, _, err := c.Run(rctx, "rm -f "+shellQuote(tmp), nil); err != nil {
		c.log.Warn("cannot remove the temporary file of a failed upload", "file", tmp, "err", err)
	}
}

// errNoSFTP marks a host without an SFTP subsystem (nothing was read yet).
var errNoSFTP = errors.New("sftp subsystem unavailable")

func (c *Conn) uploadSFTP(ctx context.Context, p, tmp string, mode os.FileMode, r io.Reader) error {
	release, err := c.acquire(ctx)
	if err != nil {
		return err
	}
	defer release()
	sess, err := c.newSession(ctx)
	if err != nil {
		return err
	}
	defer sess.Close()
	pw, err := sess.StdinPipe()
	if err != nil {
		return fmt.Errorf("start SFTP: %w", err)
	}
	pr, err := sess.StdoutPipe()
	if err != nil {
		return fmt.Errorf("start SFTP: %w", err)
	}
	if err := sess.RequestSubsystem("sftp"); err != nil {
		if c.isClosed() {
			return lostConnection(c.target, "start SFTP", err)
		}
		return fmt.Errorf("%w: %v", errNoSFTP, err)
	}
	cl, err := sftp.NewClientPipe(pr, pw, sftp.UseConcurrentWrites(true))
	if err != nil {
		return fmt.Errorf("start SFTP: %w", err)
	}
	c.sftpState.Store(sftpAvailable)
	defer cl.Close()
	stop := context.AfterFunc(ctx, func() { _ = cl.Close() })
	defer stop()
	err = sftpPut(cl, p, tmp, mode, r)
	if ctx.Err() != nil {
		return fmt.Errorf("upload %s: %w", p, ctx.Err())
	}
	if err != nil && c.isClosed() {
		return lostConnection(c.target, "upload "+p, err)
	}
	return err
}

func sftpPut(cl *sftp.Client, p, tmp string, mode os.FileMode, r io.Reader) error {
	if dir := path.Dir(p); dir != "." && dir != "/" {
		if err := cl.MkdirAll(dir); err != nil {
			return fmt.Errorf("create directory %s: %w", dir, err)
		}
	}
	f, err := cl.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC)
	if err != nil {
		return fmt.Errorf("create %s: %w", tmp, err)
	}
	ok := false
	defer func() {
		if !ok {
			_ = cl.Remove(tmp)
		}
	}()
	if _, err := f.ReadFrom(r); err != nil {
		_ = f.Close()
		return fmt.Errorf("write %s: %w", tmp, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("close %s: %w", tmp, err)
	}
	if err := cl.Chmod(tmp, mode.Perm()); err != nil {
		return fmt.Errorf("chmod %s: %w", tmp, err)
	}
	if err := cl.PosixRename(tmp, p); err != nil {
		_ = cl.Remove(p) // servers without posix-rename refuse to replace
		if err2 := cl.Rename(tmp, p); err2 != nil {
			return fmt.Errorf("rename %s to %s: %w", tmp, p, errors.Join(err, err2))
		}
	}
	ok = true
	return nil
}

func (c *Conn) uploadCat(ctx context.Context, p, tmp string, mode os.FileMode, r io.Reader) error {
	script := fmt.Sprintf("set -e; umask 077; mkdir -p %s; trap 'rm -f %s' EXIT; cat > %s; chmod %o %s; mv -f %s %s; trap - EXIT",
		shellQuote(path.Dir(p)), shellQuote(tmp), shellQuote(tmp), mode.Perm(), shellQuote(tmp), shellQuote(tmp), shellQuote(p))
	if _, _, err := c.Run(ctx, "sh -c "+shellQuote(script), r); err != nil {
		return fmt.Errorf("upload %s: %w", p, err)
	}
	return nil
}

// tempName is a unique sibling of p.
func tempName(p string) string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return p + ".dstack-tmp-" + hex.EncodeToString(b[:])
}

// shellQuote quotes s for POSIX sh.
func shellQuote(s string) string {
	if s != "" && strings.IndexFunc(s, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("/._-=:,+@%", r))
	}) < 0 {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
