package server_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/dstackgo/dstack/server"
	"github.com/dstackgo/dstack/server/api/client"
	"github.com/dstackgo/dstack/server/servertest"
)

// startCloudServer runs a server in-process whose project main has an AWS
// backend in config.yml (region us-east-1, the VPC vpc, the image
// vm-image logging in user), opts completed with the directory, the admin
// token and a free port on opts.Host.
func startCloudServer(tb testing.TB, opts server.Options, vpc, user string) *testServer {
	tb.Helper()
	opts.Dir = tb.TempDir()
	conf := fmt.Sprintf("projects:\n- name: main\n  backends:\n  - type: aws\n    creds: {type: access_key, access_key: AKIAOK, secret_key: x}\n"+
		"    regions: [us-east-1]\n    vpc_ids: {us-east-1: %s}\n    public_ips: false\n"+
		"    os_images: {cpu: {name: vm-image, user: %s}}\n", vpc, user)
	if err := os.WriteFile(filepath.Join(opts.Dir, "config.yml"), []byte(conf), 0o600); err != nil {
		tb.Fatal(err)
	}
	if opts.Host == "" {
		opts.Host = "127.0.0.1"
	}
	opts.Port, opts.AdminToken = servertest.FreePort(tb), servertest.AdminToken
	if opts.AgentBinary == "" {
		opts.AgentBinary = servertest.Binary(tb)
	}
	if opts.JobNetworkMode == 0 {
		opts.JobNetworkMode = 2
	}
	ctx, cancel := context.WithCancel(context.Background())
	srv, err := server.New(ctx, opts)
	if err != nil {
		cancel()
		tb.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx) }()
	tb.Cleanup(func() { cancel(); <-done })
	return &testServer{Client: client.New(srv.URL(), servertest.AdminToken)}
}
