package cli

import (
	"strings"

	"github.com/urfave/cli/v2"
)

// permuteArgs moves flags that follow positional arguments in front of
// them, so `dstack admin users create bob --role admin` works: urfave/cli
// stops parsing flags at the first positional argument. "--" ends flags.
func permuteArgs(app *cli.App, args []string) []string {
	if len(args) < 2 {
		return args
	}
	out := []string{args[0]}
	cmds := app.Commands
	var flags []cli.Flag = app.Flags
	var pending, positional []string
	flush := func() {
		out = append(out, pending...)
		out = append(out, positional...)
		pending, positional = nil, nil
	}
	for i := 1; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "--":
			flush()
			out = append(out, args[i:]...)
			return out
		case strings.HasPrefix(a, "-") && a != "-":
			pending = append(pending, a)
			if !strings.Contains(a, "=") && takesValue(flags, a) && i+1 < len(args) {
				i++
				pending = append(pending, args[i])
			}
		default:
			if len(positional) == 0 {
				if sub := findCommand(cmds, a); sub != nil {
					flush()
					out = append(out, a)
					if sub.SkipFlagParsing {
						return append(out, args[i+1:]...)
					}
					cmds, flags = sub.Subcommands, sub.Flags
					continue
				}
			}
			positional = append(positional, a)
		}
	}
	flush()
	return out
}

func findCommand(cmds []*cli.Command, name string) *cli.Command {
	for _, c := range cmds {
		if c.Name == name {
			return c
		}
		for _, al := range c.Aliases {
			if al == name {
				return c
			}
		}
	}
	return nil
}

// takesValue reports whether the flag named by arg expects a value.
func takesValue(flags []cli.Flag, arg string) bool {
	name := strings.TrimLeft(arg, "-")
	for _, f := range flags {
		for _, n := range f.Names() {
			if n != name {
				continue
			}
			if df, ok := f.(cli.DocGenerationFlag); ok {
				return df.TakesValue()
			}
		}
	}
	return false
}
