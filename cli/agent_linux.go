package cli

import (
	"github.com/urfave/cli/v2"

	"github.com/dstackgo/dstack/backends/agent/runner"
	"github.com/dstackgo/dstack/backends/agent/shim"
)

// shimCommand runs the host agent. Its environment variables are the ones
// upstream's dstack-shim reads, so a shim.env written for either works.
func shimCommand(b Build) *cli.Command {
	return &cli.Command{
		Name:  "shim",
		Usage: "Run the host agent (shim API on 127.0.0.1:10998; one container or process per job)",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "home", EnvVars: []string{"DSTACK_SHIM_HOME"}, Usage: "state directory (default: ~/.dstack)"},
			&cli.IntFlag{Name: "http-port", Value: shim.DefaultHTTPPort, EnvVars: []string{"DSTACK_SHIM_HTTP_PORT"}, Usage: "API port on 127.0.0.1"},
			&cli.StringFlag{Name: "log-level", Value: "INFO", EnvVars: []string{"DSTACK_SHIM_LOG_LEVEL"}, Usage: "DEBUG, INFO, WARNING, ERROR (or upstream's 0-6)"},
			&cli.StringFlag{Name: "executor", Value: shim.ExecutorAuto, EnvVars: []string{"DSTACK_SHIM_EXECUTOR"}, Usage: "auto, docker or process"},
			&cli.StringFlag{Name: "docker-socket", Value: shim.DefaultDockerSocket, EnvVars: []string{"DSTACK_SHIM_DOCKER_SOCKET"}, Usage: "Docker Engine socket"},
			&cli.StringFlag{Name: "runner-binary", EnvVars: []string{"DSTACK_RUNNER_BINARY_PATH"}, Usage: "binary started as the runner (default: this one)"},
			&cli.IntFlag{Name: "runner-http-port", Value: shim.DefaultRunnerHTTPPort, EnvVars: []string{"DSTACK_RUNNER_HTTP_PORT"}},
			&cli.IntFlag{Name: "runner-ssh-port", Value: shim.DefaultRunnerSSHPort, EnvVars: []string{"DSTACK_RUNNER_SSH_PORT"}},
			&cli.StringFlag{Name: "runner-log-level", Value: "INFO", EnvVars: []string{"DSTACK_RUNNER_LOG_LEVEL"}},
			&cli.BoolFlag{Name: "privileged", EnvVars: []string{"DSTACK_SHIM_PRIVILEGED"}, Usage: "run every container privileged"},
		},
		Action: func(c *cli.Context) error {
			log, err := newLogger(c.App.ErrWriter, agentLevel(c.String("log-level")), "standard")
			if err != nil {
				return usageError("%v", err)
			}
			runnerBinary := c.String("runner-binary")
			if runnerBinary == "/usr/local/bin/dstack-runner" {
				runnerBinary = "" // upstream's default path: we are the runner ourselves
			}
			s, err := shim.New(shim.Config{
				HomeDir: c.String("home"), HTTPPort: c.Int("http-port"), Version: agentVersion(b),
				Executor: c.String("executor"), DockerSocket: c.String("docker-socket"), RunnerBinary: runnerBinary,
				RunnerHTTPPort: c.Int("runner-http-port"), RunnerSSHPort: c.Int("runner-ssh-port"),
				RunnerLogLevel: c.String("runner-log-level"), Privileged: c.Bool("privileged"),
			}, log)
			if err != nil {
				return err
			}
			return s.Run(c.Context)
		},
	}
}

// runnerCommand runs the job agent; it is started by the shim, inside the
// job's container or as a host process, with the flags the shim passes.
func runnerCommand() *cli.Command {
	return &cli.Command{
		Name:            "runner",
		Usage:           "Run the job agent (runner API on port 10999); started by the shim",
		SkipFlagParsing: true,
		Action: func(c *cli.Context) error {
			cfg, err := runner.ParseFlags(c.Args().Slice())
			if err != nil {
				return usageError("%v", err)
			}
			log, err := newLogger(c.App.ErrWriter, agentLevel(cfg.LogLevel), "standard")
			if err != nil {
				return usageError("%v", err)
			}
			return runner.New(cfg, log).Run(c.Context)
		},
	}
}
