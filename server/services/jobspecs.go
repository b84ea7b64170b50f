package services

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/dstackgo/dstack/server/schemas"
)

// Default images, as upstream names them.
const (
	defaultImage = "dstackai/base:0.15-base-ubuntu24.04"
	dindImage    = "dstackai/dind"
)

var secretRefRe = regexp.MustCompile(`\$\{\{\s*secrets\.([A-Za-z0-9_-]+)\s*\}\}`)

// Interpolate replaces ${{ secrets.NAME }} with the project's secret. Job
// specs keep the references; values are filled in only in what is sent to
// the runner, so secrets never land in stored or returned specs.
func Interpolate(s string, secrets map[string]string) (string, error) {
	var missing []string
	out := secretRefRe.ReplaceAllStringFunc(s, func(m string) string {
		name := secretRefRe.FindStringSubmatch(m)[1]
		v, ok := secrets[name]
		if !ok {
			missing = append(missing, name)
		}
		return v
	})
	if len(missing) > 0 {
		return "", fmt.Errorf("secret %s is not set in this project (dstack secret set %s ...)", missing[0], missing[0])
	}
	return out, nil
}

// jobGroup is one kind of job a run has: its count and what differs.
type jobGroup struct {
	name      string
	nodes     int
	commands  []string
	ports     []schemas.PortMapping
	resources schemas.ResourcesSpec
}

// buildJobSpecs expands a run spec into its jobs (nodes × replicas).
// profile is the merged profile; references to secrets must resolve.
func buildJobSpecs(runName string, spec *schemas.RunSpec, profile schemas.Profile, secrets map[string]string) ([]schemas.JobSpec, error) {
	conf := spec.Configuration
	base := conf.Base()
	var groups []jobGroup
	replicas := 1
	singleBranch := true
	var servicePort *int
	switch {
	case conf.Task != nil:
		t := conf.Task
		if len(t.Groups) > 0 {
			for i, g := range t.Groups {
				name := strconv.Itoa(i)
				if g.Name != nil {
					name = *g.Name
				}
				groups = append(groups, jobGroup{name, g.Nodes, g.Commands, g.Ports, g.Resources})
			}
		} else {
			nodes := 1
			if t.Nodes != nil {
				nodes = *t.Nodes
			}
			groups = []jobGroup{{"0", nodes, t.Commands, t.Ports, base.Resources}}
		}
	case conf.Service != nil:
		s := conf.Service
		if s.Replicas.Range != nil && s.Replicas.Range.Min != nil {
			replicas = max(*s.Replicas.Range.Min, 1)
		}
		servicePort = &s.Port.ContainerPort
		groups = []jobGroup{{"0", 1, s.Commands, []schemas.PortMapping{schemas.PortMapping(s.Port)}, base.Resources}}
	case conf.DevEnvironment != nil:
		d := conf.DevEnvironment
		singleBranch = false
		cmds := append(append([]string{}, d.Init...), "echo 'The dev environment is ready; connect with ssh'", "sleep infinity")
		groups = []jobGroup{{"0", 1, cmds, d.Ports, base.Resources}}
	default:
		return nil, Invalid("Unknown run configuration type %q", conf.Type())
	}
	env := base.Env.Map()
	for k, v := range env {
		if _, err := Interpolate(v, secrets); err != nil {
			return nil, InvalidField("env."+k, "%v", err)
		}
	}
	if u := base.Env.Unresolved(); len(u) > 0 {
		return nil, InvalidField("env", "env %s has no value: set it in the configuration, or export it where you run `dstack apply`", u[0])
	}
	total := 0
	for _, g := range groups {
		total += g.nodes
	}
	var out []schemas.JobSpec
	for r := 0; r < replicas; r++ {
		jobNum := 0
		for gi, g := range groups {
			for k := 0; k < g.nodes; k++ {
				js, err := jobSpec(runName, spec, profile, env, g, jobNum, r, total)
				if err != nil {
					return nil, err
				}
				js.NodeGroupIndex, js.NodeGroupName, js.NodeGroupJobIndex = gi, g.name, k
				js.SingleBranch = &singleBranch
				js.ServicePort = servicePort
				js.Probes = probeSpecs(conf.Service)
				out = append(out, js)
				jobNum++
			}
		}
	}
	return out, nil
}

func jobSpec(runName string, spec *schemas.RunSpec, profile schemas.Profile, env map[string]string, g jobGroup, jobNum, replica, jobsPerReplica int) (schemas.JobSpec, error) {
	base := spec.Configuration.Base()
	custom := base.Image != nil
	image := defaultImage
	shell := "/bin/bash"
	switch {
	case custom:
		image, shell = *base.Image, "/bin/sh"
	case base.Docker != nil && *base.Docker:
		image = dindImage
	}
	if base.Shell != nil {
		switch *base.Shell {
		case "sh":
			shell = "/bin/sh"
		case "bash":
			shell = "/bin/bash"
		default:
			shell = *base.Shell
		}
	}
	js := schemas.JobSpec{
		ReplicaNum: replica, JobNum: jobNum, JobName: fmt.Sprintf("%s-%d-%d", runName, jobNum, replica),
		JobsPerReplica: jobsPerReplica, ReplicaGroup: "0", Env: env, ImageName: image,
		Privileged: base.Privileged || (base.Docker != nil && *base.Docker), RegistryAuth: base.RegistryAuth,
		WorkingDir: base.WorkingDir, RepoData: spec.RepoData, RepoCodeHash: spec.RepoCodeHash, RepoDir: "/workflow",
		FileArchives: spec.FileArchives, Probes: []schemas.ProbeConfig{}, AppSpecs: []schemas.AppSpec{},
		Volumes: nil, UtilizationPolicy: profile.UtilizationPolicy,
	}
	if spec.RepoDir != nil {
		js.RepoDir = *spec.RepoDir
	}
	if js.FileArchives == nil {
		js.FileArchives = []schemas.FileArchiveRef{}
	}
	if len(g.commands) > 0 {
		script := strings.Join(append(append([]string{}, base.Setup...), g.commands...), " && ")
		js.Commands = []string{shell, "-i", "-c", script}
	} else {
		js.Commands = []string{}
	}
	for _, p := range g.ports {
		js.AppSpecs = append(js.AppSpecs, schemas.AppSpec{Port: p.ContainerPort, MapToPort: p.LocalPort, AppName: "app"})
	}
	if base.User != nil {
		u := parseUser(*base.User)
		js.User = &u
	}
	if d, ok := profile.ResolvedMaxDuration(); ok {
		js.MaxDuration = ptr(int(d))
	}
	if d, ok := profile.ResolvedStopDuration(); ok {
		js.StopDuration = ptr(int(d))
	}
	if r := profile.ResolvedRetry(); r != nil {
		js.Retry = &schemas.JobRetry{OnEvents: r.OnEvents, Duration: int(*r.Duration)}
	}
	js.Requirements = requirements(g.resources, profile, custom, jobsPerReplica > 1)
	return js, nil
}

func requirements(res schemas.ResourcesSpec, profile schemas.Profile, customImage, multinode bool) schemas.Requirements {
	r := schemas.Requirements{Resources: res.WithServerDefaults(customImage), MaxPrice: profile.MaxPrice, Reservation: profile.Reservation}
	switch profile.ResolvedSpotPolicy() {
	case schemas.SpotPolicy("spot"):
		r.Spot = ptr(true)
	case schemas.SpotPolicy("on-demand"):
		r.Spot = ptr(false)
	}
	if multinode {
		r.Multinode = ptr(true)
	}
	return r
}

// parseUser reads "user[:group]" with names or numeric ids.
func parseUser(s string) schemas.UnixUser {
	var u schemas.UnixUser
	name, group, hasGroup := strings.Cut(s, ":")
	if n, err := strconv.Atoi(name); err == nil {
		u.UID = &n
	} else {
		u.Username = &name
	}
	if hasGroup {
		if n, err := strconv.Atoi(group); err == nil {
			u.GID = &n
		} else {
			u.Groupname = &group
		}
	}
	return u
}
