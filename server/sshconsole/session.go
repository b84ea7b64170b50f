package sshconsole

import (
	"context"
	"fmt"
	"strings"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"
	"github.com/charmbracelet/ssh"
	bm "github.com/charmbracelet/wish/bubbletea"
	"github.com/muesli/termenv"

	"github.com/dstackgo/dstack/server/api/client"
	"github.com/dstackgo/dstack/tui"
)

// program builds one console per session, as the session's user.
func (s *Server) program(sess ssh.Session) *tea.Program {
	a, ok := s.account(sess)
	if !ok {
		// Only key authentication gets this far; be safe anyway.
		fmt.Fprintln(sess.Stderr(), "dstack console: this session has no dstack user.")
		_ = sess.Exit(1)
		return nil
	}
	cl := client.New(s.cfg.APIURL, a.token)
	project := s.project(sess, cl)
	log := s.log.With("user", a.username, "project", project, "remote", sess.RemoteAddr().String())
	c := tui.NewCommon(sess.Context(), renderer(sess), tui.NewHTTPBackend(cl), project, log)
	opts := append(bm.MakeOptions(sess), tea.WithAltScreen(), tea.WithoutSignalHandler())
	p := tea.NewProgram(tui.New(c), opts...)
	s.track(p, sess.Context().Done())
	return p
}

// project picks the session's project: the command (`ssh -t host PROJECT`),
// else the SSH user name when the user is a member of such a project, else
// "main" or the user's first project.
func (s *Server) project(sess ssh.Session, cl *client.Client) string {
	if args := sess.Command(); len(args) > 0 {
		return args[0]
	}
	ctx, cancel := context.WithTimeout(sess.Context(), 5*time.Second)
	defer cancel()
	projects, err := cl.ListProjects(ctx)
	if err != nil || len(projects) == 0 {
		return "main"
	}
	names := make(map[string]bool, len(projects))
	for _, p := range projects {
		names[p.ProjectName] = true
	}
	switch {
	case names[sess.User()]:
		return sess.User()
	case names["main"]:
		return "main"
	}
	return projects[0].ProjectName
}

// renderer draws for the session's terminal: its TERM and environment
// (NO_COLOR, CLICOLOR) pick the colour profile. Unlike bm.MakeRenderer it
// does not ask the terminal for its background colour, which waits forever
// on clients that never answer; the console assumes a dark background.
func renderer(sess ssh.Session) *lipgloss.Renderer {
	pty, _, _ := sess.Pty()
	env := environ(append(sess.Environ(), "TERM="+pty.Term))
	r := lipgloss.NewRenderer(sess, termenv.WithEnvironment(env), termenv.WithUnsafe(), termenv.WithColorCache(true))
	r.SetHasDarkBackground(true)
	return r
}

// environ is a session's environment for termenv.
type environ []string

// Environ implements termenv.Environ.
func (e environ) Environ() []string { return e }

// Getenv implements termenv.Environ: the last assignment wins.
func (e environ) Getenv(key string) string {
	v := ""
	for _, kv := range e {
		if k, val, ok := strings.Cut(kv, "="); ok && k == key {
			v = val
		}
	}
	return v
}
