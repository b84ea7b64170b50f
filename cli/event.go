package cli

import (
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/dstackgo/dstack/server/schemas"
)

// eventPageSize is the page size of event listings (upstream's default limit).
const eventPageSize = 100

// eventCommand shows the project's events: the last 100, those since a time,
// or (-w) new ones as they come.
func eventCommand() *cli.Command {
	flags := func() []cli.Flag {
		return append(append(connFlags(), jsonFlag),
			&cli.BoolFlag{Name: "watch", Aliases: []string{"w"}, Usage: "watch events in real time"},
			&cli.StringFlag{Name: "since", Usage: "only events newer than a duration ago (10s, 5m, 1d) or an RFC 3339 time; default: the last 100"},
			&cli.StringSliceFlag{Name: "target-fleet", Usage: "only events about these fleets (NAME or PROJECT/NAME)"},
			&cli.StringSliceFlag{Name: "target-run", Usage: "only events about these runs"},
			&cli.StringSliceFlag{Name: "target-volume", Usage: "only events about these volumes"},
			&cli.StringSliceFlag{Name: "target-gateway", Usage: "only events about these gateways"},
			&cli.StringSliceFlag{Name: "target-secret", Usage: "only events about these secrets"},
			&cli.StringSliceFlag{Name: "within-fleet", Usage: "only events about these fleets or their instances (NAME or PROJECT/NAME)"},
			&cli.StringSliceFlag{Name: "within-run", Usage: "only events about these runs or their jobs"},
			&cli.StringSliceFlag{Name: "include-target-type", Usage: "only events about entities of these types (" +
				strings.Join(schemas.EventTargetTypes, ", ") + ")"},
		)
	}
	return &cli.Command{
		Name:   "event",
		Usage:  "View events",
		Flags:  flags(),
		Action: withConn(eventList),
		Subcommands: []*cli.Command{
			{Name: "list", Usage: "List events within the selected project", Flags: flags(), Action: withConn(eventList)},
		},
	}
}

func eventList(c *cli.Context, cn *conn) error {
	if _, err := args(c, 0, 0, ""); err != nil {
		return err
	}
	since, err := parseSince(c.String("since"), time.Now())
	if err != nil {
		return err
	}
	req, err := eventFilters(c, cn)
	if err != nil {
		return err
	}
	out := c.App.Writer
	print := func(es []schemas.Event) error {
		if c.Bool("json") {
			return printJSON(out, es)
		}
		for _, e := range es {
			printEvent(out, cn.Project, e)
		}
		return nil
	}
	if !c.Bool("watch") {
		es, err := listEvents(c, cn, req, since)
		if err != nil {
			return err
		}
		return print(es)
	}
	return watchEvents(c, cn, req, since, print)
}

// listEvents returns the events since a time, oldest first, or the last
// page of them when since is nil.
func listEvents(c *cli.Context, cn *conn, req schemas.ListEventsRequest, since *time.Time) ([]schemas.Event, error) {
	limit := eventPageSize
	req.Limit = &limit
	if since == nil {
		es, err := cn.ListEvents(c.Context, req)
		slices.Reverse(es)
		return es, err
	}
	req.Ascending, req.PrevRecordedAt = true, since
	var all []schemas.Event
	for {
		es, err := cn.ListEvents(c.Context, req)
		if err != nil {
			return nil, err
		}
		all = append(all, es...)
		if len(es) < limit {
			return all, nil
		}
		last := es[len(es)-1]
		req.PrevRecordedAt, req.PrevID = &last.RecordedAt, &last.ID
	}
}

// watchEvents prints new events every few seconds until interrupted. It
// reads back a window of eventDelay before the newest event seen, as
// upstream's client does, so that an event committed late is not missed;
// ids already printed are skipped.
func watchEvents(c *cli.Context, cn *conn, req schemas.ListEventsRequest, since *time.Time,
	print func([]schemas.Event) error) error {
	const eventDelay = 20 * time.Second
	seen := map[string]time.Time{}
	var newest *time.Time
	for {
		from := since
		if newest != nil {
			t := newest.Add(-eventDelay)
			if from == nil || t.After(*from) {
				from = &t
			}
		}
		es, err := listEvents(c, cn, req, from)
		if err != nil {
			return err
		}
		var fresh []schemas.Event
		for _, e := range es {
			if _, ok := seen[e.ID]; !ok {
				seen[e.ID] = e.RecordedAt
				fresh = append(fresh, e)
			}
			newest = &e.RecordedAt
		}
		if from != nil {
			for id, at := range seen {
				if at.Before(*from) {
					delete(seen, id)
				}
			}
		}
		if err := print(fresh); err != nil {
			return err
		}
		select {
		case <-c.Context.Done():
			return nil
		case <-time.After(2 * time.Second):
		}
	}
}

// eventFilters resolves the filter flags to ids; without a target filter
// the listing keeps to the current project.
func eventFilters(c *cli.Context, cn *conn) (schemas.ListEventsRequest, error) {
	var req schemas.ListEventsRequest
	targets := 0
	for _, f := range []string{"target-fleet", "target-run", "target-volume", "target-gateway", "target-secret"} {
		if len(c.StringSlice(f)) > 0 {
			targets++
		}
	}
	if targets > 1 {
		return req, usageError("use one of --target-fleet, --target-run, --target-volume, --target-gateway, --target-secret")
	}
	if len(c.StringSlice("within-fleet")) > 0 && len(c.StringSlice("within-run")) > 0 {
		return req, usageError("use one of --within-fleet, --within-run")
	}
	var err error
	ids := func(flag string, id func(name string) (string, error)) []string {
		var out []string
		for _, n := range c.StringSlice(flag) {
			if err != nil {
				return nil
			}
			var v string
			v, err = id(n)
			out = append(out, v)
		}
		return out
	}
	fleetID := func(ref string) (string, error) {
		project, name := cn.Project, ref
		if p, n, ok := strings.Cut(ref, "/"); ok {
			project, name = p, n
		}
		f, err := cn.GetFleet(c.Context, project, name)
		if err != nil {
			return "", notFound(err, "fleet", ref)
		}
		return f.ID, nil
	}
	runID := func(name string) (string, error) {
		r, err := cn.GetRun(c.Context, cn.Project, name)
		if err != nil {
			return "", notFound(err, "run", name)
		}
		return r.ID, nil
	}
	entityID := func(kind string) func(string) (string, error) {
		return func(name string) (string, error) {
			id, err := cn.EntityID(c.Context, cn.Project, kind+"s", name)
			if err != nil {
				return "", notFound(err, kind, name)
			}
			return id, nil
		}
	}
	secretID := func(name string) (string, error) {
		s, err := cn.GetSecret(c.Context, cn.Project, name)
		if err != nil {
			return "", notFound(err, "secret", name)
		}
		return s.ID, nil
	}
	req.TargetFleets = ids("target-fleet", fleetID)
	req.TargetRuns = ids("target-run", runID)
	req.TargetVolumes = ids("target-volume", entityID("volume"))
	req.TargetGateways = ids("target-gateway", entityID("gateway"))
	req.TargetSecrets = ids("target-secret", secretID)
	req.WithinFleets = ids("within-fleet", fleetID)
	req.WithinRuns = ids("within-run", runID)
	if err != nil {
		return req, err
	}
	if targets == 0 && req.WithinFleets == nil && req.WithinRuns == nil {
		p, err := cn.GetProject(c.Context, cn.Project)
		if err != nil {
			return req, notFound(err, "project", cn.Project)
		}
		req.WithinProjects = []string{p.ProjectID}
	}
	for _, t := range c.StringSlice("include-target-type") {
		if !slices.Contains(schemas.EventTargetTypes, t) {
			return req, usageError("--include-target-type %q: use one of %s", t, strings.Join(schemas.EventTargetTypes, ", "))
		}
		req.IncludeTargetTypes = append(req.IncludeTargetTypes, t)
	}
	return req, nil
}

// printEvent writes an event on one line, as upstream's CLI does:
// [time] [👤actor] [targets] message; targets of another project than the
// current one are prefixed with their project.
func printEvent(w io.Writer, project string, e schemas.Event) {
	targets := make([]string, len(e.Targets))
	for i, t := range e.Targets {
		name := t.Name
		if t.ProjectName != nil && t.Type != schemas.EventTargetProject && *t.ProjectName != project {
			name = *t.ProjectName + "/" + name
		}
		targets[i] = t.Type + " " + name
	}
	line := "[" + e.RecordedAt.Local().Format("2006-01-02 15:04:05") + "]"
	if e.ActorUser != nil {
		line += " [👤" + *e.ActorUser + "]"
	}
	fmt.Fprintf(w, "%s [%s] %s\n", line, strings.Join(targets, ", "), e.Message)
}
