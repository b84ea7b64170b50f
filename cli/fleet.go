package cli

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/dstackgo/dstack/server/schemas"
)

// fleetCommand lists, shows and deletes fleets; `dstack fleet` alone lists.
func fleetCommand() *cli.Command {
	listFlags := func() []cli.Flag {
		return append(connFlags(), jsonFlag,
			&cli.BoolFlag{Name: "watch", Aliases: []string{"w"}, Usage: "refresh every 2 seconds"},
			&cli.BoolFlag{Name: "verbose", Aliases: []string{"v"}, Usage: "show resources, drivers and errors"})
	}
	return &cli.Command{
		Name:   "fleet",
		Usage:  "Manage fleets",
		Flags:  listFlags(),
		Action: withConn(fleetList),
		Subcommands: []*cli.Command{
			{Name: "list", Usage: "List fleets and their instances", Flags: listFlags(), Action: withConn(fleetList)},
			{Name: "get", Usage: "Show a fleet", ArgsUsage: "NAME", Flags: append(connFlags(), jsonFlag,
				&cli.StringFlag{Name: "id", Usage: "the fleet's `ID` instead of its name"},
				&cli.BoolFlag{Name: "verbose", Aliases: []string{"v"}, Usage: "show resources, drivers and errors"},
			), Action: withConn(fleetGet)},
			{Name: "delete", Usage: "Delete a fleet, or some of its instances", ArgsUsage: "NAME", Flags: append(connFlags(),
				&cli.IntSliceFlag{Name: "instance", Aliases: []string{"i"}, Usage: "delete only instance `NUM` (repeatable)"},
				&cli.BoolFlag{Name: "yes", Aliases: []string{"y"}, Usage: "do not ask for confirmation"},
			), Action: withConn(fleetDelete)},
		},
	}
}

func fleetList(c *cli.Context, cn *conn) error {
	if _, err := args(c, 0, 0, ""); err != nil {
		return err
	}
	if c.Bool("watch") && c.Bool("json") {
		return usageError("--json cannot be combined with --watch")
	}
	list := func(ctx context.Context) ([]schemas.Fleet, error) {
		fs, err := cn.ListFleets(ctx, cn.Project)
		return append([]schemas.Fleet{}, fs...), err
	}
	if c.Bool("json") {
		fs, err := list(c.Context)
		if err != nil {
			return err
		}
		return printJSON(c.App.Writer, fs)
	}
	render := func(fs []schemas.Fleet, width int) string {
		var b strings.Builder
		_ = fleetsGrid(fs, cn.Project, c.Bool("verbose"), time.Now()).render(&b, width)
		return b.String()
	}
	return watchOrPrint(c, list, render)
}

func fleetGet(c *cli.Context, cn *conn) error {
	a, err := args(c, 0, 1, "NAME | --id ID")
	if err != nil {
		return err
	}
	var f *schemas.Fleet
	switch id := c.String("id"); {
	case id != "" && len(a) == 0:
		f, err = cn.GetFleetByID(c.Context, cn.Project, id)
		err = notFound(err, "fleet", id)
	case id == "" && len(a) == 1:
		f, err = cn.GetFleet(c.Context, cn.Project, a[0])
		err = notFound(err, "fleet", a[0])
	default:
		return usageError("usage: %s NAME | --id ID", c.Command.HelpName)
	}
	if err != nil {
		return err
	}
	if c.Bool("json") {
		return printJSON(c.App.Writer, f)
	}
	return fleetsGrid([]schemas.Fleet{*f}, cn.Project, c.Bool("verbose"), time.Now()).render(c.App.Writer, screenOf(c.App.Writer).width)
}

func fleetDelete(c *cli.Context, cn *conn) error {
	a, err := args(c, 1, 1, "NAME [-i NUM]... [-y]")
	if err != nil {
		return err
	}
	name, nums := a[0], c.IntSlice("instance")
	if strings.Contains(name, "/") {
		return usageError("fleet %q: only fleets of the current project can be deleted (no project/ prefix)", name)
	}
	if len(nums) == 0 {
		return deleteFleet(c, cn, name, false)
	}
	if _, err := cn.GetFleet(c.Context, cn.Project, name); err != nil {
		return notFound(err, "fleet", name)
	}
	numText := make([]string, len(nums))
	for i, n := range nums {
		numText[i] = strconv.Itoa(n)
	}
	if !c.Bool("yes") && !confirm(c, fmt.Sprintf("Delete the fleet %s instances %s?", name, strings.Join(numText, ", "))) {
		fmt.Fprintln(c.App.Writer, "Exiting...")
		return nil
	}
	if err := cn.DeleteFleetInstances(c.Context, cn.Project, name, nums); err != nil {
		return notFound(err, "fleet", name)
	}
	fmt.Fprintf(c.App.Writer, "Fleet %s instances deleted\n", name)
	return nil
}
