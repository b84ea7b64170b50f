package config_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/dstackgo/dstack/server/config"
)

func TestParseErrorsNameFileAndLine(t *testing.T) {
	tests := []struct {
		name string
		yaml string
		want string
	}{
		{
			name: "unknown top-level key",
			yaml: "projects:\n  - name: main\nprojcts: []\n",
			want: `config.yml:3: projcts: unknown field "projcts"; accepted: projects, encryption, default_permissions, plugins`,
		},
		{
			name: "unknown project key",
			yaml: "projects:\n  - name: main\n    backend: []\n",
			want: `config.yml:3: projects[0].backend: unknown field "backend"; accepted: name, backends`,
		},
		{
			name: "malformed yaml",
			yaml: "projects:\n  - name: main\n  - name: [unclosed\n",
			want: "config.yml:2: did not find expected ',' or ']'", // yaml.v3 reports syntax errors near, not at, the line
		},
		{
			name: "wrong type",
			yaml: "projects: main\n",
			want: `config.yml:1: projects: expected a list, got "main"`,
		},
		{
			name: "unknown backend type",
			yaml: "projects:\n  - name: main\n    backends:\n      - type: awss\n",
			want: `config.yml:4: projects[0].backends[0].type: backend type "awss" is unknown (accepted: amddevcloud, aws,`,
		},
		{
			name: "bad project name",
			yaml: "projects:\n  - name: main project\n",
			want: `config.yml: projects[0].name: "main project" is not a valid project name`,
		},
		{
			name: "bad key secret",
			yaml: "projects: [{name: main}]\nencryption:\n  keys:\n    - {type: aes, name: key1, secret: notbase64!}\n",
			want: `config.yml: encryption.keys: encryption.keys[0]: key "key1": secret is not valid base64`,
		},
		{
			name: "backend without a type",
			yaml: "projects:\n  - name: main\n    backends:\n      - creds: {type: default}\n",
			want: `config.yml:4: projects[0].backends[0]: backend has no type (accepted: amddevcloud, aws,`,
		},
		{
			name: "backend listed twice",
			yaml: "projects:\n  - name: main\n    backends:\n      - type: aws\n      - type: aws\n",
			want: `config.yml:5: projects[0].backends[1]: project "main" lists backend "aws" twice`,
		},
		{
			name: "unknown key in a key",
			yaml: "projects: [{name: main}]\nencryption:\n  keys:\n    - {type: aes, name: key1, secrett: x}\n",
			want: `config.yml:4: encryption.keys[0].secrett: unknown field "secrett"; accepted: type, name, secret`,
		},
		{
			name: "unknown permission",
			yaml: "projects: [{name: main}]\ndefault_permissions:\n  allow_everything: true\n",
			want: `config.yml:3: default_permissions.allow_everything: unknown field "allow_everything"; accepted: allow_non_admins_create_projects, allow_non_admins_manage_ssh_fleets, allow_managers_manage_secrets`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := config.Parse([]byte(tt.yaml), "config.yml")
			require.Error(t, err)
			require.Contains(t, err.Error(), tt.want)
		})
	}
}

func TestParseValidAndDefaults(t *testing.T) {
	f, err := config.Parse([]byte(`projects:
  - name: main
    backends:
      - type: aws
        creds: {type: default}
  - name: research
default_permissions:
  allow_non_admins_create_projects: false
`), "config.yml")
	require.NoError(t, err)
	require.Len(t, f.Projects, 2)
	require.Equal(t, "aws", f.Projects[0].Backends[0].Type)
	require.False(t, f.Permissions().AllowNonAdminsCreateProjects)
	kr, err := f.Keyring()
	require.NoError(t, err)
	require.Equal(t, "identity", kr.Primary().Type())

	empty, err := config.Parse(nil, "config.yml")
	require.NoError(t, err)
	require.True(t, empty.Permissions().AllowNonAdminsCreateProjects)
}

func TestDefaultWritesAndReadsBack(t *testing.T) {
	path := filepath.Join(t.TempDir(), "config.yml")
	require.NoError(t, config.Default().Write(path))
	st, err := os.Stat(path)
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o600), st.Mode().Perm())
	f, err := config.Load(path)
	require.NoError(t, err)
	require.Equal(t, "main", f.Projects[0].Name)
	require.NotNil(t, f.Encryption)
}
