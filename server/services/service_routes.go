package services

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/dstackgo/dstack/db"
	"github.com/dstackgo/dstack/server/sched"
	"github.com/dstackgo/dstack/server/schemas"
)

// ServiceRoute is what the in-server proxy needs to reach one service run:
// its settings and the replicas that take traffic now.
type ServiceRoute struct {
	RunID       string
	ProjectName string
	RunName     string
	Auth        bool
	StripPrefix bool
	Model       *schemas.ServiceModel
	RateLimits  []schemas.RateLimit
	// Wakes says whether a request to the run while it has no replica makes
	// it scale up (an autoscaled service down to zero): the request then
	// waits for a replica.
	Wakes    bool
	Replicas []ServiceReplica
	// NotReady says why Replicas is empty (the run's or its jobs' state).
	NotReady string
}

// ServiceReplica is one running job of a service and where its port is.
type ServiceReplica struct {
	JobID      string
	ReplicaNum int
	Host       *RemoteHost
	// Port is the service port on the host (the job's mapped port).
	Port int
	// ReadyAfter is the ready_after of each of the job's probes.
	ReadyAfter []int
}

// ErrNoService is returned by ServiceRoutes.Route for a name that is no
// live service run of the project.
var ErrNoService = errors.New("service not found")

// ServiceRoutes finds service runs and their replicas for the proxy.
type ServiceRoutes struct{ *Env }

// Route loads the project's live run with this name; ErrNoService when the
// project or the run is missing, finished, or not a service.
func (s ServiceRoutes) Route(ctx context.Context, project, run string) (*ServiceRoute, error) {
	p, err := db.GetProjectByName(ctx, s.DB, project)
	if errors.Is(err, db.ErrNotFound) {
		return nil, ErrNoService
	} else if err != nil {
		return nil, fmt.Errorf("load project %s: %w", project, err)
	}
	r, err := db.GetRunByName(ctx, s.DB, p.ID, run)
	if errors.Is(err, db.ErrNotFound) {
		return nil, ErrNoService
	} else if err != nil {
		return nil, fmt.Errorf("load run %s: %w", run, err)
	}
	if schemas.RunStatus(r.Status).Finished() {
		return nil, ErrNoService
	}
	var spec schemas.RunSpec
	if err := json.Unmarshal([]byte(r.RunSpec), &spec); err != nil {
		return nil, fmt.Errorf("the stored spec of run %s cannot be read: %w", run, err)
	}
	conf := spec.Configuration.Service
	if conf == nil {
		return nil, ErrNoService
	}
	route := &ServiceRoute{RunID: r.ID, ProjectName: p.Name, RunName: r.RunName, Auth: conf.Auth,
		StripPrefix: conf.StripPrefix, Model: conf.Model, RateLimits: conf.RateLimits, Wakes: conf.Scaling != nil}
	jobs, err := db.ListRunJobs(ctx, s.DB, r.ID)
	if err != nil {
		return nil, fmt.Errorf("load jobs of %s: %w", run, err)
	}
	var running []ServiceReplica
	for i := range jobs {
		rep, err := s.replica(ctx, &jobs[i])
		if err != nil {
			return nil, err
		}
		if rep != nil {
			running = append(running, *rep)
		}
	}
	route.Replicas, err = s.ready(ctx, running)
	if err != nil {
		return nil, err
	}
	switch {
	case len(running) == 0:
		route.NotReady = fmt.Sprintf("the run is %s and none of its replicas is running", r.Status)
	case len(route.Replicas) == 0:
		route.NotReady = fmt.Sprintf("%d replica(s) running, none has passed its probes yet", len(running))
	}
	return route, nil
}

// ready keeps the running replicas whose probes are ready (all of them when
// the service has no probes).
func (s ServiceRoutes) ready(ctx context.Context, running []ServiceReplica) ([]ServiceReplica, error) {
	var ids []string
	for _, r := range running {
		if len(r.ReadyAfter) > 0 {
			ids = append(ids, r.JobID)
		}
	}
	if len(ids) == 0 {
		return running, nil
	}
	probes, err := db.ListJobProbes(ctx, s.DB, ids...)
	if err != nil {
		return nil, fmt.Errorf("load probes: %w", err)
	}
	var out []ServiceReplica
	for _, r := range running {
		if sched.ProbesReady(r.ReadyAfter, streaks(probes[r.JobID])) {
			out = append(out, r)
		}
	}
	return out, nil
}

// streaks lists the success streaks of a job's probes, by probe number.
func streaks(ps []db.JobProbe) []int {
	out := make([]int, len(ps))
	for i, p := range ps {
		out[i] = p.SuccessStreak
	}
	return out
}

// Replica is where a running service job takes requests (its host and
// port), or nil when the job does not take any.
func (s ServiceRoutes) Replica(ctx context.Context, j *db.Job) (*ServiceReplica, error) {
	return s.replica(ctx, j)
}

// replica is a running job's replica, or nil when the job does not take
// traffic (not running, or not the replica's first job).
func (s ServiceRoutes) replica(ctx context.Context, j *db.Job) (*ServiceReplica, error) {
	if schemas.JobStatus(j.Status) != schemas.JobRunning || j.JobNum != 0 || j.InstanceID == nil {
		return nil, nil
	}
	var spec schemas.JobSpec
	if err := json.Unmarshal([]byte(j.JobSpecData), &spec); err != nil {
		return nil, fmt.Errorf("the stored spec of job %s cannot be read: %w", j.JobName, err)
	}
	if spec.ServicePort == nil {
		return nil, nil
	}
	port := *spec.ServicePort
	if j.JobRuntimeData != nil {
		var jrd schemas.JobRuntimeData
		if err := json.Unmarshal([]byte(*j.JobRuntimeData), &jrd); err != nil {
			return nil, fmt.Errorf("the stored runtime data of job %s cannot be read: %w", j.JobName, err)
		}
		if p, ok := jrd.Ports[strconv.Itoa(port)]; ok {
			port = p
		}
	}
	in, err := db.GetInstance(ctx, s.DB, *j.InstanceID)
	if err != nil {
		return nil, fmt.Errorf("load instance of %s: %w", j.JobName, err)
	}
	rh, err := (Fleets{s.Env}).RemoteHostOf(in)
	if err != nil {
		return nil, err
	}
	return &ServiceReplica{JobID: j.ID, ReplicaNum: j.ReplicaNum, Host: rh, Port: port, ReadyAfter: ProbeReadyAfter(&spec)}, nil
}

// Requested counts a request to a run for the autoscaler; a request to a
// run without a ready replica wakes the runs pipeline, which scales an
// autoscaled service up from zero at once.
func (s ServiceRoutes) Requested(runID string, noReplica bool) {
	if s.Stats != nil {
		s.Stats.Record(runID, time.Now())
	}
	if noReplica {
		s.WakeUp(PipelineRuns)
	}
}

// ProjectMember reports whether token belongs to an active user who is a
// member of the project (or a global admin).
func (s ServiceRoutes) ProjectMember(ctx context.Context, project, token string) (bool, error) {
	u, err := (Users{s.Env}).Authenticate(ctx, token)
	var se *Error
	if errors.As(err, &se) {
		return false, nil
	} else if err != nil {
		return false, err
	}
	a, err := (Projects{s.Env}).Resolve(ctx, u, project)
	if errors.As(err, &se) {
		return false, nil
	} else if err != nil {
		return false, err
	}
	return a.GlobalAdmin || a.Role != "", nil
}

// ServiceSpec is the run's `service` as upstream shows it for a service
// served by this server (no gateway): its URL and model, paths relative to
// the server's URL. Nil for other runs.
func ServiceSpec(project, run string, conf *schemas.ServiceConfiguration) *schemas.ServiceSpec {
	if conf == nil {
		return nil
	}
	url := "/proxy/services/" + project + "/" + run + "/"
	out := &schemas.ServiceSpec{URL: url, Options: map[string]any{}}
	if m := conf.Model; m != nil {
		base := "/proxy/models/" + project + "/"
		if m.Format == "openai" {
			prefix := "/v1"
			if m.Prefix != nil {
				prefix = *m.Prefix
			}
			base = url[:len(url)-1] + prefix
		}
		out.Model = &schemas.ServiceModelSpec{Name: m.Name, BaseURL: base, Type: m.Type}
		model := *m
		if model.Format == "openai" && model.Prefix == nil {
			model.Prefix = ptr("/v1")
		}
		out.Options["openai"] = map[string]any{"model": model}
	}
	return out
}

// ModelRoute is a model published by a live service run of a project.
type ModelRoute struct {
	Name    string
	RunName string
	// Prefix is where the replicas serve the OpenAI API ("/v1").
	Prefix      string
	SubmittedAt time.Time
}

// Models lists the models of the project's live service runs, newest run
// first.
func (s ServiceRoutes) Models(ctx context.Context, project string) ([]ModelRoute, error) {
	p, err := db.GetProjectByName(ctx, s.DB, project)
	if errors.Is(err, db.ErrNotFound) {
		return nil, nil
	} else if err != nil {
		return nil, fmt.Errorf("load project %s: %w", project, err)
	}
	runs, err := db.ListRuns(ctx, s.DB, db.RunFilter{ProjectIDs: []string{p.ID}, OnlyActive: true,
		Page: db.Page{Limit: 10000}})
	if err != nil {
		return nil, fmt.Errorf("list runs of %s: %w", project, err)
	}
	var out []ModelRoute
	for i := range runs {
		r := &runs[i]
		if !strings.Contains(r.RunSpec, `"model"`) {
			continue // most runs: no need to decode them
		}
		var spec schemas.RunSpec
		if err := json.Unmarshal([]byte(r.RunSpec), &spec); err != nil {
			return nil, fmt.Errorf("the stored spec of run %s cannot be read: %w", r.RunName, err)
		}
		conf := spec.Configuration.Service
		if conf == nil || conf.Model == nil {
			continue
		}
		prefix := "/v1"
		if conf.Model.Prefix != nil {
			prefix = *conf.Model.Prefix
		}
		out = append(out, ModelRoute{Name: conf.Model.Name, RunName: r.RunName, Prefix: prefix, SubmittedAt: r.SubmittedAt})
	}
	return out, nil
}

// checkNoGateway refuses a service that asks for a gateway: this server
// publishes services itself (server/proxy/README.md has the gateway shape).
func checkNoGateway(conf *schemas.ServiceConfiguration) error {
	if conf == nil || conf.Gateway == nil || (conf.Gateway.Ref == nil && !conf.Gateway.Enabled) {
		return nil
	}
	what := "`gateway: true`"
	if conf.Gateway.Ref != nil {
		what = fmt.Sprintf("`gateway: %s`", conf.Gateway.Ref.Name)
	}
	return InvalidField("configuration.gateway", "%s: this server has no gateways; it publishes services itself "+
		"at /proxy/services/<project>/<run>/. Remove `gateway` or set it to false", what)
}
