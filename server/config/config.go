// Package config reads and writes the server's config.yml: projects and their
// backends, encryption keys and default permissions. Errors name the file and
// line so an operator can fix the file directly.
package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"strings"
	"sync"

	"gopkg.in/yaml.v3"

	"github.com/dstackgo/dstack/crypto"
)

// File is the content of config.yml.
type File struct {
	Projects           []Project           `yaml:"projects"`
	Encryption         *Encryption         `yaml:"encryption,omitempty"`
	DefaultPermissions *DefaultPermissions `yaml:"default_permissions,omitempty"`
	Plugins            []string            `yaml:"plugins,omitempty"`
}

// Project is one entry of `projects`.
type Project struct {
	Name     string    `yaml:"name"`
	Backends []Backend `yaml:"backends,omitempty"`
}

// Backend is one entry of a project's `backends`. Its settings depend on the
// type and are kept as a YAML node for the backend that reads them.
type Backend struct {
	Type string
	Node yaml.Node
	Line int
}

// DefaultPermissions are the `default_permissions` of the server's config.yml.
type DefaultPermissions struct {
	AllowNonAdminsCreateProjects  bool `yaml:"allow_non_admins_create_projects"`
	AllowNonAdminsManageSSHFleets bool `yaml:"allow_non_admins_manage_ssh_fleets"`
	AllowManagersManageSecrets    bool `yaml:"allow_managers_manage_secrets"`
}

// DefaultDefaultPermissions are upstream's defaults.
var DefaultDefaultPermissions = DefaultPermissions{
	AllowNonAdminsCreateProjects:  true,
	AllowNonAdminsManageSSHFleets: true,
	AllowManagersManageSecrets:    false,
}

// Encryption is the `encryption` section.
type Encryption struct {
	Keys []crypto.KeyConfig `yaml:"keys"`
}

// BackendTypes are the backend type names upstream accepts.
var BackendTypes = []string{"amddevcloud", "aws", "azure", "cloudrift", "crusoe", "cudo", "datacrunch",
	"digitalocean", "gcp", "hotaisle", "jarvislabs", "kubernetes", "lambda", "nebius", "oci", "runpod",
	"tensordock", "vastai", "verda", "vultr", "slurm"}

// UnmarshalYAML keeps a backend's settings and checks its type.
func (b *Backend) UnmarshalYAML(n *yaml.Node) error {
	var head struct {
		Type string `yaml:"type"`
	}
	if err := n.Decode(&head); err != nil {
		return err
	}
	if head.Type == "" {
		return &lineError{n.Line, "backend has no type (accepted: " + strings.Join(BackendTypes, ", ") + ")"}
	}
	if !contains(BackendTypes, head.Type) {
		return &lineError{n.Line, fmt.Sprintf("backend type %q is unknown (accepted: %s)", head.Type, strings.Join(BackendTypes, ", "))}
	}
	b.Type, b.Node, b.Line = head.Type, *n, n.Line
	return nil
}

// MarshalYAML writes the backend's settings back unchanged.
func (b Backend) MarshalYAML() (any, error) { return &b.Node, nil }

// lineError is a validation error at a line of the file.
type lineError struct {
	line int
	msg  string
}

func (e *lineError) Error() string { return fmt.Sprintf("line %d: %s", e.line, e.msg) }

var projectNameRe = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[a-zA-Z0-9-_]{1,50}$`) })

// Parse decodes and validates config.yml content; name prefixes errors.
func Parse(data []byte, name string) (*File, error) {
	var f File
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&f); err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("%s", describe(name, err))
	}
	if err := f.validate(); err != nil {
		return nil, fmt.Errorf("%s:%s", name, err.Error())
	}
	return &f, nil
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
		if !projectNameRe().MatchString(p.Name) {
			return fmt.Errorf(" projects[%d].name: %q is not a valid project name (1-50 letters, digits, '-' or '_')", i, p.Name)
		}
		if seen[strings.ToLower(p.Name)] {
			return fmt.Errorf(" projects[%d].name: project %q is listed twice", i, p.Name)
		}
		seen[strings.ToLower(p.Name)] = true
		types := map[string]bool{}
		for _, b := range p.Backends {
			if types[b.Type] {
				return fmt.Errorf("%d: project %q lists backend %q twice", b.Line, p.Name, b.Type)
			}
			types[b.Type] = true
		}
	}
	if f.Encryption != nil {
		if _, err := crypto.NewKeyring(f.Encryption.Keys); err != nil {
			return fmt.Errorf(" encryption.keys: %v", err)
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

var (
	reUnknown = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`line (\d+): field (\S+) not found in type (\S+)`) })
	reLine    = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`line (\d+): (.*)`) })
)

// describe rewrites yaml.v3 errors as "file:line: what is wrong".
func describe(name string, err error) string {
	var te *yaml.TypeError
	var le *lineError
	var msgs []string
	switch {
	case errors.As(err, &le):
		msgs = []string{fmt.Sprintf("%s:%d: %s", name, le.line, le.msg)}
	case errors.As(err, &te):
		for _, m := range te.Errors {
			if g := reUnknown().FindStringSubmatch(m); g != nil {
				msgs = append(msgs, fmt.Sprintf("%s:%s: unknown key %q (accepted: %s)", name, g[1], g[2], acceptedKeys(g[3])))
			} else if g := reLine().FindStringSubmatch(m); g != nil {
				msgs = append(msgs, fmt.Sprintf("%s:%s: %s", name, g[1], strings.TrimPrefix(g[2], "cannot unmarshal ")))
			} else {
				msgs = append(msgs, name+": "+m)
			}
		}
	default:
		msg := strings.TrimPrefix(err.Error(), "yaml: ")
		if g := reLine().FindStringSubmatch(msg); g != nil {
			return fmt.Sprintf("%s:%s: %s", name, g[1], g[2])
		}
		return name + ": " + msg
	}
	return strings.Join(msgs, "\n")
}

func acceptedKeys(goType string) string {
	switch strings.TrimPrefix(goType, "config.") {
	case "File":
		return "projects, encryption, default_permissions, plugins"
	case "Project":
		return "name, backends"
	case "Encryption":
		return "keys"
	case "DefaultPermissions":
		return "allow_non_admins_create_projects, allow_non_admins_manage_ssh_fleets, allow_managers_manage_secrets"
	case "crypto.KeyConfig", "KeyConfig":
		return "type, name, secret"
	}
	return "see the documentation"
}

func contains(xs []string, x string) bool {
	for _, v := range xs {
		if v == x {
			return true
		}
	}
	return false
}
