package cli

import (
	"fmt"
	"sort"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/dstackgo/dstack/server/schemas"
)

func adminEncryptionCommand() *cli.Command {
	flags := func(extra ...cli.Flag) []cli.Flag { return append(append(connFlags(), jsonFlag), extra...) }
	return &cli.Command{
		Name:  "encryption",
		Usage: "See and finish encryption key rotations",
		Description: "Rotation: put the new key first in encryption.keys of the server's config.yml, keep the old\n" +
			"keys after it, restart the server, run `dstack admin encryption reencrypt`, check that\n" +
			"`status` shows no values left under the old key, then remove it from config.yml.",
		Subcommands: []*cli.Command{
			{Name: "status", Usage: "Show the configured keys and how many stored values each protects", Flags: flags(), Action: withConn(encryptionStatus)},
			{Name: "reencrypt", Usage: "Rewrap every stored value with the first key (resumable, safe while servers run)", Flags: flags(
				&cli.IntFlag{Name: "batch", Value: 1000, Usage: "values per batch"},
				&cli.StringFlag{Name: "cursor", Usage: "resume from the cursor an interrupted run printed"},
			), Action: withConn(encryptionReencrypt)},
		},
	}
}

func encryptionStatus(c *cli.Context, cn *conn) error {
	st, err := cn.EncryptionStatus(c.Context)
	if err != nil {
		return err
	}
	if c.Bool("json") {
		return printJSON(c.App.Writer, st)
	}
	w := c.App.Writer
	fmt.Fprintln(w, "Configured keys (the first encrypts new values):")
	kt := newGrid("  #", "TYPE", "NAME", "ROLE")
	for i, k := range st.Keys {
		role := "decrypts"
		if k.Encrypts {
			role = "encrypts + decrypts"
		}
		kt.add(fmt.Sprintf("  %d", i+1), k.Type, k.Name, role)
	}
	if err := kt.render(w, 0); err != nil {
		return err
	}
	fmt.Fprintln(w)
	t := newGrid("COLUMN", "TOTAL", "BY KEY", "PLAINTEXT", "UNDECRYPTABLE", "TO REWRAP")
	rewrap, bad := 0, 0
	for _, col := range st.Columns {
		t.add(col.Table+"."+col.Column, fmt.Sprint(col.Total), byKey(col.ByKey), fmt.Sprint(col.Plaintext), fmt.Sprint(col.Undecryptable), fmt.Sprint(col.NeedsRewrap))
		rewrap += col.NeedsRewrap
		bad += col.Undecryptable
	}
	if err := t.render(w, 0); err != nil {
		return err
	}
	for _, k := range sortedKeys(st.UnknownKeys) {
		fmt.Fprintf(w, "\nWarning: %d values were written with key %s, which config.yml does not list.\n", st.UnknownKeys[k], k)
	}
	switch {
	case bad > 0:
		fmt.Fprintf(w, "\n%d values cannot be decrypted: add the key that wrote them back to config.yml.\n", bad)
	case rewrap > 0:
		fmt.Fprintf(w, "\n%d values are not under the first key yet: run `dstack admin encryption reencrypt`.\n", rewrap)
	default:
		fmt.Fprintln(w, "\nEvery value is under the first key; keys after it can be removed from config.yml.")
	}
	return nil
}

func encryptionReencrypt(c *cli.Context, cn *conn) error {
	cursor := c.String("cursor")
	total := schemas.ReencryptResult{}
	for {
		req := schemas.ReencryptRequest{Limit: c.Int("batch")}
		if cursor != "" {
			req.Cursor = &cursor
		}
		res, err := cn.Reencrypt(c.Context, req)
		if err != nil {
			if cursor != "" {
				return fmt.Errorf("%w (resume with --cursor %s)", err, cursor)
			}
			return err
		}
		total.Scanned += res.Scanned
		total.Rewrapped += res.Rewrapped
		total.Undecryptable += res.Undecryptable
		if !c.Bool("json") {
			fmt.Fprintf(c.App.Writer, "%-24s scanned %d, rewrapped %d\n", res.Column, total.Scanned, total.Rewrapped)
		}
		if res.Cursor == nil {
			break
		}
		cursor = *res.Cursor
	}
	if c.Bool("json") {
		return printJSON(c.App.Writer, total)
	}
	fmt.Fprintf(c.App.Writer, "Done: %d values scanned, %d rewrapped with the first key", total.Scanned, total.Rewrapped)
	if total.Undecryptable > 0 {
		fmt.Fprintf(c.App.Writer, ", %d could not be decrypted (see `dstack admin encryption status`)", total.Undecryptable)
	}
	fmt.Fprintln(c.App.Writer)
	return nil
}

func byKey(m map[string]int) string {
	if len(m) == 0 {
		return "-"
	}
	parts := make([]string, 0, len(m))
	for _, k := range sortedKeys(m) {
		parts = append(parts, fmt.Sprintf("%s=%d", k, m[k]))
	}
	return strings.Join(parts, " ")
}

func sortedKeys(m map[string]int) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}
