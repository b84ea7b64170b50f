package ssh

import (
	"fmt"
	"strings"

	"gopkg.in/yaml.v3"
)

// UserDataOptions configure CloudConfig.
type UserDataOptions struct {
	// DownloadURL serves this server's binary; the script appends
	// "?os=linux&arch=amd64|arm64".
	DownloadURL string
	// Token authenticates the download (Authorization: Bearer).
	Token string
	// AuthorizedKeys are added for the image's default user.
	AuthorizedKeys []string
	// Env is added to shim.env (over upstream's defaults).
	Env map[string]string
}

// CloudConfig is the user data that turns a fresh cloud VM into a host
// like a deployed SSH fleet host in systemd mode, without the internet:
// cloud-init authorizes the keys for the default user, then, as root, the
// script downloads this server's own binary for the VM's architecture (curl
// or wget, retried for five minutes), installs it as the shim in the
// systemd layout (so a later SSH deploy finds it in place), writes
// shim.env, and starts the shim: with systemd as the dstack-shim unit,
// else under a restarting nohup loop.
func CloudConfig(o UserDataOptions) (string, error) {
	lay := layout{Mode: ModeSystemd, Home: systemdHome, Binary: systemdBinary, EnvFile: systemdHome + "/shim.env"}
	env := shimEnv(lay, DeployOptions{Env: o.Env, ShimPort: DefaultShimPort})
	envFile, err := RenderEnvFile(env)
	if err != nil {
		return "", fmt.Errorf("render shim.env: %w", err)
	}
	unit := RenderUnit(Unit{BinaryPath: lay.Binary, EnvFile: lay.EnvFile, WorkDir: lay.Home})
	script := fmt.Sprintf(`set -e
case "$(uname -m)" in
  x86_64|amd64) arch=amd64 ;;
  aarch64|arm64) arch=arm64 ;;
  *) echo "dstack: unsupported architecture $(uname -m)" >&2; exit 1 ;;
esac
home=%[1]s
mkdir -p "$home" %[2]s
url=%[3]s"?os=linux&arch=$arch"
auth=%[4]s
tmp="%[5]s.download"
fetch() {
  if command -v curl >/dev/null 2>&1; then
    curl -fsS --connect-timeout 20 --max-time 600 -H "$auth" -o "$tmp" "$url"
  else
    wget -q -T 600 --header="$auth" -O "$tmp" "$url"
  fi
}
n=0
until fetch >>"$home/download.log" 2>&1; do
  n=$((n+1)); [ $n -lt 30 ] || { echo "dstack: cannot download the agent from $url" >&2; exit 1; }
  sleep 10
done
chmod 755 "$tmp"
mv -f "$tmp" %[5]s
cat > %[6]s <<'DSTACK_ENV'
%[7]sDSTACK_ENV
chmod 600 %[6]s
if [ -d /run/systemd/system ] && command -v systemctl >/dev/null 2>&1; then
  cat > %[8]s <<'DSTACK_UNIT'
%[9]sDSTACK_UNIT
  systemctl daemon-reload
  systemctl enable --now %[10]s
else
  cd "$home"
  nohup sh -c 'while :; do ( set -a; . %[6]s; set +a; exec %[5]s shim ); sleep 3; done' >>"$home/shim.log" 2>&1 </dev/null &
fi
`, shellQuote(lay.Home), shellQuote(dirOf(lay.Binary)), shellQuote(o.DownloadURL), shellQuote("Authorization: Bearer "+o.Token),
		shellQuote(lay.Binary), shellQuote(lay.EnvFile), envFile, UnitPath, unit, UnitName)
	keys := make([]string, 0, len(o.AuthorizedKeys))
	for _, k := range o.AuthorizedKeys {
		if k = strings.TrimSpace(k); k != "" {
			keys = append(keys, k)
		}
	}
	doc := map[string]any{"ssh_authorized_keys": keys, "runcmd": [][]string{{"sh", "-c", script}}}
	out, err := yaml.Marshal(doc)
	if err != nil {
		return "", err
	}
	return "#cloud-config\n" + string(out), nil
}

func dirOf(p string) string {
	if i := strings.LastIndex(p, "/"); i > 0 {
		return p[:i]
	}
	return "/"
}
