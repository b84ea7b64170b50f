package cli

import (
	"fmt"

	"github.com/urfave/cli/v2"
)

// completionCommand prints a shell completion script. The bash and zsh
// scripts ask the binary itself for candidates: subcommands through
// --generate-bash-completion (which the app enables), flags from --help;
// the fish script lists the commands and flags.
func completionCommand() *cli.Command {
	return &cli.Command{
		Name:      "completion",
		Usage:     "Print a shell completion script",
		ArgsUsage: "bash|zsh|fish",
		Description: "Load it in the current shell, or install it:\n" +
			"  bash: source <(dstack completion bash)        (or save it under /etc/bash_completion.d/)\n" +
			"  zsh:  source <(dstack completion zsh)         (or save it as _dstack on your $fpath)\n" +
			"  fish: dstack completion fish > ~/.config/fish/completions/dstack.fish",
		Action: func(c *cli.Context) error {
			a, err := args(c, 1, 1, "bash|zsh|fish")
			if err != nil {
				return err
			}
			switch a[0] {
			case "bash":
				_, err = fmt.Fprint(c.App.Writer, bashCompletion)
			case "zsh":
				_, err = fmt.Fprint(c.App.Writer, zshCompletion)
			case "fish":
				var script string
				if script, err = c.App.ToFishCompletion(); err == nil {
					_, err = fmt.Fprint(c.App.Writer, script)
				}
			default:
				return usageError("unknown shell %q: one of bash, zsh, fish", a[0])
			}
			return err
		},
	}
}

const bashCompletion = `# bash completion for dstack
_dstack_complete() {
    local cur="${COMP_WORDS[COMP_CWORD]}" candidates
    if [[ "$cur" == -* ]]; then
        candidates=$("${COMP_WORDS[@]:0:COMP_CWORD}" --help 2>/dev/null | grep -oE -- '--[a-z][a-z0-9-]*' | sort -u)
    else
        candidates=$("${COMP_WORDS[@]:0:COMP_CWORD}" --generate-bash-completion 2>/dev/null)
    fi
    COMPREPLY=($(compgen -W "$candidates" -- "$cur"))
}
complete -o bashdefault -o default -F _dstack_complete dstack
`

const zshCompletion = `#compdef dstack
# zsh completion for dstack
_dstack() {
    local -a candidates
    local cur="${words[CURRENT]}"
    if [[ "$cur" == -* ]]; then
        compadd -- ${(f)"$(${words[1,CURRENT-1]} --help 2>/dev/null | grep -oE -- '--[a-z][a-z0-9-]*' | sort -u)"}
        return
    fi
    candidates=("${(@f)$(_CLI_ZSH_AUTOCOMPLETE_HACK=1 ${words[1,CURRENT-1]} --generate-bash-completion 2>/dev/null)}")
    if [[ -n "${candidates[1]}" ]]; then
        _describe 'dstack' candidates
    else
        _files
    fi
}
compdef _dstack dstack
`
