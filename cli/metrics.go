package cli

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/dstackgo/dstack/server/schemas"
)

// Metrics command settings (the official CLI's).
const (
	// metricsSamples is how many samples are asked for per job: more than
	// the hour a running job's samples are kept.
	metricsSamples = 1000
	// metricsWatchEvery matches the server's sampling cadence.
	metricsWatchEvery = 10 * time.Second
)

// metricsCommand shows the CPU, memory and GPU use of a run's jobs, from
// the samples the server collects while they run.
func metricsCommand() *cli.Command {
	return &cli.Command{
		Name:      "metrics",
		Usage:     "Show a run's CPU, memory and GPU use",
		ArgsUsage: "RUN",
		Flags: append(connFlags(),
			&cli.BoolFlag{Name: "watch", Aliases: []string{"w"}, Usage: "refresh every 10 seconds until interrupted"},
			&cli.IntFlag{Name: "replica", Usage: "show only this replica (default: all)"},
			&cli.IntFlag{Name: "job", Usage: "show only this job number (default: all)"},
		),
		Action: withConn(metrics),
	}
}

func metrics(c *cli.Context, cn *conn) error {
	a, err := args(c, 1, 1, "RUN [-w] [--replica N] [--job N]")
	if err != nil {
		return err
	}
	out := c.App.Writer
	scr := screenOf(out)
	width := scr.width
	if width <= 0 {
		width = 80
	}
	for {
		jobs, series, err := fetchMetrics(c, cn, a[0])
		if err != nil {
			return err
		}
		var b bytes.Buffer
		if err := printMetrics(&b, jobs, series, width, time.Now()); err != nil {
			return err
		}
		if c.Bool("watch") && scr.tty {
			b = *bytes.NewBuffer(append([]byte("\033[H\033[2J"), b.Bytes()...))
		}
		if _, err := out.Write(b.Bytes()); err != nil {
			return err
		}
		if !c.Bool("watch") {
			return nil
		}
		select {
		case <-c.Context.Done():
			return nil
		case <-time.After(metricsWatchEvery):
		}
	}
}

// fetchMetrics reads the run's selected jobs and their metric series.
func fetchMetrics(c *cli.Context, cn *conn, name string) ([]schemas.Job, []*schemas.JobMetrics, error) {
	ctx := c.Context
	run, err := cn.GetRun(ctx, cn.Project, name)
	if err != nil {
		return nil, nil, notFound(err, "run", name)
	}
	var jobs []schemas.Job
	for _, j := range run.Jobs {
		if (c.IsSet("replica") && j.JobSpec.ReplicaNum != c.Int("replica")) || (c.IsSet("job") && j.JobSpec.JobNum != c.Int("job")) {
			continue
		}
		jobs = append(jobs, j)
	}
	if len(jobs) == 0 {
		var wanted []string
		for _, f := range []string{"replica", "job"} {
			if c.IsSet(f) {
				wanted = append(wanted, fmt.Sprintf("%s=%d", f, c.Int(f)))
			}
		}
		return nil, nil, fmt.Errorf("run %s has no job matching %s", name, strings.Join(wanted, " "))
	}
	series := make([]*schemas.JobMetrics, len(jobs))
	for i, j := range jobs {
		if series[i], err = jobMetrics(ctx, cn, name, j); err != nil {
			return nil, nil, err
		}
	}
	return jobs, series, nil
}

func jobMetrics(ctx context.Context, cn *conn, run string, j schemas.Job) (*schemas.JobMetrics, error) {
	m, err := cn.GetJobMetrics(ctx, cn.Project, run, j.JobSpec.ReplicaNum, j.JobSpec.JobNum, metricsSamples)
	if err != nil {
		return nil, fmt.Errorf("get metrics of job %d of replica %d of %s: %w", j.JobSpec.JobNum, j.JobSpec.ReplicaNum, run, err)
	}
	return m, nil
}
