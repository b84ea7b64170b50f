// Package cli builds the dstack command line: the server, the admin verbs,
// the client verbs and the agents. It is the only package that wires the
// others together.
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/urfave/cli/v2"
)

// Build describes the binary.
type Build struct {
	Version string
	Commit  string
	Date    string
}

// exitError carries an exit code with its message.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

// usageError marks bad invocations (exit code 2).
func usageError(format string, args ...any) error {
	return &exitError{code: 2, err: fmt.Errorf(format, args...)}
}

// Run executes the command line and returns the process exit code:
// 0 success, 1 failure, 2 bad usage.
func Run(ctx context.Context, args []string, b Build) int {
	return run(ctx, args, b, os.Stdout, os.Stderr)
}

func run(ctx context.Context, args []string, b Build, stdout, stderr io.Writer) int {
	app := newApp(b, stdout, stderr)
	err := app.RunContext(ctx, permuteArgs(app, args))
	if err == nil {
		return 0
	}
	if strings.HasPrefix(err.Error(), "No help topic for ") {
		err = usageError("unknown command %s: see `%s --help`", strings.TrimPrefix(err.Error(), "No help topic for "), strings.Join(commandPath(app, args), " "))
	}
	fmt.Fprintf(stderr, "Error: %v\n", err)
	var ee *exitError
	if errors.As(err, &ee) {
		return ee.code
	}
	return 1
}

// commandPath is the longest known command prefix of args, for messages.
func commandPath(app *cli.App, args []string) []string {
	path := []string{"dstack"}
	cmds := app.Commands
	for _, a := range args[1:] {
		c := findCommand(cmds, a)
		if c == nil {
			break
		}
		path = append(path, a)
		cmds = c.Subcommands
	}
	return path
}

func newApp(b Build, stdout, stderr io.Writer) *cli.App {
	app := &cli.App{
		Name:                 "dstack",
		Usage:                "control plane for GPU workloads: server, client, console and host agent in one binary",
		Version:              b.Version,
		Writer:               stdout,
		ErrWriter:            stderr,
		EnableBashCompletion: true,
		HideVersion:          true,
		OnUsageError: func(_ *cli.Context, err error, _ bool) error {
			return usageError("%v", err)
		},
		ExitErrHandler: func(*cli.Context, error) {},
		Commands: []*cli.Command{
			serverCommand(b),
			projectCommand(),
			applyCommand(),
			psCommand(),
			logsCommand(),
			attachCommand(),
			stopCommand(),
			deleteCommand(),
			fleetCommand(),
			offerCommand(),
			secretCommand(),
			volumeCommand(),
			gatewayCommand(),
			exportCommand(),
			importCommand(),
			eventCommand(),
			metricsCommand(),
			consoleCommand(),
			adminCommand(),
			shimCommand(b),
			runnerCommand(),
			versionCommand(b),
			completionCommand(),
		},
	}
	usageErrors(app.Commands)
	return app
}

// usageErrors makes bad flags of every command exit 2 with a one-line
// message instead of the command's whole help.
func usageErrors(cmds []*cli.Command) {
	for _, c := range cmds {
		if c.OnUsageError == nil {
			c.OnUsageError = func(c *cli.Context, err error, _ bool) error {
				return usageError("%v (see `%s --help`)", err, c.Command.HelpName)
			}
		}
		usageErrors(c.Subcommands)
	}
}
