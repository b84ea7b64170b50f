package cli_test

// The official CLI on a cloud fleet (cloudSetup: moto and emulated VMs).

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestOfficialCLICloudFleet drives a cloud fleet with the official CLI:
// offers from AWS, a fleet of one node provisioned at apply, a task on it
// with its logs, a second fleet whose instance a task provisions and whose
// idle instance is released, and fleet delete terminating what is left.
func TestOfficialCLICloudFleet(t *testing.T) {
	t.Parallel()
	officialCLIBinary(t)
	cs := newCloudSetup(t, nil)
	env := &officialEnv{Server: cs.Start(t, cs.Moto, 0)}
	running := func() int { return len(cs.Live(t)) }
	c := env.CLI(t)
	c.Timeout = 6 * time.Minute

	t.Run("offer", func(t *testing.T) {
		r := c.Want(0, "offer", "--cpu", "2", "--memory", "8GB")
		require.Regexp(t, `(?m)^\s*1\s+aws \(us-east-1\)\s+cpu=x86:2 mem=8GB\s+disk=100GB\s+t3\.large`, r.Stdout)
		var out struct {
			Offers []struct {
				Backend  string  `json:"backend"`
				Region   string  `json:"region"`
				Price    float64 `json:"price"`
				Instance struct {
					Name string `json:"name"`
				} `json:"instance"`
			} `json:"offers"`
			TotalOffers int `json:"total_offers"`
		}
		j := c.Want(0, "offer", "--gpu", "A10G:1", "--json")
		require.NoError(t, json.Unmarshal([]byte(j.Stdout), &out), j)
		require.NotEmpty(t, out.Offers)
		require.Equal(t, "aws", out.Offers[0].Backend)
		require.Equal(t, "us-east-1", out.Offers[0].Region)
		require.Equal(t, "g5.xlarge", out.Offers[0].Instance.Name, "the cheapest with one A10G")
		for i := 1; i < len(out.Offers); i++ {
			require.LessOrEqual(t, out.Offers[i-1].Price, out.Offers[i].Price, "sorted by price")
		}

		// Grouped by GPU, backend and region: the A10G offers in one row.
		g := c.Want(0, "offer", "--gpu", "A10G:1..", "--group-by", "gpu,backend,region")
		require.Regexp(t, `#\s+GPU\s+SPOT\s+\$/GPU\s+BACKEND\s+REGION`, g.Stdout)
		require.Regexp(t, `(?m)^\s*1\s+A10G:\d+GB:1(\.\.\d+)?\s+[a-z, -]+\s+[0-9.]+(\.\.[0-9.]+)?\s+aws\s+us-east-1`, g.Stdout)
		var gpus struct {
			Gpus []struct {
				Name      string `json:"name"`
				MemoryMiB int    `json:"memory_mib"`
				Vendor    string `json:"vendor"`
				Backend   string `json:"backend"`
				Region    string `json:"region"`
				Count     struct{ Min, Max int }
				Price     struct{ Min, Max float64 }
			} `json:"gpus"`
		}
		gj := c.Want(0, "offer", "--gpu", "A10G:1..", "--group-by", "gpu,backend,region", "--json")
		require.NoError(t, json.Unmarshal([]byte(gj.Stdout), &gpus), gj)
		require.Len(t, gpus.Gpus, 1, gj)
		a10g := gpus.Gpus[0]
		require.Equal(t, "A10G", a10g.Name)
		require.Equal(t, "nvidia", a10g.Vendor)
		require.Equal(t, "aws", a10g.Backend)
		require.Equal(t, "us-east-1", a10g.Region)
		require.Equal(t, 1, a10g.Count.Min)
		require.LessOrEqual(t, a10g.Price.Min, out.Offers[0].Price, "per GPU, at most the cheapest one-A10G offer")
		require.LessOrEqual(t, a10g.Price.Min, a10g.Price.Max)
	})

	t.Run("a fleet of one node, a task on it, fleet delete", func(t *testing.T) {
		fleet := c.WriteFile("cloud.dstack.yml", "type: fleet\nname: cloud\nnodes: 1\n"+
			"resources:\n  cpu: 2\n  memory: 8GB\n  disk: 100GB\n")
		r := c.Run("apply", "-f", fleet, "-y")
		c.Check(r, 0, "Fleet cloud does not exist yet.", "aws (us-east-1)", " idle ")
		require.Equal(t, 1, running())

		task := c.WriteFile("hello.dstack.yml", "type: task\nname: hello\nfleets: [cloud]\n"+
			"commands:\n  - echo hello from the cloud\nresources:\n  cpu: 2\n  memory: 8GB\n  disk: 100GB\n")
		c.Check(c.Run("apply", "-f", task, "-y"), 0, "hello from the cloud\n", "Exited (0)")
		c.Check(c.Run("logs", "hello"), 0, "hello from the cloud")
		require.Equal(t, "done", env.runStatus(t, "main", "hello").Status)
		require.Equal(t, 1, running(), "nodes: 1 keeps its idle instance")

		c.Check(c.Run("fleet", "delete", "cloud", "-y"), 0, "Fleet cloud deleted")
		waitFor(t, "the fleet's instance terminated", func() (bool, string) {
			n := running()
			return n == 0, fmt.Sprintf("%d instances run", n)
		})
	})

	t.Run("a task provisions into nodes: 0..1, the idle instance is released", func(t *testing.T) {
		fleet := c.WriteFile("burst.dstack.yml", "type: fleet\nname: burst\nnodes: 0..1\nidle_duration: 5s\n")
		c.Check(c.Run("apply", "-f", fleet, "-y"), 0, "Fleet burst does not exist yet.")
		require.Equal(t, 0, running())

		task := c.WriteFile("burst-task.dstack.yml", "type: task\nname: burst-task\nfleets: [burst]\n"+
			"commands:\n  - echo provisioned for me\nresources:\n  cpu: 2\n  memory: 8GB\n  disk: 100GB\n")
		c.Check(c.Run("apply", "-f", task, "-y"), 0, "provisioned for me\n", "Exited (0)")
		waitFor(t, "the idle instance released", func() (bool, string) {
			n := running()
			return n == 0, fmt.Sprintf("%d instances run", n)
		})
		r := c.Want(0, "fleet", "get", "burst", "--json")
		var f struct {
			Instances []struct {
				Status string `json:"status"`
			} `json:"instances"`
		}
		require.NoError(t, json.Unmarshal([]byte(r.Stdout), &f), r)
		for _, in := range f.Instances {
			require.Contains(t, []string{"terminating", "terminated"}, in.Status, r)
		}
		c.Check(c.Run("fleet", "delete", "burst", "-y"), 0, "Fleet burst deleted")
	})
	require.Empty(t, cs.VMs.Errors())
}
