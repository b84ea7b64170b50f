package ssh

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path"
	"strings"
)

// sh runs script with POSIX sh (whatever the login shell), through sudo -n
// when priv is set and the user is not root. It returns stdout.
func (d *deployer) sh(ctx context.Context, script string, priv bool) ([]byte, error) {
	return d.shIn(ctx, script, priv, nil)
}

func (d *deployer) shIn(ctx context.Context, script string, priv bool, stdin io.Reader) ([]byte, error) {
	cmd := "sh -c " + shellQuote(script)
	if priv && d.facts.Priv == "sudo" {
		cmd = "sudo -n " + cmd
	}
	out, _, err := d.conn.Run(ctx, cmd, stdin)
	return out, err
}

// readFile returns the content of a remote regular file; ok is false when
// it does not exist.
func (d *deployer) readFile(ctx context.Context, p string, priv bool) (content []byte, ok bool, err error) {
	q := shellQuote(p)
	out, err := d.sh(ctx, "if [ -f "+q+" ]; then printf 1; cat "+q+"; else printf 0; fi", priv)
	if err != nil {
		return nil, false, err
	}
	if len(out) == 0 {
		return nil, false, fmt.Errorf("read %s: no answer", p)
	}
	return out[1:], out[0] == '1', nil
}

// putFile writes a file: directly for root or files of the SSH user, via a
// staging file and sudo otherwise. In ModeSystemd the file is owned by root
// and relabelled for SELinux where restorecon exists.
func (d *deployer) putFile(ctx context.Context, lay layout, p string, mode os.FileMode, r io.Reader) error {
	system := lay.Mode == ModeSystemd
	if !system || !lay.Sudo {
		if err := d.conn.Upload(ctx, p, mode, r); err != nil {
			return err
		}
		if system {
			_, err := d.sh(ctx, "command -v restorecon >/dev/null 2>&1 && restorecon "+shellQuote(p)+" || true", true)
			return err
		}
		return nil
	}
	stage := path.Join(d.facts.Home, ".dstack", "staging", path.Base(p))
	if err := d.conn.Upload(ctx, stage, 0o600, r); err != nil {
		return fmt.Errorf("stage %s: %w", p, err)
	}
	if _, err := d.sh(ctx, sudoInstallScript(stage, p, mode), true); err != nil {
		return fmt.Errorf("install %s with sudo: %w", p, err)
	}
	return nil
}

// putFileIfChanged writes content unless the file already holds it, and
// reports whether it wrote.
func (d *deployer) putFileIfChanged(ctx context.Context, lay layout, p string, mode os.FileMode, content []byte) (bool, error) {
	old, ok, err := d.readFile(ctx, p, lay.Sudo)
	if err != nil {
		return false, err
	}
	if ok && bytes.Equal(old, content) {
		return false, nil
	}
	return true, d.putFile(ctx, lay, p, mode, bytes.NewReader(content))
}

// installBinary uploads the binary unless the host has the same SHA-256.
func (d *deployer) installBinary(ctx context.Context, lay layout) (bool, error) {
	want := d.opts.Binary.SHA256()
	if d.facts.Sha256sum {
		out, err := d.sh(ctx, "sha256sum "+shellQuote(lay.Binary)+" 2>/dev/null | cut -d' ' -f1", lay.Sudo)
		if err != nil {
			return false, err
		}
		if strings.TrimSpace(string(out)) == want {
			d.log.Debug("binary up to date", "path", lay.Binary)
			return false, nil
		}
	}
	d.log.Info("uploading binary", "path", lay.Binary, "bytes", d.opts.Binary.Size())
	return true, d.putFile(ctx, lay, lay.Binary, 0o755, d.opts.Binary.reader())
}

// authorizeKeys appends the missing keys to ~/.ssh/authorized_keys.
func (d *deployer) authorizeKeys(ctx context.Context) error {
	if len(d.opts.AuthorizedKeys) == 0 {
		return nil
	}
	file := path.Join(d.facts.Home, ".ssh", "authorized_keys")
	existing, _, err := d.readFile(ctx, file, false)
	if err != nil {
		return err
	}
	add, err := MergeAuthorizedKeys(existing, d.opts.AuthorizedKeys)
	if err != nil || add == "" {
		return err
	}
	dir, f := shellQuote(path.Dir(file)), shellQuote(file)
	script := fmt.Sprintf("set -e; [ -d %s ] || { mkdir -p %s; chmod 700 %s; }; [ -e %s ] || { touch %s; chmod 600 %s; }; cat >> %s",
		dir, dir, dir, f, f, f, f)
	_, err = d.shIn(ctx, script, false, strings.NewReader(add))
	return err
}

// startSystemd installs the unit and (re)starts it when something changed
// or it is not active. It stops a user-level shim left by an earlier deploy.
func (d *deployer) startSystemd(ctx context.Context, lay layout, changed bool) (bool, error) {
	if _, err := d.sh(ctx, userStopScript(userLayout(d.facts)), false); err != nil {
		d.log.Warn("stopping a user-level shim failed", "err", err)
	}
	unit := RenderUnit(Unit{BinaryPath: lay.Binary, EnvFile: lay.EnvFile, WorkDir: lay.Home})
	unitChanged, err := d.putFileIfChanged(ctx, lay, UnitPath, 0o644, unit)
	if err != nil {
		return false, fmt.Errorf("install unit: %w", err)
	}
	out, err := d.sh(ctx, systemdStartScript(lay, changed || unitChanged, unitChanged), true)
	if err != nil {
		return false, err
	}
	return strings.Contains(string(out), "started"), nil
}

// startUser starts the detached user-level shim when it is not running,
// after stopping it first when something changed.
func (d *deployer) startUser(ctx context.Context, lay layout, changed bool) (bool, error) {
	if !d.facts.Setsid {
		return false, &Error{Kind: KindUnsupportedHost,
			Msg: fmt.Sprintf("host %s has no setsid (install util-linux)", d.conn.target.Addr())}
	}
	out, err := d.sh(ctx, userStartScript(lay, changed), false)
	if err != nil {
		return false, err
	}
	return strings.Contains(string(out), "started"), nil
}
