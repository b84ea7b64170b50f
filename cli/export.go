package cli

import (
	"fmt"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/dstackgo/dstack/server/schemas"
)

// exportCommand manages what the project shares with other projects;
// `dstack export` alone lists its exports.
func exportCommand() *cli.Command {
	flags := func(extra ...cli.Flag) []cli.Flag { return append(append(connFlags(), jsonFlag), extra...) }
	return &cli.Command{
		Name:   "export",
		Usage:  "Manage exports: fleets and gateways shared with other projects",
		Flags:  flags(),
		Action: withConn(exportList),
		Subcommands: []*cli.Command{
			{Name: "list", Usage: "List exports", Flags: flags(), Action: withConn(exportList)},
			{Name: "create", Usage: "Create an export", ArgsUsage: "NAME", Flags: flags(
				&cli.StringSliceFlag{Name: "importer", Usage: "a project that imports the export (repeatable)"},
				&cli.StringSliceFlag{Name: "fleet", Usage: "an SSH fleet to export (repeatable)"},
				&cli.StringSliceFlag{Name: "gateway", Usage: "a gateway to export (repeatable)"},
				&cli.BoolFlag{Name: "global", Usage: "export to every project"},
			), Action: withConn(exportCreate)},
			{Name: "delete", Usage: "Delete an export", ArgsUsage: "NAME", Flags: flags(
				&cli.BoolFlag{Name: "yes", Aliases: []string{"y"}, Usage: "do not ask for confirmation"},
			), Action: withConn(exportDelete)},
		},
	}
}

func exportList(c *cli.Context, cn *conn) error {
	if _, err := args(c, 0, 0, ""); err != nil {
		return err
	}
	es, err := cn.ListExports(c.Context, cn.Project)
	if err != nil {
		return err
	}
	return printExports(c, append([]schemas.Export{}, es...))
}

func printExports(c *cli.Context, es []schemas.Export) error {
	if c.Bool("json") {
		return printJSON(c.App.Writer, es)
	}
	g := newGrid("NAME", "FLEETS", "GATEWAYS", "IMPORTERS~")
	for _, e := range es {
		importers := make([]string, len(e.Imports))
		for i, im := range e.Imports {
			importers[i] = im.ProjectName
		}
		imp := dashIfEmpty(importers)
		if e.IsGlobal {
			imp = "*"
		}
		g.add(e.Name, dashIfEmpty(fleetNames(e.ExportedFleets)), dashIfEmpty(gatewayNames(e.ExportedGateways)), imp)
	}
	return g.render(c.App.Writer, screenOf(c.App.Writer).width)
}

func exportCreate(c *cli.Context, cn *conn) error {
	a, err := args(c, 1, 1, "NAME [--fleet F]... [--importer P]... [--gateway G]... [--global]")
	if err != nil {
		return err
	}
	e, err := cn.CreateExport(c.Context, cn.Project, schemas.CreateExportRequest{Name: a[0], IsGlobal: c.Bool("global"),
		ImporterProjects: c.StringSlice("importer"), ExportedFleets: c.StringSlice("fleet"), ExportedGateways: c.StringSlice("gateway")})
	if err != nil {
		return err
	}
	return printExports(c, []schemas.Export{*e})
}

func exportDelete(c *cli.Context, cn *conn) error {
	a, err := args(c, 1, 1, "NAME [-y]")
	if err != nil {
		return err
	}
	if !c.Bool("yes") && !confirm(c, fmt.Sprintf("Delete the export %s?", a[0])) {
		fmt.Fprintln(c.App.Writer, "Exiting...")
		return nil
	}
	if err := cn.DeleteExport(c.Context, cn.Project, a[0]); err != nil {
		return notFound(err, "export", a[0])
	}
	if c.Bool("json") {
		return printJSON(c.App.Writer, map[string]any{"deleted": a})
	}
	fmt.Fprintf(c.App.Writer, "Export %s deleted\n", a[0])
	return nil
}

// importCommand lists the exports the project imports.
func importCommand() *cli.Command {
	flags := func() []cli.Flag { return append(connFlags(), jsonFlag) }
	return &cli.Command{
		Name:   "import",
		Usage:  "List imports: other projects' fleets and gateways shared with this one",
		Flags:  flags(),
		Action: withConn(importList),
		Subcommands: []*cli.Command{
			{Name: "list", Usage: "List imports", Flags: flags(), Action: withConn(importList)},
		},
	}
}

func importList(c *cli.Context, cn *conn) error {
	if _, err := args(c, 0, 0, ""); err != nil {
		return err
	}
	is, err := cn.ListImports(c.Context, cn.Project)
	if err != nil {
		return err
	}
	if c.Bool("json") {
		return printJSON(c.App.Writer, append([]schemas.Import{}, is...))
	}
	g := newGrid("NAME", "FLEETS", "GATEWAYS~")
	for _, im := range is {
		g.add(im.Export.ProjectName+"/"+im.Export.Name, dashIfEmpty(fleetNames(im.Export.ExportedFleets)),
			dashIfEmpty(gatewayNames(im.Export.ExportedGateways)))
	}
	return g.render(c.App.Writer, screenOf(c.App.Writer).width)
}

func fleetNames(fs []schemas.ExportedFleet) []string {
	out := make([]string, len(fs))
	for i, f := range fs {
		out[i] = f.Name
	}
	return out
}

func gatewayNames(gs []schemas.ExportedGateway) []string {
	out := make([]string, len(gs))
	for i, g := range gs {
		out[i] = g.Name
	}
	return out
}

func dashIfEmpty(names []string) string {
	if len(names) == 0 {
		return "-"
	}
	return strings.Join(names, ", ")
}
