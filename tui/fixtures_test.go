package tui

import (
	"fmt"
	"time"

	"github.com/dstackgo/dstack/server/schemas"
)

// testNow is the fixed clock of the goldens.
var testNow = time.Date(2026, 8, 21, 13, 30, 0, 0, time.UTC)

func ptr[T any](v T) *T { return &v }

func a100Host() *schemas.JobProvisioningData {
	gpu := schemas.Gpu{Name: "A100", MemoryMiB: 40960, Vendor: ptr("nvidia")}
	return &schemas.JobProvisioningData{
		Backend: "remote", Region: "remote", InstanceID: "gpu-fleet-0", Hostname: ptr("3.255.177.51"),
		InstanceType: schemas.InstanceType{Name: "instance", Resources: schemas.Resources{
			CPUs: 16, MemoryMiB: 65536, Gpus: []schemas.Gpu{gpu, gpu}, Disk: schemas.Disk{SizeMiB: 512000}}},
		Username: "ubuntu", Dockerized: true,
	}
}

// run builds a run with one job whose latest submission has status js.
func run(name, typ string, st schemas.RunStatus, js schemas.JobStatus, age time.Duration) schemas.Run {
	var conf schemas.RunConfiguration
	switch typ {
	case "task":
		conf.Task = ptr(schemas.NewTaskConfiguration())
	case "service":
		conf.Service = ptr(schemas.NewServiceConfiguration())
		conf.Service.Port = schemas.ServicePort{ContainerPort: 8000}
	default:
		conf.DevEnvironment = ptr(schemas.NewDevEnvironmentConfiguration())
	}
	sub := schemas.JobSubmission{ID: "sub-" + name, Status: js, SubmittedAt: testNow.Add(-age), LastProcessedAt: testNow}
	r := schemas.Run{
		ID: "id-" + name, ProjectName: "main", User: "admin", SubmittedAt: testNow.Add(-age), LastProcessedAt: testNow,
		Status: st, StatusMessage: string(st), RunSpec: schemas.RunSpec{RunName: ptr(name), Configuration: conf},
		Jobs: []schemas.Job{{
			JobSpec:        schemas.JobSpec{JobName: name + "-0-0", Requirements: schemas.Requirements{Resources: schemas.DefaultResourcesSpec()}},
			JobSubmissions: []schemas.JobSubmission{sub},
		}},
	}
	r.LatestJobSubmission = &r.Jobs[0].JobSubmissions[0]
	return r
}

func testRuns() []schemas.Run {
	train := run("train-llama", "task", schemas.RunRunning, schemas.JobRunning, 20*time.Minute)
	train.Fleet = &schemas.RunFleet{ID: "f1", Name: "gpu-fleet"}
	train.LatestJobSubmission.JobProvisioningData = a100Host()
	train.Cost = 1.2345
	dev := run("vscode-dev", "dev-environment", schemas.RunProvisioning, schemas.JobProvisioning, 2*time.Minute)
	serve := run("serve-api", "service", schemas.RunFailed, schemas.JobFailed, 3*time.Hour)
	serve.Error = ptr("retry limit exceeded")
	serve.LastProcessedAt = testNow.Add(-2 * time.Hour)
	serve.LatestJobSubmission.TerminationReason = ptr("failed_to_start_due_to_no_capacity")
	serve.LatestJobSubmission.TerminationReasonMessage = ptr("no offers for 2xA100")
	old := run("old-batch", "task", schemas.RunDone, schemas.JobDone, 72*time.Hour)
	old.LatestJobSubmission.ExitStatus = ptr(0)
	old.LastProcessedAt = testNow.Add(-71 * time.Hour)
	old.Cost = 0.0421
	return []schemas.Run{dev, train, serve, old}
}

func testFleets() []schemas.Fleet {
	res := a100Host().InstanceType
	spec := schemas.FleetSpec{Configuration: schemas.NewFleetConfiguration()}
	return []schemas.Fleet{{
		ID: "f1", Name: "gpu-fleet", ProjectName: "main", Status: schemas.FleetActive, Spec: spec,
		Instances: []schemas.Instance{
			{Name: "gpu-fleet-0", Status: schemas.InstanceBusy, Hostname: ptr("3.255.177.51"), InstanceType: &res,
				HealthStatus: "healthy", TotalBlocks: ptr(2), BusyBlocks: 1},
			{Name: "gpu-fleet-1", Status: schemas.InstanceIdle, Hostname: ptr("3.255.177.52"), InstanceType: &res,
				HealthStatus: "warning", TotalBlocks: ptr(2), Unreachable: true,
				StatusMessage: ptr("ssh: connect to host 3.255.177.52 port 22: timed out")},
		},
	}, {ID: "f2", Name: "cpu-pool", ProjectName: "main", Status: schemas.FleetTerminating, StatusMessage: ptr("deleting"), Spec: spec}}
}

func testEncryption() *schemas.EncryptionStatus {
	return &schemas.EncryptionStatus{
		Keys: []schemas.EncryptionKeyInfo{{Type: "aes", Name: "key-2026", Encrypts: true}, {Type: "aes", Name: "key-2025"}},
		Columns: []schemas.EncryptionColumnStatus{
			{Table: "users", Column: "token", Total: 12, ByKey: map[string]int{"aes:key-2026": 9, "aes:key-2025": 3}, NeedsRewrap: 3},
			{Table: "secrets", Column: "value", Total: 40, ByKey: map[string]int{"aes:key-2026": 40}},
			{Table: "backends", Column: "auth", Total: 3, ByKey: map[string]int{"identity:noname": 1, "aes:key-2026": 2}, Plaintext: 1, NeedsRewrap: 1},
		},
	}
}

func testServerStatus() *schemas.ServerStatus {
	return &schemas.ServerStatus{
		Version: "0.1.0", CompatibleVersion: "0.21.2", Database: "sqlite", LogStorage: "file",
		StartedAt: testNow.Add(-3*time.Hour - 5*time.Minute), UptimeSeconds: (3*time.Hour + 5*time.Minute).Seconds(),
		Pipelines: []schemas.PipelineStatus{{Name: "runs", Backlog: 0}, {Name: "jobs_submitted", Backlog: 3, LagSeconds: 12},
			{Name: "instances", Backlog: 1, LagSeconds: 95}},
	}
}

func newFake() *fakeBackend {
	f := &fakeBackend{
		ident:  Identity{Username: "admin", Admin: true, ServerURL: "http://127.0.0.1:3000", ServerVersion: "0.21.2"},
		runs:   testRuns(),
		fleets: testFleets(),
		events: testEvents(),
		enc:    testEncryption(),
		status: testServerStatus(),
		bends: []ProjectBackends{{Project: "main", Backends: []BackendRow{{Type: "aws", Regions: []string{"us-east-1", "eu-west-1"},
			Config: []byte(`{"type": "aws", "regions": ["us-east-1", "eu-west-1"], "vpc_name": "dstack", "public_ips": false, "tags": {"team": "ml"}, "iam_instance_profile": null}`)}}},
			{Project: "research"}},
		errs: map[string]error{},
	}
	for i := 1; i <= 60; i++ {
		f.addLogs("sub-train-llama", fmt.Sprintf("step %d: loss=%.3f", i, 2.0/float64(i)))
	}
	return f
}

// testEvents is a run's life as the Events page shows it, newest first.
func testEvents() []schemas.Event {
	at := time.Date(2026, 5, 4, 10, 0, 0, 0, time.UTC)
	admin := "admin"
	pid, pname := "p-1", "main"
	target := func(typ, name string) []schemas.EventTarget {
		return []schemas.EventTarget{{Type: typ, ProjectID: &pid, ProjectName: &pname, ID: typ + "-1", Name: name}}
	}
	return []schemas.Event{
		{ID: "e4", Message: "Run status changed RUNNING -> DONE", RecordedAt: at.Add(9 * time.Second), Targets: target("run", "train")},
		{ID: "e3", Message: "Job status changed PROVISIONING -> PULLING", RecordedAt: at.Add(3 * time.Second), Targets: target("job", "train-0-0")},
		{ID: "e2", Message: "Job created on run submission. Status: SUBMITTED", RecordedAt: at, ActorUser: &admin, Targets: target("job", "train-0-0")},
		{ID: "e1", Message: "Run submitted. Status: SUBMITTED", RecordedAt: at, ActorUser: &admin, Targets: target("run", "train")},
	}
}

// testService is a live service with two running replicas, one of which
// has yet to pass its probe, and a third being provisioned.
func testService() schemas.Run {
	r := run("chat", "service", schemas.RunRunning, schemas.JobRunning, 30*time.Minute)
	r.Service = []byte(`{"url": "/proxy/services/main/chat/", "model": null, "options": {}}`)
	probe := []schemas.ProbeConfig{{Type: "http", URL: ptr("/health"), ReadyAfter: ptr(2)}}
	r.Jobs[0].JobSpec.Probes = probe
	r.Jobs[0].JobSubmissions[0].Probes = []schemas.ProbeStatus{{SuccessStreak: 7}}
	second := schemas.Job{JobSpec: schemas.JobSpec{JobName: "chat-0-1", ReplicaNum: 1, Probes: probe},
		JobSubmissions: []schemas.JobSubmission{{ID: "sub-chat-1", Status: schemas.JobRunning,
			Probes: []schemas.ProbeStatus{{SuccessStreak: 1}}}}}
	third := schemas.Job{JobSpec: schemas.JobSpec{JobName: "chat-0-2", ReplicaNum: 2, Probes: probe},
		JobSubmissions: []schemas.JobSubmission{{ID: "sub-chat-2", Status: schemas.JobProvisioning}}}
	r.Jobs = append(r.Jobs, second, third)
	return r
}

func testServiceStats() []schemas.ServiceStats {
	return []schemas.ServiceStats{{RunName: "chat", DesiredReplicas: ptr(3), RPS30: 12.5, RPS60: 10.25, RPS300: 4}}
}
