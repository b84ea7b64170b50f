package ssh

import (
	"bytes"
	"fmt"
	"regexp"
	"sort"
	"strings"
	"sync"

	"golang.org/x/crypto/ssh"
)

// AuthorizedKeysMarker ends every authorized_keys entry that Deploy adds
// (upstream's marker); Undeploy removes exactly the entries ending with it.
const AuthorizedKeysMarker = "# added by dstack"

// MergeAuthorizedKeys returns what to append to an authorized_keys file
// with content existing so that every key in keys is authorized: one line
// "type base64 [comment] # added by dstack" per key whose base64 blob is not
// in the file yet (whoever added it), with a leading newline when existing
// does not end with one. Entries are rebuilt from the parsed keys, so nothing
// unvalidated reaches the file. An invalid key is an error.
func MergeAuthorizedKeys(existing []byte, keys []string) (string, error) {
	var b strings.Builder
	seen := map[string]bool{}
	for _, k := range keys {
		pub, comment, _, rest, err := ssh.ParseAuthorizedKey([]byte(k))
		if err != nil {
			return "", fmt.Errorf("invalid authorized key %q: %w", abbreviate(k), err)
		}
		if len(bytes.TrimSpace(rest)) > 0 {
			return "", fmt.Errorf("authorized key %q holds more than one key", abbreviate(k))
		}
		line := strings.TrimSpace(string(ssh.MarshalAuthorizedKey(pub)))
		blob := strings.Fields(line)[1]
		if seen[blob] || bytes.Contains(existing, []byte(blob)) {
			continue
		}
		seen[blob] = true
		if comment = strings.Join(strings.Fields(comment), " "); comment != "" {
			line += " " + comment
		}
		b.WriteString(line + " " + AuthorizedKeysMarker + "\n")
	}
	if b.Len() > 0 && len(existing) > 0 && existing[len(existing)-1] != '\n' {
		return "\n" + b.String(), nil
	}
	return b.String(), nil
}

// StripAuthorizedKeys removes the entries ending with AuthorizedKeysMarker
// (not "# added by dstack-shim" or any other suffix) and returns the rest
// verbatim with the number of removed lines.
func StripAuthorizedKeys(existing []byte) ([]byte, int) {
	var out bytes.Buffer
	removed := 0
	for _, line := range bytes.SplitAfter(existing, []byte("\n")) {
		t := strings.TrimRight(string(line), " \t\r\n")
		if strings.HasSuffix(t, " "+AuthorizedKeysMarker) || strings.HasSuffix(t, "\t"+AuthorizedKeysMarker) {
			removed++
			continue
		}
		out.Write(line)
	}
	return out.Bytes(), removed
}

var envNameRe = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`) })

// RenderEnvFile renders the shim's environment file: sorted KEY="value"
// lines that mean the same to systemd's EnvironmentFile= and to POSIX sh
// (`set -a; . file`): inside double quotes both treat \\, \", \$ and \` as
// escapes. Names must be shell identifiers; values must be single-line.
func RenderEnvFile(env map[string]string) ([]byte, error) {
	names := make([]string, 0, len(env))
	for k := range env {
		names = append(names, k)
	}
	sort.Strings(names)
	var b bytes.Buffer
	b.WriteString("# Written by dstack on deploy; changes are overwritten by the next deploy.\n")
	for _, k := range names {
		v := env[k]
		if !envNameRe().MatchString(k) {
			return nil, fmt.Errorf("invalid environment variable name %q", k)
		}
		if strings.ContainsAny(v, "\n\r\x00") {
			return nil, fmt.Errorf("environment variable %s: value must be a single line", k)
		}
		r := strings.NewReplacer(`\`, `\\`, `"`, `\"`, `$`, `\$`, "`", "\\`")
		fmt.Fprintf(&b, "%s=\"%s\"\n", k, r.Replace(v))
	}
	return b.Bytes(), nil
}

// Unit describes the systemd unit of the shim.
type Unit struct {
	BinaryPath string // ExecStart binary, run as `<binary> shim`
	EnvFile    string // EnvironmentFile=
	WorkDir    string // WorkingDirectory= (the shim home)
}

// UnitName is the systemd unit installed on hosts (upstream's name).
const UnitName = "dstack-shim.service"

// UnitPath is where the unit file is installed.
const UnitPath = "/etc/systemd/system/" + UnitName

// RenderUnit renders the systemd unit file: root, Restart=always,
// RestartSec=3, the environment file and the working directory.
func RenderUnit(u Unit) []byte {
	return []byte(fmt.Sprintf(`# Written by dstack on deploy; changes are overwritten by the next deploy.
[Unit]
Description=dstack-shim
Wants=network-online.target
After=network-online.target docker.service

[Service]
Type=simple
User=root
Restart=always
RestartSec=3
WorkingDirectory=%s
EnvironmentFile=%s
ExecStart=%s shim

[Install]
WantedBy=multi-user.target
`, u.WorkDir, u.EnvFile, u.BinaryPath))
}
