package cli

import (
	"github.com/urfave/cli/v2"
)

func adminCommand() *cli.Command {
	return &cli.Command{
		Name:  "admin",
		Usage: "Administer a running server: users, projects, encryption",
		Description: "Scripted administration against a running server. The server URL and token come from\n" +
			"--url/--token, DSTACK_SERVER_URL/DSTACK_TOKEN, or the default project of ~/.dstack/config.yml.\n" +
			"Exit codes: 0 success, 1 the server refused or failed, 2 bad usage.",
		Subcommands: []*cli.Command{adminUsersCommand(), adminProjectsCommand(), adminBackendsCommand(), adminEncryptionCommand()},
	}
}

// withConn runs fn with a resolved connection.
func withConn(fn func(c *cli.Context, cn *conn) error) cli.ActionFunc {
	return func(c *cli.Context) error {
		cn, err := connect(c)
		if err != nil {
			return err
		}
		return fn(c, cn)
	}
}

// args checks the number of positional arguments.
func args(c *cli.Context, min, max int, usage string) ([]string, error) {
	a := c.Args().Slice()
	if max == 0 && len(a) > 0 {
		return nil, usageError("%s takes no arguments, got %q", c.Command.HelpName, a)
	}
	if len(a) < min || (max >= 0 && len(a) > max) {
		return nil, usageError("usage: %s %s", c.Command.HelpName, usage)
	}
	return a, nil
}
