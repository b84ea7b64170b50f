package server_test

// Benchmarks of the run path:
//
//	go test ./server/ -run '^$' -bench 'ApplyToRunning|ApplyToFirstLogLine|ClaimApply' -benchtime 5x
//
// BenchmarkApplyToRunning needs sshtest (root, sshd); BenchmarkClaimApply's
// postgres half needs DSTACK_TEST_POSTGRES_DSN.

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/dstackgo/dstack/backends/ssh/sshtest"
	"github.com/dstackgo/dstack/db"
	"github.com/dstackgo/dstack/db/dbtest"
	"github.com/dstackgo/dstack/server"
	"github.com/dstackgo/dstack/server/background"
	"github.com/dstackgo/dstack/server/schemas"
	"github.com/dstackgo/dstack/server/services"
)

// BenchmarkApplyToRunning measures, per run, the time from runs/apply to
// the run's status running on an idle SSH host (process executor); stopping
// the run and waiting for the host to be idle again is not counted.
func BenchmarkApplyToRunning(b *testing.B) {
	h := sshtest.NewHost(b, sshtest.Options{})
	s := startServer(b, server.Options{})
	s.applyFleet(b, sshFleetSpec(b, "bench", h))
	s.waitFleet(b, "bench", 90*time.Second, allInstances(schemas.InstanceIdle))
	ctx := context.Background()
	var total time.Duration
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		name := fmt.Sprintf("bench-%d", i)
		spec := taskSpec(b, name, 1, "sleep 600")
		var plan schemas.RunPlan
		b.StopTimer()
		require.NoError(b, s.Call(ctx, "/api/project/main/runs/get_plan", schemas.GetRunPlanRequest{RunSpec: spec}, &plan))
		b.StartTimer()
		start := time.Now()
		var run schemas.Run
		req := schemas.ApplyRunPlanRequest{Plan: schemas.ApplyRunPlanInput{RunSpec: plan.RunSpec}}
		require.NoError(b, s.Call(ctx, "/api/project/main/runs/apply", req, &run))
		for {
			require.NoError(b, s.Call(ctx, "/api/project/main/runs/get", schemas.GetRunRequest{RunName: &name}, &run))
			if run.Status == schemas.RunRunning {
				break
			}
			require.False(b, run.Status.Finished(), "run %s ended %s (%s)", name, run.Status, run.StatusMessage)
			require.Less(b, time.Since(start), time.Minute, "run %s: still %s", name, run.Status)
			time.Sleep(5 * time.Millisecond)
		}
		elapsed := time.Since(start)
		total += elapsed
		b.StopTimer()
		b.Logf("%s: running after %s", name, elapsed.Round(time.Millisecond))
		s.stopRun(b, true, name)
		s.waitRun(b, name, time.Minute, finished)
		s.waitFleet(b, "bench", 30*time.Second, allInstances(schemas.InstanceIdle))
		b.StartTimer()
	}
	b.ReportMetric(total.Seconds()/float64(b.N), "s/run")
}

// BenchmarkApplyToFirstLogLine measures, per run, the time from runs/apply
// of a short task (`echo hi`) to its line in logs/poll, polled every 50 ms as
// a client following the run would.
func BenchmarkApplyToFirstLogLine(b *testing.B) {
	h := sshtest.NewHost(b, sshtest.Options{})
	s := startServer(b, server.Options{})
	s.applyFleet(b, sshFleetSpec(b, "bench", h))
	s.waitFleet(b, "bench", 90*time.Second, allInstances(schemas.InstanceIdle))
	ctx := context.Background()
	var total time.Duration
	for i := 0; b.Loop(); i++ {
		name := fmt.Sprintf("bench-logs-%d", i)
		b.StopTimer()
		var plan schemas.RunPlan
		require.NoError(b, s.Call(ctx, "/api/project/main/runs/get_plan", schemas.GetRunPlanRequest{RunSpec: taskSpec(b, name, 1, "echo hi")}, &plan))
		b.StartTimer()
		start := time.Now()
		var run schemas.Run
		require.NoError(b, s.Call(ctx, "/api/project/main/runs/apply", schemas.ApplyRunPlanRequest{Plan: schemas.ApplyRunPlanInput{RunSpec: plan.RunSpec}}, &run))
		for {
			require.NoError(b, s.Call(ctx, "/api/project/main/runs/get", schemas.GetRunRequest{RunName: &name}, &run))
			if sub := run.LatestJobSubmission; sub != nil && slices.Contains(s.logs(b, name, sub.ID, 100, false), "hi\n") {
				break
			}
			require.Less(b, time.Since(start), time.Minute, "run %s: no log line, %s", name, run.Status)
			time.Sleep(50 * time.Millisecond)
		}
		elapsed := time.Since(start)
		total += elapsed
		b.StopTimer()
		b.Logf("%s: first log line after %s", name, elapsed.Round(time.Millisecond))
		s.waitRun(b, name, time.Minute, finished)
		s.waitFleet(b, "bench", 30*time.Second, allInstances(schemas.InstanceIdle))
		b.StartTimer()
	}
	b.ReportMetric(total.Seconds()/float64(b.N), "s/run")
}

// BenchmarkClaimApply measures the submitted-jobs pipeline alone: N
// submitted jobs and M idle instances are seeded in the database, then the
// pipeline claims and places batches until every job is placed.
func BenchmarkClaimApply(b *testing.B) {
	const jobs, instances = 512, 512
	for _, dialect := range []string{"sqlite", "postgres"} {
		b.Run(dialect, func(b *testing.B) {
			var placed int
			var spent time.Duration
			for b.Loop() {
				b.StopTimer()
				var target db.Target
				if dialect == "sqlite" {
					target = dbtest.SQLiteTarget(b)
				} else {
					target = dbtest.PostgresTarget(b)
				}
				d := dbtest.OpenMigrated(b, target)
				env := &services.Env{DB: d, Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
				seedPlacement(b, d, jobs, instances)
				p := &background.JobsSubmitted{Env: env, Log: env.Log, NetworkMode: 2}
				b.StartTimer()
				start := time.Now()
				n := placeAll(b, d, p, jobs)
				spent += time.Since(start)
				placed += n
			}
			b.ReportMetric(float64(placed)/spent.Seconds(), "jobs/s")
		})
	}
}

// placeAll runs the pipeline's claim-and-place batches until want jobs left
// submitted; it returns how many were placed.
func placeAll(b testing.TB, d *db.DB, p *background.JobsSubmitted, want int) int {
	ctx := context.Background()
	for pass := 0; ; pass++ {
		ids, token, err := db.ClaimRows(ctx, d, p.Claim(), time.Now().UTC())
		require.NoError(b, err)
		if len(ids) > 0 {
			require.NoError(b, p.ProcessBatch(ctx, ids, token))
		}
		n, err := d.NewSelect().Model((*db.Job)(nil)).Where("status = 'provisioning'").Count(ctx)
		require.NoError(b, err)
		if int(n) >= want {
			return int(n)
		}
		require.Less(b, pass, 100, "only %d of %d jobs placed", n, want)
	}
}

// seedPlacement stores a project with one SSH fleet of m idle one-block
// instances and n one-job runs, each job submitted.
func seedPlacement(b testing.TB, d *db.DB, n, m int) {
	ctx := context.Background()
	now := time.Now().UTC()
	user := &db.User{ID: uuid.NewString(), Name: "bench", GlobalRole: "admin", Token: uuid.NewString(), TokenHash: uuid.NewString(),
		CreatedAt: now, Active: true}
	_, err := d.NewInsert().Model(user).Exec(ctx)
	require.NoError(b, err)
	project := &db.Project{ID: uuid.NewString(), Name: "bench", OwnerID: user.ID, CreatedAt: now,
		SSHPrivateKey: "unused", SSHPublicKey: "ssh-ed25519 AAAA bench"}
	_, err = d.NewInsert().Model(project).Exec(ctx)
	require.NoError(b, err)
	fleet := &db.Fleet{ID: uuid.NewString(), ProjectID: project.ID, Name: "bench", CreatedAt: now, LastProcessedAt: now,
		Status: "active", Spec: `{"configuration": {"type": "fleet", "name": "bench", "ssh_config": {"hosts": []}}, "profile": {"name": "default"}}`}
	_, err = d.NewInsert().Model(fleet).Exec(ctx)
	require.NoError(b, err)
	offer := `{"backend": "remote", "instance": {"name": "instance", "resources": {"cpus": 4, "memory_mib": 8192, "gpus": [],
		"spot": false, "disk": {"size_mib": 102400}, "description": ""}}, "region": "remote", "price": 0.0,
		"availability": "available", "blocks": 1, "total_blocks": 1}`
	ins := make([]db.Instance, m)
	for i := range ins {
		host := fmt.Sprintf("10.0.%d.%d", i/250, i%250+1)
		jpd := `{"backend": "remote", "instance_type": {"name": "instance", "resources": {"cpus": 4, "memory_mib": 8192,
			"gpus": [], "spot": false, "disk": {"size_mib": 102400}, "description": ""}}, "instance_id": "` + host + `",
			"hostname": "` + host + `", "internal_ip": "` + host + `", "region": "remote", "price": 0.0, "username": "ubuntu",
			"ssh_port": 22, "dockerized": true}`
		ins[i] = db.Instance{ID: uuid.NewString(), ProjectID: project.ID, FleetID: &fleet.ID, Name: fmt.Sprintf("bench-%d", i),
			InstanceNum: i, CreatedAt: now, LastProcessedAt: now, Status: "idle", Health: "healthy", Backend: ptrTo("remote"),
			Region: ptrTo("remote"), Price: ptrTo(0.0), Offer: &offer, JobProvisioningData: &jpd, TotalBlocks: ptrTo(1)}
	}
	_, err = d.NewInsert().Model(&ins).Exec(ctx)
	require.NoError(b, err)
	spec := taskSpec(b, "bench", 1, "true")
	spec.SSHKeyPub = ptrTo("ssh-ed25519 AAAA bench")
	var res schemas.ResourcesSpec
	require.NoError(b, json.Unmarshal([]byte(smallResources), &res))
	js := schemas.JobSpec{JobsPerReplica: 1, ReplicaGroup: "0", Commands: []string{"/bin/bash", "-i", "-c", "true"},
		Env: map[string]string{}, ImageName: "dstackai/base:0.15-base-ubuntu24.04", RepoDir: "/workflow",
		Requirements: schemas.Requirements{Resources: res.WithServerDefaults(false), Spot: ptrTo(false)},
		FileArchives: []schemas.FileArchiveRef{}, Probes: []schemas.ProbeConfig{}, AppSpecs: []schemas.AppSpec{}}
	runSpec, err := json.Marshal(spec)
	require.NoError(b, err)
	runs := make([]db.Run, n)
	rows := make([]db.Job, n)
	for i := range runs {
		name := fmt.Sprintf("bench-%d", i)
		runs[i] = db.Run{ID: uuid.NewString(), ProjectID: project.ID, UserID: user.ID, RunName: name, SubmittedAt: now,
			LastProcessedAt: now, Status: "submitted", RunSpec: string(runSpec)}
		j := js
		j.JobName = name + "-0-0"
		rows[i] = services.NewJobRow(&runs[i], j, 0, now)
	}
	_, err = d.NewInsert().Model(&runs).Exec(ctx)
	require.NoError(b, err)
	_, err = d.NewInsert().Model(&rows).Exec(ctx)
	require.NoError(b, err)
}

func ptrTo[T any](v T) *T { return &v }
