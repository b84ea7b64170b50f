// Package config reads and writes the server's config.yml: projects and their
// backends, encryption keys and default permissions. Errors name the file and
// line so an operator can fix the file directly.
package config

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/dstackgo/dstack/crypto"
	"github.com/dstackgo/dstack/server/schemas"
	"github.com/dstackgo/dstack/server/schemas/decode"
)

// File is the content of config.yml.
type File struct {
	Projects           []Project           `yaml:"projects" json:"projects"`
	Encryption         *Encryption         `yaml:"encryption,omitempty" json:"encryption"`
	DefaultPermissions *DefaultPermissions `yaml:"default_permissions,omitempty" json:"default_permissions"`
	Plugins            []string            `yaml:"plugins,omitempty" json:"plugins"`
}

// Project is one entry of `projects`.
type Project struct {
	Name     string    `yaml:"name" json:"name"`
	Backends []Backend `yaml:"backends,omitempty" json:"backends"`
}

// Backend is one entry of a project's `backends`. Its settings depend on the
// type and are kept as a YAML node for the backend that reads them.
type Backend struct {
	// Type is the backend's `type`.
	Type string
	Node yaml.Node
	Line int
}

// DefaultPermissions are the `default_permissions` of the server's config.yml.
type DefaultPermissions struct {
	AllowNonAdminsCreateProjects  bool `yaml:"allow_non_admins_create_projects" json:"allow_non_admins_create_projects"`
	AllowNonAdminsManageSSHFleets bool `yaml:"allow_non_admins_manage_ssh_fleets" json:"allow_non_admins_manage_ssh_fleets"`
	AllowManagersManageSecrets    bool `yaml:"allow_managers_manage_secrets" json:"allow_managers_manage_secrets"`
}

// DefaultDefaultPermissions are upstream's defaults.
var DefaultDefaultPermissions = DefaultPermissions{
	AllowNonAdminsCreateProjects:  true,
	AllowNonAdminsManageSSHFleets: true,
	AllowManagersManageSecrets:    false,
}

// Encryption is the `encryption` section.
type Encryption struct {
	Keys []crypto.KeyConfig `yaml:"keys" json:"keys"`
}

// BackendTypes are the backend type names upstream accepts.
var BackendTypes = []string{"amddevcloud", "aws", "azure", "cloudrift", "crusoe", "cudo", "datacrunch",
	"digitalocean", "gcp", "hotaisle", "jarvislabs", "kubernetes", "lambda", "nebius", "oci", "runpod",
	"tensordock", "vastai", "verda", "vultr", "slurm"}

// UnmarshalNode checks a backend's type; its settings are the backend's to
// read (Parse keeps them as YAML).
func (b *Backend) UnmarshalNode(d *decode.Decoder, n *decode.Node) error {
	if n.Kind != decode.MapNode {
		return decode.Errorf(n, "expected a backend (a mapping with type: and its settings), got %s", n.Describe())
	}
	t := n.Get("type")
	if t == nil || t.Kind == decode.NullNode {
		return decode.Errorf(n, "backend has no type (accepted: %s)", strings.Join(BackendTypes, ", "))
	}
	if err := d.Into(t, &b.Type); err != nil {
		return decode.WithPath("type", err)
	}
	if !slices.Contains(BackendTypes, b.Type) {
		return decode.WithPath("type", decode.Errorf(t, "backend type %q is unknown (accepted: %s)", b.Type, strings.Join(BackendTypes, ", ")))
	}
	b.Line = n.Line
	return nil
}

// MarshalYAML writes the backend's settings back unchanged.
func (b Backend) MarshalYAML() (any, error) { return &b.Node, nil }

var projectNameRe = schemas.MustNameRule(`^[a-zA-Z0-9-_]{1,50}$`)

// Parse decodes and validates config.yml content strictly (unknown keys are
// errors); errors start with name and the line.
func Parse(data []byte, name string) (*File, error) {
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		return nil, syntaxError(name, err)
	}
	var f File
	if root.Kind == 0 {
		return &f, nil // an empty file
	}
	if err := decode.YAML(&root, &f); err != nil {
		return nil, located(name, err)
	}
	if err := f.keepBackendNodes(&root); err != nil {
		return nil, err
	}
	if err := f.validate(); err != nil {
		return nil, located(name, err)
	}
	return &f, nil
}

// keepBackendNodes stores each backend's YAML node, for the backend's own
// decoder and to write the file back unchanged.
func (f *File) keepBackendNodes(root *yaml.Node) error {
	projects := child(root.Content[0], "projects")
	for i := range f.Projects {
		backends := child(child(projects, strconv.Itoa(i)), "backends")
		for j := range f.Projects[i].Backends {
			n := child(backends, strconv.Itoa(j))
			if n == nil {
				return fmt.Errorf("projects[%d].backends[%d]: not found in the file", i, j)
			}
			f.Projects[i].Backends[j].Node = *n
		}
	}
	return nil
}

// syntaxError renders a YAML syntax error as "file:line: what". yaml.v3
// reports syntax errors only as text, "yaml: line N: what".
func syntaxError(name string, err error) error {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	if rest, ok := strings.CutPrefix(msg, "line "); ok {
		if num, what, ok := strings.Cut(rest, ": "); ok {
			if line, err := strconv.Atoi(num); err == nil {
				return fmt.Errorf("%s:%d: %s", name, line, what)
			}
		}
	}
	return fmt.Errorf("%s: %s", name, msg)
}

// located renders a decoding or validation error as "file:line: path: what".
func located(name string, err error) error {
	var fe *decode.FieldError
	if errors.As(err, &fe) && fe.Line > 0 {
		return fmt.Errorf("%s:%d: %w", name, fe.Line, err)
	}
	return fmt.Errorf("%s: %w", name, err)
}

// Load reads and parses the file at path.
func Load(path string) (*File, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return Parse(data, path)
}

func (f *File) validate() error {
	seen := map[string]bool{}
	for i, p := range f.Projects {
		path := fmt.Sprintf("projects[%d].name", i)
		if !projectNameRe.MatchString(p.Name) {
			return &decode.FieldError{Path: path, Msg: fmt.Sprintf("%q is not a valid project name (1-50 letters, digits, '-' or '_')", p.Name)}
		}
		if seen[strings.ToLower(p.Name)] {
			return &decode.FieldError{Path: path, Msg: fmt.Sprintf("project %q is listed twice", p.Name)}
		}
		seen[strings.ToLower(p.Name)] = true
		types := map[string]bool{}
		for j, b := range p.Backends {
			if types[b.Type] {
				return &decode.FieldError{Path: fmt.Sprintf("projects[%d].backends[%d]", i, j), Line: b.Line,
					Msg: fmt.Sprintf("project %q lists backend %q twice", p.Name, b.Type)}
			}
			types[b.Type] = true
		}
	}
	if f.Encryption != nil {
		if _, err := crypto.NewKeyring(f.Encryption.Keys); err != nil {
			return &decode.FieldError{Path: "encryption.keys", Msg: err.Error()}
		}
	}
	return nil
}

// Keyring builds the encryption keyring the file configures (identity only
// when there is no encryption section).
func (f *File) Keyring() (*crypto.Keyring, error) {
	var keys []crypto.KeyConfig
	if f != nil && f.Encryption != nil {
		keys = f.Encryption.Keys
	}
	return crypto.NewKeyring(keys)
}

// Permissions returns the default permissions, upstream's defaults when unset.
func (f *File) Permissions() DefaultPermissions {
	if f == nil || f.DefaultPermissions == nil {
		return DefaultDefaultPermissions
	}
	return *f.DefaultPermissions
}

// Default is the file written on first start.
func Default() *File {
	return &File{Projects: []Project{{Name: "main"}}, Encryption: &Encryption{Keys: []crypto.KeyConfig{}}}
}

// Write saves f at path, readable only by its owner (it may hold secrets).
func (f *File) Write(path string) error {
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(f); err != nil {
		return fmt.Errorf("encode %s: %w", path, err)
	}
	return os.WriteFile(path, buf.Bytes(), 0o600)
}
