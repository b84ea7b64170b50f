package cli

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"encoding/pem"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/ssh"

	sshfleet "github.com/dstackgo/dstack/backends/ssh"
	"github.com/dstackgo/dstack/server/schemas"
)

func testSigner(t *testing.T) ssh.Signer {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	require.NoError(t, err)
	s, err := ssh.NewSignerFromKey(priv)
	require.NoError(t, err)
	return s
}

// sshServer accepts any client key on 127.0.0.1 with the given host key,
// and closes each connection once the handshake is done.
func sshServer(t *testing.T, hostKey ssh.Signer) (string, int) {
	t.Helper()
	cfg := &ssh.ServerConfig{PublicKeyCallback: func(ssh.ConnMetadata, ssh.PublicKey) (*ssh.Permissions, error) { return nil, nil }}
	cfg.AddHostKey(hostKey)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				if sc, chans, reqs, err := ssh.NewServerConn(c, cfg); err == nil {
					go ssh.DiscardRequests(reqs)
					for ch := range chans {
						_ = ch.Reject(ssh.Prohibited, "no")
					}
					sc.Close()
				}
			}()
		}
	}()
	a := ln.Addr().(*net.TCPAddr)
	return a.IP.String(), a.Port
}

// runOn is a running run whose job is on host:port, as runs/get shows it;
// backendData is the provisioning data's backend_data.
func runOn(host string, port int, user string, backendData *string) (*schemas.Run, *schemas.Job) {
	name := "web"
	r := &schemas.Run{Status: schemas.RunRunning, RunSpec: schemas.RunSpec{RunName: &name}, Jobs: []schemas.Job{{JobSubmissions: []schemas.JobSubmission{{
		Status: schemas.JobRunning, JobProvisioningData: &schemas.JobProvisioningData{Backend: "remote", Hostname: &host, SSHPort: &port, Username: user,
			BackendData: backendData}}}}}}
	return r, &r.Jobs[0]
}

// TestAttachChecksThePinnedHostKey: the host key the server pinned for the
// instance (in its provisioning data) is the only one attach accepts, and
// the ssh config it writes has OpenSSH check it too.
func TestAttachChecksThePinnedHostKey(t *testing.T) {
	t.Setenv("HOME", t.TempDir())
	real, other := testSigner(t), testSigner(t)
	host, port := sshServer(t, real)
	_, client, err := ed25519.GenerateKey(rand.Reader)
	require.NoError(t, err)
	key, err := ssh.MarshalPrivateKey(client, "")
	require.NoError(t, err)
	keyPEM := pem.EncodeToMemory(key)
	pinned := func(s ssh.Signer) *string {
		b, _ := json.Marshal(map[string]string{"ssh_host_key": strings.TrimSpace(string(ssh.MarshalAuthorizedKey(s.PublicKey())))})
		v := string(b)
		return &v
	}
	ctx := context.Background()

	// The test server closes each connection after the handshake: reaching
	// the job fails, but only after the instance accepted (or refused) the
	// connection.
	r, j := runOn(host, port, "ubuntu", pinned(other))
	tg, err := targetOf(r, j)
	require.NoError(t, err)
	_, _, err = dialJob(ctx, tg, keyPEM)
	var changed *sshfleet.HostKeyChangedError
	require.ErrorAs(t, err, &changed, "a host presenting another key than the pinned one")
	require.ErrorContains(t, err, "connect to the instance")

	corrupt := "{not json"
	r, j = runOn(host, port, "ubuntu", &corrupt)
	_, err = targetOf(r, j)
	require.ErrorContains(t, err, "backend data from the server does not parse", "unreadable pinning data is an error, not no pinning")

	r, j = runOn(host, port, "ubuntu", pinned(real))
	tg, err = targetOf(r, j)
	require.NoError(t, err)
	_, _, err = dialJob(ctx, tg, keyPEM)
	require.ErrorContains(t, err, "reach the job's SSH server", "the instance with the pinned key is accepted")
	require.NotErrorAs(t, err, &changed)

	require.NoError(t, writeSSHAliases("web", tg, "/k"))
	dir := filepath.Join(os.Getenv("HOME"), ".dstack", "ssh")
	text, err := os.ReadFile(filepath.Join(dir, "config"))
	require.NoError(t, err)
	block := string(text)[strings.Index(string(text), "Host web-host"):strings.Index(string(text), "Host web\n")]
	require.Contains(t, block, "StrictHostKeyChecking yes")
	require.Contains(t, block, "HostKeyAlias web-host")
	kh := filepath.Join(dir, "known_hosts")
	require.Contains(t, block, "UserKnownHostsFile "+kh)
	known, err := os.ReadFile(kh)
	require.NoError(t, err)
	require.Contains(t, string(known), "web-host "+strings.TrimSpace(string(ssh.MarshalAuthorizedKey(real.PublicKey()))))

	require.NoError(t, removeSSHAliases("web"))
	known, _ = os.ReadFile(kh)
	require.NotContains(t, string(known), "web-host", "detaching forgets the run's host key")
}

// TestAttachRefusesUnsafeSSHConfigValues: host names and users come from
// the server and go into an ssh config that ~/.ssh/config includes; a
// value that could add a directive is refused.
func TestAttachRefusesUnsafeSSHConfigValues(t *testing.T) {
	home := t.TempDir()
	t.Setenv("HOME", home)
	for name, c := range map[string]struct{ host, user string }{
		"newline in host":      {"10.0.0.5\n    ProxyCommand touch /tmp/pwned", "ubuntu"},
		"space in user":        {"10.0.0.5", "ubuntu ProxyCommand=sh"},
		"newline in user":      {"10.0.0.5", "ubuntu\nHost *\n    ProxyCommand sh"},
		"percent token":        {"%h.example", "ubuntu"},
		"quote in host":        {`"10.0.0.5`, "ubuntu"},
		"leading dash in host": {"-oProxyCommand=sh", "ubuntu"},
	} {
		r, j := runOn(c.host, 22, c.user, nil)
		tg, err := targetOf(r, j)
		if err == nil {
			err = writeSSHAliases("web", tg, "/k")
		}
		require.Error(t, err, name)
		data, _ := os.ReadFile(filepath.Join(home, ".dstack", "ssh", "config"))
		require.NotContains(t, string(data), "ProxyCommand", name)
	}
	r, j := runOn("gpu-1.example.com", 2222, "ubuntu", nil)
	tg, err := targetOf(r, j)
	require.NoError(t, err)
	require.NoError(t, writeSSHAliases("web", tg, "/k"))
}
