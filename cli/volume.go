package cli

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/dstackgo/dstack/server/schemas"
)

// volumeCommand lists and deletes the project's volumes; `dstack volume`
// alone lists them.
func volumeCommand() *cli.Command {
	flags := func(extra ...cli.Flag) []cli.Flag { return append(append(connFlags(), jsonFlag), extra...) }
	return &cli.Command{
		Name:   "volume",
		Usage:  "Manage volumes",
		Flags:  flags(),
		Action: withConn(volumeList),
		Subcommands: []*cli.Command{
			{Name: "list", Usage: "List volumes", Flags: flags(), Action: withConn(volumeList)},
			{Name: "delete", Usage: "Delete a volume", ArgsUsage: "NAME", Flags: flags(
				&cli.BoolFlag{Name: "yes", Aliases: []string{"y"}, Usage: "do not ask for confirmation"},
			), Action: withConn(volumeDelete)},
		},
	}
}

func volumeList(c *cli.Context, cn *conn) error {
	if _, err := args(c, 0, 0, ""); err != nil {
		return err
	}
	vs, err := cn.ListVolumes(c.Context, cn.Project)
	if err != nil {
		return err
	}
	if c.Bool("json") {
		return printJSON(c.App.Writer, append([]schemas.Volume{}, vs...))
	}
	g := newGrid("NAME", "BACKEND", "STATUS", "ATTACHED", "CREATED", "ERROR~")
	for _, v := range vs {
		var head schemas.VolumeConfigurationHead
		if err := json.Unmarshal(v.Configuration, &head); err != nil {
			return fmt.Errorf("volume %s: the configuration from the server does not parse: %w", v.Name, err)
		}
		backend := head.Backend
		if head.Region != nil && *head.Region != "" {
			backend += " (" + *head.Region + ")"
		}
		fleets := map[string]bool{}
		for _, a := range v.Attachments {
			if a.Instance.FleetName != nil {
				fleets[*a.Instance.FleetName] = true
			}
		}
		attached := "-"
		if len(fleets) > 0 {
			names := make([]string, 0, len(fleets))
			for f := range fleets {
				names = append(names, f)
			}
			sort.Strings(names)
			attached = strings.Join(names, ", ")
		}
		errMsg := ""
		if v.StatusMessage != nil {
			errMsg = *v.StatusMessage
		}
		created := v.CreatedAt
		g.add(v.Name, backend, string(v.Status), attached, ago(&created), errMsg)
	}
	return g.render(c.App.Writer, screenOf(c.App.Writer).width)
}

func volumeDelete(c *cli.Context, cn *conn) error {
	a, err := args(c, 1, 1, "NAME [-y]")
	if err != nil {
		return err
	}
	if _, err := cn.GetVolume(c.Context, cn.Project, a[0]); err != nil {
		return notFound(err, "volume", a[0])
	}
	if !c.Bool("yes") && !confirm(c, fmt.Sprintf("Delete the volume %s?", a[0])) {
		fmt.Fprintln(c.App.Writer, "Exiting...")
		return nil
	}
	if err := cn.DeleteVolumes(c.Context, cn.Project, a); err != nil {
		return err
	}
	if c.Bool("json") {
		return printJSON(c.App.Writer, map[string]any{"deleted": a})
	}
	fmt.Fprintf(c.App.Writer, "Volume %s deleted\n", a[0])
	return nil
}

// gatewayCommand lists the project's gateways (and imported ones);
// `dstack gateway` alone lists them.
func gatewayCommand() *cli.Command {
	flags := func() []cli.Flag { return append(connFlags(), jsonFlag) }
	return &cli.Command{
		Name:   "gateway",
		Usage:  "List gateways",
		Flags:  flags(),
		Action: withConn(gatewayList),
		Subcommands: []*cli.Command{
			{Name: "list", Usage: "List gateways", Flags: flags(), Action: withConn(gatewayList)},
		},
	}
}

func gatewayList(c *cli.Context, cn *conn) error {
	if _, err := args(c, 0, 0, ""); err != nil {
		return err
	}
	gs, err := cn.ListGateways(c.Context, cn.Project)
	if err != nil {
		return err
	}
	if c.Bool("json") {
		return printJSON(c.App.Writer, append([]schemas.Gateway{}, gs...))
	}
	g := newGrid("NAME", "BACKEND", "HOSTNAME", "DOMAIN", "DEFAULT", "STATUS", "ERROR~")
	for _, x := range gs {
		var head struct {
			Backend string `json:"backend"`
			Region  string `json:"region"`
		}
		if err := json.Unmarshal(x.Configuration, &head); err != nil {
			return fmt.Errorf("gateway %s: the configuration from the server does not parse: %w", x.Name, err)
		}
		name := x.Name
		if x.ProjectName != cn.Project {
			name = x.ProjectName + "/" + name
		}
		def := ""
		if x.Default {
			def = "✓"
		}
		g.add(name, head.Backend+" ("+head.Region+")", orDash(x.Hostname), orDash(x.WildcardDomain), def,
			string(x.Status), orEmpty(x.StatusMessage))
	}
	return g.render(c.App.Writer, screenOf(c.App.Writer).width)
}

func orEmpty(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
