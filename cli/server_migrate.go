package cli

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/dstackgo/dstack/db"
	"github.com/dstackgo/dstack/db/dbcopy"
)

// migrateDBCommand copies the server's SQLite database into an empty
// PostgreSQL database.
func migrateDBCommand() *cli.Command {
	return &cli.Command{
		Name:      "migrate-db",
		Usage:     "Move the server's state from SQLite to PostgreSQL",
		ArgsUsage: " ",
		Description: "Copies every table of the server's SQLite database (found as `dstack server` finds it) into an\n" +
			"empty PostgreSQL database: applies the migrations there, copies in foreign-key order and verifies\n" +
			"each table's row count and checksum. Stop the server first. Encrypted values are copied as they\n" +
			"are: keep config.yml's encryption keys. Then start the server with DSTACK_DATABASE_URL.",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "to", Required: true, Usage: "PostgreSQL URL of an empty database (postgresql://user:password@host:5432/dstack)"},
			&cli.StringFlag{Name: "dir", EnvVars: []string{"DSTACK_SERVER_DIR"}, Usage: "state directory (default: ~/.dstack/server)"},
			&cli.IntFlag{Name: "batch", Value: 1000, Usage: "rows per INSERT"},
		},
		Action: runMigrateDB,
	}
}

func runMigrateDB(c *cli.Context) error {
	if c.NArg() > 0 {
		return usageError("migrate-db takes no arguments, got %q", c.Args().First())
	}
	target, err := db.ParseURL(c.String("to"))
	if err != nil {
		return usageError("--to: %v", err)
	}
	if target.Dialect != db.Postgres {
		return usageError("--to must be a PostgreSQL URL (postgresql://…), not %s", target)
	}
	dir, err := serverDir(c.String("dir"))
	if err != nil {
		return err
	}
	path := filepath.Join(dir, "data", "sqlite.db")
	if _, err := os.Stat(path); err != nil {
		return fmt.Errorf("no SQLite database at %s (set --dir or DSTACK_SERVER_DIR to the server's directory): %w", path, err)
	}
	ctx := c.Context
	src, err := db.Open(ctx, db.Target{Dialect: db.SQLite, Path: path}, db.Options{})
	if errors.Is(err, db.ErrLocked) {
		return fmt.Errorf("a dstack server is running on %s: stop it first, so that nothing changes while it is copied", path)
	}
	if err != nil {
		return err
	}
	defer src.Close()
	dst, err := db.Open(ctx, target, db.Options{PoolSize: 4})
	if err != nil {
		return err
	}
	defer dst.Close()
	out := c.App.Writer
	fmt.Fprintf(out, "Copying %s to %s\n", src.Target, dst.Target)
	f, ok := out.(*os.File)
	bar := &progressBar{w: out, tty: ok && isTerminal(f)}
	rep, err := dbcopy.Copy(ctx, src, dst, dbcopy.Options{Batch: c.Int("batch"), Progress: bar.event})
	bar.finish()
	if err != nil {
		return err
	}
	secs := rep.Duration.Seconds()
	fmt.Fprintf(out, "Copied %d rows of %d tables in %.1fs (%.0f rows/s); every table's row count and checksum match.\n",
		rep.Rows, len(rep.Tables), secs, float64(rep.Rows)/max(secs, 1e-9))
	fmt.Fprintf(out, "Start the server on PostgreSQL (with the same config.yml and its encryption keys):\n  DSTACK_DATABASE_URL=%s dstack server\n", redactURL(c.String("to")))
	return nil
}

// serverDir is --dir or ~/.dstack/server, as `dstack server` finds it.
func serverDir(dir string) (string, error) {
	if dir != "" {
		return dir, nil
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", fmt.Errorf("find home directory (set DSTACK_SERVER_DIR): %w", err)
	}
	return filepath.Join(home, ".dstack", "server"), nil
}

// progressBar draws each table's copy: redrawn in place on a terminal, one
// line per table otherwise.
type progressBar struct {
	w     io.Writer
	tty   bool
	table string
	drawn bool
}

const barWidth = 30

func (p *progressBar) event(e dbcopy.Event) {
	if e.Table != p.table {
		p.finish()
		p.table = e.Table
	}
	switch {
	case e.Verified:
		p.line(e, "\u2713 rows and checksum match\n")
		p.drawn, p.table = false, ""
	case p.tty:
		p.line(e, "")
		p.drawn = true
	}
}

func (p *progressBar) line(e dbcopy.Event, tail string) {
	filled := barWidth
	if e.Total > 0 {
		filled = int(float64(barWidth) * float64(e.Done) / float64(e.Total))
	}
	prefix := ""
	if p.tty {
		prefix = "\r\033[K"
	}
	fmt.Fprintf(p.w, "%s  %-18s [%s%s] %d/%d %s", prefix, e.Table, strings.Repeat("#", filled),
		strings.Repeat(".", barWidth-filled), e.Done, e.Total, tail)
}

// finish ends a line left drawn by a failed table.
func (p *progressBar) finish() {
	if p.drawn {
		fmt.Fprintln(p.w)
		p.drawn = false
	}
}

// redactURL hides a URL's password.
func redactURL(raw string) string {
	i := strings.Index(raw, "://")
	at := strings.LastIndex(raw, "@")
	if i < 0 || at < i {
		return raw
	}
	userinfo := raw[i+3 : at]
	if user, _, ok := strings.Cut(userinfo, ":"); ok {
		return raw[:i+3] + user + ":xxxxx" + raw[at:]
	}
	return raw
}
