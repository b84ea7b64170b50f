package cli

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/urfave/cli/v2"
	"gopkg.in/yaml.v3"

	"github.com/dstackgo/dstack/server/schemas"
)

// applyCommand applies a configuration file: a fleet, or a run (task,
// service, dev environment) that it then follows to the end unless -d.
func applyCommand() *cli.Command {
	return &cli.Command{
		Name:  "apply",
		Usage: "Apply a configuration: create or update a fleet, or submit a run",
		Description: "Reads FILE (default: .dstack.yml in the current directory; - reads stdin and needs -y),\n" +
			"shows the plan, asks for confirmation, and applies it. Without -d it then follows the fleet's\n" +
			"provisioning, or the run to its end while printing its logs; Ctrl-C stops the run, a second\n" +
			"Ctrl-C aborts it. Exit code: the run's outcome (0 done, 1 failed or stopped).",
		Flags: append(connFlags(),
			&cli.StringFlag{Name: "file", Aliases: []string{"f"}, Usage: "the configuration `FILE`"},
			&cli.BoolFlag{Name: "yes", Aliases: []string{"y"}, Usage: "do not ask for confirmation"},
			&cli.BoolFlag{Name: "detach", Aliases: []string{"d"}, Usage: "exit once the configuration is submitted"},
			&cli.BoolFlag{Name: "force", Usage: "apply even when nothing changed"},
			&cli.BoolFlag{Name: "verbose", Aliases: []string{"v"}, Usage: "show more of the plan"},
			&cli.StringFlag{Name: "name", Aliases: []string{"n"}, Usage: "the run or fleet name (overrides `name:`)"},
			&cli.IntFlag{Name: "max-offers", Value: 3, Usage: "number of offers to show in the plan"},
			&cli.StringSliceFlag{Name: "env", Aliases: []string{"e"}, Usage: "environment variable `KEY[=VALUE]` (repeatable)"},
			&cli.StringFlag{Name: "profile", Usage: "the profile of .dstack/profiles.yml to use (default: its default one)"},
		),
		Action: withConn(apply),
	}
}

func apply(c *cli.Context, cn *conn) error {
	if _, err := args(c, 0, 0, ""); err != nil {
		return err
	}
	path, err := defaultConfigurationFile(c.String("file"))
	if err != nil {
		return err
	}
	if path == "-" && !c.Bool("yes") {
		return usageError("reading the configuration from stdin needs -y (stdin cannot answer the confirmation)")
	}
	conf, relPath, err := loadConfiguration(path)
	if err != nil {
		return err
	}
	if err := applyArgs(c, conf, path); err != nil {
		return err
	}
	profile, err := loadProfile(c.String("profile"))
	if err != nil {
		return err
	}
	if f, ok := conf.(*schemas.FleetConfiguration); ok {
		return applyFleet(c, cn, f, relPath, profile)
	}
	rc, ok := schemas.RunConfigurationOf(conf)
	if !ok {
		return fmt.Errorf("%s: configurations of type %q cannot be applied yet", path, conf.ConfigurationType())
	}
	return applyRun(c, cn, rc, relPath, profile)
}

// applyArgs applies -n and -e to the configuration and fills variables
// given without a value from the local environment.
func applyArgs(c *cli.Context, conf schemas.AnyConfiguration, path string) error {
	var name **string
	var env *schemas.Env
	switch v := conf.(type) {
	case *schemas.FleetConfiguration:
		name, env = &v.Name, &v.Env
	default:
		rc, _ := schemas.RunConfigurationOf(conf)
		name, env = &rc.Base().Name, &rc.Base().Env
	}
	if n := c.String("name"); n != "" {
		*name = &n
	}
	for _, kv := range c.StringSlice("env") {
		k, v, ok := strings.Cut(kv, "=")
		if !ok {
			v, ok = os.LookupEnv(k)
			if !ok {
				return usageError("-e %s: %s is not set in the local environment", kv, k)
			}
		}
		env.Set(k, v)
	}
	if err := env.Resolve(os.LookupEnv); err != nil {
		return fmt.Errorf("%s: env: %w", path, err)
	}
	if err := conf.Validate(); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}

// defaultConfigurationFile is -f, or .dstack.yml (.dstack.yaml) here.
func defaultConfigurationFile(file string) (string, error) {
	if file != "" {
		return file, nil
	}
	for _, p := range []string{".dstack.yml", ".dstack.yaml"} {
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
	return "", usageError("no configuration file: pass -f FILE, or create .dstack.yml in the current directory")
}

// configurationPath is how the CLI names the file to the server: relative
// to the working directory when below it, "-" for stdin.
func configurationPath(path string) string {
	if path == "-" {
		return path
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return path
	}
	wd, err := os.Getwd()
	if err != nil {
		return path
	}
	if rel, err := filepath.Rel(wd, abs); err == nil && !strings.HasPrefix(rel, "..") {
		return rel
	}
	return abs
}

func readAllStdin() ([]byte, error) { return io.ReadAll(os.Stdin) }

// loadProfile picks the profile sent with the spec: `name` (or the one
// marked default) from .dstack/profiles.yml here, else from
// ~/.dstack/profiles.yml, else {"name": "default"} with nothing set.
func loadProfile(name string) (*schemas.Profile, error) {
	home, _ := os.UserHomeDir()
	for _, path := range []string{filepath.Join(".dstack", "profiles.yml"), filepath.Join(home, ".dstack", "profiles.yml")} {
		data, err := os.ReadFile(path)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", path, err)
		}
		var file struct {
			Profiles []schemas.Profile `yaml:"profiles"`
		}
		if err := yaml.Unmarshal(data, &file); err != nil {
			return nil, fmt.Errorf("%s: %v", path, err)
		}
		for i := range file.Profiles {
			p := &file.Profiles[i]
			if (name == "" && p.Default) || (name != "" && p.Name == name) {
				return p, nil
			}
		}
	}
	if name != "" {
		return nil, usageError("profile %q is not in .dstack/profiles.yml or ~/.dstack/profiles.yml", name)
	}
	return &schemas.Profile{Name: "default"}, nil
}
