package cli

import (
	"fmt"
	"io"
	"os"

	"github.com/urfave/cli/v2"

	"github.com/dstackgo/dstack/server/schemas"
)

func adminUsersCommand() *cli.Command {
	flags := func(extra ...cli.Flag) []cli.Flag { return append(append(connFlags(), jsonFlag), extra...) }
	return &cli.Command{
		Name:  "users",
		Usage: "List, create and manage users",
		Subcommands: []*cli.Command{
			{Name: "list", Usage: "List users", Flags: flags(), Action: withConn(usersList)},
			{Name: "create", Usage: "Create a user and print their token", ArgsUsage: "USERNAME",
				Flags: flags(
					&cli.StringFlag{Name: "role", Value: "user", Usage: "global role: user or admin"},
					&cli.StringFlag{Name: "email", Usage: "email address"},
				), Action: withConn(usersCreate)},
			{Name: "set-role", Usage: "Change a user's global role", ArgsUsage: "USERNAME admin|user", Flags: flags(), Action: withConn(usersSetRole)},
			{Name: "refresh-token", Usage: "Replace a user's token and print the new one", ArgsUsage: "USERNAME", Flags: flags(), Action: withConn(usersRefreshToken)},
			{Name: "delete", Usage: "Delete users", ArgsUsage: "USERNAME...", Flags: flags(), Action: withConn(usersDelete)},
			{Name: "add-ssh-key", Usage: "Register an SSH public key for a user (for `ssh` to the console)", ArgsUsage: "USERNAME KEYFILE|-",
				Flags: flags(&cli.StringFlag{Name: "name", Usage: "a name for the key (default: its comment)"}), Action: withConn(usersAddSSHKey)},
		},
	}
}

func usersList(c *cli.Context, cn *conn) error {
	if _, err := args(c, 0, 0, ""); err != nil {
		return err
	}
	users, err := cn.ListUsers(c.Context)
	if err != nil {
		return err
	}
	if c.Bool("json") {
		return printJSON(c.App.Writer, users)
	}
	t := newGrid("USERNAME", "ROLE", "EMAIL", "ACTIVE", "CREATED")
	for _, u := range users {
		t.add(u.Username, string(u.GlobalRole), orDash(u.Email), fmt.Sprint(u.Active), ago(u.CreatedAt))
	}
	return t.render(c.App.Writer, 0)
}

func usersCreate(c *cli.Context, cn *conn) error {
	a, err := args(c, 1, 1, "USERNAME [--role user|admin] [--email EMAIL]")
	if err != nil {
		return err
	}
	role := schemas.GlobalRole(c.String("role"))
	if !role.Valid() {
		return usageError("--role %q is not one of: user, admin", role)
	}
	req := schemas.CreateUserRequest{Username: a[0], GlobalRole: role}
	if e := c.String("email"); e != "" {
		req.Email = &e
	}
	if _, err := cn.CreateUser(c.Context, req); err != nil {
		return err
	}
	u, err := cn.GetUser(c.Context, a[0])
	if err != nil {
		return err
	}
	if c.Bool("json") {
		return printJSON(c.App.Writer, u)
	}
	fmt.Fprintf(c.App.Writer, "Created user %s (%s). Token: %s\n", u.Username, u.GlobalRole, u.Creds.Token)
	return nil
}

func usersSetRole(c *cli.Context, cn *conn) error {
	a, err := args(c, 2, 2, "USERNAME admin|user")
	if err != nil {
		return err
	}
	role := schemas.GlobalRole(a[1])
	if !role.Valid() {
		return usageError("role %q is not one of: user, admin", a[1])
	}
	cur, err := cn.GetUser(c.Context, a[0])
	if err != nil {
		return err
	}
	active := cur.Active
	u, err := cn.UpdateUser(c.Context, schemas.UpdateUserRequest{Username: cur.Username, GlobalRole: role, Email: cur.Email, Active: &active})
	if err != nil {
		return err
	}
	if c.Bool("json") {
		return printJSON(c.App.Writer, u)
	}
	fmt.Fprintf(c.App.Writer, "User %s is now %s\n", u.Username, u.GlobalRole)
	return nil
}

func usersRefreshToken(c *cli.Context, cn *conn) error {
	a, err := args(c, 1, 1, "USERNAME")
	if err != nil {
		return err
	}
	u, err := cn.RefreshToken(c.Context, a[0])
	if err != nil {
		return err
	}
	if c.Bool("json") {
		return printJSON(c.App.Writer, u)
	}
	fmt.Fprintf(c.App.Writer, "New token of %s: %s\n", u.Username, u.Creds.Token)
	return nil
}

func usersDelete(c *cli.Context, cn *conn) error {
	a, err := args(c, 1, -1, "USERNAME...")
	if err != nil {
		return err
	}
	if err := cn.DeleteUsers(c.Context, a); err != nil {
		return err
	}
	if c.Bool("json") {
		return printJSON(c.App.Writer, map[string]any{"deleted": a})
	}
	for _, n := range a {
		fmt.Fprintf(c.App.Writer, "Deleted user %s\n", n)
	}
	return nil
}

func usersAddSSHKey(c *cli.Context, cn *conn) error {
	a, err := args(c, 2, 2, "USERNAME KEYFILE|-")
	if err != nil {
		return err
	}
	var data []byte
	if a[1] == "-" {
		data, err = io.ReadAll(c.App.Reader)
	} else {
		data, err = os.ReadFile(a[1])
	}
	if err != nil {
		return fmt.Errorf("read the public key: %w", err)
	}
	var name *string
	if n := c.String("name"); n != "" {
		name = &n
	}
	k, err := cn.AddPublicKey(c.Context, string(data), name, &a[0])
	if err != nil {
		return err
	}
	if c.Bool("json") {
		return printJSON(c.App.Writer, k)
	}
	fmt.Fprintf(c.App.Writer, "Added key %s (%s) for %s\n", k.Name, k.Fingerprint, a[0])
	return nil
}
