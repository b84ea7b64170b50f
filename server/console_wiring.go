package server

import (
	"context"
	"errors"
	"fmt"
	"net"
	"path/filepath"
	"strconv"

	gossh "golang.org/x/crypto/ssh"

	"github.com/dstackgo/dstack/db"
	"github.com/dstackgo/dstack/server/services"
	"github.com/dstackgo/dstack/server/sshconsole"
)

// startConsole binds the SSH console when a port is configured; each
// session runs the dashboard with the token of the user whose registered
// key it offered.
func (s *Server) startConsole() error {
	if s.opts.ConsoleSSHPort == 0 {
		return nil
	}
	cs, err := sshconsole.New(sshconsole.Config{
		Addr:         net.JoinHostPort(s.opts.Host, strconv.Itoa(s.opts.ConsoleSSHPort)),
		HostKeyPath:  filepath.Join(s.opts.Dir, "console", "host_ed25519"),
		Authenticate: s.consoleUser,
		APIURL:       s.loopbackURL(),
		Logger:       s.log.With("component", "console"),
	})
	if err != nil {
		return fmt.Errorf("SSH console on port %d: %w", s.opts.ConsoleSSHPort, err)
	}
	s.console = cs
	return nil
}

// consoleUser maps an SSH public key to the user who registered it.
func (s *Server) consoleUser(ctx context.Context, key gossh.PublicKey) (string, string, error) {
	users, err := (services.PublicKeys{Env: s.env}).UsersByKey(ctx, key)
	if err != nil {
		return "", "", err
	}
	if len(users) == 0 {
		return "", "", errors.New("this key is not registered to any dstack user (dstack admin users add-ssh-key USER KEYFILE)")
	}
	if len(users) > 1 {
		return "", "", errors.New("this key is registered to several users; register a key per user")
	}
	u := users[0]
	token, err := db.Unseal(s.env.Sealer, db.UsersToken, u.ID, u.Token)
	if err != nil {
		return "", "", fmt.Errorf("read the token of %s: %w", u.Name, err)
	}
	return u.Name, token, nil
}

// loopbackURL is where the console reaches this server's API.
func (s *Server) loopbackURL() string {
	_, port, _ := net.SplitHostPort(s.listener.Addr().String())
	host := s.opts.Host
	if host == "" || host == "0.0.0.0" || host == "::" {
		host = "127.0.0.1"
	}
	return "http://" + net.JoinHostPort(host, port)
}
