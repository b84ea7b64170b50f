package cli

import (
	"fmt"
	"log/slog"
	"os"

	"github.com/mattn/go-isatty"
	"github.com/urfave/cli/v2"

	"github.com/dstackgo/dstack/tui"
)

// consoleCommand opens the full-screen dashboard (package tui).
func consoleCommand() *cli.Command {
	return &cli.Command{
		Name:  "console",
		Usage: "Open the live dashboard: runs, fleets, logs, encryption keys, server status, events, backends, services",
		Description: "A full-screen, keyboard-first view of a project: tab or 1-5 switch pages, / filters,\n" +
			"? lists every key, q quits. The same console is served over SSH by `dstack server\n" +
			"--console-ssh-port` to users with a registered public key. NO_COLOR turns colours off.",
		Flags: append(connFlags(),
			&cli.StringFlag{Name: "log-file", EnvVars: []string{"DSTACK_CONSOLE_LOG_FILE"}, Usage: "append the console's debug log to this file"},
		),
		Action: runConsole,
	}
}

func runConsole(c *cli.Context) error {
	cn, err := connect(c)
	if err != nil {
		return err
	}
	out, ok := c.App.Writer.(*os.File)
	if !ok || !isTerminal(out) || !isTerminal(os.Stdin) {
		return usageError("dstack console needs a terminal: run it in one, not with redirected input or output")
	}
	project := cn.Project
	if project == "" {
		project = "main"
	}
	log, closeLog, err := consoleLogger(c.String("log-file"))
	if err != nil {
		return err
	}
	defer closeLog()
	return tui.Run(c.Context, tui.Options{
		Backend: tui.NewHTTPBackend(cn.Client), Project: project, Logger: log, In: os.Stdin, Out: out,
	})
}

func isTerminal(f *os.File) bool {
	return isatty.IsTerminal(f.Fd()) || isatty.IsCygwinTerminal(f.Fd())
}

// consoleLogger logs to path at debug level, or nowhere: the screen is the
// console's.
func consoleLogger(path string) (*slog.Logger, func(), error) {
	if path == "" {
		return nil, func() {}, nil
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, nil, fmt.Errorf("open the console log: %w", err)
	}
	log, err := newLogger(f, "DEBUG", "standard")
	if err != nil {
		f.Close()
		return nil, nil, err
	}
	return log, func() { f.Close() }, nil
}
