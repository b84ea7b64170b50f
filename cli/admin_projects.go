package cli

import (
	"fmt"

	"github.com/urfave/cli/v2"

	"github.com/dstackgo/dstack/server/schemas"
)

func adminProjectsCommand() *cli.Command {
	flags := func(extra ...cli.Flag) []cli.Flag { return append(append(connFlags(), jsonFlag), extra...) }
	return &cli.Command{
		Name:  "projects",
		Usage: "List, create and manage projects and their members",
		Subcommands: []*cli.Command{
			{Name: "list", Usage: "List projects", Flags: flags(), Action: withConn(projectsList)},
			{Name: "create", Usage: "Create a project", ArgsUsage: "NAME", Flags: flags(
				&cli.BoolFlag{Name: "public", Usage: "let any user see and join it"},
			), Action: withConn(projectsCreate)},
			{Name: "delete", Usage: "Delete projects", ArgsUsage: "NAME...", Flags: flags(), Action: withConn(projectsDelete)},
			{Name: "add-member", Usage: "Add a user to a project, or change their role", ArgsUsage: "PROJECT USERNAME", Flags: flags(
				&cli.StringFlag{Name: "role", Value: "user", Usage: "project role: user, manager or admin"},
			), Action: withConn(projectsAddMember)},
			{Name: "remove-member", Usage: "Remove users from a project", ArgsUsage: "PROJECT USERNAME...", Flags: flags(), Action: withConn(projectsRemoveMember)},
		},
	}
}

func projectsList(c *cli.Context, cn *conn) error {
	if _, err := args(c, 0, 0, ""); err != nil {
		return err
	}
	ps, err := cn.ListProjects(c.Context)
	if err != nil {
		return err
	}
	if c.Bool("json") {
		return printJSON(c.App.Writer, ps)
	}
	t := newGrid("NAME", "OWNER", "PUBLIC", "CREATED")
	for _, p := range ps {
		t.add(p.ProjectName, p.Owner.Username, fmt.Sprint(p.IsPublic), ago(p.CreatedAt))
	}
	return t.render(c.App.Writer, 0)
}

func projectsCreate(c *cli.Context, cn *conn) error {
	a, err := args(c, 1, 1, "NAME [--public]")
	if err != nil {
		return err
	}
	p, err := cn.CreateProject(c.Context, schemas.CreateProjectRequest{ProjectName: a[0], IsPublic: c.Bool("public")})
	if err != nil {
		return err
	}
	if c.Bool("json") {
		return printJSON(c.App.Writer, p)
	}
	fmt.Fprintf(c.App.Writer, "Created project %s\n", p.ProjectName)
	return nil
}

func projectsDelete(c *cli.Context, cn *conn) error {
	a, err := args(c, 1, -1, "NAME...")
	if err != nil {
		return err
	}
	if err := cn.DeleteProjects(c.Context, a); err != nil {
		return err
	}
	if c.Bool("json") {
		return printJSON(c.App.Writer, map[string]any{"deleted": a})
	}
	for _, n := range a {
		fmt.Fprintf(c.App.Writer, "Deleted project %s\n", n)
	}
	return nil
}

func projectsAddMember(c *cli.Context, cn *conn) error {
	a, err := args(c, 2, 2, "PROJECT USERNAME [--role user|manager|admin]")
	if err != nil {
		return err
	}
	role := schemas.ProjectRole(c.String("role"))
	if !role.Valid() {
		return usageError("--role %q is not one of: user, manager, admin", role)
	}
	p, err := cn.AddMembers(c.Context, a[0], []schemas.MemberSetting{{Username: a[1], ProjectRole: role}})
	if err != nil {
		return err
	}
	return printMembers(c, p)
}

func projectsRemoveMember(c *cli.Context, cn *conn) error {
	a, err := args(c, 2, -1, "PROJECT USERNAME...")
	if err != nil {
		return err
	}
	p, err := cn.RemoveMembers(c.Context, a[0], a[1:])
	if err != nil {
		return err
	}
	return printMembers(c, p)
}

func printMembers(c *cli.Context, p *schemas.Project) error {
	if c.Bool("json") {
		return printJSON(c.App.Writer, p)
	}
	fmt.Fprintf(c.App.Writer, "Members of %s:\n", p.ProjectName)
	t := newGrid("USERNAME", "ROLE")
	for _, m := range p.Members {
		t.add(m.User.Username, string(m.ProjectRole))
	}
	return t.render(c.App.Writer, 0)
}
