package scaletest

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/uptrace/bun"

	sshfleet "github.com/dstackgo/dstack/backends/ssh"
	"github.com/dstackgo/dstack/db"
	"github.com/dstackgo/dstack/db/dbtest"
	"github.com/dstackgo/dstack/server"
	"github.com/dstackgo/dstack/server/api/client"
	"github.com/dstackgo/dstack/server/schemas"
	"github.com/dstackgo/dstack/server/services"
)

// AdminToken is the admin token of servers started by Start.
const AdminToken = "admin-token"

// Server is an in-process server whose SSH pool reaches hollow hosts.
type Server struct {
	*client.Client
	URL  string
	Dir  string
	stop func() error
}

// Start runs a server in dir on target with the hollow hosts' dial, and
// stops it at cleanup (or at Stop).
func Start(tb testing.TB, hs *Hosts, dir string, target db.Target, opts server.Options) *Server {
	tb.Helper()
	opts.Dir, opts.Host, opts.AdminToken, opts.ConfigDisabled = dir, "127.0.0.1", AdminToken, true
	opts.DatabaseURL = dbtest.URL(target)
	opts.SSHDial = hs.Dial
	if opts.JobNetworkMode == 0 {
		opts.JobNetworkMode = 2
	}
	ctx, cancel := context.WithCancel(context.Background())
	srv, err := server.New(ctx, opts)
	if err != nil {
		cancel()
		tb.Fatalf("start server: %v", err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx) }()
	stopped := false
	s := &Server{Client: client.New(srv.URL(), AdminToken), URL: srv.URL(), Dir: dir}
	s.stop = func() error {
		if stopped {
			return nil
		}
		stopped = true
		cancel()
		select {
		case err := <-done:
			return err
		case <-time.After(30 * time.Second):
			return fmt.Errorf("server did not stop within 30s")
		}
	}
	tb.Cleanup(func() {
		if err := s.stop(); err != nil {
			tb.Errorf("server stopped with: %v", err)
		}
	})
	return s
}

// Stop stops the server.
func (s *Server) Stop() error { return s.stop() }

// SeedFleet adds an SSH fleet of the hollow hosts to project main and makes
// its instances idle as a deploy would have (host info, offer, blocks),
// with a server whose pipelines are off; the servers started afterwards on
// target find the hosts ready. Deploying the agent over SSH is what hollow
// hosts cannot do (it runs shell scripts), and not what scale tests measure.
func SeedFleet(tb testing.TB, hs *Hosts, dir string, target db.Target, name string, hosts []*Host) {
	tb.Helper()
	s := Start(tb, hs, dir, target, server.Options{BackgroundDisabled: true})
	ctx := context.Background()
	spec := FleetSpec(tb, hs, name, hosts)
	var plan schemas.FleetPlan
	if err := s.Call(ctx, "/api/project/main/fleets/get_plan", schemas.GetFleetPlanRequest{Spec: spec}, &plan); err != nil {
		tb.Fatalf("fleet plan: %v", err)
	}
	var f schemas.Fleet
	req := schemas.ApplyFleetPlanRequest{Plan: schemas.ApplyFleetPlanInput{Spec: spec, CurrentResource: plan.CurrentResource}}
	if err := s.Call(ctx, "/api/project/main/fleets/apply", req, &f); err != nil {
		tb.Fatalf("fleet apply: %v", err)
	}
	if err := s.Stop(); err != nil {
		tb.Fatal(err)
	}
	d, err := db.Open(ctx, target, db.Options{})
	if err != nil {
		tb.Fatal(err)
	}
	defer d.Close()
	ins, err := db.ListFleetInstances(ctx, d, f.ID)
	if err != nil {
		tb.Fatal(err)
	}
	if len(ins) != len(hosts) {
		tb.Fatalf("fleet %s has %d instances, want %d", name, len(ins), len(hosts))
	}
	info := hollowFacts.Info("hollow")
	hi := &sshfleet.HostInfo{Info: info, ShimVersion: "hollow"}
	err = d.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		for i := range ins {
			in := &ins[i]
			rh := &services.RemoteHost{Hostname: hosts[in.InstanceNum].IP, Port: 22, User: hs.User, Blocks: 1}
			if err := services.ApplyHostInfo(in, rh, hi, ""); err != nil {
				return err
			}
			if err := services.SetInstanceStatus(in, schemas.InstanceIdle); err != nil {
				return err
			}
			if _, err := tx.NewUpdate().Model(in).WherePK().Column("status", "started_at", "offer",
				"job_provisioning_data", "host_info", "total_blocks").Exec(ctx); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		tb.Fatalf("make the hollow hosts idle: %v", err)
	}
}

// FleetSpec is the spec the CLI would send for an SSH fleet of these hosts.
func FleetSpec(tb testing.TB, hs *Hosts, name string, hosts []*Host) schemas.FleetSpec {
	tb.Helper()
	type key struct {
		Public  string `json:"public"`
		Private string `json:"private"`
	}
	type host struct {
		Hostname string `json:"hostname"`
		User     string `json:"user"`
		SSHKey   key    `json:"ssh_key"`
	}
	hl := make([]host, len(hosts))
	k := key{Public: strings.TrimSpace(hs.ClientPublic), Private: string(hs.ClientKey)}
	for i, h := range hosts {
		hl[i] = host{Hostname: h.IP, User: hs.User, SSHKey: k}
	}
	raw, err := json.Marshal(map[string]any{
		"configuration": map[string]any{"type": "fleet", "name": name, "placement": "any",
			"ssh_config": map[string]any{"hosts": hl}},
		"profile": map[string]any{"name": "default"},
	})
	if err != nil {
		tb.Fatal(err)
	}
	var spec schemas.FleetSpec
	if err := json.Unmarshal(raw, &spec); err != nil {
		tb.Fatal(err)
	}
	return spec
}

// Connect is a client of a server already running at url (another
// process), with the admin token of servers started by Start.
func Connect(url string) *Server {
	return &Server{Client: client.New(url, AdminToken), URL: url, stop: func() error { return nil }}
}
