package server_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/dstackgo/dstack/backends/ssh/sshtest"
	"github.com/dstackgo/dstack/server"
	"github.com/dstackgo/dstack/server/api/client"
	"github.com/dstackgo/dstack/server/schemas"
)

// BenchmarkSSHFleet10Hosts measures fleets/apply of a 10-host SSH fleet until
// all 10 instances are idle: SSH connect, binary upload (the whole dstack
// executable to each host), shim start and healthcheck. Each iteration
// starts from clean hosts (the previous fleet is deleted, untimed).
func BenchmarkSSHFleet10Hosts(b *testing.B) {
	const n = 10
	var fhs []fleetHost
	for range n {
		fhs = append(fhs, fleetHost{h: sshtest.NewHost(b, sshtest.Options{})})
	}
	c := startServer(b, server.Options{})
	ctx := context.Background()
	var total time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		name := fmt.Sprintf("bench-%d", i)
		spec := fleetSpecOf(b, name, fhs...)
		start := time.Now()
		var plan schemas.FleetPlan
		require.NoError(b, c.Call(ctx, "/api/project/main/fleets/get_plan", schemas.GetFleetPlanRequest{Spec: spec}, &plan))
		require.NoError(b, c.Call(ctx, "/api/project/main/fleets/apply",
			schemas.ApplyFleetPlanRequest{Plan: schemas.ApplyFleetPlanInput{Spec: spec, CurrentResource: plan.CurrentResource}}, nil))
		for {
			var f schemas.Fleet
			require.NoError(b, c.Call(ctx, "/api/project/main/fleets/get", schemas.GetFleetRequest{Name: &name}, &f))
			if len(f.Instances) == n && allInstances(schemas.InstanceIdle)(&f) {
				break
			}
			require.Less(b, time.Since(start), 5*time.Minute, "fleet not idle: %v", summary(&f))
			time.Sleep(50 * time.Millisecond)
		}
		total += time.Since(start)

		b.StopTimer()
		require.NoError(b, c.Call(ctx, "/api/project/main/fleets/delete", schemas.DeleteFleetsRequest{Names: []string{name}}, nil))
		for {
			err := c.Call(ctx, "/api/project/main/fleets/get", schemas.GetFleetRequest{Name: &name}, nil)
			if client.IsNotFound(err) {
				break
			}
			time.Sleep(100 * time.Millisecond)
		}
		b.StartTimer()
	}
	b.ReportMetric(total.Seconds()/float64(b.N), "s/op")
	b.ReportMetric(total.Seconds()/float64(b.N*n), "s/host")
}
