package cli

import (
	"encoding/json"
	"io"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/dstackgo/dstack/cli/pretty"
	"github.com/dstackgo/dstack/server/api/client"
)

// connFlags select the server, token and project: flags, then the upstream
// environment variables, then the default project of ~/.dstack/config.yml.
func connFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "url", EnvVars: []string{"DSTACK_SERVER_URL"}, Usage: "server URL (default: from ~/.dstack/config.yml)"},
		&cli.StringFlag{Name: "token", EnvVars: []string{"DSTACK_TOKEN"}, Usage: "user token (default: from ~/.dstack/config.yml)"},
		&cli.StringFlag{Name: "project", EnvVars: []string{"DSTACK_PROJECT"}, Usage: "project name (default: the default project of ~/.dstack/config.yml)"},
	}
}

// conn is a resolved connection.
type conn struct {
	*client.Client
	Project string
}

// connect resolves the connection of a command.
func connect(c *cli.Context) (*conn, error) {
	url, token, project := c.String("url"), c.String("token"), c.String("project")
	if url == "" || token == "" {
		cfg, err := loadClientConfig()
		if err != nil {
			return nil, err
		}
		p := cfg.project(project)
		if p == nil {
			if project != "" {
				return nil, usageError("project %q is not in %s: add it with `dstack project add`, or pass --url and --token", project, cfg.path)
			}
			return nil, usageError("no server configured: pass --url and --token (or DSTACK_SERVER_URL and DSTACK_TOKEN), or start `dstack server`, which writes %s", cfg.path)
		}
		if url == "" {
			url = p.URL
		}
		if token == "" {
			token = p.Token
		}
		if project == "" {
			project = p.Name
		}
	}
	if !strings.HasPrefix(url, "http://") && !strings.HasPrefix(url, "https://") {
		return nil, usageError("server URL %q must start with http:// or https://", url)
	}
	return &conn{Client: client.New(url, token), Project: project}, nil
}

var jsonFlag = &cli.BoolFlag{Name: "json", Usage: "print JSON for scripts"}

// printJSON writes v indented.
func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// ago renders a timestamp relative to now; no timestamp is "-".
func ago(t *time.Time) string {
	if t == nil {
		return "-"
	}
	return pretty.Ago(*t, time.Now())
}

func orDash(s *string) string {
	if s == nil || *s == "" {
		return "-"
	}
	return *s
}
