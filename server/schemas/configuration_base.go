package schemas

import (
	"fmt"
	"slices"

	"github.com/dstackgo/dstack/server/schemas/decode"
)

// Configuration type discriminators (`type:` in a configuration file).
const (
	ConfigurationTypeDevEnvironment = "dev-environment"
	ConfigurationTypeTask           = "task"
	ConfigurationTypeService        = "service"
	ConfigurationTypeFleet          = "fleet"
)

// BaseRunConfiguration holds the fields common to dev environments, tasks and services, in
// upstream's order. It is embedded (never used alone), so it has no JSON methods.
type BaseRunConfiguration struct {
	Type         string            `json:"type"`
	Name         *string           `json:"name"`
	Image        *string           `json:"image"`
	User         *string           `json:"user"` // user[:group], names or ids
	Privileged   bool              `json:"privileged"`
	Entrypoint   *string           `json:"entrypoint"`
	WorkingDir   *string           `json:"working_dir"`
	HomeDir      string            `json:"home_dir"` // deprecated, no effect
	RegistryAuth *RegistryAuth     `json:"registry_auth"`
	Python       *PythonVersion    `json:"python"`
	Nvcc         *bool             `json:"nvcc"`
	SingleBranch *bool             `json:"single_branch"`
	Env          Env               `json:"env"`
	Shell        *string           `json:"shell"` // sh, bash or an absolute path
	Resources    ResourcesSpec     `json:"resources"`
	Priority     *int              `json:"priority"` // 0..100, null → 0
	Volumes      []MountPoint      `json:"volumes"`
	Docker       *bool             `json:"docker"`
	Repos        []RepoSpec        `json:"repos"` // at most one
	Files        []FilePathMapping `json:"files"`
	Dstack       bool              `json:"dstack"`
	Setup        []string          `json:"setup"` // deprecated
}

// Run configuration defaults.
const (
	DefaultHomeDir      = "/root"
	RunPriorityMin      = 0
	RunPriorityMax      = 100
	RunPriorityDefault  = 0
	DefaultReplicaGroup = "0"
)

func (b *BaseRunConfiguration) setBaseDefaults(typ string) {
	b.Type = typ
	b.HomeDir = DefaultHomeDir
	b.Resources = DefaultResourcesSpec()
	b.Volumes = []MountPoint{}
	b.Repos = []RepoSpec{}
	b.Files = []FilePathMapping{}
	b.Setup = []string{}
}

// fillEmptyLists makes the non-nullable lists encode as [] even when built in Go code.
func (b *BaseRunConfiguration) fillEmptyLists() {
	b.Volumes = orEmpty(b.Volumes)
	b.Repos = orEmpty(b.Repos)
	b.Files = orEmpty(b.Files)
	b.Setup = orEmpty(b.Setup)
}

func (b *BaseRunConfiguration) checkType(want string) error {
	if b.Type != want {
		return decode.WithPath("type", fmt.Errorf("expected %q, got %q", want, b.Type))
	}
	return nil
}

// validateBase checks the common fields (`what` names the configuration kind in messages).
func (b BaseRunConfiguration) validateBase(what string) error {
	if b.Name != nil && !resourceNameRe().MatchString(*b.Name) {
		return decode.WithPath("name", fmt.Errorf("invalid %s name %q; it must match %s", what, *b.Name, resourceNameRe()))
	}
	if err := validateImageSources("", b.Image != nil, b.Python != nil, b.Nvcc != nil && *b.Nvcc, b.Docker != nil && *b.Docker); err != nil {
		return err
	}
	if b.Python != nil {
		if err := b.Python.validate(); err != nil {
			return decode.WithPath("python", err)
		}
	}
	if b.User != nil {
		if err := validateUnixUser(*b.User); err != nil {
			return decode.WithPath("user", err)
		}
	}
	if b.Shell != nil && *b.Shell != "sh" && *b.Shell != "bash" && !isAbsPath(*b.Shell) {
		return decode.WithPath("shell", fmt.Errorf("invalid shell %q; accepted: sh, bash, or an absolute path such as /usr/bin/zsh", *b.Shell))
	}
	if b.Priority != nil && (*b.Priority < RunPriorityMin || *b.Priority > RunPriorityMax) {
		return decode.WithPath("priority", fmt.Errorf("must be between %d and %d, got %d", RunPriorityMin, RunPriorityMax, *b.Priority))
	}
	if err := b.Resources.Validate(); err != nil {
		return decode.WithPath("resources", err)
	}
	return b.validateMounts()
}

func (b BaseRunConfiguration) validateMounts() error {
	for i, v := range b.Volumes {
		if err := v.validate(); err != nil {
			return decode.WithPath("volumes"+decode.IndexSeg(i), err)
		}
	}
	if len(b.Repos) > 1 {
		return decode.WithPath("repos", fmt.Errorf("at most one repo is currently supported, got %d", len(b.Repos)))
	}
	for i, r := range b.Repos {
		if err := r.validate(); err != nil {
			return decode.WithPath("repos"+decode.IndexSeg(i), err)
		}
	}
	for i, f := range b.Files {
		if err := f.validate(); err != nil {
			return decode.WithPath("files"+decode.IndexSeg(i), err)
		}
	}
	return nil
}

// validateImageSources enforces that image, python, nvcc and docker are not combined in
// conflicting ways (scope is "" for the run, or "within a replica group").
func validateImageSources(scope string, image, python, nvcc, docker bool) error {
	suffix := " fields"
	if scope != "" {
		suffix = " " + scope
	}
	switch {
	case image && python:
		return decode.WithPath("python", fmt.Errorf("`image` and `python` are mutually exclusive%s", suffix))
	case docker && image:
		return decode.WithPath("docker", fmt.Errorf("`image` and `docker` are mutually exclusive%s", suffix))
	case docker && python:
		return decode.WithPath("docker", fmt.Errorf("`python` and `docker` are mutually exclusive%s", suffix))
	case docker && nvcc:
		return decode.WithPath("docker", fmt.Errorf("`nvcc` and `docker` are mutually exclusive%s", suffix))
	}
	return nil
}

// RegistryAuth holds credentials for pulling a private image (${{ secrets.NAME }} allowed).
type RegistryAuth struct {
	Username string `json:"username" dstack:"required"`
	Password string `json:"password" dstack:"required"`
}

// PythonVersion is a Python major.minor version for dstack's default image. A YAML float 3.1
// means "3.10".
type PythonVersion string

var pythonVersions = []string{"3.9", "3.10", "3.11", "3.12", "3.13", "3.14"}

func (p *PythonVersion) UnmarshalNode(_ *decode.Decoder, n *decode.Node) error {
	s, err := decode.AsString(n)
	if err != nil {
		return err
	}
	if n.Kind == decode.FloatNode && s == "3.1" {
		s = "3.10"
	}
	*p = PythonVersion(s)
	return p.validate()
}

func (p PythonVersion) validate() error {
	if !slices.Contains(pythonVersions, string(p)) {
		return fmt.Errorf("invalid python version %q; accepted: %s", string(p), joinQuoted(pythonVersions))
	}
	return nil
}

// Validate checks every range in the spec (useful for specs built in code; decoding already
// rejects bad ranges).
func (r ResourcesSpec) Validate() error {
	if err := r.CPU.Count.Validate(); err != nil {
		return decode.WithPath("cpu.count", err)
	}
	if err := r.Memory.Validate(); err != nil {
		return decode.WithPath("memory", err)
	}
	if r.GPU != nil {
		if err := r.GPU.Count.Validate(); err != nil {
			return decode.WithPath("gpu.count", err)
		}
		for _, m := range []struct {
			path string
			r    *MemoryRange
		}{{"gpu.memory", r.GPU.Memory}, {"gpu.total_memory", r.GPU.TotalMemory}} {
			if m.r != nil {
				if err := m.r.Validate(); err != nil {
					return decode.WithPath(m.path, err)
				}
			}
		}
	}
	if r.Disk != nil {
		if err := r.Disk.Size.Validate(); err != nil {
			return decode.WithPath("disk.size", err)
		}
	}
	return nil
}
