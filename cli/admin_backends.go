package cli

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/urfave/cli/v2"
	"gopkg.in/yaml.v3"

	"github.com/dstackgo/dstack/server/api/client"
	"github.com/dstackgo/dstack/server/schemas"
)

func adminBackendsCommand() *cli.Command {
	flags := func(extra ...cli.Flag) []cli.Flag {
		return append(append(connFlags(), jsonFlag,
			&cli.StringFlag{Name: "project", Aliases: []string{"P"}, Usage: "the `PROJECT` (default: the configured one)"}), extra...)
	}
	return &cli.Command{
		Name:  "backends",
		Usage: "List, configure and delete a project's cloud backends",
		Subcommands: []*cli.Command{
			{Name: "list", Usage: "List the project's backends", Flags: flags(), Action: withConn(backendsList)},
			{Name: "set", Usage: "Configure a backend from a YAML file (as in config.yml's backends), creating or replacing it",
				ArgsUsage: "FILE (- for standard input)", Flags: flags(), Action: withConn(backendsSet)},
			{Name: "delete", Usage: "Delete backends", ArgsUsage: "TYPE...", Flags: flags(), Action: withConn(backendsDelete)},
		},
	}
}

func backendsProject(c *cli.Context, cn *conn) string {
	if p := c.String("project"); p != "" {
		return p
	}
	return cn.Project
}

func backendsList(c *cli.Context, cn *conn) error {
	if _, err := args(c, 0, 0, ""); err != nil {
		return err
	}
	p, err := cn.GetProject(c.Context, backendsProject(c, cn))
	if err != nil {
		return err
	}
	if c.Bool("json") {
		return printJSON(c.App.Writer, p.Backends)
	}
	t := newGrid("TYPE", "REGIONS", "CONFIGURATION")
	for _, b := range p.Backends {
		var conf map[string]any
		if err := json.Unmarshal(b.Config, &conf); len(b.Config) > 0 && err != nil {
			return fmt.Errorf("decode the configuration of backend %s: %w", b.Name, err)
		}
		regions := "-"
		if rs, ok := conf["regions"].([]any); ok {
			var names []string
			for _, r := range rs {
				names = append(names, fmt.Sprint(r))
			}
			regions = strings.Join(names, ",")
		}
		t.add(string(b.Name), regions, summarize(conf))
	}
	return t.render(c.App.Writer, 0)
}

// summarize is a backend's settings other than type and regions, set ones only.
func summarize(conf map[string]any) string {
	var parts []string
	for _, k := range []string{"vpc_name", "vpc_ids", "default_vpcs", "public_ips", "iam_instance_profile", "tags", "os_images"} {
		if v, ok := conf[k]; ok && v != nil {
			b, _ := json.Marshal(v)
			parts = append(parts, k+"="+string(b))
		}
	}
	if len(parts) == 0 {
		return "-"
	}
	return strings.Join(parts, " ")
}

func backendsSet(c *cli.Context, cn *conn) error {
	a, err := args(c, 1, 1, "FILE")
	if err != nil {
		return err
	}
	var data []byte
	if a[0] == "-" {
		data, err = io.ReadAll(c.App.Reader)
	} else {
		data, err = os.ReadFile(a[0])
	}
	if err != nil {
		return err
	}
	var head struct {
		Type string `yaml:"type"`
	}
	if err := yaml.Unmarshal(data, &head); err != nil || head.Type == "" {
		return fmt.Errorf("%s: not a backend configuration (a YAML mapping with type: aws, creds, regions, …)", a[0])
	}
	project := backendsProject(c, cn)
	action := "Configured"
	err = cn.CreateBackendYAML(c.Context, project, string(data))
	var ae *client.Error
	if errors.As(err, &ae) && ae.Code == schemas.ErrorCodeResourceExists {
		action = "Updated"
		err = cn.UpdateBackendYAML(c.Context, project, string(data))
	}
	if err != nil {
		return err
	}
	if c.Bool("json") {
		return printJSON(c.App.Writer, map[string]string{"project": project, "backend": head.Type, "action": strings.ToLower(action)})
	}
	fmt.Fprintf(c.App.Writer, "%s backend %s in project %s\n", action, head.Type, project)
	return nil
}

func backendsDelete(c *cli.Context, cn *conn) error {
	a, err := args(c, 1, -1, "TYPE...")
	if err != nil {
		return err
	}
	project := backendsProject(c, cn)
	if err := cn.DeleteBackends(c.Context, project, a); err != nil {
		return err
	}
	if c.Bool("json") {
		return printJSON(c.App.Writer, map[string]any{"project": project, "deleted": a})
	}
	for _, t := range a {
		fmt.Fprintf(c.App.Writer, "Deleted backend %s from project %s\n", t, project)
	}
	return nil
}
