package background

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	agentclient "github.com/dstackgo/dstack/backends/agent/client"
	agent "github.com/dstackgo/dstack/backends/agent/schemas"
	"github.com/dstackgo/dstack/db"
	"github.com/dstackgo/dstack/server/sched"
	"github.com/dstackgo/dstack/server/schemas"
	"github.com/dstackgo/dstack/server/services"
)

// taskBody is what the shim is asked to run for a job.
func (p *JobsRunning) taskBody(ctx context.Context, j *db.Job, d *jobData, rs *schemas.RunSpec) (agent.TaskConfigBody, error) {
	body := agent.TaskConfigBody{ID: j.ID, Name: j.JobName, ImageName: d.spec.ImageName, ContainerUser: "root",
		Privileged: d.spec.Privileged, NetworkMode: agent.NetworkMode(d.jrd.NetworkMode), HostSSHUser: d.jpd.Username,
		Volumes: []agent.VolumeInfo{}, VolumeMounts: []agent.VolumeMountPoint{}, InstanceMounts: []agent.InstanceMountPoint{},
		GPUDevices: []agent.GPUDevice{}}
	if a := d.spec.RegistryAuth; a != nil {
		secrets, err := (services.Secrets{Env: p.Env}).Values(ctx, j.ProjectID)
		if err != nil {
			return body, err
		}
		if body.RegistryUsername, err = services.Interpolate(a.Username, secrets); err != nil {
			return body, jobFault{fmt.Errorf("registry_auth: %w", err)}
		}
		if body.RegistryPassword, err = services.Interpolate(a.Password, secrets); err != nil {
			return body, jobFault{fmt.Errorf("registry_auth: %w", err)}
		}
	}
	if d.jrd.GPU != nil {
		body.GPU = *d.jrd.GPU
	} else if len(d.jpd.InstanceType.Resources.Gpus) > 0 {
		body.GPU = -1 // all of the instance's GPUs
	}
	if d.jrd.CPU != nil {
		body.CPU = *d.jrd.CPU
	}
	if d.jrd.Memory != nil {
		body.Memory = int64(*d.jrd.Memory * (1 << 30))
	}
	if shm := d.spec.Requirements.Resources.ShmSize; shm != nil {
		body.ShmSize = int64(float64(*shm) * (1 << 30))
	}
	project, err := db.GetProjectByID(ctx, p.Env.DB, j.ProjectID)
	if err != nil {
		return body, err
	}
	if rs.SSHKeyPub != nil {
		body.HostSSHKeys = []string{strings.TrimSpace(*rs.SSHKeyPub)}
		body.ContainerSSHKeys = []string{project.SSHPublicKey, strings.TrimSpace(*rs.SSHKeyPub)}
	} else {
		body.ContainerSSHKeys = []string{project.SSHPublicKey}
	}
	return body, nil
}

// provision submits the job's task to the shim (what takes the job from
// provisioning to pulling).
func (p *JobsRunning) provision(ctx context.Context, ja *jobAgent, j *db.Job, d *jobData, rs *schemas.RunSpec) error {
	if _, err := ja.shim.Healthcheck(ctx); err != nil {
		return fmt.Errorf("the dstack shim does not answer: %w", err)
	}
	body, err := p.taskBody(ctx, j, d, rs)
	if err != nil {
		return err
	}
	if err := ja.shim.SubmitTask(ctx, body); err != nil && !agentclient.IsStatus(err, http.StatusConflict) {
		return fmt.Errorf("submit the task to the shim: %w", err)
	}
	return nil
}

// startRunner hands the job to its runner once the task's container runs
// (what takes the job from pulling to running): it records the ports the
// shim mapped, submits the job, its archives and code, and starts it.
func (p *JobsRunning) startRunner(ctx context.Context, ja *jobAgent, j *db.Job, d *jobData, run *db.Run, rs *schemas.RunSpec,
	task *agent.TaskInfoResponse) error {
	if d.jrd.Ports == nil {
		d.jrd.Ports = map[string]int{}
	}
	for _, pm := range task.Ports {
		d.jrd.Ports[strconv.Itoa(pm.Container)] = pm.Host
	}
	if d.jrd.NetworkMode == string(agent.NetworkModeHost) {
		// With host networking the job's own ports (the service port, the
		// configuration's ports) are the host's: the shim publishes nothing
		// for them, so record them as mapped to themselves for whoever
		// forwards to them.
		for _, p := range appPorts(&d.spec) {
			if _, ok := d.jrd.Ports[strconv.Itoa(p)]; !ok {
				d.jrd.Ports[strconv.Itoa(p)] = p
			}
		}
	}
	inputs, refusal, err := p.loadInputs(ctx, j, d, run, rs)
	if err != nil {
		return err
	}
	if refusal != "" {
		return jobFault{errors.New(refusal)}
	}
	rc := ja.runner(d.jrd)
	if err := p.waitRunner(ctx, rc); err != nil {
		return err
	}
	if err := p.submitToRunner(ctx, rc, j, d, run, rs, inputs); err != nil {
		return err
	}
	info, err := rc.Run(ctx)
	if err != nil && !agentclient.IsStatus(err, http.StatusConflict) {
		return fmt.Errorf("start the job on the runner: %w", err)
	}
	if info != nil {
		if info.WorkingDir != "" {
			d.jrd.WorkingDir = &info.WorkingDir
		}
		if info.Username != "" {
			d.jrd.Username = &info.Username
		}
	}
	j.JobRuntimeData = ptr(mustJSON(d.jrd))
	return nil
}

// waitTask polls the shim briefly until the task runs or ends.
func (p *JobsRunning) waitTask(ctx context.Context, ja *jobAgent, id string) (*agent.TaskInfoResponse, error) {
	deadline := time.Now().Add(5 * time.Second)
	for {
		task, err := ja.shim.GetTask(ctx, id)
		if err != nil {
			return nil, fmt.Errorf("read the task from the shim: %w", err)
		}
		if task.Status == agent.TaskStatusRunning || task.Status == agent.TaskStatusTerminated || time.Now().After(deadline) {
			return task, nil
		}
		if err := sleep(ctx, 50*time.Millisecond); err != nil {
			return task, nil
		}
	}
}

func (p *JobsRunning) waitRunner(ctx context.Context, rc *agentclient.RunnerClient) error {
	deadline := time.Now().Add(10 * time.Second)
	for {
		_, err := rc.Healthcheck(ctx)
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("the job's runner does not answer: %w", err)
		}
		if err := sleep(ctx, 50*time.Millisecond); err != nil {
			return err
		}
	}
}

// submitToRunner sends the job, its archives and its code to the runner.
func (p *JobsRunning) submitToRunner(ctx context.Context, rc *agentclient.RunnerClient, j *db.Job, d *jobData, run *db.Run,
	rs *schemas.RunSpec, in *jobInputs) error {
	body, err := p.submitBody(ctx, j, d, run, rs)
	if err != nil {
		return err
	}
	body.RepoCredentials = in.creds
	if err := rc.Submit(ctx, body); err != nil && !agentclient.IsStatus(err, http.StatusConflict) {
		return fmt.Errorf("submit the job to the runner: %w", err)
	}
	for _, a := range in.archives {
		if err := rc.UploadArchive(ctx, a.id, bytes.NewReader(a.blob)); err != nil && !agentclient.IsStatus(err, http.StatusConflict) {
			return fmt.Errorf("upload file archive %s: %w", a.id, err)
		}
	}
	if err := rc.UploadCode(ctx, bytes.NewReader(in.code)); err != nil && !agentclient.IsStatus(err, http.StatusConflict) {
		return fmt.Errorf("upload code: %w", err)
	}
	return nil
}

// submitBody is the runner's view of the job: env with secrets filled in,
// and the cluster of a multi-node replica.
func (p *JobsRunning) submitBody(ctx context.Context, j *db.Job, d *jobData, run *db.Run, rs *schemas.RunSpec) (agent.SubmitBody, error) {
	secrets, err := (services.Secrets{Env: p.Env}).Values(ctx, j.ProjectID)
	if err != nil {
		return agent.SubmitBody{}, err
	}
	env := map[string]string{}
	for k, v := range d.spec.Env {
		if env[k], err = services.Interpolate(v, secrets); err != nil {
			return agent.SubmitBody{}, jobFault{fmt.Errorf("env %s: %w", k, err)}
		}
	}
	var repoData agent.RepoData
	if len(rs.RepoData) > 0 {
		if err := json.Unmarshal(rs.RepoData, &repoData); err != nil {
			return agent.SubmitBody{}, jobFault{fmt.Errorf("the run's stored repo_data cannot be read: %w", err)}
		}
	}
	conf, err := json.Marshal(rs.Configuration)
	if err != nil {
		return agent.SubmitBody{}, jobFault{fmt.Errorf("the run's configuration cannot be encoded: %w", err)}
	}
	body := agent.SubmitBody{
		Run: agent.Run{ID: run.ID, RunSpec: agent.RunSpec{RunName: run.RunName, RepoID: deref(rs.RepoID), RepoData: repoData,
			Configuration: conf, ConfigurationPath: deref(rs.ConfigurationPath)}},
		JobSpec: agent.JobSpec{ReplicaNum: d.spec.ReplicaNum, JobNum: d.spec.JobNum, JobsPerReplica: d.spec.JobsPerReplica,
			Commands: d.spec.Commands, Env: env, WorkingDir: d.spec.WorkingDir, RepoDir: &d.spec.RepoDir, RepoData: &repoData,
			RepoExistsAction: d.spec.RepoExistsAction},
		JobSubmission: agent.JobSubmission{ID: j.ID}, Secrets: map[string]string{}, LogQuotaHour: 50 << 20,
	}
	if d.spec.SingleBranch != nil {
		body.JobSpec.SingleBranch = *d.spec.SingleBranch
	}
	if d.spec.MaxDuration != nil {
		body.JobSpec.MaxDuration = *d.spec.MaxDuration
	}
	if u := d.spec.User; u != nil {
		body.JobSpec.User = &agent.User{UID: toU32(u.UID), GID: toU32(u.GID), Username: u.Username, Groupname: u.Groupname}
	}
	for _, fa := range d.spec.FileArchives {
		body.JobSpec.FileArchives = append(body.JobSpec.FileArchives, agent.FileArchive{ID: fa.ID, Path: fa.Path})
	}
	ci, err := p.clusterInfo(ctx, j, d)
	if err != nil {
		return body, err
	}
	body.ClusterInfo = agent.ClusterInfo{JobIPs: ci.JobIPs, MasterJobIP: ci.MasterJobIP, GPUsPerJob: ci.GPUsPerJob, GPUsPerNode: ci.GPUsPerNode}
	return body, nil
}

// clusterInfo builds the replica's cluster view from the latest submission
// of each of its jobs.
func (p *JobsRunning) clusterInfo(ctx context.Context, j *db.Job, d *jobData) (sched.ClusterInfo, error) {
	var all []db.Job
	if err := p.Env.DB.NewSelect().Model(&all).Where("run_id = ?", j.RunID).Where("replica_num = ?", j.ReplicaNum).
		OrderExpr("job_num, submission_num").Scan(ctx); err != nil {
		return sched.ClusterInfo{}, err
	}
	latest := map[int]*db.Job{}
	for i := range all {
		latest[all[i].JobNum] = &all[i]
	}
	var nodes []sched.ClusterNode
	for _, lj := range latest {
		ld, err := decodeJob(lj)
		if err != nil {
			return sched.ClusterInfo{}, jobFault{err}
		}
		n := sched.ClusterNode{JobNum: lj.JobNum, Provisioned: ld.jpd != nil}
		if ld.jpd != nil {
			n.InternalIP = deref(ld.jpd.InternalIP)
			if n.InternalIP == "" {
				n.InternalIP = deref(ld.jpd.Hostname)
			}
			n.GPUs = sched.NodeGPUs(*ld.jpd, ld.jrd)
		}
		nodes = append(nodes, n)
	}
	ci, ok := sched.ClusterInfoFor(nodes, j.JobNum)
	if !ok {
		return ci, errNodesPending
	}
	return ci, nil
}

func toU32(v *int) *uint32 {
	if v == nil || *v < 0 {
		return nil
	}
	u := uint32(*v)
	return &u
}

// appPorts are the ports the job itself listens on: the service port and
// the configuration's ports.
func appPorts(spec *schemas.JobSpec) []int {
	var out []int
	if spec.ServicePort != nil {
		out = append(out, *spec.ServicePort)
	}
	for _, a := range spec.AppSpecs {
		out = append(out, a.Port)
	}
	return out
}
