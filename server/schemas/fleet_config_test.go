package schemas

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestFleetNodesSpec(t *testing.T) {
	runScalarCases[FleetNodesSpec](t, []scalarCase{
		{name: "int", in: `2`, want: `{"min":2,"max":2}`},
		{name: "numeric string", in: `"2"`, want: `{"min":2,"max":2}`},
		{name: "range", in: `"0..4"`, want: `{"min":0,"max":4}`},
		{name: "open max", in: `"1.."`, want: `{"min":1,"max":null}`},
		{name: "open min", in: `"..3"`, want: `{"min":0,"max":3}`},
		{name: "target omitted when equal to min", in: `{"min": 1, "target": 1, "max": 3}`, want: `{"min":1,"max":3}`},
		{name: "target kept otherwise", in: `{"min": 0, "target": 2}`, want: `{"min":0,"target":2,"max":null}`},
		{name: "null min means 0", in: `{"min": null, "max": 2}`, want: `{"min":0,"max":2}`},
		{name: "garbage", in: `"a..Bool"`, wantErr: `invalid nodes "a..Bool"; accepted: N`},
		{name: "list", in: `[1]`, wantErr: "invalid nodes a list"},
	})
	for _, tc := range []struct {
		name    string
		spec    FleetNodesSpec
		wantErr string
	}{
		{name: "ok", spec: FleetNodesSpec{Min: 1, Target: 2, Max: ptr(3)}},
		{name: "negative", spec: FleetNodesSpec{Min: -1, Target: 0}, wantErr: "min: min cannot be negative"},
		{name: "target below min", spec: FleetNodesSpec{Min: 2, Target: 1}, wantErr: "target: target must not be less than min"},
		{name: "max below target", spec: FleetNodesSpec{Min: 1, Target: 3, Max: ptr(2)}, wantErr: "max: max must not be less than target"},
	} {
		t.Run("validate "+tc.name, func(t *testing.T) {
			err := tc.spec.Validate()
			if tc.wantErr == "" {
				require.NoError(t, err)
				return
			}
			require.EqualError(t, err, tc.wantErr)
		})
	}
}

func TestFleetConfigurationForms(t *testing.T) {
	t.Run("blocks", func(t *testing.T) {
		runScalarCases[Blocks](t, []scalarCase{
			{name: "auto", in: `"auto"`, want: `"auto"`},
			{name: "int", in: `4`, want: `4`},
			{name: "zero", in: `0`, wantErr: `invalid blocks number 0; accepted: an integer >= 1 or "auto"`},
		})
	})
	t.Run("hosts", func(t *testing.T) {
		runScalarCases[SSHHost](t, []scalarCase{
			{name: "string", in: `"10.0.0.1"`, want: `"10.0.0.1"`},
			{name: "object", in: `{"hostname": "h", "blocks": "auto"}`,
				want: `{"hostname":"h","port":null,"user":null,"identity_file":null,"proxy_jump":null,"internal_ip":null,"ssh_key":null,"blocks":"auto"}`},
			{name: "number", in: `1`, wantErr: "invalid host number 1; accepted: a hostname or IP"},
			{name: "object without hostname", in: `{"port": 22}`, wantErr: "hostname: field required"},
		})
	})
	t.Run("defaults", func(t *testing.T) {
		var c FleetConfiguration
		require.NoError(t, json.Unmarshal([]byte(`{"type": "fleet", "nodes": 1}`), &c))
		out, err := json.Marshal(c)
		require.NoError(t, err)
		require.JSONEq(t, `{"type":"fleet","name":null,"placement":null,"blocks":1,"nodes":{"min":1,"max":1},
			"reservation":null,"resources":null,"backends":null,"regions":null,"availability_zones":null,
			"instance_types":null,"spot_policy":null,"retry":null,"max_price":null,"idle_duration":null,
			"tags":null,"backend_options":null,"ssh_config":null,"env":{}}`, string(out))
		require.NoError(t, c.Validate())
		require.False(t, c.IsSSH())
	})
}

func TestFleetConfigurationValidate(t *testing.T) {
	for _, tc := range []struct {
		name    string
		in      string
		wantErr string
	}{
		{name: "cloud", in: `{"type": "fleet", "name": "gpus", "nodes": "0..2", "resources": {"gpu": "A100"}, "blocks": "auto"}`},
		{name: "ssh", in: `{"type": "fleet", "ssh_config": {"hosts": ["a", {"hostname": "b"}], "network": "10.0.0.0/24"}}`},
		{name: "cloud fleet rejects env", in: `{"type": "fleet", "nodes": 1, "env": {"A": "1"}}`, wantErr: "env: cloud fleet configuration does not support the following fields: env"},
		{name: "ssh lists every cloud field", in: `{"type": "fleet", "ssh_config": {"hosts": ["a"]}, "tags": {"a": "b"}, "retry": true}`,
			wantErr: "retry: SSH fleet configuration does not support the following fields: retry, tags"},
		{name: "no hosts", in: `{"type": "fleet", "ssh_config": {"hosts": []}}`, wantErr: "ssh_config.hosts: at least one host is required"},
		{name: "public network", in: `{"type": "fleet", "ssh_config": {"hosts": ["a"], "network": "8.8.0.0/16"}}`, wantErr: "ssh_config.network: public network 8.8.0.0/16 is specified when a private network is required"},
		{name: "bad network", in: `{"type": "fleet", "ssh_config": {"hosts": ["a"], "network": "10.0.0.0"}}`, wantErr: `ssh_config.network: invalid network "10.0.0.0"; accepted: a private CIDR such as 10.0.0.0/24`},
		{name: "internal ip with network", in: `{"type": "fleet", "ssh_config": {"hosts": [{"hostname": "a", "internal_ip": "10.0.0.2"}], "network": "10.0.0.0/24"}}`,
			wantErr: "ssh_config.network: internal_ip is mutually exclusive with network"},
		{name: "bad internal ip", in: `{"type": "fleet", "ssh_config": {"hosts": [{"hostname": "a", "internal_ip": "10.0.0"}]}}`,
			wantErr: `ssh_config.hosts[0].internal_ip: invalid IP address "10.0.0"`},
		{name: "placement", in: `{"type": "fleet", "nodes": 1, "placement": "rack"}`, wantErr: `placement: invalid value "rack"; accepted: any, cluster`},
		{name: "wrong type", in: `{"type": "task", "nodes": 1}`, wantErr: `type: expected "fleet", got "task"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var c FleetConfiguration
			err := json.Unmarshal([]byte(tc.in), &c)
			if err == nil {
				err = c.Validate()
			}
			if tc.wantErr == "" {
				require.NoError(t, err)
				return
			}
			require.EqualError(t, err, tc.wantErr)
		})
	}
}

func TestValidateSSHCredentials(t *testing.T) {
	const key = `{"public": "ssh-ed25519 AAAA", "private": "-----BEGIN OPENSSH PRIVATE KEY-----"}`
	for _, tc := range []struct {
		name    string
		ssh     string
		wantErr string
	}{
		{name: "fleet-wide user and key", ssh: `{"user": "ubuntu", "ssh_key": ` + key + `, "hosts": ["a", {"hostname": "b"}]}`},
		{name: "per-host user and key", ssh: `{"hosts": [{"hostname": "b", "user": "root", "ssh_key": ` + key + `}]}`},
		{name: "no key", ssh: `{"user": "ubuntu", "hosts": ["a"]}`, wantErr: "ssh_config.hosts[0]: no ssh key specified for host a"},
		{name: "no user", ssh: `{"ssh_key": ` + key + `, "hosts": [{"hostname": "b"}]}`, wantErr: "ssh_config.hosts[0]: no ssh user specified for host b"},
		{name: "public key only", ssh: `{"user": "u", "ssh_key": {"public": "ssh-rsa AAAA"}, "hosts": ["a"]}`, wantErr: "ssh_config.ssh_key: private key not provided"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var c FleetConfiguration
			require.NoError(t, json.Unmarshal([]byte(`{"type": "fleet", "ssh_config": `+tc.ssh+`}`), &c))
			err := c.ValidateSSHCredentials()
			if tc.wantErr == "" {
				require.NoError(t, err)
				stripped := c.WithoutSSHKeys()
				require.Nil(t, stripped.SSHConfig.SSHKey)
				for _, h := range stripped.SSHConfig.Hosts {
					if h.Params != nil {
						require.Nil(t, h.Params.SSHKey)
					}
				}
				return
			}
			require.EqualError(t, err, tc.wantErr)
		})
	}
}
