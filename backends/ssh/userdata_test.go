package ssh

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"gopkg.in/yaml.v3"
)

func TestCloudConfig(t *testing.T) {
	ud, err := CloudConfig(UserDataOptions{DownloadURL: "http://10.1.2.1:3000/api/agent/download", Token: "tok'en",
		AuthorizedKeys: []string{"ssh-ed25519 AAAA project\n", ""}, Env: map[string]string{"DSTACK_SHIM_EXECUTOR": "process"}})
	require.NoError(t, err)
	require.True(t, strings.HasPrefix(ud, "#cloud-config\n"))
	var doc struct {
		Keys   []string   `yaml:"ssh_authorized_keys"`
		RunCmd [][]string `yaml:"runcmd"`
	}
	require.NoError(t, yaml.Unmarshal([]byte(ud), &doc))
	require.Equal(t, []string{"ssh-ed25519 AAAA project"}, doc.Keys)
	require.Len(t, doc.RunCmd, 1)
	script := doc.RunCmd[0][2]
	require.Contains(t, script, `DSTACK_SHIM_EXECUTOR="process"`)
	require.Contains(t, script, `'Authorization: Bearer tok'\''en'`)
	// The script is valid sh.
	p := filepath.Join(t.TempDir(), "s.sh")
	require.NoError(t, os.WriteFile(p, []byte(script), 0o600))
	out, err := exec.Command("sh", "-n", p).CombinedOutput()
	require.NoError(t, err, string(out))
}
