package server_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/dstackgo/dstack/backends/aws/mototest"
	"github.com/dstackgo/dstack/server"
	"github.com/dstackgo/dstack/server/api/client"
	"github.com/dstackgo/dstack/server/schemas"
	"github.com/dstackgo/dstack/server/servertest"
)

// startWithConfig starts a server whose config.yml is conf; it returns the
// error of server.New when it refuses to start.
func startWithConfig(t *testing.T, conf string, endpoint string) (*client.Client, error) {
	t.Helper()
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "config.yml"), []byte(conf), 0o600))
	ctx, cancel := context.WithCancel(context.Background())
	srv, err := server.New(ctx, server.Options{Dir: dir, Host: "127.0.0.1", Port: servertest.FreePort(t), AdminToken: servertest.AdminToken,
		AWSEndpoint: endpoint, BackgroundDisabled: true})
	if err != nil {
		cancel()
		return nil, err
	}
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	return client.New(srv.URL(), servertest.AdminToken), nil
}

func TestConfigBackendsStopTheStartWithFileLineAndReason(t *testing.T) {
	proxy := mototest.NewProxy(t, mototest.Start(t), "")
	proxy.Fail(mototest.Fault{Action: "GetCallerIdentity", AccessKey: "AKIABAD", Status: 403, Code: "InvalidClientTokenId",
		Message: "The security token included in the request is invalid."})
	tests := []struct {
		name string
		conf string
		want string
	}{
		{name: "credentials AWS refuses",
			conf: "projects:\n- name: main\n  backends:\n  - type: aws\n    creds:\n      type: access_key\n      access_key: AKIABAD\n      secret_key: x\n",
			want: "config.yml:7: projects[0].backends[0].creds.access_key (aws backend of project main): Invalid credentials: " +
				"InvalidClientTokenId: The security token included in the request is invalid."},
		{name: "unknown region",
			conf: "projects:\n- name: main\n  backends:\n  - type: aws\n    creds: {type: access_key, access_key: AKIAOK, secret_key: x}\n" +
				"    regions:\n    - us-east-1\n    - us-east-9\n",
			want: `config.yml:8: projects[0].backends[0].regions.1 (aws backend of project main): "us-east-9" is not an AWS region`},
		{name: "unknown setting",
			conf: "projects:\n- name: main\n  backends:\n  - type: aws\n    creds: {type: default}\n    vpc: x\n",
			want: `config.yml:6: projects[0].backends[0].vpc (aws backend of project main): unknown field`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := startWithConfig(t, tt.conf, proxy.URL)
			require.Error(t, err)
			require.Contains(t, err.Error(), tt.want)
		})
	}
}

func TestBackendsFromConfigAndAPI(t *testing.T) {
	moto := mototest.Start(t)
	conf := "projects:\n- name: main\n  backends:\n  - type: aws\n    creds: {type: access_key, access_key: AKIAOK, secret_key: s3cr3t}\n" +
		"    regions: [us-east-1]\n    tags: {team: ml}\n"
	c, err := startWithConfig(t, conf, moto)
	require.NoError(t, err)
	ctx := context.Background()

	types, err := c.BackendTypes(ctx)
	require.NoError(t, err)
	require.Equal(t, []string{"aws"}, types)
	p, err := c.GetProject(ctx, "main")
	require.NoError(t, err)
	require.Len(t, p.Backends, 1)
	require.Equal(t, "aws", p.Backends[0].Name)
	require.NotContains(t, string(p.Backends[0].Config), "s3cr3t", "project info shows no credentials")
	info, err := c.BackendConfigInfo(ctx, "main", "aws")
	require.NoError(t, err)
	var shown map[string]any
	require.NoError(t, json.Unmarshal(info, &shown))
	require.Equal(t, map[string]any{"type": "access_key", "access_key": "AKIAOK", "secret_key": "s3cr3t"}, shown["creds"])
	require.Equal(t, []any{"us-east-1"}, shown["regions"])

	err = c.CreateBackendYAML(ctx, "main", "type: aws\ncreds: {type: default}\nregions: [us-east-1]\n")
	var ae *client.Error
	require.ErrorAs(t, err, &ae)
	require.Equal(t, schemas.ErrorCodeResourceExists, ae.Code)
	require.NoError(t, c.UpdateBackendYAML(ctx, "main", "type: aws\ncreds: {type: access_key, access_key: AKIA2, secret_key: k2}\nregions: [us-east-1, eu-west-1]\n"))
	var y schemas.BackendInfoYAML
	require.NoError(t, c.Call(ctx, "/api/project/main/backends/aws/get_yaml", nil, &y))
	require.Contains(t, y.ConfigYAML, "access_key: AKIA2")
	require.Contains(t, y.ConfigYAML, "- eu-west-1")

	err = c.Call(ctx, "/api/project/main/backends/create", map[string]any{"type": "aws", "regions": []string{"us-east-9"},
		"creds": map[string]any{"type": "default"}}, nil)
	require.ErrorContains(t, err, "Backend aws already exists")
	err = c.Call(ctx, "/api/project/main/backends/update", map[string]any{"type": "aws", "regions": []string{"us-east-9"},
		"creds": map[string]any{"type": "access_key", "access_key": "AKIA3", "secret_key": "k3"}}, nil)
	require.ErrorContains(t, err, `regions.0: "us-east-9" is not an AWS region`)
	err = c.Call(ctx, "/api/project/main/backends/create", map[string]any{"type": "gcp"}, nil)
	require.ErrorAs(t, err, &ae)
	require.Equal(t, schemas.ErrorCodeBackendNotAvail, ae.Code)

	require.NoError(t, c.DeleteBackends(ctx, "main", []string{"aws"}))
	p, err = c.GetProject(ctx, "main")
	require.NoError(t, err)
	require.Empty(t, p.Backends)
	_, err = c.BackendConfigInfo(ctx, "main", "aws")
	require.True(t, client.IsNotFound(err), "%v", err)
	require.False(t, strings.Contains(y.ConfigYAML, "null"))
}
