package cli

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/dstackgo/dstack/server/schemas"
)

// watchInterval is how often -w listings refresh (upstream: 2 s).
const watchInterval = 2 * time.Second

// psCommand lists runs: the active ones, or the last finished one when
// none is active.
func psCommand() *cli.Command {
	return &cli.Command{
		Name:  "ps",
		Usage: "List runs",
		Flags: append(connFlags(), jsonFlag,
			&cli.BoolFlag{Name: "all", Aliases: []string{"a"}, Usage: "show finished runs too (by default: unfinished runs, or the last finished one)"},
			&cli.IntFlag{Name: "last", Aliases: []string{"n"}, Usage: "show only the last `N` runs (implies --all)"},
			&cli.BoolFlag{Name: "watch", Aliases: []string{"w"}, Usage: "refresh every 2 seconds"},
			&cli.BoolFlag{Name: "verbose", Aliases: []string{"v"}, Usage: "show resources, instance types and errors"},
		),
		Action: withConn(ps),
	}
}

// psOutput is `dstack ps --json`, shaped like upstream's.
type psOutput struct {
	Project string        `json:"project"`
	Runs    []schemas.Run `json:"runs"`
}

func ps(c *cli.Context, cn *conn) error {
	if _, err := args(c, 0, 0, ""); err != nil {
		return err
	}
	if c.Bool("watch") && c.Bool("json") {
		return usageError("--json cannot be combined with --watch")
	}
	all, last := c.Bool("all"), 0
	if c.IsSet("last") {
		if last = c.Int("last"); last < 1 || last > 100 {
			return usageError("--last must be between 1 and 100, got %d", last)
		}
	}
	if c.Bool("json") {
		runs, err := listRuns(c.Context, cn.ListRuns, cn.Project, all, last)
		if err != nil {
			return err
		}
		return printJSON(c.App.Writer, psOutput{Project: cn.Project, Runs: runs})
	}
	render := func(runs []schemas.Run, width int) string {
		var b strings.Builder
		_ = runsGrid(runs, c.Bool("verbose"), time.Now()).render(&b, width)
		return b.String()
	}
	list := func(ctx context.Context) ([]schemas.Run, error) {
		return listRuns(ctx, cn.ListRunsForTable, cn.Project, all, last)
	}
	return watchOrPrint(c, list, render)
}

// psRequests are the runs/list bodies `dstack ps` sends (reference §13):
// only_active unless -a or -n, limit -n or 100, one submission per job.
func psRequests(project string, all bool, last int) (first, fallback schemas.ListRunsRequest) {
	yes, one := true, 1
	limit := 100
	if last > 0 {
		limit = last
	}
	first = schemas.ListRunsRequest{ProjectName: &project, OnlyActive: !all && last == 0,
		IncludeJobs: &yes, JobSubmissionsLimit: &one, Limit: &limit}
	fallback = first
	fallback.OnlyActive, fallback.Limit = false, &one
	return first, fallback
}

// listRuns lists runs the way upstream's ps does: when only active runs
// were asked for and there are none, it shows the last run instead.
func listRuns(ctx context.Context, list func(context.Context, schemas.ListRunsRequest) ([]schemas.Run, error), project string,
	all bool, last int) ([]schemas.Run, error) {
	first, fallback := psRequests(project, all, last)
	runs, err := list(ctx, first)
	if err != nil {
		return nil, err
	}
	if first.OnlyActive && len(runs) == 0 {
		runs, err = list(ctx, fallback)
	}
	return append([]schemas.Run{}, runs...), err
}

// watchOrPrint prints one listing, or with --watch redraws it every 2 s
// until Ctrl-C (which ends the command successfully).
func watchOrPrint[T any](c *cli.Context, list func(context.Context) (T, error), render func(T, int) string) error {
	out := c.App.Writer
	scr := screenOf(out)
	for first := true; ; first = false {
		items, err := list(c.Context)
		if err != nil {
			if !first && errors.Is(c.Context.Err(), context.Canceled) {
				return nil
			}
			return err
		}
		text := render(items, scr.width)
		if !c.Bool("watch") {
			_, err := fmt.Fprint(out, text)
			return err
		}
		if scr.tty {
			fmt.Fprint(out, "\x1b[H\x1b[2J")
		} else if !first {
			fmt.Fprintln(out)
		}
		fmt.Fprint(out, text)
		select {
		case <-c.Context.Done():
			return nil
		case <-time.After(watchInterval):
		}
	}
}
