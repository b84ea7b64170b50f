package background

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"

	"golang.org/x/crypto/ssh"

	sshfleet "github.com/dstackgo/dstack/backends/ssh"
	"github.com/dstackgo/dstack/db"
	"github.com/dstackgo/dstack/server/schemas"
	"github.com/dstackgo/dstack/server/services"
)

// A machine is in one fleet at a time. The API refuses a host whose
// address a live instance has (a unique index settles concurrent applies);
// the same machine under another address (its IP and a name, two IPs) is
// recognized here by its SSH host key, pinned on the first connection, and
// the newer instance gives up before anything is deployed: deploying twice
// would book the machine's GPUs twice, and removing the second instance
// would undeploy the first one's shim.

// errSameMachine refuses an instance whose host is another live instance's.
type errSameMachine struct{ msg string }

func (e *errSameMachine) Error() string { return e.msg }

// claimHostKey records the fingerprint of the host key the connection to
// t was checked against, under the instance's lease, and returns the key
// (authorized_keys format); *errSameMachine when a live instance already
// has it.
func (p *Instances) claimHostKey(ctx context.Context, in *db.Instance, token string, t sshfleet.Target) (string, error) {
	key, ok, err := p.HostKeys.Get(sshfleet.HostKeyID(t.Addr()))
	if err != nil || !ok {
		return "", fmt.Errorf("read the pinned host key of %s: %v", t.Addr(), err)
	}
	pk, err := ssh.ParsePublicKey(key)
	if err != nil {
		return "", fmt.Errorf("parse the pinned host key of %s: %w", t.Addr(), err)
	}
	line := strings.TrimSpace(string(ssh.MarshalAuthorizedKey(pk)))
	fp := ssh.FingerprintSHA256(pk)
	if in.HostKey != nil && *in.HostKey == fp {
		return line, nil
	}
	err = db.SetInstanceHost(ctx, p.Env.DB, in.ID, token, "host_key", fp)
	if errors.Is(err, db.ErrConflict) {
		return "", p.sameMachine(ctx, fp, t)
	}
	if err != nil {
		return "", err
	}
	in.HostKey = &fp
	return line, nil
}

// sameMachine says which instance has the machine whose host key is fp.
func (p *Instances) sameMachine(ctx context.Context, fp string, t sshfleet.Target) error {
	where := "another live instance"
	if other, err := db.LiveInstanceWithHost(ctx, p.Env.DB, "host_key", fp); err == nil {
		where = "instance " + other.Name
		if other.FleetID != nil {
			if f, err := db.GetFleetByID(ctx, p.Env.DB, other.ProjectID, *other.FleetID); err == nil {
				where += " of fleet " + f.Name
			}
		}
		if pr, err := db.GetProjectByID(ctx, p.Env.DB, other.ProjectID); err == nil {
			where += " (project " + pr.Name + ")"
		}
	}
	return &errSameMachine{msg: fmt.Sprintf("%s is already %s: it presents the same SSH host key (%s). "+
		"A machine can be in one fleet only; if %s is another machine, give it its own host keys (ssh-keygen -A)",
		t.Addr(), where, fp, t.Addr())}
}

// forgetPin drops the pinned key of an instance's host once it leaves,
// unless another live instance reaches the same address.
func (p *Instances) forgetPin(ctx context.Context, log *slog.Logger, in *db.Instance, rh *services.RemoteHost) {
	fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), writeReserve)
	defer cancel()
	if err := p.HostKeys.Forget(fctx, rh.Hostname, rh.Port, rh.Address(), in.ID); err != nil {
		log.Warn("forget host key", "err", err)
	}
}

// fillHostAddress records the address of an instance stored before
// instances had one. A conflict (two live instances of one address, which
// earlier versions allowed) is logged and left for the user to resolve.
func (p *Instances) fillHostAddress(ctx context.Context, log *slog.Logger, in *db.Instance, token string, rh *services.RemoteHost) {
	if in.HostAddress != nil || in.Status == string(schemas.InstanceTerminated) {
		return
	}
	addr := rh.Address()
	switch err := db.SetInstanceHost(ctx, p.Env.DB, in.ID, token, "host_address", addr); {
	case err == nil:
		in.HostAddress = &addr
	case errors.Is(err, db.ErrConflict):
		log.Warn("another live instance has this host's address; delete one of them", "address", addr)
	default:
		log.Warn("record the host's address", "err", err)
	}
}
