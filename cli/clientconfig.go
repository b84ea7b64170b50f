package cli

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"gopkg.in/yaml.v3"
)

// clientProject is one project of the client config, in upstream's format.
type clientProject struct {
	Name    string `yaml:"name"`
	URL     string `yaml:"url"`
	Token   string `yaml:"token"`
	Default bool   `yaml:"default,omitempty"`
}

// clientConfig is ~/.dstack/config.yml, the file the official CLI uses too;
// keys this binary does not know are kept as they are.
type clientConfig struct {
	Projects []clientProject `yaml:"projects"`
	Extra    map[string]any  `yaml:",inline"`
	path     string
}

// clientConfigPath is ~/.dstack/config.yml.
func clientConfigPath() (string, error) {
	home, err := os.UserHomeDir()
	if err != nil {
		return "", fmt.Errorf("find home directory: %w", err)
	}
	return filepath.Join(home, ".dstack", "config.yml"), nil
}

// loadClientConfig reads the client config; a missing file is empty.
func loadClientConfig() (*clientConfig, error) {
	path, err := clientConfigPath()
	if err != nil {
		return nil, err
	}
	cfg := &clientConfig{path: path}
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return cfg, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	if err := yaml.Unmarshal(data, cfg); err != nil {
		return nil, fmt.Errorf("%s: %v", path, err)
	}
	return cfg, nil
}

// save writes the config with owner-only permissions (it holds tokens).
func (c *clientConfig) save() error {
	if err := os.MkdirAll(filepath.Dir(c.path), 0o700); err != nil {
		return fmt.Errorf("create %s: %w", filepath.Dir(c.path), err)
	}
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(c); err != nil {
		return fmt.Errorf("encode client config: %w", err)
	}
	data := buf.Bytes()
	tmp := c.path + ".tmp"
	if err := os.WriteFile(tmp, data, 0o600); err != nil {
		return fmt.Errorf("write %s: %w", c.path, err)
	}
	return os.Rename(tmp, c.path)
}

// project finds a project by name, or the default one when name is empty.
func (c *clientConfig) project(name string) *clientProject {
	for i := range c.Projects {
		p := &c.Projects[i]
		if (name == "" && p.Default) || (name != "" && p.Name == name) {
			return p
		}
	}
	if name == "" && len(c.Projects) == 1 {
		return &c.Projects[0]
	}
	return nil
}

// upsert adds or updates a project; makeDefault moves the default to it.
func (c *clientConfig) upsert(p clientProject, makeDefault bool) {
	if makeDefault || len(c.Projects) == 0 {
		for i := range c.Projects {
			c.Projects[i].Default = false
		}
		p.Default = true
	}
	for i := range c.Projects {
		if c.Projects[i].Name == p.Name {
			p.Default = p.Default || c.Projects[i].Default
			c.Projects[i] = p
			return
		}
	}
	c.Projects = append(c.Projects, p)
}
