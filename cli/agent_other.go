//go:build !linux

package cli

import (
	"fmt"
	"runtime"

	"github.com/urfave/cli/v2"
)

// shimCommand explains that the host agent runs on Linux only: a server on
// this machine deploys the linux/<arch> build to its hosts itself.
func shimCommand(Build) *cli.Command {
	return linuxOnlyCommand("shim", "Run the host agent (Linux only)")
}

// runnerCommand explains that the job agent runs on Linux only.
func runnerCommand() *cli.Command {
	return linuxOnlyCommand("runner", "Run the job agent (Linux only)")
}

func linuxOnlyCommand(name, usage string) *cli.Command {
	return &cli.Command{
		Name:            name,
		Usage:           usage,
		SkipFlagParsing: true,
		Action: func(*cli.Context) error {
			return fmt.Errorf("dstack %s runs on Linux hosts only, not on %s/%s: "+
				"a dstack server deploys the linux/amd64 or linux/arm64 build of itself to the hosts of SSH fleets",
				name, runtime.GOOS, runtime.GOARCH)
		},
	}
}
