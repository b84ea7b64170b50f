package ssh

import (
	"bytes"
	"context"
	"fmt"
	"path"
)

// Undeploy stops the shim on the host behind conn and removes what Deploy
// installed: the systemd unit (when the user may use sudo), the user-level
// supervisor, the binary, shim.env and host_info.json, and the
// authorized_keys entries tagged AuthorizedKeysMarker. Shim logs and task
// directories stay. Removing what is already gone is not an error.
func Undeploy(ctx context.Context, conn *Conn) error {
	d := &deployer{conn: conn, log: conn.log.With("component", "ssh-deploy")}
	if err := d.probe(ctx); err != nil {
		return err
	}
	if d.facts.Priv == "root" || d.facts.Priv == "sudo" {
		lay := newLayout(ModeSystemd, d.facts)
		if _, err := d.sh(ctx, systemdRemoveScript(lay), true); err != nil {
			return fmt.Errorf("remove systemd unit: %w", err)
		}
	}
	if _, err := d.sh(ctx, userRemoveScript(userLayout(d.facts)), false); err != nil {
		return fmt.Errorf("stop user-level shim: %w", err)
	}
	file := path.Join(d.facts.Home, ".ssh", "authorized_keys")
	existing, ok, err := d.readFile(ctx, file, false)
	if err != nil {
		return fmt.Errorf("read authorized_keys: %w", err)
	}
	kept, removed := StripAuthorizedKeys(existing)
	if !ok || removed == 0 {
		return nil
	}
	if err := conn.Upload(ctx, file, 0o600, bytes.NewReader(kept)); err != nil {
		return fmt.Errorf("rewrite authorized_keys: %w", err)
	}
	d.log.Info("shim undeployed", "authorized_keys_removed", removed)
	return nil
}
