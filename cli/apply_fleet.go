package cli

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/urfave/cli/v2"
	"golang.org/x/crypto/ssh"

	"github.com/dstackgo/dstack/server/schemas"
)

// fleetPollInterval is how often a provisioning fleet is polled (upstream: 2 s).
const fleetPollInterval = 2 * time.Second

// applyFleet plans, confirms and applies a fleet configuration, then
// follows its provisioning unless -d.
func applyFleet(c *cli.Context, cn *conn, conf *schemas.FleetConfiguration, path string, profile *schemas.Profile) error {
	if err := embedSSHKeys(conf); err != nil {
		return err
	}
	spec := schemas.FleetSpec{Configuration: *conf, ConfigurationPath: &path, Profile: *profile}
	out, scr := c.App.Writer, screenOf(c.App.Writer)
	plan, err := cn.GetFleetPlan(c.Context, cn.Project, spec)
	if err != nil {
		return err
	}
	if err := printFleetPlan(out, scr.width, plan); err != nil {
		return err
	}
	recreate, question, proceed := fleetAction(c, plan, spec)
	if !proceed {
		return nil
	}
	if !c.Bool("yes") && !confirm(c, question) {
		fmt.Fprintln(out, "Exiting...")
		return nil
	}
	if recreate {
		name := plan.CurrentResource.Name
		fmt.Fprintf(c.App.ErrWriter, "Deleting the existing fleet %s...\n", name)
		if err := cn.DeleteFleets(c.Context, cn.Project, []string{name}); err != nil {
			return err
		}
		if err := waitFleetGone(c.Context, cn, name); err != nil {
			return err
		}
	}
	fleet, err := cn.ApplyFleetPlan(c.Context, cn.Project, schemas.ApplyFleetPlanRequest{
		Plan:  schemas.ApplyFleetPlanInput{Spec: spec, CurrentResource: plan.CurrentResource},
		Force: c.Bool("force"),
	})
	if err != nil {
		return err
	}
	if c.Bool("detach") {
		fmt.Fprintf(out, "Fleet %s submitted, detaching...\n", fleet.Name)
		return nil
	}
	return followFleet(c, cn, fleet)
}

// fleetAction prints what applying will do and returns the question to
// ask; proceed is false when there is nothing to do (-y without --force
// and no changes).
func fleetAction(c *cli.Context, plan *schemas.FleetPlan, spec schemas.FleetSpec) (recreate bool, question string, proceed bool) {
	out, cur := c.App.Writer, plan.CurrentResource
	name := "the fleet"
	if spec.Configuration.Name != nil {
		name = *spec.Configuration.Name
	}
	switch {
	case cur == nil:
		if spec.Configuration.Name != nil {
			fmt.Fprintf(out, "Fleet %s does not exist yet.\n", name)
		}
		return false, "Create the fleet?", true
	case sameFleetSpec(cur.Spec, spec):
		if c.Bool("yes") && !c.Bool("force") {
			fmt.Fprintf(out, "Found fleet %s. No configuration changes detected. Use --force to apply anyway.\n", name)
			return false, "", false
		}
		fmt.Fprintf(out, "Found fleet %s. No configuration changes detected.\n", name)
		return true, "Re-create the fleet?", true
	case plan.Action == "update":
		fmt.Fprintf(out, "Found fleet %s. Configuration changes detected that can be applied in place.\n", name)
		return false, "Update the fleet in-place?", true
	}
	fmt.Fprintf(out, "Found fleet %s. Configuration changes detected that cannot be applied in place.\n", name)
	return true, "Re-create the fleet?", true
}

// sameFleetSpec compares specs as the server shows them (without SSH keys).
func sameFleetSpec(a, b schemas.FleetSpec) bool {
	a.Configuration, b.Configuration = a.Configuration.WithoutSSHKeys(), b.Configuration.WithoutSSHKeys()
	ja, errA := json.Marshal(a)
	jb, errB := json.Marshal(b)
	return errA == nil && errB == nil && bytes.Equal(ja, jb)
}

// followFleet polls the fleet until no instance is pending, provisioning or
// terminating; it fails (exit 1) when an instance ended up terminated.
func followFleet(c *cli.Context, cn *conn, fleet *schemas.Fleet) error {
	out := c.App.Writer
	p := newProgress(out)
	var err error
	for !fleetSettled(fleet) {
		p.show(fmt.Sprintf("Provisioning %s...", fleet.Name), fleetsGrid([]schemas.Fleet{*fleet}, cn.Project, false, time.Now()))
		if !p.wait(c.Context, fleetPollInterval) {
			p.clear()
			fmt.Fprintf(out, "Exiting... Provisioning of %s continues in the background (`dstack fleet` shows it).\n", fleet.Name)
			return nil
		}
		if fleet, err = cn.GetFleet(c.Context, cn.Project, fleet.Name); err != nil {
			return notFound(err, "fleet", fleet.Name)
		}
	}
	p.clear()
	failed := fleetFailed(fleet)
	if err := fleetsGrid([]schemas.Fleet{*fleet}, cn.Project, failed, time.Now()).render(out, p.scr.width); err != nil {
		return err
	}
	if failed {
		return &exitError{code: 1, err: fmt.Errorf("some instances of %s failed: see the table above", fleet.Name)}
	}
	return nil
}

func fleetSettled(f *schemas.Fleet) bool {
	for _, in := range f.Instances {
		switch in.Status {
		case schemas.InstancePending, schemas.InstanceProvisioning, schemas.InstanceTerminating:
			return false
		}
	}
	return true
}

func fleetFailed(f *schemas.Fleet) bool {
	for _, in := range f.Instances {
		if in.Status == schemas.InstanceTerminated {
			return true
		}
	}
	return false
}

// embedSSHKeys reads every identity_file of an SSH fleet and fills ssh_key
// {public, private}, as the official CLI does before sending the spec.
func embedSSHKeys(conf *schemas.FleetConfiguration) error {
	s := conf.SSHConfig
	if s == nil {
		return nil
	}
	var err error
	if s.SSHKey, err = readSSHKey(s.IdentityFile, s.SSHKey); err != nil {
		return err
	}
	if s.ProxyJump != nil {
		if s.ProxyJump.SSHKey, err = readSSHKey(&s.ProxyJump.IdentityFile, s.ProxyJump.SSHKey); err != nil {
			return err
		}
	}
	for _, h := range s.Hosts {
		if p := h.Params; p != nil {
			if p.SSHKey, err = readSSHKey(p.IdentityFile, p.SSHKey); err != nil {
				return err
			}
			if p.ProxyJump != nil {
				if p.ProxyJump.SSHKey, err = readSSHKey(&p.ProxyJump.IdentityFile, p.ProxyJump.SSHKey); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// readSSHKey loads a private key file and its public half (from FILE.pub,
// or derived from the private key); without a file it keeps have.
func readSSHKey(path *string, have *schemas.SSHKey) (*schemas.SSHKey, error) {
	if path == nil || *path == "" {
		return have, nil
	}
	p := *path
	if rest, ok := strings.CutPrefix(p, "~/"); ok {
		home, _ := os.UserHomeDir()
		p = filepath.Join(home, rest)
	}
	priv, err := os.ReadFile(p)
	if err != nil {
		return nil, fmt.Errorf("unable to read the SSH key at %s: %w", *path, err)
	}
	signer, err := ssh.ParsePrivateKey(priv)
	if err != nil {
		return nil, fmt.Errorf("unsupported or invalid SSH private key at %s (encrypted keys are not supported): %v", *path, err)
	}
	pub := strings.TrimSpace(string(ssh.MarshalAuthorizedKey(signer.PublicKey())))
	if b, err := os.ReadFile(p + ".pub"); err == nil {
		pub = strings.TrimSpace(string(b))
	}
	text := string(priv)
	return &schemas.SSHKey{Public: pub, Private: &text}, nil
}
