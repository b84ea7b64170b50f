package cli

import (
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/dstackgo/dstack/server/schemas"
)

// logPollInterval is how often a followed log is polled for new lines.
const logPollInterval = time.Second

// logsCommand prints a run's logs through logs/poll; -f keeps following
// them until the run finishes.
func logsCommand() *cli.Command {
	return &cli.Command{
		Name:      "logs",
		Usage:     "Show a run's logs",
		ArgsUsage: "RUN",
		Flags: append(append(connFlags(),
			&cli.BoolFlag{Name: "follow", Aliases: []string{"f"}, Usage: "keep printing new lines until the run finishes"},
			&cli.StringFlag{Name: "since", Usage: "only lines newer than a duration ago (10s, 5m, 1h, 1d) or an RFC 3339 time"},
			&cli.BoolFlag{Name: "diagnose", Aliases: []string{"d"}, Usage: "show the runner's diagnostic logs instead of the job's output"},
		), jobFlags()...),
		Action: withConn(logs),
	}
}

func logs(c *cli.Context, cn *conn) error {
	a, err := args(c, 1, 1, "RUN [-f] [--since 1h] [--diagnose]")
	if err != nil {
		return err
	}
	since, err := parseSince(c.String("since"), time.Now())
	if err != nil {
		return err
	}
	_, job, err := selectedJob(c, cn, a[0])
	if err != nil {
		return err
	}
	tail := &logTail{cn: cn, run: a[0], sub: job.JobSubmissions[len(job.JobSubmissions)-1].ID,
		diagnose: c.Bool("diagnose"), since: since}
	if !c.Bool("follow") {
		return tail.drain(c.Context, c.App.Writer)
	}
	return tail.follow(c.Context, c.App.Writer, func(ctx context.Context) (bool, error) {
		r, err := cn.GetRun(ctx, cn.Project, a[0])
		return err != nil || r.Status.Finished(), notFound(err, "run", a[0])
	})
}

// parseSince reads --since: a duration before now or an RFC 3339 time
// with a zone; empty means from the start.
func parseSince(s string, now time.Time) (*time.Time, error) {
	if s == "" {
		return nil, nil
	}
	if d, err := schemas.ParseDuration(s); err == nil {
		t := now.Add(-time.Duration(d) * time.Second)
		return &t, nil
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return nil, usageError("--since %q is neither a duration (10s, 5m, 1h, 1d) nor an RFC 3339 time with a zone (2024-09-24T15:30:00Z)", s)
	}
	return &t, nil
}

// jobFlags select a job of a run (see selectedJob).
func jobFlags() []cli.Flag {
	return []cli.Flag{
		&cli.IntFlag{Name: "replica", Usage: "replica number (default: a running replica, else the lowest)"},
		&cli.IntFlag{Name: "job", Usage: "job number inside the replica"},
	}
}

// selectedJob gets the run and the job that --replica and --job select.
func selectedJob(c *cli.Context, cn *conn, name string) (*schemas.Run, *schemas.Job, error) {
	run, err := cn.GetRun(c.Context, cn.Project, name)
	if err != nil {
		return nil, nil, notFound(err, "run", name)
	}
	replica := -1
	if c.IsSet("replica") {
		replica = c.Int("replica")
	}
	job := findJob(run, replica, c.Int("job"))
	if job == nil {
		return nil, nil, fmt.Errorf("run %s has no job %d in that replica", name, c.Int("job"))
	}
	return run, job, nil
}

// findJob picks the job to read: the given replica (or, with replica < 0,
// a running one, else the lowest) with the given job number.
func findJob(r *schemas.Run, replica, jobNum int) *schemas.Job {
	var best *schemas.Job
	bestRunning := false
	for i := range r.Jobs {
		j := &r.Jobs[i]
		if j.JobSpec.JobNum != jobNum || len(j.JobSubmissions) == 0 {
			continue
		}
		if replica >= 0 {
			if j.JobSpec.ReplicaNum == replica {
				return j
			}
			continue
		}
		running := j.JobSubmissions[len(j.JobSubmissions)-1].Status == schemas.JobRunning
		if best == nil || (running && !bestRunning) || (running == bestRunning && j.JobSpec.ReplicaNum < best.JobSpec.ReplicaNum) {
			best, bestRunning = j, running
		}
	}
	return best
}

// logTail reads one job submission's logs page by page (limit 1000,
// ascending, following next_token), as upstream's `dstack logs` does.
type logTail struct {
	cn       *conn
	run, sub string
	diagnose bool
	since    *time.Time // start_time of the requests: --since, then the last line read
	last     *time.Time // the newest line's time
	token    *string
}

// drain prints every line available now.
func (t *logTail) drain(ctx context.Context, w io.Writer) error {
	limit := 1000
	for {
		resp, err := t.cn.PollLogs(ctx, t.cn.Project, schemas.PollLogsRequest{
			RunName: t.run, JobSubmissionID: t.sub, StartTime: t.since, Limit: &limit,
			Diagnose: t.diagnose, NextToken: t.token,
		})
		if err != nil {
			return notFound(err, "run", t.run)
		}
		for _, ev := range resp.Logs {
			msg, err := base64.StdEncoding.DecodeString(ev.Message)
			if err != nil {
				msg = []byte(ev.Message)
			}
			if _, err := w.Write(msg); err != nil {
				return err
			}
			ts := ev.Timestamp
			t.last = &ts
		}
		t.token = resp.NextToken
		if t.token == nil {
			if t.last != nil {
				t.since = t.last
			}
			return nil
		}
	}
}

// follow drains the log every second until finished reports the run is
// over, then drains once more for the last lines.
func (t *logTail) follow(ctx context.Context, w io.Writer, finished func(context.Context) (bool, error)) error {
	for {
		err := t.drain(ctx, w)
		done := false
		if err == nil {
			done, err = finished(ctx)
		}
		if ctx.Err() != nil {
			return nil
		}
		if err != nil {
			return err
		}
		if done {
			return t.drain(ctx, w)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(logPollInterval):
		}
	}
}
