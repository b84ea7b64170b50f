package cli

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/dstackgo/dstack/server/schemas"
)

// runPollInterval is how often a starting run is polled.
const runPollInterval = time.Second

// followRun shows the run's progress until it runs, then attaches to it
// (its ports forwarded, `ssh <run>` set up) and streams its logs
// (logs/poll) until it finishes, and exits with its outcome: 0 done, 1
// otherwise. Ctrl-C stops the run, a second one aborts it, a third detaches.
func followRun(c *cli.Context, cn *conn, run *schemas.Run) error {
	sigs := make(chan os.Signal, 3)
	signal.Notify(sigs, os.Interrupt)
	defer signal.Stop(sigs)
	// The command's context ends at the first Ctrl-C; the run must outlive it.
	ctx, detach := context.WithCancel(context.WithoutCancel(c.Context))
	defer detach()
	in := &interrupter{cn: cn, run: runName(run), errw: c.App.ErrWriter, detach: detach}
	go in.watch(ctx, sigs)

	// The log stream and the attachment's messages share the output; the
	// terminal is the command's.
	out := &lockedWriter{w: c.App.Writer}
	f := &follower{cn: cn, out: out, name: runName(run), run: run, p: &progress{w: out, scr: screenOf(c.App.Writer)}}
	for {
		if err := f.waitStarted(ctx); err != nil || ctx.Err() != nil {
			return f.detached(err)
		}
		if f.run.Status.Finished() {
			if err := f.printLogs(ctx); err != nil {
				return f.detached(err)
			}
			return f.finish()
		}
		attachCtx, cancelAttach := context.WithCancel(ctx)
		attached := f.attach(attachCtx, c.App.ErrWriter)
		resubmitted, err := f.streamLogs(ctx)
		f.logsDone.Store(true)
		cancelAttach() // an attach still dialing is of no use any more
		if att := <-attached; att != nil {
			att.Close()
		}
		if err != nil || ctx.Err() != nil {
			return f.detached(err)
		}
		if !resubmitted {
			return f.finish()
		}
	}
}

// interrupter turns Ctrl-Cs into runs/stop calls.
type interrupter struct {
	cn     *conn
	run    string
	errw   io.Writer
	detach context.CancelFunc
	n      atomic.Int32
}

func (h *interrupter) watch(ctx context.Context, sigs <-chan os.Signal) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-sigs:
		}
		switch h.n.Add(1) {
		case 1:
			fmt.Fprintf(h.errw, "\nStopping the run %s... (Ctrl-C again to abort it)\n", h.run)
			h.stop(ctx, false)
		case 2:
			fmt.Fprintf(h.errw, "\nAborting the run %s... (Ctrl-C again to detach)\n", h.run)
			h.stop(ctx, true)
		default:
			fmt.Fprintln(h.errw, "\nDetached")
			h.detach()
			return
		}
	}
}

func (h *interrupter) stop(ctx context.Context, abort bool) {
	if err := h.cn.StopRuns(ctx, h.cn.Project, []string{h.run}, abort); err != nil {
		fmt.Fprintf(h.errw, "Error: stop the run %s: %v\n", h.run, err)
	}
}

// follower tracks one run while `dstack apply` is attached to it.
type follower struct {
	cn   *conn
	out  io.Writer
	name string
	run  *schemas.Run
	p    *progress
	sub  string // the job submission whose logs are streamed

	logsDone atomic.Bool // the logs of the attached submission have ended
}

// lockedWriter serialises writes of the log stream and the attachment's
// messages.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

func (f *follower) refresh(ctx context.Context) error {
	r, err := f.cn.GetRun(ctx, f.cn.Project, f.name)
	if err != nil {
		return notFound(err, "run", f.name)
	}
	f.run = r
	return nil
}

// waitStarted polls until the run's first job runs (or the run finished),
// showing the status on a spinner line, or as plain lines when not on a
// terminal.
func (f *follower) waitStarted(ctx context.Context) error {
	for !runStarted(f.run) {
		f.p.show(fmt.Sprintf("%s: %s", f.name, progressText(f.run)), runsGrid([]schemas.Run{*f.run}, false, time.Now()))
		if !f.p.wait(ctx, runPollInterval) {
			return nil
		}
		if err := f.refresh(ctx); err != nil {
			return err
		}
	}
	f.p.clear()
	if f.p.scr.tty {
		_ = runsGrid([]schemas.Run{*f.run}, f.run.Status == schemas.RunFailed, time.Now()).render(f.out, f.p.scr.width)
		fmt.Fprintln(f.out)
	}
	fmt.Fprintf(f.out, "%s provisioning completed (%s)\n", f.name, f.run.Status)
	f.p.status = ""
	return nil
}

// progressText is the run's status, or its only job's, which says more
// ("pulling", "no fleets").
func progressText(r *schemas.Run) string {
	if len(r.Jobs) == 1 && len(r.Jobs[0].JobSubmissions) > 0 {
		return jobStatusText(r.Jobs[0].JobSubmissions[len(r.Jobs[0].JobSubmissions)-1])
	}
	return runStatusText(*r)
}

// runStarted is upstream's "ready to attach": not waiting for capacity or
// provisioning, and the first job is past pulling.
func runStarted(r *schemas.Run) bool {
	switch r.Status {
	case schemas.RunPending, schemas.RunSubmitted, schemas.RunProvisioning, schemas.RunTerminating:
		return false
	}
	if len(r.Jobs) > 0 && len(r.Jobs[0].JobSubmissions) > 0 {
		switch r.Jobs[0].JobSubmissions[len(r.Jobs[0].JobSubmissions)-1].Status {
		case schemas.JobSubmitted, schemas.JobProvisioning, schemas.JobPulling:
			return false
		}
	}
	return true
}

// attach connects to the running job in the background, so that the logs
// start at once even when the instance is slow to answer; when it fails
// while the logs still stream, it says why (the logs go on through the
// server). The channel yields the attachment, or nil.
func (f *follower) attach(ctx context.Context, errw io.Writer) <-chan *attachment {
	out := make(chan *attachment, 1)
	job := findJob(f.run, -1, 0)
	if job == nil || f.run.Status.Finished() {
		out <- nil
		return out
	}
	run := *f.run
	go func() {
		att, err := attach(ctx, f.cn, &run, job, nil)
		switch {
		case err == nil:
			att.describe(f.out)
		case !f.logsDone.Load() && ctx.Err() == nil:
			fmt.Fprintf(errw, "Warning: cannot attach to the run %s (%v); showing its logs through the server\n", f.name, err)
		}
		out <- att
	}()
	return out
}

// streamLogs prints the job's logs until the run finishes; resubmitted
// reports that the run went back to waiting for a new submission instead.
func (f *follower) streamLogs(ctx context.Context) (resubmitted bool, err error) {
	job := findJob(f.run, -1, 0)
	if job == nil {
		return false, nil
	}
	f.sub = job.JobSubmissions[len(job.JobSubmissions)-1].ID
	tail := &logTail{cn: f.cn, run: f.name, sub: f.sub}
	err = tail.follow(ctx, f.out, func(ctx context.Context) (bool, error) {
		if err := f.refresh(ctx); err != nil {
			return false, err
		}
		resubmitted = f.resubmitted()
		return resubmitted || f.run.Status.Finished(), nil
	})
	return resubmitted, err
}

// printLogs prints the logs of a run that finished before it could be
// followed, when its job got as far as an instance.
func (f *follower) printLogs(ctx context.Context) error {
	job := findJob(f.run, -1, 0)
	if job == nil {
		return nil
	}
	sub := job.JobSubmissions[len(job.JobSubmissions)-1]
	if sub.JobProvisioningData == nil {
		return nil
	}
	return (&logTail{cn: f.cn, run: f.name, sub: sub.ID}).drain(ctx, f.out)
}

func (f *follower) resubmitted() bool {
	if f.run.Status == schemas.RunPending || f.run.Status == schemas.RunSubmitted {
		return true
	}
	job := findJob(f.run, -1, 0)
	return job != nil && !f.run.Status.Finished() && job.JobSubmissions[len(job.JobSubmissions)-1].ID != f.sub
}

// finish prints the run's outcome and returns its exit code as an error.
func (f *follower) finish() error {
	sub := f.run.LatestJobSubmission
	status := runStatusText(*f.run)
	if sub != nil {
		status = jobStatusText(*sub)
	}
	if f.run.Status == schemas.RunDone {
		fmt.Fprintln(f.out, capitalize(status))
		return nil
	}
	msg := fmt.Sprintf("run %s %s: %s", f.name, f.run.Status, status)
	if f.run.Error != nil {
		msg += " (" + *f.run.Error + ")"
	}
	if sub != nil && sub.TerminationReasonMessage != nil {
		msg += "\n" + *sub.TerminationReasonMessage
	}
	if sub != nil && sub.TerminationReason != nil && !quietReasons[schemas.JobTerminationReason(*sub.TerminationReason)] {
		msg += fmt.Sprintf("\nCheck `dstack logs -d %s` for more details.", f.name)
	}
	return &exitError{code: 1, err: fmt.Errorf("%s", msg)}
}

// quietReasons end a run in a way the runner's diagnostic logs do not explain.
var quietReasons = map[schemas.JobTerminationReason]bool{schemas.JobFailedToStartNoCapacity: true,
	schemas.JobTerminatedByUser: true, schemas.JobAbortedByUser: true}

// detached ends following without the run's outcome (an error, or the
// third Ctrl-C).
func (f *follower) detached(err error) error {
	f.p.clear()
	if err != nil {
		return err
	}
	return &exitError{code: 1, err: fmt.Errorf("detached from the run %s; it goes on in the background (`dstack ps`)", f.name)}
}

func capitalize(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}
