package cli

import (
	"fmt"
	"runtime"

	"github.com/urfave/cli/v2"

	"github.com/dstackgo/dstack/server/schemas"
)

func versionCommand(b Build) *cli.Command {
	return &cli.Command{
		Name:  "version",
		Usage: "Print the version",
		Action: func(c *cli.Context) error {
			w := c.App.Writer
			fmt.Fprintf(w, "dstack %s\n", b.Version)
			fmt.Fprintf(w, "API compatible with dstack %s\n", schemas.CompatibleVersion)
			if b.Commit != "" {
				fmt.Fprintf(w, "commit %s, built %s\n", b.Commit, b.Date)
			}
			fmt.Fprintf(w, "%s %s/%s\n", runtime.Version(), runtime.GOOS, runtime.GOARCH)
			return nil
		},
	}
}
