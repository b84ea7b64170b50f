package background

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"

	agentclient "github.com/dstackgo/dstack/backends/agent/client"
	sshfleet "github.com/dstackgo/dstack/backends/ssh"
	"github.com/dstackgo/dstack/db"
	"github.com/dstackgo/dstack/server/schemas"
	"github.com/dstackgo/dstack/server/services"
)

// shimPort and runnerPort are the agents' ports on the host and in the job.
const (
	shimPort   = 10998
	runnerPort = 10999
)

// jobAgent reaches a job's shim and runner through the instance's pooled
// SSH connection.
type jobAgent struct {
	conn *sshfleet.Conn
	shim *agentclient.ShimClient
}

// agents opens (or reuses) the SSH connection to a job's instance.
type agents struct {
	env  *services.Env
	pool *sshfleet.Pool
}

func (a agents) forJob(ctx context.Context, j *db.Job) (*jobAgent, error) {
	if j.InstanceID == nil {
		return nil, fmt.Errorf("job %s has no instance", j.JobName)
	}
	in, err := db.GetInstance(ctx, a.env.DB, *j.InstanceID)
	if err != nil {
		return nil, fmt.Errorf("load instance of %s: %w", j.JobName, err)
	}
	rh, err := (services.Fleets{Env: a.env}).RemoteHostOf(in)
	if err != nil {
		return nil, err
	}
	conn, err := a.pool.Get(ctx, targetOf(rh))
	if err != nil {
		return nil, err
	}
	return &jobAgent{conn: conn, shim: agentclient.NewShimClient(conn.HTTPClient(shimPort), "http://127.0.0.1:"+strconv.Itoa(shimPort))}, nil
}

// runner is the client of the job's runner, on the host port the shim
// mapped (or the default port with host networking).
func (ja *jobAgent) runner(jrd *schemas.JobRuntimeData) *agentclient.RunnerClient {
	port := runnerPort
	if jrd != nil {
		if p, ok := jrd.Ports[strconv.Itoa(runnerPort)]; ok {
			port = p
		}
	}
	return agentclient.NewRunnerClient(ja.conn.HTTPClient(port), "http://127.0.0.1:"+strconv.Itoa(port))
}

// jobData decodes a job row's JSON columns.
type jobData struct {
	spec schemas.JobSpec
	jpd  *schemas.JobProvisioningData
	jrd  *schemas.JobRuntimeData
}

func decodeJob(j *db.Job) (*jobData, error) {
	d := &jobData{}
	if err := json.Unmarshal([]byte(j.JobSpecData), &d.spec); err != nil {
		return nil, fmt.Errorf("the stored spec of job %s cannot be read: %w", j.JobName, err)
	}
	if j.JobProvisioningData != nil {
		d.jpd = new(schemas.JobProvisioningData)
		if err := json.Unmarshal([]byte(*j.JobProvisioningData), d.jpd); err != nil {
			return nil, fmt.Errorf("the stored provisioning data of job %s cannot be read: %w", j.JobName, err)
		}
	}
	if j.JobRuntimeData != nil {
		d.jrd = new(schemas.JobRuntimeData)
		if err := json.Unmarshal([]byte(*j.JobRuntimeData), d.jrd); err != nil {
			return nil, fmt.Errorf("the stored runtime data of job %s cannot be read: %w", j.JobName, err)
		}
	}
	return d, nil
}
