package ssh

import (
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/ssh")

// golden compares got with testdata/ssh/name (rewriting it under -update).
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	p := filepath.Join("..", "..", "testdata", "ssh", name)
	if *update {
		if err := os.WriteFile(p, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(p)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if string(want) != string(got) {
		t.Errorf("%s differs from the golden file (run with -update if intended):\n--- got\n%s\n--- want\n%s", name, got, want)
	}
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
		if err != nil {
			t.Fatal(err)
		}
		golden(t, "shim-"+string(mode)+".env", out)
		if mode == ModeUser { // sh reads it back as written
			p := filepath.Join(t.TempDir(), "shim.env")
			if err := os.WriteFile(p, out, 0o600); err != nil {
				t.Fatal(err)
			}
			got, err := exec.Command("sh", "-c", `set -a; . "$1"; printf %s "$TRICKY"`, "sh", p).Output()
			if err != nil || string(got) != env["TRICKY"] {
				t.Fatalf("sh reads %q, %v", got, err)
			}
		}
	}
	for _, bad := range []map[string]string{{"1X": "v"}, {"A-B": "v"}, {"": "v"}, {"X": "two\nlines"}, {"X": "nul\x00"}} {
		if _, err := RenderEnvFile(bad); err == nil {
			t.Errorf("RenderEnvFile(%q) accepted", bad)
		}
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
		if out, err := exec.Command("sh", "-n", "-c", script).CombinedOutput(); err != nil {
			t.Errorf("%s: syntax: %v: %s", name, err, out)
		}
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
		if got := shellQuote(in); got != want {
			t.Errorf("shellQuote(%q) = %s, want %s", in, got, want)
		}
		if out, err := exec.Command("sh", "-c", "printf %s "+shellQuote(in)).Output(); err != nil || string(out) != in {
			t.Errorf("sh unquotes %s to %q", shellQuote(in), out)
		}
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
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("want error %q, got %v", tc.err, err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got, _ := chooseMode(ModeAuto, f); got != tc.want {
				t.Fatalf("mode %s, want %s", got, tc.want)
			}
			if _, err := chooseMode(ModeSystemd, f); (err == nil) != (tc.want == ModeSystemd) {
				t.Fatalf("forced systemd: %v", err)
			}
		})
	}
}

func TestLayout(t *testing.T) {
	u := newLayout(ModeUser, testFacts)
	if u.Binary != "/home/ubuntu/.dstack/bin/dstack" || u.EnvFile != "/home/ubuntu/.dstack/shim.env" ||
		u.PidFile != "/home/ubuntu/.dstack/shim.pid" || u.LogFile != "/home/ubuntu/.dstack/shim.log" || u.Sudo {
		t.Errorf("user layout: %+v", u)
	}
	s := newLayout(ModeSystemd, testFacts)
	if s.Binary != "/usr/local/bin/dstack-shim" || s.EnvFile != "/root/.dstack/shim.env" || s.Home != "/root/.dstack" || !s.Sudo {
		t.Errorf("systemd layout: %+v", s)
	}
	root := testFacts
	root.Priv = "root"
	if newLayout(ModeSystemd, root).Sudo {
		t.Error("root needs no sudo")
	}
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
		if tc.err == "" && err != nil || tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err) || KindOf(err) != KindUnsupportedHost) {
			t.Errorf("%s/%s with %s: %v", tc.os, tc.machine, tc.bin, err)
		}
	}
}
