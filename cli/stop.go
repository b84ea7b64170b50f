package cli

import (
	"fmt"

	"github.com/urfave/cli/v2"
)

// stopCommand stops runs, gracefully or (-x) at once.
func stopCommand() *cli.Command {
	return &cli.Command{
		Name:      "stop",
		Usage:     "Stop runs",
		ArgsUsage: "RUN...",
		Flags: append(connFlags(),
			&cli.BoolFlag{Name: "abort", Aliases: []string{"x"}, Usage: "abort at once, without a graceful stop"},
			&cli.BoolFlag{Name: "yes", Aliases: []string{"y"}, Usage: "do not ask for confirmation"},
		),
		Action: withConn(stop),
	}
}

func stop(c *cli.Context, cn *conn) error {
	a, err := args(c, 1, -1, "RUN... [-x] [-y]")
	if err != nil {
		return err
	}
	for _, name := range a {
		if _, err := cn.GetRun(c.Context, cn.Project, name); err != nil {
			return notFound(err, "run", name)
		}
	}
	verb := "stop"
	if c.Bool("abort") {
		verb = "abort"
	}
	if !c.Bool("yes") && !confirm(c, fmt.Sprintf("Are you sure you want to %s the run %s?", verb, joinNames(a))) {
		fmt.Fprintln(c.App.Writer, "Exiting...")
		return nil
	}
	if err := cn.StopRuns(c.Context, cn.Project, a, c.Bool("abort")); err != nil {
		return notFound(err, "run", joinNames(a))
	}
	if c.Bool("abort") {
		fmt.Fprintln(c.App.Writer, "Aborted")
	} else {
		fmt.Fprintln(c.App.Writer, "Stopped")
	}
	return nil
}
