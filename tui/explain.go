package tui

import (
	"errors"
	"fmt"
	"strings"
)

// explain turns a failed call into the sentence an empty page shows.
func explain(st *Styles, what string, err error) string {
	switch {
	case strings.HasPrefix(cause(err), "project not found"):
		return fmt.Sprintf("%s: it does not exist, or you are not a member.\n%s",
			capitalize(cause(err)), st.Subtle.Render("Pick another with --project (or `ssh -t HOST PROJECT`)."))
	case errors.Is(err, ErrNotAvailable):
		return fmt.Sprintf("%s are not available from this server yet: it does not offer the route.\n%s",
			capitalize(what), st.Subtle.Render(err.Error()))
	case errors.Is(err, ErrForbidden):
		return fmt.Sprintf("You may not see the %s here.\n%s", what, st.Subtle.Render(err.Error()))
	case errors.Is(err, ErrUnreachable):
		return fmt.Sprintf("Waiting for the server to list the %s…\n%s", what, st.Subtle.Render(err.Error()))
	}
	return st.Error.Render(fmt.Sprintf("Could not load the %s: %v", what, err))
}

// cause is the underlying error of a Backend error wrapped as
// "sentinel (cause)", or the whole message.
func cause(err error) string {
	if u, ok := err.(interface{ Unwrap() []error }); ok {
		if errs := u.Unwrap(); len(errs) == 2 {
			return errs[1].Error()
		}
	}
	return err.Error()
}

func capitalize(s string) string {
	if s == "" || s[0] < 'a' || s[0] > 'z' {
		return s
	}
	return string(s[0]-'a'+'A') + s[1:]
}
