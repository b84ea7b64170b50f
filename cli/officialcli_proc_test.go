package cli_test

// Official CLI commands left running (an attached apply, attach) and
// waiting for what they, or the server, come to.

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// cliProc is a CLI command left running (attach, an attached apply).
type cliProc struct {
	t              testing.TB
	args           []string
	cmd            *exec.Cmd
	stdout, stderr *lockedBuffer
	start          time.Time
	done           chan struct{}
}

// Start runs the CLI in the background; it is killed at the test's end.
func (c *officialCLI) Start(args ...string) *cliProc {
	c.t.Helper()
	p := &cliProc{t: c.t, args: args, cmd: c.command(context.Background(), args),
		stdout: &lockedBuffer{}, stderr: &lockedBuffer{}, done: make(chan struct{})}
	p.cmd.Stdout, p.cmd.Stderr = p.stdout, p.stderr
	p.start = time.Now()
	if err := p.cmd.Start(); err != nil {
		require.NoError(c.t, err)
	}
	go func() { _ = p.cmd.Wait(); close(p.done) }()
	c.t.Cleanup(func() {
		_ = p.cmd.Process.Kill()
		<-p.done
	})
	return p
}

// WaitOutput waits until the output (stdout and stderr) contains want; it
// fails the test if the command ends first or timeout passes.
func (p *cliProc) WaitOutput(want string, timeout time.Duration) {
	p.t.Helper()
	deadline := time.After(timeout)
	for !strings.Contains(p.stdout.String()+p.stderr.String(), want) {
		select {
		case <-p.done:
			require.Contains(p.t, p.stdout.String()+p.stderr.String(), want, "the command ended without printing it\n%s", p.result())
			return
		case <-deadline:
			require.FailNow(p.t, fmt.Sprintf("no %q within %s\n%s", want, timeout, p.result()))
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// Interrupt sends Ctrl-C (SIGINT) and waits for the command to end.
func (p *cliProc) Interrupt() cliRun {
	p.t.Helper()
	_ = p.cmd.Process.Signal(os.Interrupt)
	return p.Wait(time.Minute)
}

// Wait waits for the command to end; it fails the test after timeout.
func (p *cliProc) Wait(timeout time.Duration) cliRun {
	p.t.Helper()
	select {
	case <-p.done:
	case <-time.After(timeout):
		require.FailNow(p.t, fmt.Sprintf("still running after %s\n%s", timeout, p.result()))
	}
	r := p.result()
	p.t.Logf("dstack %s: exit code %d in %s", strings.Join(p.args, " "), r.Code, r.Took.Round(10*time.Millisecond))
	return r
}

func (p *cliProc) result() cliRun {
	r := cliRun{Args: p.args, Stdout: p.stdout.String(), Stderr: p.stderr.String(), Took: time.Since(p.start), Code: -1}
	select {
	case <-p.done:
		r.Code = p.cmd.ProcessState.ExitCode()
	default:
	}
	return r
}

// waitFor polls cond (every half second, up to two minutes) until it holds;
// it fails the test with what cond last reported otherwise.
func waitFor(t testing.TB, what string, cond func() (ok bool, last string)) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for {
		ok, last := cond()
		if ok {
			return
		}
		require.False(t, time.Now().After(deadline), "%s: not within 2m; last:\n%s", what, last)
		time.Sleep(500 * time.Millisecond)
	}
}
