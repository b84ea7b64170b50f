package scaletest_test

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/dstackgo/dstack/server"
	"github.com/dstackgo/dstack/server/scaletest"
)

// A replica of the chaos tests is this test binary started again with
// chaosEnv set: it runs a server until it is killed. Each replica is a
// process of its own, so that kill -9 is the real thing.
const chaosEnv = "DSTACK_CHAOS_REPLICA"

func TestMain(m *testing.M) {
	if os.Getenv(chaosEnv) != "" {
		os.Exit(runReplica())
	}
	os.Exit(m.Run())
}

// runReplica serves the server that the environment describes: the
// replica's name, its state directory, database, port and the gateway to
// the hollow hosts.
func runReplica() int {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	port, err := strconv.Atoi(os.Getenv("DSTACK_CHAOS_PORT"))
	if err != nil {
		fmt.Fprintln(os.Stderr, "DSTACK_CHAOS_PORT:", err)
		return 2
	}
	opts := server.Options{Dir: os.Getenv("DSTACK_CHAOS_DIR"), Host: "127.0.0.1", Port: port,
		AdminToken: scaletest.AdminToken, ConfigDisabled: true, DatabaseURL: os.Getenv("DSTACK_CHAOS_DB"),
		Replica: os.Getenv(chaosEnv), JobNetworkMode: 2, SSHDial: scaletest.GatewayDial(os.Getenv("DSTACK_CHAOS_GATEWAY")),
		BackgroundDisabled: os.Getenv("DSTACK_CHAOS_API_ONLY") != "",
		Logger:             slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))}
	srv, err := server.New(ctx, opts)
	if err != nil {
		fmt.Fprintln(os.Stderr, "start server:", err)
		return 1
	}
	if err := srv.Run(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "server:", err)
		return 1
	}
	return 0
}

// replica is one server process of a chaos test, in a slot that keeps its
// port and directory across restarts; each start gets a new name (the
// owner in its leases).
type replica struct {
	slot, port int
	dir        string
	name       string
	apiOnly    bool
	cmd        *exec.Cmd
	exited     chan error
	starts     int
	*scaletest.Server
}

// cluster is the replicas of one test, on one database, reaching the
// hollow hosts through one gateway.
type cluster struct {
	t        *testing.T
	dbURL    string
	gateway  string
	replicas []*replica
}

func newCluster(t *testing.T, hs *scaletest.Hosts, dbURL string, n int) *cluster {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		if err := hs.ServeGateway(ln); err != nil {
			t.Errorf("gateway: %v", err)
		}
	}()
	c := &cluster{t: t, dbURL: dbURL, gateway: ln.Addr().String()}
	base := t.TempDir()
	for i := range n {
		r := &replica{slot: i, port: freePort(t), dir: filepath.Join(base, fmt.Sprintf("r%d", i))}
		r.Server = scaletest.Connect(fmt.Sprintf("http://127.0.0.1:%d", r.port))
		c.replicas = append(c.replicas, r)
	}
	t.Cleanup(func() {
		for _, r := range c.replicas {
			c.kill(r)
		}
		if t.Failed() {
			logs, _ := filepath.Glob(filepath.Join(base, "*.log"))
			for _, l := range logs {
				b, _ := os.ReadFile(l)
				if len(b) > 4000 {
					b = b[len(b)-4000:]
				}
				t.Logf("%s (tail):\n%s", filepath.Base(l), b)
			}
		}
	})
	return c
}

// start starts the slot's server process and waits until it answers.
func (c *cluster) start(r *replica) {
	c.t.Helper()
	r.starts++
	r.name = fmt.Sprintf("r%d-%d", r.slot, r.starts)
	logf, err := os.Create(filepath.Join(filepath.Dir(r.dir), r.name+".log"))
	if err != nil {
		c.t.Fatal(err)
	}
	defer logf.Close()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), chaosEnv+"="+r.name, "DSTACK_CHAOS_DIR="+r.dir, "DSTACK_CHAOS_DB="+c.dbURL,
		"DSTACK_CHAOS_PORT="+strconv.Itoa(r.port), "DSTACK_CHAOS_GATEWAY="+c.gateway)
	if r.apiOnly {
		cmd.Env = append(cmd.Env, "DSTACK_CHAOS_API_ONLY=1")
	}
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		c.t.Fatalf("start replica %s: %v", r.name, err)
	}
	r.cmd, r.exited = cmd, make(chan error, 1)
	exited := r.exited
	go func() { exited <- cmd.Wait() }()
	deadline := time.Now().Add(time.Minute)
	for {
		res, err := http.Get(r.URL + "/api/server/get_info")
		if err == nil {
			res.Body.Close()
			break
		}
		select {
		case err := <-exited:
			r.cmd = nil
			log, _ := os.ReadFile(logf.Name())
			c.t.Fatalf("replica %s exited at start (%v):\n%s", r.name, err, log)
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			c.t.Fatalf("replica %s does not answer on %s", r.name, r.URL)
		}
	}
}

// kill sends SIGKILL to the slot's process and waits for it to go.
func (c *cluster) kill(r *replica) {
	if r.cmd == nil || r.cmd.Process == nil {
		return
	}
	_ = r.cmd.Process.Signal(syscall.SIGKILL)
	<-r.exited
	r.cmd = nil
}

func freePort(t *testing.T) int {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}
