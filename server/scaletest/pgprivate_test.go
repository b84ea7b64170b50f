package scaletest_test

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/dstackgo/dstack/db"
)

// privatePG is a PostgreSQL cluster of one test, which the test may stop,
// crash and start again (never the shared test server).
type privatePG struct {
	t    testing.TB
	bin  string
	dir  string
	port int
}

const pgBin = "/usr/lib/postgresql/15/bin"

// startPrivatePG initialises and starts a cluster on a free port; it needs
// root (the server runs as the postgres user) and PostgreSQL 15, and
// skips without them unless CI=true.
func startPrivatePG(t *testing.T) *privatePG {
	t.Helper()
	if _, err := os.Stat(filepath.Join(pgBin, "initdb")); err != nil || os.Geteuid() != 0 {
		if os.Getenv("CI") == "true" {
			t.Fatalf("a private PostgreSQL needs root and %s", pgBin)
		}
		t.Skipf("a private PostgreSQL needs root and %s", pgBin)
	}
	dir, err := os.MkdirTemp("", "dstack-pg.")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	p := &privatePG{t: t, bin: pgBin, dir: dir, port: freePort(t)}
	if err := exec.Command("chown", "postgres:", dir).Run(); err != nil {
		t.Fatalf("chown %s: %v", dir, err)
	}
	p.pg("initdb", "-D", p.data(), "-U", "postgres", "--auth=trust", "-E", "UTF8", "--locale=C.UTF-8")
	p.start()
	t.Cleanup(func() { _ = p.ctl("stop", "-m", "immediate") })
	return p
}

func (p *privatePG) data() string { return filepath.Join(p.dir, "data") }

// Target is the cluster's postgres database.
func (p *privatePG) Target() db.Target {
	return db.Target{Dialect: db.Postgres, DSN: fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", p.port)}
}

func (p *privatePG) start() {
	p.t.Helper()
	opts := fmt.Sprintf("-c listen_addresses=127.0.0.1 -p %d -k %s -c fsync=off -c max_connections=200", p.port, p.dir)
	if err := p.ctl("start", "-w", "-t", "60", "-l", filepath.Join(p.dir, "server.log"), "-o", opts); err != nil {
		log, _ := os.ReadFile(filepath.Join(p.dir, "server.log"))
		p.t.Fatalf("start PostgreSQL: %v\n%s", err, log)
	}
}

// crash stops the cluster as a power cut would (immediate mode: no
// checkpoint, every connection dropped).
func (p *privatePG) crash() {
	p.t.Helper()
	if err := p.ctl("stop", "-m", "immediate", "-w"); err != nil {
		p.t.Fatalf("stop PostgreSQL: %v", err)
	}
}

func (p *privatePG) ctl(args ...string) error {
	out, err := exec.Command("runuser", append([]string{"-u", "postgres", "--", filepath.Join(p.bin, "pg_ctl"), "-D", p.data()}, args...)...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("pg_ctl %v: %w: %s", args, err, out)
	}
	return nil
}

func (p *privatePG) pg(tool string, args ...string) {
	p.t.Helper()
	out, err := exec.Command("runuser", append([]string{"-u", "postgres", "--", filepath.Join(p.bin, tool)}, args...)...).CombinedOutput()
	if err != nil {
		p.t.Fatalf("%s: %v: %s", tool, err, out)
	}
}
