package sshconsole

import (
	"context"
	"errors"

	"github.com/charmbracelet/ssh"
	gossh "golang.org/x/crypto/ssh"
)

// account is the dstack user behind an accepted key.
type account struct {
	username, token string
}

// accountsKey holds a connection's accepted keys (fingerprint → account)
// in its ssh.Context: a client may offer several keys, and the session
// belongs to the one it signed with.
type accountsKey struct{}

// refusal is what a client whose keys were all refused reads, where it
// shows keyboard-interactive instructions (OpenSSH does).
const refusal = "dstack console: none of your SSH keys is registered with this dstack server.\n" +
	"Register your public key for your dstack user (POST /api/users/public_keys/add), then reconnect.\n"

var errNoToken = errors.New("no API token for this key")

// publicKey accepts a key registered to a dstack user.
func (s *Server) publicKey(ctx ssh.Context, key ssh.PublicKey) bool {
	actx, cancel := context.WithTimeout(ctx, authTimeout)
	defer cancel()
	user, token, err := s.cfg.Authenticate(actx, key)
	fp := gossh.FingerprintSHA256(key)
	if err == nil && token == "" {
		err = errNoToken
	}
	if err != nil {
		s.log.Warn("console ssh refused a key: no dstack user may sign in with it",
			"remote", ctx.RemoteAddr().String(), "ssh_user", ctx.User(), "key_type", key.Type(),
			"fingerprint", fp, "err", err)
		return false
	}
	accounts(ctx)[fp] = account{username: user, token: token}
	return true
}

// toldKey marks a connection whose client has read the refusal.
type toldKey struct{}

// refuse answers keyboard-interactive, offered only so that a refused
// client can be told why — once, though OpenSSH asks up to three times.
func (s *Server) refuse(ctx ssh.Context, challenge gossh.KeyboardInteractiveChallenge) bool {
	if ctx.Value(toldKey{}) == nil {
		ctx.SetValue(toldKey{}, true)
		_, _ = challenge("", refusal, nil, nil)
	}
	return false
}

// account returns the session's user: the one of the key it signed with.
func (s *Server) account(sess ssh.Session) (account, bool) {
	key := sess.PublicKey()
	if key == nil {
		return account{}, false
	}
	a, ok := accounts(sess.Context())[gossh.FingerprintSHA256(key)]
	return a, ok
}

func accounts(ctx ssh.Context) map[string]account {
	ctx.Lock()
	defer ctx.Unlock()
	m, ok := ctx.Value(accountsKey{}).(map[string]account)
	if !ok {
		m = map[string]account{}
		ctx.SetValue(accountsKey{}, m)
	}
	return m
}
