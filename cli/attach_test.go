package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/dstackgo/dstack/server/schemas"
)

func TestAttachTargetOf(t *testing.T) {
	name, host, port, user := "web", "10.0.0.5", 2222, "ubuntu"
	run := func(rs schemas.RunStatus, js schemas.JobStatus, jrd *schemas.JobRuntimeData) (*schemas.Run, *schemas.Job) {
		r := &schemas.Run{Status: rs, RunSpec: schemas.RunSpec{RunName: &name}, Jobs: []schemas.Job{{JobSubmissions: []schemas.JobSubmission{{
			Status: js, JobProvisioningData: &schemas.JobProvisioningData{Hostname: &host, SSHPort: &port, Username: user},
			JobRuntimeData: jrd}}}}}
		return r, &r.Jobs[0]
	}

	r, j := run(schemas.RunRunning, schemas.JobRunning, &schemas.JobRuntimeData{Ports: map[string]int{"10022": 41022}, Username: &user})
	tg, err := targetOf(r, j)
	require.NoError(t, err)
	require.Equal(t, jobTarget{hostAddr: "10.0.0.5:2222", hostUser: "ubuntu", jobPort: 41022, jobUser: "ubuntu"}, *tg)

	r, j = run(schemas.RunRunning, schemas.JobRunning, nil)
	tg, err = targetOf(r, j)
	require.NoError(t, err)
	require.Equal(t, 10022, tg.jobPort, "the container's SSH port when nothing maps it")
	require.Equal(t, "root", tg.jobUser)

	r, j = run(schemas.RunProvisioning, schemas.JobPulling, nil)
	_, err = targetOf(r, j)
	require.EqualError(t, err, "the run web is not running yet (pulling); `dstack ps -w` shows when it is")

	r, j = run(schemas.RunFailed, schemas.JobFailed, nil)
	_, err = targetOf(r, j)
	require.EqualError(t, err, "the run web has finished (failed): there is nothing to attach to")
}

func TestParseForwards(t *testing.T) {
	got, err := parseForwards([]string{"8080", "18080:80", "0:22"})
	require.NoError(t, err)
	require.Equal(t, []forward{{8080, 8080}, {18080, 80}, {0, 22}}, got)
	for _, bad := range []string{"x", "80:", ":80", "70000", "1:0", "-1:80"} {
		_, err := parseForwards([]string{bad})
		require.ErrorContains(t, err, "expected PORT or LOCAL_PORT:JOB_PORT", bad)
	}
}

// The aliases of a run replace its earlier ones, leave other runs' and the
// user's own entries alone, and go on detach; ~/.ssh/config includes them once.
func TestSSHAliases(t *testing.T) {
	home := t.TempDir()
	t.Setenv("HOME", home)
	userCfg := filepath.Join(home, ".ssh", "config")
	require.NoError(t, os.MkdirAll(filepath.Dir(userCfg), 0o700))
	require.NoError(t, os.WriteFile(userCfg, []byte("Host mine\n    User me\n"), 0o600))
	tg := &jobTarget{hostAddr: "10.0.0.5:22", hostUser: "ubuntu", jobPort: 10022, jobUser: "root"}

	require.NoError(t, writeSSHAliases("a", tg, "/k"))
	require.NoError(t, writeSSHAliases("b", tg, "/k"))
	tg.jobPort = 41022
	require.NoError(t, writeSSHAliases("a", tg, "/k"))
	cfgPath := filepath.Join(home, ".dstack", "ssh", "config")
	data, err := os.ReadFile(cfgPath)
	require.NoError(t, err)
	text := string(data)
	require.Equal(t, 1, strings.Count(text, "Host a\n"), text)
	require.Contains(t, text, "Host a-host\n    HostName 10.0.0.5\n    Port 22\n    User ubuntu\n")
	require.Contains(t, text, "    Port 41022\n    User root\n")
	require.NotContains(t, text, "    Port 10022\n    User root\n    StrictHostKeyChecking no\n    UserKnownHostsFile /dev/null\n    IdentityFile /k\n    IdentitiesOnly yes\n    ServerAliveInterval 30\n    ProxyJump a-host", "a's old block is replaced")
	require.Contains(t, text, "Host b\n")

	user, err := os.ReadFile(userCfg)
	require.NoError(t, err)
	require.Equal(t, "Include "+cfgPath+"\n\nHost mine\n    User me\n", string(user))

	require.NoError(t, removeSSHAliases("a"))
	data, _ = os.ReadFile(cfgPath)
	require.NotContains(t, string(data), "Host a")
	require.Contains(t, string(data), "Host b\n")
}
