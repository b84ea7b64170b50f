package cli

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/dstackgo/dstack/server/api/client"
	"github.com/dstackgo/dstack/server/schemas"
)

// fleetGonePollInterval is how often a deleted fleet is checked for being gone.
const fleetGonePollInterval = time.Second

// deleteCommand deletes finished runs by name, or what a configuration
// file describes (-f): a fleet (waiting until it is gone) or a run.
func deleteCommand() *cli.Command {
	return &cli.Command{
		Name:      "delete",
		Aliases:   []string{"destroy"},
		Usage:     "Delete runs, or the fleet or run of a configuration file",
		ArgsUsage: "[RUN...]",
		Flags: append(connFlags(),
			&cli.StringFlag{Name: "file", Aliases: []string{"f"}, Usage: "the configuration `FILE` (fleet or run) to delete"},
			&cli.BoolFlag{Name: "yes", Aliases: []string{"y"}, Usage: "do not ask for confirmation"},
		),
		Action: withConn(deleteAction),
	}
}

func deleteAction(c *cli.Context, cn *conn) error {
	a := c.Args().Slice()
	switch {
	case c.String("file") != "" && len(a) > 0:
		return usageError("pass either -f FILE or run names, not both")
	case c.String("file") != "":
		return deleteFile(c, cn, c.String("file"))
	case len(a) == 0:
		return usageError("usage: %s RUN... [-y] | -f FILE [-y]", c.Command.HelpName)
	}
	return deleteRuns(c, cn, a)
}

func deleteRuns(c *cli.Context, cn *conn, names []string) error {
	for _, name := range names {
		if _, err := cn.GetRun(c.Context, cn.Project, name); err != nil {
			return notFound(err, "run", name)
		}
	}
	if !c.Bool("yes") && !confirm(c, fmt.Sprintf("Delete the run %s?", joinNames(names))) {
		fmt.Fprintln(c.App.Writer, "Exiting...")
		return nil
	}
	if err := cn.DeleteRuns(c.Context, cn.Project, names); err != nil {
		return notFound(err, "run", joinNames(names))
	}
	fmt.Fprintf(c.App.Writer, "Run %s deleted\n", joinNames(names))
	return nil
}

func deleteFile(c *cli.Context, cn *conn, path string) error {
	conf, _, err := loadConfiguration(path)
	if err != nil {
		return err
	}
	if f, ok := conf.(*schemas.FleetConfiguration); ok {
		if f.Name == nil {
			return fmt.Errorf("%s names no fleet to delete: add `name:`", path)
		}
		return deleteFleet(c, cn, *f.Name, true)
	}
	rc, _ := schemas.RunConfigurationOf(conf)
	if rc.Base() == nil || rc.Base().Name == nil {
		return fmt.Errorf("%s names no run to delete: add `name:`", path)
	}
	return deleteRuns(c, cn, []string{*rc.Base().Name})
}

// deleteFleet deletes a fleet; with wait it polls until the server no
// longer has it (deletion finishes in the background).
func deleteFleet(c *cli.Context, cn *conn, name string, wait bool) error {
	if _, err := cn.GetFleet(c.Context, cn.Project, name); err != nil {
		return notFound(err, "fleet", name)
	}
	if !c.Bool("yes") && !confirm(c, fmt.Sprintf("Delete the fleet %s?", name)) {
		fmt.Fprintln(c.App.Writer, "Exiting...")
		return nil
	}
	if err := cn.DeleteFleets(c.Context, cn.Project, []string{name}); err != nil {
		return notFound(err, "fleet", name)
	}
	if wait {
		fmt.Fprintf(c.App.ErrWriter, "Deleting fleet %s...\n", name)
		if err := waitFleetGone(c.Context, cn, name); err != nil {
			return err
		}
	}
	fmt.Fprintf(c.App.Writer, "Fleet %s deleted\n", name)
	return nil
}

// waitFleetGone polls fleets/get every second until resource_not_exists.
func waitFleetGone(ctx context.Context, cn *conn, name string) error {
	for {
		_, err := cn.GetFleet(ctx, cn.Project, name)
		if client.IsNotFound(err) {
			return nil
		}
		if err != nil {
			return err
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("interrupted: fleet %s is still being deleted in the background", name)
		case <-time.After(fleetGonePollInterval):
		}
	}
}

// loadConfiguration reads and parses a configuration file (`-` is stdin).
// It returns the path the server is told: relative to the working
// directory when the file is below it, as upstream sends it.
func loadConfiguration(path string) (schemas.AnyConfiguration, string, error) {
	var data []byte
	var err error
	if path == "-" {
		data, err = readAllStdin()
	} else {
		data, err = os.ReadFile(path)
	}
	if err != nil {
		return nil, "", fmt.Errorf("read configuration: %w", err)
	}
	conf, err := schemas.ParseConfigurationYAML(data, path)
	if err != nil {
		return nil, "", err
	}
	return conf, configurationPath(path), nil
}
