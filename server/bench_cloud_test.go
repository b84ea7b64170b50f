package server_test

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/dstackgo/dstack/backends/aws/mototest"
	"github.com/dstackgo/dstack/server"
	"github.com/dstackgo/dstack/server/schemas"
)

// BenchmarkApplyToInstanceRequested measures, per fleet, the time from
// fleets/apply of a cloud fleet with nodes: 1 to its RunInstances request
// reaching the AWS API (moto behind mototest's proxy); deleting the fleet
// is not counted.
//
//	go test ./server/ -run '^$' -bench ApplyToInstanceRequested -benchtime 10x
func BenchmarkApplyToInstanceRequested(b *testing.B) {
	moto := mototest.Start(b)
	proxy := mototest.NewProxy(b, moto, "")
	ec2c := mototest.EC2(b, moto, "us-east-1")
	vpc, _ := mototest.Network(b, ec2c, "10.211.0.0/24")
	mototest.Image(b, ec2c, "vm-image")
	s := startCloudServer(b, server.Options{AWSEndpoint: proxy.URL}, vpc, "ubuntu")
	ctx := context.Background()
	var total time.Duration
	for i := 0; b.Loop(); i++ {
		b.StopTimer()
		name := fmt.Sprintf("bench-%d", i)
		var spec schemas.FleetSpec
		require.NoError(b, json.Unmarshal([]byte(fmt.Sprintf(`{"configuration": {"type": "fleet", "name": %q, "nodes": 1,
			"resources": {"cpu": 2, "memory": "8GB", "disk": "100GB"}}, "profile": {"name": "default"}}`, name)), &spec))
		var plan schemas.FleetPlan
		require.NoError(b, s.Call(ctx, "/api/project/main/fleets/get_plan", schemas.GetFleetPlanRequest{Spec: spec}, &plan))
		seen := proxy.Seen("RunInstances")
		b.StartTimer()
		start := time.Now()
		req := schemas.ApplyFleetPlanRequest{Plan: schemas.ApplyFleetPlanInput{Spec: spec, CurrentResource: plan.CurrentResource}}
		require.NoError(b, s.Call(ctx, "/api/project/main/fleets/apply", req, nil))
		for proxy.Seen("RunInstances") == seen {
			require.Less(b, time.Since(start), time.Minute, "fleet %s: no RunInstances", name)
			time.Sleep(2 * time.Millisecond)
		}
		elapsed := time.Since(start)
		total += elapsed
		b.StopTimer()
		b.Logf("%s: RunInstances after %s", name, elapsed.Round(time.Millisecond))
		require.NoError(b, s.Call(ctx, "/api/project/main/fleets/delete", schemas.DeleteFleetsRequest{Names: []string{name}}, nil))
		b.StartTimer()
	}
	b.ReportMetric(total.Seconds()*1000/float64(b.N), "ms/fleet")
}
