package ssh

import (
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/ssh")

// golden compares got with testdata/ssh/name (rewriting it under -update).
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	p := filepath.Join("..", "..", "testdata", "ssh", name)
	if *update {
		require.NoError(t, os.WriteFile(p, got, 0o644))
	}
	want, err := os.ReadFile(p)
	require.NoError(t, err, "%v (run with -update to create it)", err)
	assert.Equal(t, string(got), string(want), "%s differs from the golden file (run with -update if intended):\n--- got\n%s\n--- want\n%s", name, got, want)
}

var testFacts = hostFacts{OS: "Linux", Machine: "x86_64", Home: "/home/ubuntu", UID: "1000", Priv: "sudo",
	Systemd: "running", Setsid: true, Sha256sum: true}

func TestRenderUnit(t *testing.T) {
	lay := newLayout(ModeSystemd, testFacts)
	golden(t, "dstack-shim.service", RenderUnit(Unit{BinaryPath: lay.Binary, EnvFile: lay.EnvFile, WorkDir: lay.Home}))
}

func TestRenderEnvFile(t *testing.T) {
	for _, mode := range []Mode{ModeSystemd, ModeUser} {
		env := shimEnv(newLayout(mode, testFacts), DeployOptions{ShimPort: DefaultShimPort, Env: map[string]string{
			"DSTACK_SHIM_EXECUTOR":  "process",
			"DSTACK_SHIM_LOG_LEVEL": "5",          // fleet env overrides defaults
			"DSTACK_SHIM_HOME":      "/elsewhere", // but not the home Deploy reads
			"DSTACK_SHIM_HTTP_PORT": "1",          // nor the port it checks
			"TRICKY":                "a \"b\" $c `d` \\e 'f' #g",
		}})
		out, err := RenderEnvFile(env)
		require.NoError(t, err)
		golden(t, "shim-"+string(mode)+".env", out)
		if mode == ModeUser { // sh reads it back as written
			p := filepath.Join(t.TempDir(), "shim.env")
			require.NoError(t, os.WriteFile(p, out, 0o600))
			got, err := exec.Command("sh", "-c", `set -a; . "$1"; printf %s "$TRICKY"`, "sh", p).Output()
			require.False(t, err != nil || string(got) != env["TRICKY"], "sh reads %q, %v", got, err)
		}
	}
	for _, bad := range []map[string]string{{"1X": "v"}, {"A-B": "v"}, {"": "v"}, {"X": "two\nlines"}, {"X": "nul\x00"}} {
		_, err := RenderEnvFile(bad)
		assert.Error(t, err, "RenderEnvFile(%q) accepted", bad)
	}
}

func TestScripts(t *testing.T) {
	user := newLayout(ModeUser, hostFacts{Home: "/home/o'brien"})
	sys := newLayout(ModeSystemd, testFacts)
	for name, script := range map[string]string{
		"user-start.sh":      userStartScript(user, true),
		"user-remove.sh":     userRemoveScript(user),
		"systemd-start.sh":   systemdStartScript(sys, true, true),
		"systemd-remove.sh":  systemdRemoveScript(sys),
		"probe.sh":           probeScript,
		"user-start-keep.sh": userStartScript(user, false),
		"sudo-install.sh":    sudoInstallScript("/home/u/.dstack/staging/dstack-shim", sys.Binary, 0o755),
	} {
		out, err := exec.Command("sh", "-n", "-c", script).CombinedOutput()
		assert.NoError(t, err, "%s: syntax: %s", name, out)
		if name != "probe.sh" && name != "user-start-keep.sh" {
			golden(t, name, []byte(script))
		}
	}
}

func TestShellQuote(t *testing.T) {
	for in, want := range map[string]string{
		"/usr/local/bin/dstack": "/usr/local/bin/dstack",
		"":                      "''",
		"a b":                   "'a b'",
		"o'brien":               `'o'\''brien'`,
		"$HOME":                 "'$HOME'",
	} {
		assert.Equal(t, want, shellQuote(in), "shellQuote(%q)", in)
		out, err := exec.Command("sh", "-c", "printf %s "+shellQuote(in)).Output()
		assert.NoError(t, err, "sh unquotes %s", shellQuote(in))
		assert.Equal(t, in, string(out), "sh unquotes %s", shellQuote(in))
	}
}

func TestParseFactsAndMode(t *testing.T) {
	for _, tc := range []struct {
		name, out string
		want      Mode
		err       string
	}{
		{"root with systemd", "os=Linux\nmachine=x86_64\nhome=/root\nuid=0\npriv=root\nsystemd=running\nsetsid=yes\n", ModeSystemd, ""},
		{"sudo degraded", "os=Linux\nmachine=aarch64\nhome=/home/u\npriv=sudo\nsystemd=degraded\n", ModeSystemd, ""},
		{"sudo no systemd", "os=Linux\nmachine=x86_64\nhome=/home/u\npriv=sudo\nsystemd=none\n", ModeUser, ""},
		{"root systemd offline", "os=Linux\nmachine=x86_64\nhome=/root\npriv=root\nsystemd=offline\n", ModeUser, ""},
		{"plain user", "os=Linux\nmachine=x86_64\nhome=/home/u\npriv=none\nsystemd=running\n", ModeUser, ""},
		{"no home", "os=Linux\nmachine=x86_64\nhome=\npriv=none\nsystemd=none\n", "", "no home directory"},
		{"garbage", "Welcome to the host!\n", "", "unexpected output"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, err := parseFacts([]byte(tc.out))
			if tc.err != "" {
				require.ErrorContains(t, err, tc.err)
				return
			}
			require.NoError(t, err)
			got, _ := chooseMode(ModeAuto, f)
			require.Equal(t, tc.want, got, "mode")
			_, err = chooseMode(ModeSystemd, f)
			if tc.want == ModeSystemd {
				require.NoError(t, err, "forced systemd")
			} else {
				require.Error(t, err, "forced systemd")
			}
		})
	}
}

func TestLayout(t *testing.T) {
	u := newLayout(ModeUser, testFacts)
	assert.Equal(t, "/home/ubuntu/.dstack/bin/dstack", u.Binary, "user layout binary")
	assert.Equal(t, "/home/ubuntu/.dstack/shim.env", u.EnvFile, "user layout env file")
	assert.Equal(t, "/home/ubuntu/.dstack/shim.pid", u.PidFile, "user layout pid file")
	assert.Equal(t, "/home/ubuntu/.dstack/shim.log", u.LogFile, "user layout log file")
	assert.False(t, u.Sudo, "user layout sudo")
	s := newLayout(ModeSystemd, testFacts)
	assert.Equal(t, "/usr/local/bin/dstack-shim", s.Binary, "systemd layout binary")
	assert.Equal(t, "/root/.dstack/shim.env", s.EnvFile, "systemd layout env file")
	assert.Equal(t, "/root/.dstack", s.Home, "systemd layout home")
	assert.True(t, s.Sudo, "systemd layout sudo")
	root := testFacts
	root.Priv = "root"
	assert.False(t, newLayout(ModeSystemd, root).Sudo, "root needs no sudo")
}

func TestCheckPlatform(t *testing.T) {
	target := Target{Host: "h", User: "u"}
	for _, tc := range []struct{ os, machine, bin, err string }{
		{"Linux", "x86_64", "amd64", ""},
		{"Linux", "aarch64", "arm64", ""},
		{"Linux", "arm64", "arm64", ""},
		{"Linux", "aarch64", "amd64", "is linux/arm64 (uname -m: aarch64) but the dstack binary is built for linux/amd64"},
		{"Linux", "riscv64", "amd64", "is linux/riscv64"},
		{"Darwin", "arm64", "arm64", "runs Darwin"},
	} {
		err := checkPlatform(target, hostFacts{OS: tc.os, Machine: tc.machine}, tc.bin)
		if tc.err == "" {
			assert.NoError(t, err, "%s/%s with %s", tc.os, tc.machine, tc.bin)
			continue
		}
		assert.ErrorContains(t, err, tc.err, "%s/%s with %s", tc.os, tc.machine, tc.bin)
		assert.Equal(t, KindUnsupportedHost, KindOf(err), "%s/%s with %s: %v", tc.os, tc.machine, tc.bin, err)

	}
}
