package cli

import (
	"fmt"

	"github.com/urfave/cli/v2"

	"github.com/dstackgo/dstack/server/schemas"
)

// secretCommand manages the project's secrets; `dstack secret` alone lists them.
func secretCommand() *cli.Command {
	flags := func(extra ...cli.Flag) []cli.Flag { return append(append(connFlags(), jsonFlag), extra...) }
	return &cli.Command{
		Name:   "secret",
		Usage:  "Manage secrets",
		Flags:  flags(),
		Action: withConn(secretList),
		Subcommands: []*cli.Command{
			{Name: "list", Usage: "List secrets (values hidden)", Flags: flags(), Action: withConn(secretList)},
			{Name: "get", Usage: "Show a secret with its value", ArgsUsage: "NAME", Flags: flags(), Action: withConn(secretGet)},
			{Name: "set", Usage: "Create or update a secret", ArgsUsage: "NAME VALUE", Flags: flags(), Action: withConn(secretSet)},
			{Name: "delete", Usage: "Delete secrets", ArgsUsage: "NAME...", Flags: flags(
				&cli.BoolFlag{Name: "yes", Aliases: []string{"y"}, Usage: "do not ask for confirmation"},
			), Action: withConn(secretDelete)},
		},
	}
}

func secretList(c *cli.Context, cn *conn) error {
	if _, err := args(c, 0, 0, ""); err != nil {
		return err
	}
	ss, err := cn.ListSecrets(c.Context, cn.Project)
	if err != nil {
		return err
	}
	return printSecrets(c, append([]schemas.Secret{}, ss...))
}

func secretGet(c *cli.Context, cn *conn) error {
	a, err := args(c, 1, 1, "NAME")
	if err != nil {
		return err
	}
	s, err := cn.GetSecret(c.Context, cn.Project, a[0])
	if err != nil {
		return notFound(err, "secret", a[0])
	}
	if c.Bool("json") {
		return printJSON(c.App.Writer, s)
	}
	return printSecrets(c, []schemas.Secret{*s})
}

func printSecrets(c *cli.Context, ss []schemas.Secret) error {
	if c.Bool("json") {
		return printJSON(c.App.Writer, ss)
	}
	g := newGrid("NAME", "VALUE~")
	for _, s := range ss {
		v := "******"
		if s.Value != nil {
			v = *s.Value
		}
		g.add(s.Name, v)
	}
	return g.render(c.App.Writer, screenOf(c.App.Writer).width)
}

func secretSet(c *cli.Context, cn *conn) error {
	a, err := args(c, 2, 2, "NAME VALUE")
	if err != nil {
		return err
	}
	s, err := cn.SetSecret(c.Context, cn.Project, a[0], a[1])
	if err != nil {
		return err
	}
	if c.Bool("json") {
		return printJSON(c.App.Writer, s)
	}
	fmt.Fprintln(c.App.Writer, "OK")
	return nil
}

func secretDelete(c *cli.Context, cn *conn) error {
	a, err := args(c, 1, -1, "NAME... [-y]")
	if err != nil {
		return err
	}
	if !c.Bool("yes") && !confirm(c, fmt.Sprintf("Delete the secret %s?", joinNames(a))) {
		fmt.Fprintln(c.App.Writer, "Exiting...")
		return nil
	}
	if err := cn.DeleteSecrets(c.Context, cn.Project, a); err != nil {
		return notFound(err, "secret", joinNames(a))
	}
	if c.Bool("json") {
		return printJSON(c.App.Writer, map[string]any{"deleted": a})
	}
	fmt.Fprintln(c.App.Writer, "OK")
	return nil
}
