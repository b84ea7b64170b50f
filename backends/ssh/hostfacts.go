package ssh

import (
	"bufio"
	"bytes"
	"fmt"
	"path"
	"strings"
)

// Mode is how the shim runs on a host.
type Mode string

// Modes of Deploy.
const (
	// ModeAuto picks ModeSystemd when the user is root or has passwordless
	// sudo and systemd runs, ModeUser otherwise.
	ModeAuto Mode = ""
	// ModeSystemd installs the dstack-shim.service unit (runs as root).
	ModeSystemd Mode = "systemd"
	// ModeUser runs the shim as the SSH user from ~/.dstack, detached under
	// a restarting supervisor shell with a pid file.
	ModeUser Mode = "user"
)

// probeScript prints the facts Deploy needs, one key=value per line.
const probeScript = `echo "os=$(uname -s)"
echo "machine=$(uname -m)"
echo "home=$HOME"
echo "uid=$(id -u)"
if [ "$(id -u)" = 0 ]; then p=root
elif command -v sudo >/dev/null 2>&1 && sudo -n true >/dev/null 2>&1; then p=sudo
else p=none; fi
echo "priv=$p"
s=none
if [ -d /run/systemd/system ] && command -v systemctl >/dev/null 2>&1; then
  s=$(systemctl is-system-running 2>/dev/null || true); s=${s:-unknown}
fi
echo "systemd=$s"
for t in setsid sha256sum; do
  if command -v $t >/dev/null 2>&1; then echo "$t=yes"; else echo "$t=no"; fi
done`

// hostFacts are parsed from probeScript's output.
type hostFacts struct {
	OS, Machine, Home, UID string
	Priv                   string // root, sudo or none
	Systemd                string // is-system-running state, or none
	Setsid, Sha256sum      bool
}

// parseFacts parses probeScript's output.
func parseFacts(out []byte) (hostFacts, error) {
	var f hostFacts
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), "=")
		if !ok {
			continue
		}
		v = strings.TrimSpace(v)
		switch k {
		case "os":
			f.OS = v
		case "machine":
			f.Machine = v
		case "home":
			f.Home = v
		case "uid":
			f.UID = v
		case "priv":
			f.Priv = v
		case "systemd":
			f.Systemd = v
		case "setsid":
			f.Setsid = v == "yes"
		case "sha256sum":
			f.Sha256sum = v == "yes"
		}
	}
	switch {
	case f.OS == "" || f.Machine == "" || f.Priv == "":
		return f, fmt.Errorf("unexpected output of the host probe: %q", abbreviate(string(out)))
	case !path.IsAbs(f.Home):
		return f, fmt.Errorf("the SSH user has no home directory ($HOME=%q)", f.Home)
	}
	return f, nil
}

// systemdUsable reports whether systemd manages the host and we may use it.
func (f hostFacts) systemdUsable() bool {
	return (f.Priv == "root" || f.Priv == "sudo") && f.Systemd != "none" && f.Systemd != "offline" && f.Systemd != "unknown"
}

// chooseMode resolves ModeAuto and checks a forced mode.
func chooseMode(want Mode, f hostFacts) (Mode, error) {
	switch want {
	case ModeAuto:
		if f.systemdUsable() {
			return ModeSystemd, nil
		}
		return ModeUser, nil
	case ModeSystemd:
		if !f.systemdUsable() {
			return "", &Error{Kind: KindUnsupportedHost, Msg: fmt.Sprintf(
				"cannot install the systemd unit: the user must be root or have passwordless sudo (has: %s) "+
					"and systemd must be running (state: %s)", f.Priv, f.Systemd)}
		}
		return ModeSystemd, nil
	case ModeUser:
		return ModeUser, nil
	}
	return "", fmt.Errorf("unknown deploy mode %q", want)
}

// layout is where the shim's files live on a host.
type layout struct {
	Mode    Mode
	Home    string // DSTACK_SHIM_HOME; host_info.json is here
	Binary  string
	EnvFile string
	LogFile string // ModeUser only (systemd logs to the journal)
	PidFile string // ModeUser only: pid of the supervisor (its process group)
	Sudo    bool   // file writes and commands go through sudo -n
}

// Fixed paths of ModeSystemd (the binary path is upstream's dstack-shim).
const (
	systemdHome   = "/root/.dstack"
	systemdBinary = "/usr/local/bin/dstack-shim"
)

// newLayout returns the paths for mode on a host with facts f.
func newLayout(mode Mode, f hostFacts) layout {
	if mode == ModeSystemd {
		return layout{Mode: mode, Home: systemdHome, Binary: systemdBinary,
			EnvFile: systemdHome + "/shim.env", Sudo: f.Priv == "sudo"}
	}
	home := path.Join(f.Home, ".dstack")
	return layout{Mode: ModeUser, Home: home, Binary: path.Join(home, "bin", "dstack"),
		EnvFile: path.Join(home, "shim.env"), LogFile: path.Join(home, "shim.log"), PidFile: path.Join(home, "shim.pid")}
}

// userLayout is the ModeUser layout on the same host.
func userLayout(f hostFacts) layout { return newLayout(ModeUser, f) }
