package cli

import (
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/dstackgo/dstack/server/api/client"
)

// projectCommand manages the projects of ~/.dstack/config.yml, the file
// the official CLI uses: `dstack project` alone lists them.
func projectCommand() *cli.Command {
	verbose := &cli.BoolFlag{Name: "verbose", Aliases: []string{"v"}, Usage: "also show each project's user (asks the server)"}
	yes := &cli.BoolFlag{Name: "yes", Aliases: []string{"y"}, Usage: "do not ask for confirmation"}
	return &cli.Command{
		Name:   "project",
		Usage:  "Manage the projects of ~/.dstack/config.yml",
		Flags:  []cli.Flag{verbose, jsonFlag},
		Action: projectList,
		Subcommands: []*cli.Command{
			{Name: "add", Usage: "Add or update a project", Action: projectAdd, Flags: []cli.Flag{
				&cli.StringFlag{Name: "name", Usage: "project name", Required: true},
				&cli.StringFlag{Name: "url", Usage: "server URL", Required: true},
				&cli.StringFlag{Name: "token", Usage: "user token", Required: true},
				yes,
				&cli.BoolFlag{Name: "no", Aliases: []string{"n"}, Usage: "do not make it the default project"},
				&cli.BoolFlag{Name: "default", Usage: "make it the default project"},
			}},
			{Name: "list", Usage: "List configured projects", Action: projectList, Flags: []cli.Flag{verbose, jsonFlag}},
			{Name: "set-default", Usage: "Set the default project", ArgsUsage: "NAME", Action: projectSetDefault},
			{Name: "delete", Usage: "Remove a project from the config", ArgsUsage: "NAME", Action: projectDelete,
				Flags: []cli.Flag{&cli.StringFlag{Name: "name", Usage: "project name (or pass it as an argument)"}, yes}},
		},
	}
}

func projectAdd(c *cli.Context) error {
	if _, err := args(c, 0, 0, ""); err != nil {
		return err
	}
	name, url, token := c.String("name"), strings.TrimRight(c.String("url"), "/"), c.String("token")
	if !strings.HasPrefix(url, "http://") && !strings.HasPrefix(url, "https://") {
		return usageError("--url %q must start with http:// or https://", url)
	}
	if _, err := client.New(url, token).GetProject(c.Context, name); err != nil {
		return projectCheckError(err, name, url)
	}
	cfg, err := loadClientConfig()
	if err != nil {
		return err
	}
	def := cfg.project("")
	var makeDefault bool
	switch {
	case c.Bool("default"):
		makeDefault = true
	case c.Bool("no"):
	case c.Bool("yes"), def == nil, def.Name == name && def.URL == url && def.Token == token:
		makeDefault = true
	default:
		makeDefault = confirm(c, fmt.Sprintf("Set '%s' as your default project?", name))
	}
	cfg.upsert(clientProject{Name: name, URL: url, Token: token}, makeDefault)
	if err := cfg.save(); err != nil {
		return err
	}
	fmt.Fprintf(c.App.Writer, "Configuration updated at %s\n", cfg.path)
	return nil
}

// projectCheckError explains why projects/N/get refused the new project.
func projectCheckError(err error, name, url string) error {
	var e *client.Error
	if errors.As(err, &e) {
		switch e.Status {
		case http.StatusForbidden, http.StatusUnauthorized:
			return fmt.Errorf("the server refused the token: check --token (%s rejected it)", url)
		case http.StatusNotFound:
			return fmt.Errorf("project %s not found on %s", name, url)
		}
	}
	return err
}

func projectList(c *cli.Context) error {
	if _, err := args(c, 0, 0, ""); err != nil {
		return err
	}
	cfg, err := loadClientConfig()
	if err != nil {
		return err
	}
	def := cfg.project("")
	type entry struct {
		Name    string `json:"name"`
		URL     string `json:"url"`
		User    string `json:"user,omitempty"`
		Default bool   `json:"default"`
	}
	var entries []entry
	for _, p := range cfg.Projects {
		e := entry{Name: p.Name, URL: p.URL, Default: def != nil && def.Name == p.Name}
		if c.Bool("verbose") {
			e.User = "(invalid token)"
			if u, err := client.New(p.URL, p.Token).GetMyUser(c.Context); err == nil {
				e.User = u.Username
			} else if !errors.As(err, new(*client.Error)) {
				e.User = "(unreachable)"
			}
		}
		entries = append(entries, e)
	}
	if c.Bool("json") {
		return printJSON(c.App.Writer, append([]entry{}, entries...))
	}
	cols := []string{"PROJECT", "URL~", "DEFAULT"}
	if c.Bool("verbose") {
		cols = []string{"PROJECT", "URL~", "USER", "DEFAULT"}
	}
	g := newGrid(cols...)
	for _, e := range entries {
		row := runRow{"PROJECT": e.Name, "URL": e.URL, "USER": e.User}
		if e.Default {
			row["DEFAULT"] = "✓"
		}
		g.addRow(row)
	}
	return g.render(c.App.Writer, screenOf(c.App.Writer).width)
}

func projectSetDefault(c *cli.Context) error {
	a, err := args(c, 1, 1, "NAME")
	if err != nil {
		return err
	}
	cfg, err := loadClientConfig()
	if err != nil {
		return err
	}
	p := cfg.project(a[0])
	if p == nil {
		return fmt.Errorf("project %s is not in %s: add it with `dstack project add`", a[0], cfg.path)
	}
	cfg.upsert(*p, true)
	if err := cfg.save(); err != nil {
		return err
	}
	fmt.Fprintln(c.App.Writer, "OK")
	return nil
}

func projectDelete(c *cli.Context) error {
	a, err := args(c, 0, 1, "NAME")
	if err != nil {
		return err
	}
	name := c.String("name")
	if len(a) == 1 {
		name = a[0]
	}
	if name == "" {
		return usageError("usage: %s NAME [-y]", c.Command.HelpName)
	}
	cfg, err := loadClientConfig()
	if err != nil {
		return err
	}
	i := slices.IndexFunc(cfg.Projects, func(p clientProject) bool { return p.Name == name })
	if i < 0 {
		return fmt.Errorf("project %s is not in %s", name, cfg.path)
	}
	if !c.Bool("yes") && !confirm(c, fmt.Sprintf("Are you sure you want to delete project '%s'?", name)) {
		fmt.Fprintln(c.App.Writer, "Exiting...")
		return nil
	}
	cfg.Projects = slices.Delete(cfg.Projects, i, i+1)
	if err := cfg.save(); err != nil {
		return err
	}
	fmt.Fprintln(c.App.Writer, "OK")
	return nil
}
