// Command testbin is a minimal stand-in for the `dstack` binary used by the
// agent tests: `testbin runner [flags]` runs a runner exactly as
// `dstack runner` does. Tests build it with CGO_ENABLED=0 so that it can also
// be bind-mounted into a busybox container.
package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/dstackgo/dstack/backends/agent/runner"
)

func main() {
	if len(os.Args) < 2 || os.Args[1] != "runner" {
		fmt.Fprintln(os.Stderr, "usage: testbin runner [flags]")
		os.Exit(2)
	}
	cfg, err := runner.ParseFlags(os.Args[2:])
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	if err := runner.New(cfg, logger).Run(ctx); err != nil {
		logger.Error("runner failed", "err", err)
		os.Exit(1)
	}
}
