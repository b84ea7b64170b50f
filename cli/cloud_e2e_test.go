package cli_test

// Cloud fleets with the built binary as the server: an AWS backend in
// config.yml talking to moto (directly or through mototest's proxy), each
// instance moto runs emulated by a namespaced host at its private IP that
// runs the user data as cloud-init would.

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/stretchr/testify/require"

	"github.com/dstackgo/dstack/backends/aws/mototest"
	"github.com/dstackgo/dstack/backends/ssh/sshtest"
)

// cloudSetup is moto with a VPC whose subnet is a reserved test subnet,
// emulated VMs in it, and a server home whose config.yml gives project
// main an AWS backend there.
type cloudSetup struct {
	Home   string
	Moto   string
	EC2    *ec2.Client
	VMs    *mototest.VMs
	Subnet *sshtest.Subnet
}

// newCloudSetup prepares the cloud; behave (nil: every VM boots) is the
// emulated VMs' behaviour.
func newCloudSetup(t *testing.T, behave func(int, types.Instance) mototest.Behavior) *cloudSetup {
	t.Helper()
	sshtest.Require(t)
	cs := &cloudSetup{Moto: mototest.Start(t), Subnet: sshtest.ReserveSubnet(t), Home: shortTempDir(t)}
	user := sshtest.NewUser(t)
	cs.EC2 = mototest.EC2(t, cs.Moto, "us-east-1")
	vpc, _ := mototest.Network(t, cs.EC2, cs.Subnet.CIDR)
	mototest.Image(t, cs.EC2, "vm-image")
	cs.VMs = mototest.StartVMs(t, cs.EC2, cs.Subnet, user, behave)
	conf := fmt.Sprintf("projects:\n- name: main\n  backends:\n  - type: aws\n    creds: {type: access_key, access_key: AKIAOK, secret_key: x}\n"+
		"    regions: [us-east-1]\n    vpc_ids: {us-east-1: %s}\n    public_ips: false\n"+
		"    os_images: {cpu: {name: vm-image, user: %s}}\n", vpc, user)
	path := filepath.Join(cs.Home, ".dstack", "server", "config.yml")
	require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o755))
	require.NoError(t, os.WriteFile(path, []byte(conf), 0o600))
	return cs
}

// Start starts `dstack server` on the subnet's gateway (the VMs download
// the agent from it) with endpoint as the AWS API, on port (0: a free one).
// No catalog is published here: the embedded one serves.
func (cs *cloudSetup) Start(t *testing.T, endpoint string, port int) *serverProc {
	t.Helper()
	return startServerAt(t, cs.Home, port, []string{"AWS_ENDPOINT_URL=" + endpoint, "GPUHUNT_CATALOG_URL=http://127.0.0.1:1"},
		"--host", cs.Subnet.Gateway)
}

// Live lists the ids of the instances moto runs (pending or running).
func (cs *cloudSetup) Live(t testing.TB) []string {
	var ids []string
	for _, in := range mototest.Instances(t, cs.EC2, "pending", "running") {
		ids = append(ids, aws.ToString(in.InstanceId))
	}
	return ids
}

// waitLong is waitFor with a timeout of its own, for what the pipelines
// take minutes to do on a busy machine.
func waitLong(t testing.TB, timeout time.Duration, what string, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		ok, last := cond()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %s; last:\n%s", what, timeout, last)
		}
		time.Sleep(time.Second)
	}
}

// cloudFleet is what fleets/get says of a cloud fleet's instances.
type cloudFleet struct {
	Instances []struct {
		Status        string  `json:"status"`
		StatusMessage *string `json:"status_message"`
		InstanceID    *string `json:"instance_id"`
	} `json:"instances"`
}

func getCloudFleet(t testing.TB, s *serverProc, name string) (cloudFleet, string) {
	var raw json.RawMessage
	api(t, s.URL, s.Token, "/api/project/main/fleets/get", map[string]any{"name": name}, &raw)
	var f cloudFleet
	require.NoError(t, json.Unmarshal(raw, &f), string(raw))
	return f, string(raw)
}

// TestCloudLaunchSurvivesAServerKill kills the server (SIGKILL) while
// RunInstances is in flight: moto has launched the VM, the server has not
// recorded it. After the restart that VM is not forgotten: the orphan sweep
// terminates it (the row launches again and records its own), the fleet
// gets its node, and fleet delete leaves nothing running.
func TestCloudLaunchSurvivesAServerKill(t *testing.T) {
	t.Parallel() // most of it waits for the orphan sweep
	cs := newCloudSetup(t, func(n int, _ types.Instance) mototest.Behavior {
		if n == 0 {
			return mototest.VMUnreachable // its user data names the killed server's token
		}
		return mototest.VMBoots
	})
	proxy := mototest.NewProxy(t, cs.Moto, "")
	release := proxy.Hold("RunInstances")
	defer release()
	srv := cs.Start(t, proxy.URL, 0)

	var spec map[string]any
	require.NoError(t, json.Unmarshal([]byte(`{"configuration": {"type": "fleet", "name": "cloud", "nodes": 1,
		"resources": {"cpu": 2, "memory": "8GB", "disk": "100GB"}}, "profile": {"name": "default"}}`), &spec))
	st := api(t, srv.URL, srv.Token, "/api/project/main/fleets/apply", map[string]any{"plan": map[string]any{"spec": spec}, "force": true}, nil)
	require.Equal(t, 200, st)

	var first []string
	waitLong(t, 3*time.Minute, "moto launches the first VM", func() (bool, string) {
		first = cs.Live(t)
		return len(first) == 1, fmt.Sprintf("RunInstances seen %d, live %v", proxy.Seen("RunInstances"), first)
	})
	require.NoError(t, srv.cmd.Process.Kill())
	<-srv.done
	release()

	srv = cs.Start(t, proxy.URL, srv.Port)
	waitLong(t, 6*time.Minute, "the orphan terminated, the fleet's node idle on another VM", func() (bool, string) {
		live := cs.Live(t)
		f, raw := getCloudFleet(t, srv, "cloud")
		ok := len(live) == 1 && live[0] != first[0] && len(f.Instances) == 1 && f.Instances[0].Status == "idle"
		return ok, fmt.Sprintf("live %v (first %s)\n%s", live, first[0], raw)
	})
	require.Equal(t, 200, api(t, srv.URL, srv.Token, "/api/project/main/fleets/delete", map[string]any{"names": []string{"cloud"}}, nil))
	waitLong(t, 3*time.Minute, "nothing left running", func() (bool, string) {
		live := cs.Live(t)
		return len(live) == 0, fmt.Sprint(live)
	})
}
