package cli

import (
	"context"
	"crypto/sha1"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/urfave/cli/v2"
	"golang.org/x/crypto/ssh"

	sshfleet "github.com/dstackgo/dstack/backends/ssh"
	"github.com/dstackgo/dstack/server/schemas"
)

// Attaching to a running job, as upstream's CLI does: the user's key (from
// users/get_my_user) reaches the instance as the provisioning user and,
// through it, the job's SSH server (localhost:10022 on the instance, or the
// port the job's runtime data maps it to). The connection forwards the job's
// ports to this machine, and ~/.dstack/ssh/config gets the aliases
// `<run>-host` and `<run>`, included from ~/.ssh/config, so that `ssh <run>`
// and editors' remote SSH work with the system's OpenSSH.

const (
	containerSSHPort = 10022
	sshDialTimeout   = 15 * time.Second
)

// forward is one port forwarded from this machine into the job.
type forward struct {
	Local, Remote int
}

// attachment is a live SSH connection to a job.
type attachment struct {
	run      string
	pool     *sshfleet.Pool
	job      *sshfleet.Conn
	forwards []forward
	lns      []net.Listener
	wg       sync.WaitGroup
}

// jobTarget is where a job's SSH server is and who logs in to it.
type jobTarget struct {
	hostAddr, hostUser string
	proxy              *schemas.SSHConnectionParams
	jobPort            int
	jobUser            string
	// hostKey is the instance's SSH host key as the server pinned it (nil
	// when the server does not say: instances deployed by older servers).
	hostKey ssh.PublicKey
}

// Host names and users come from the server and go into an ssh config that
// ~/.ssh/config includes: only plain values, which cannot add a directive
// or an ssh token (%h), are accepted.
var (
	safeHostRe = regexp.MustCompile(`^[A-Za-z0-9_.:\[\]][A-Za-z0-9_.:\[\]-]*$`)
	safeUserRe = regexp.MustCompile(`^[A-Za-z0-9_.@][A-Za-z0-9_.@-]*$`)
)

// checkSSHValues refuses a target whose values are not safe in an ssh config.
func checkSSHValues(t *jobTarget) error {
	host, _, err := net.SplitHostPort(t.hostAddr)
	if err != nil {
		host = t.hostAddr
	}
	check := func(re *regexp.Regexp, what, v string) error {
		if !re.MatchString(v) {
			return fmt.Errorf("the server gave the %s %q, which dstack does not write into an ssh config (letters, digits, '.', '-', '_', ':' only)", what, v)
		}
		return nil
	}
	errs := []error{check(safeHostRe, "host name", host), check(safeUserRe, "user", t.hostUser), check(safeUserRe, "job user", t.jobUser)}
	if t.proxy != nil {
		errs = append(errs, check(safeHostRe, "SSH proxy host name", t.proxy.Hostname), check(safeUserRe, "SSH proxy user", t.proxy.Username))
	}
	return errors.Join(errs...)
}

// pinnedHostKey reads the host key the server pinned for a remote
// instance from its provisioning data.
func pinnedHostKey(jpd *schemas.JobProvisioningData) (ssh.PublicKey, error) {
	if jpd.BackendData == nil || *jpd.BackendData == "" {
		return nil, nil
	}
	if jpd.Backend != "remote" {
		return nil, nil // another backend's data, of its own shape
	}
	var bd schemas.RemoteBackendData
	if err := json.Unmarshal([]byte(*jpd.BackendData), &bd); err != nil {
		return nil, fmt.Errorf("the instance's backend data from the server does not parse: %w", err)
	}
	if bd.SSHHostKey == "" {
		return nil, nil // pinned by an older server, or not yet
	}
	k, _, _, _, err := ssh.ParseAuthorizedKey([]byte(bd.SSHHostKey))
	if err != nil {
		return nil, fmt.Errorf("the instance's host key from the server does not parse: %w", err)
	}
	return k, nil
}

// targetOf reads the connection details of the job's latest submission.
func targetOf(run *schemas.Run, job *schemas.Job) (*jobTarget, error) {
	sub := job.JobSubmissions[len(job.JobSubmissions)-1]
	jpd, jrd := sub.JobProvisioningData, sub.JobRuntimeData
	if run.Status.Finished() || sub.Status.Finished() {
		return nil, fmt.Errorf("the run %s has finished (%s): there is nothing to attach to", runName(run), jobStatusText(sub))
	}
	if sub.Status != schemas.JobRunning || jpd == nil || jpd.Hostname == nil || *jpd.Hostname == "" {
		return nil, fmt.Errorf("the run %s is not running yet (%s); `dstack ps -w` shows when it is", runName(run), jobStatusText(sub))
	}
	port := 22
	if jpd.SSHPort != nil && *jpd.SSHPort > 0 {
		port = *jpd.SSHPort
	}
	t := &jobTarget{hostAddr: net.JoinHostPort(*jpd.Hostname, strconv.Itoa(port)), hostUser: jpd.Username,
		proxy: jpd.SSHProxy, jobPort: containerSSHPort, jobUser: "root"}
	if jrd != nil {
		if p, ok := jrd.Ports[strconv.Itoa(containerSSHPort)]; ok && p > 0 {
			t.jobPort = p
		}
		if jrd.Username != nil && *jrd.Username != "" {
			t.jobUser = *jrd.Username
		}
	}
	if err := checkSSHValues(t); err != nil {
		return nil, err
	}
	key, err := pinnedHostKey(jpd)
	if err != nil {
		return nil, err
	}
	t.hostKey = key
	return t, nil
}

// userKeyPath saves the user's private key where upstream's CLI caches it,
// ~/.dstack/ssh/<first 8 hex digits of sha1(token)>, and returns the path.
func userKeyPath(cn *conn) (string, []byte, error) {
	me, err := cn.GetMyUser(context.Background())
	if err != nil {
		return "", nil, fmt.Errorf("get your SSH key: %w", err)
	}
	if me.SSHPrivateKey == nil || *me.SSHPrivateKey == "" {
		return "", nil, errors.New("the server returned no SSH key for your user")
	}
	signer, err := ssh.ParsePrivateKey([]byte(*me.SSHPrivateKey))
	if err != nil {
		return "", nil, fmt.Errorf("parse your SSH key: %w", err)
	}
	dir, err := dstackSSHDir()
	if err != nil {
		return "", nil, err
	}
	sum := sha1.Sum([]byte(cn.Token))
	path := filepath.Join(dir, hex.EncodeToString(sum[:])[:8])
	if err := os.WriteFile(path, []byte(*me.SSHPrivateKey), 0o600); err != nil {
		return "", nil, fmt.Errorf("save your SSH key: %w", err)
	}
	pub := strings.TrimSpace(string(ssh.MarshalAuthorizedKey(signer.PublicKey()))) + " " + me.Username + "\n"
	if err := os.WriteFile(path+".pub", []byte(pub), 0o644); err != nil {
		return "", nil, fmt.Errorf("save your SSH key: %w", err)
	}
	return path, []byte(*me.SSHPrivateKey), nil
}

func dstackSSHDir() (string, error) {
	home, err := os.UserHomeDir()
	if err != nil {
		return "", fmt.Errorf("find your home directory: %w", err)
	}
	dir := filepath.Join(home, ".dstack", "ssh")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", fmt.Errorf("create %s: %w", dir, err)
	}
	return dir, nil
}

// attach connects to the job and starts forwarding ports: the
// configuration's ports and apps (local port as configured, else the same
// port, else a free one) plus extra. It writes the ssh config aliases.
func attach(ctx context.Context, cn *conn, run *schemas.Run, job *schemas.Job, extra []forward) (*attachment, error) {
	t, err := targetOf(run, job)
	if err != nil {
		return nil, err
	}
	keyPath, key, err := userKeyPath(cn)
	if err != nil {
		return nil, err
	}
	a := &attachment{run: runName(run)}
	if a.pool, a.job, err = dialJob(ctx, t, key); err != nil {
		return nil, err
	}
	for _, f := range append(jobForwards(run, job), extra...) {
		if err := a.forward(f); err != nil {
			a.Close()
			return nil, err
		}
	}
	if err := writeSSHAliases(a.run, t, keyPath); err != nil {
		a.Close()
		return nil, err
	}
	return a, nil
}

// dialJob connects to the job's SSH server through the instance (and the
// instance's SSH proxy, when it has one) with the dialer the server uses for
// hosts: bounded handshakes, classified errors, pinned host keys. The
// instance must present the host key the server pinned, where the server
// says it (not older servers, not upstream's); the proxy and the job's own
// server, which gets a new key with every job, are pinned on first use.
func dialJob(ctx context.Context, t *jobTarget, key []byte) (*sshfleet.Pool, *sshfleet.Conn, error) {
	keys := sshfleet.NewMemoryHostKeyStore()
	if t.hostKey != nil {
		if err := keys.Pin(sshfleet.HostKeyID(t.hostAddr), t.hostKey.Marshal()); err != nil {
			return nil, nil, err
		}
	}
	pool := sshfleet.NewPool(sshfleet.PoolOptions{HostKeys: keys, DialTimeout: sshDialTimeout,
		Logger: slog.New(slog.DiscardHandler)})
	instance, err := t.instance(key)
	if err != nil {
		return nil, nil, err
	}
	c, err := pool.Get(ctx, sshfleet.Target{Host: "localhost", Port: t.jobPort, User: t.jobUser, PrivateKey: key, ProxyJump: &instance})
	var hop, inner *sshfleet.Error
	switch {
	case errors.As(err, &hop) && hop.Kind == sshfleet.KindProxyJump && errors.As(hop.Err, &inner):
		err = fmt.Errorf("connect to the instance %s as %s: %w", t.hostAddr, t.hostUser, inner)
	case errors.As(err, &hop) && hop.Kind == sshfleet.KindProxyJump:
		err = fmt.Errorf("reach the job's SSH server at localhost:%d on the instance: %w", t.jobPort, err)
	case err != nil:
		err = fmt.Errorf("log in to the job as %s: %w", t.jobUser, err)
	}
	if err != nil {
		_ = pool.Close()
		return nil, nil, err
	}
	return pool, c, nil
}

// instance is the SSH target of the job's instance, behind its proxy when
// it has one.
func (t *jobTarget) instance(key []byte) (sshfleet.Target, error) {
	host, port, err := net.SplitHostPort(t.hostAddr)
	if err != nil {
		return sshfleet.Target{}, err
	}
	n, err := strconv.Atoi(port)
	if err != nil {
		return sshfleet.Target{}, fmt.Errorf("the instance's SSH port %q: %w", port, err)
	}
	it := sshfleet.Target{Host: host, Port: n, User: t.hostUser, PrivateKey: key}
	if t.proxy != nil {
		port := t.proxy.Port
		if port == 0 {
			port = 22
		}
		it.ProxyJump = &sshfleet.Target{Host: t.proxy.Hostname, Port: port, User: t.proxy.Username, PrivateKey: key}
	}
	return it, nil
}

// jobForwards are the ports a job exposes: its configuration's `ports`
// (local:container) and its apps, in order, without repeats.
func jobForwards(run *schemas.Run, job *schemas.Job) []forward {
	var out []forward
	seen := map[int]bool{}
	add := func(local, remote int) {
		if remote > 0 && !seen[remote] {
			seen[remote] = true
			out = append(out, forward{Local: local, Remote: remote})
		}
	}
	for _, p := range configuredPorts(run.RunSpec.Configuration) {
		local := p.ContainerPort
		if p.LocalPort != nil {
			local = *p.LocalPort
		}
		add(local, p.ContainerPort)
	}
	for _, app := range job.JobSpec.AppSpecs {
		local := app.Port
		if app.MapToPort != nil {
			local = *app.MapToPort
		}
		add(local, app.Port)
	}
	return out
}

func configuredPorts(c schemas.RunConfiguration) []schemas.PortMapping {
	switch {
	case c.Task != nil:
		return c.Task.Ports
	case c.DevEnvironment != nil:
		return c.DevEnvironment.Ports
	}
	return nil
}

// forward listens on 127.0.0.1:f.Local (a free port when it is 0 or taken)
// and connects each connection to localhost:f.Remote in the job.
func (a *attachment) forward(f forward) error {
	ln, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(f.Local)))
	if err != nil && f.Local != 0 {
		ln, err = net.Listen("tcp", "127.0.0.1:0")
	}
	if err != nil {
		return fmt.Errorf("listen for port %d of the job: %w", f.Remote, err)
	}
	f.Local = ln.Addr().(*net.TCPAddr).Port
	a.lns = append(a.lns, ln)
	a.forwards = append(a.forwards, f)
	a.wg.Add(1)
	go func() {
		defer a.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go a.pipe(c, f.Remote)
		}
	}()
	return nil
}

func (a *attachment) pipe(c net.Conn, remote int) {
	defer c.Close()
	rc, err := a.job.Dial(context.Background(), "tcp", net.JoinHostPort("localhost", strconv.Itoa(remote)))
	if err != nil {
		return
	}
	defer rc.Close()
	done := make(chan struct{}, 2)
	go func() { _, _ = io.Copy(rc, c); done <- struct{}{} }()
	go func() { _, _ = io.Copy(c, rc); done <- struct{}{} }()
	<-done
}

// describe tells the user how to reach the job.
func (a *attachment) describe(w io.Writer) {
	for _, f := range a.forwards {
		fmt.Fprintf(w, "Forwarded port %d of the job to http://127.0.0.1:%d\n", f.Remote, f.Local)
	}
	fmt.Fprintf(w, "To connect to the run via SSH, use `ssh %s`.\n", a.run)
}

// Close stops forwarding, disconnects and removes the ssh config aliases.
func (a *attachment) Close() {
	for _, ln := range a.lns {
		_ = ln.Close()
	}
	if a.pool != nil {
		_ = a.pool.Close()
	}
	a.wg.Wait()
	if a.run != "" {
		_ = removeSSHAliases(a.run)
	}
}

// gone is closed when the SSH connection to the job ends.
func (a *attachment) gone() <-chan struct{} {
	return a.job.Done()
}

// The ssh config of attached runs: one block per alias, between markers, so
// that an attach replaces its run's blocks and a detach removes them.

func sshConfigPaths() (dstackCfg, userCfg string, err error) {
	dir, err := dstackSSHDir()
	if err != nil {
		return "", "", err
	}
	home, _ := os.UserHomeDir()
	return filepath.Join(dir, "config"), filepath.Join(home, ".ssh", "config"), nil
}

func aliasMarkers(run string) (begin, end string) {
	return "# >>> dstack run " + run, "# <<< dstack run " + run
}

func writeSSHAliases(run string, t *jobTarget, keyPath string) error {
	if err := checkSSHValues(t); err != nil {
		return err
	}
	if !safeHostRe.MatchString(run) {
		return fmt.Errorf("the run name %q is not valid in an ssh config", run)
	}
	path, userCfg, err := sshConfigPaths()
	if err != nil {
		return err
	}
	host, port, _ := net.SplitHostPort(t.hostAddr)
	opts := "    StrictHostKeyChecking no\n    UserKnownHostsFile /dev/null\n    IdentityFile " + keyPath +
		"\n    IdentitiesOnly yes\n    ServerAliveInterval 30\n"
	// The instance is checked against the key the server pinned; the job's
	// own SSH server gets a new key with every job and is reached through
	// the instance.
	hostOpts := opts
	if t.hostKey != nil {
		kh := filepath.Join(filepath.Dir(path), "known_hosts")
		if err := setKnownHost(kh, run+"-host", t.hostKey); err != nil {
			return err
		}
		hostOpts = "    StrictHostKeyChecking yes\n    UserKnownHostsFile " + kh + "\n    HostKeyAlias " + run + "-host\n" +
			"    IdentityFile " + keyPath + "\n    IdentitiesOnly yes\n    ServerAliveInterval 30\n"
	}
	var b strings.Builder
	begin, end := aliasMarkers(run)
	fmt.Fprintln(&b, begin)
	if t.proxy != nil {
		pport := t.proxy.Port
		if pport == 0 {
			pport = 22
		}
		fmt.Fprintf(&b, "Host %s-jump-host\n    HostName %s\n    Port %d\n    User %s\n%s", run, t.proxy.Hostname, pport, t.proxy.Username, opts)
	}
	fmt.Fprintf(&b, "Host %s-host\n    HostName %s\n    Port %s\n    User %s\n%s", run, host, port, t.hostUser, hostOpts)
	if t.proxy != nil {
		fmt.Fprintf(&b, "    ProxyJump %s-jump-host\n", run)
	}
	fmt.Fprintf(&b, "Host %s\n    HostName localhost\n    Port %d\n    User %s\n%s    ProxyJump %s-host\n", run, t.jobPort, t.jobUser, opts, run)
	fmt.Fprintln(&b, end)
	kept, err := withoutBlock(path, run)
	if err != nil {
		return err
	}
	if err := os.WriteFile(path, []byte(kept+b.String()), 0o600); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return includeFrom(userCfg, path)
}

func removeSSHAliases(run string) error {
	path, _, err := sshConfigPaths()
	if err != nil {
		return err
	}
	kept, err := withoutBlock(path, run)
	if err != nil {
		return err
	}
	if err := os.WriteFile(path, []byte(kept), 0o600); err != nil {
		return err
	}
	return setKnownHost(filepath.Join(filepath.Dir(path), "known_hosts"), run+"-host", nil)
}

// setKnownHost replaces the known_hosts line of alias with key (removes
// it when key is nil).
func setKnownHost(path, alias string, key ssh.PublicKey) error {
	data, err := os.ReadFile(path)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("read %s: %w", path, err)
	}
	var out []string
	for _, l := range strings.Split(strings.TrimRight(string(data), "\n"), "\n") {
		if l != "" && !strings.HasPrefix(l, alias+" ") {
			out = append(out, l)
		}
	}
	if key != nil {
		out = append(out, alias+" "+strings.TrimSpace(string(ssh.MarshalAuthorizedKey(key))))
	}
	if len(out) == 0 && errors.Is(err, os.ErrNotExist) {
		return nil
	}
	text := strings.Join(out, "\n")
	if text != "" {
		text += "\n"
	}
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

// withoutBlock is the file's text without the run's block.
func withoutBlock(path, run string) (string, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return "", nil
	} else if err != nil {
		return "", fmt.Errorf("read %s: %w", path, err)
	}
	begin, end := aliasMarkers(run)
	var out []string
	skipping := false
	for _, line := range strings.SplitAfter(string(data), "\n") {
		switch strings.TrimSpace(line) {
		case begin:
			skipping = true
			continue
		case end:
			skipping = false
			continue
		}
		if !skipping && line != "" {
			out = append(out, line)
		}
	}
	return strings.Join(out, ""), nil
}

// includeFrom makes the user's ssh config include path, at its top (an
// Include below a Host block would only apply to that host).
func includeFrom(userCfg, path string) error {
	line := "Include " + path
	data, err := os.ReadFile(userCfg)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("read %s: %w", userCfg, err)
	}
	for _, l := range strings.Split(string(data), "\n") {
		if strings.TrimSpace(l) == line {
			return nil
		}
	}
	if err := os.MkdirAll(filepath.Dir(userCfg), 0o700); err != nil {
		return fmt.Errorf("create %s: %w", filepath.Dir(userCfg), err)
	}
	if err := os.WriteFile(userCfg, append([]byte(line+"\n\n"), data...), 0o600); err != nil {
		return fmt.Errorf("write %s: %w", userCfg, err)
	}
	return nil
}

// parseForwards reads -p LOCAL:REMOTE (or PORT) flags.
func parseForwards(specs []string) ([]forward, error) {
	var out []forward
	for _, s := range specs {
		l, r, found := strings.Cut(s, ":")
		if !found {
			l, r = s, s
		}
		local, err1 := strconv.Atoi(l)
		remote, err2 := strconv.Atoi(r)
		if err1 != nil || err2 != nil || local < 0 || local > 65535 || remote < 1 || remote > 65535 {
			return nil, usageError("--port %q: expected PORT or LOCAL_PORT:JOB_PORT (1-65535)", s)
		}
		out = append(out, forward{Local: local, Remote: remote})
	}
	return out, nil
}

// attachCommand is upstream's `dstack attach`: forward the job's ports, set
// up `ssh <run>`, optionally stream the logs, until Ctrl-C or the run ends.
func attachCommand() *cli.Command {
	return &cli.Command{
		Name:      "attach",
		Usage:     "Attach to a running run: forward its ports, set up `ssh RUN`, optionally show its logs",
		ArgsUsage: "RUN",
		Flags: append(append(connFlags(),
			&cli.StringSliceFlag{Name: "port", Aliases: []string{"p"}, Usage: "also forward `LOCAL:JOB` (or PORT) from 127.0.0.1 into the job (repeatable)"},
			&cli.BoolFlag{Name: "logs", Usage: "print the job's logs while attached"},
		), jobFlags()...),
		Action: withConn(attachRun),
	}
}

func attachRun(c *cli.Context, cn *conn) error {
	a, err := args(c, 1, 1, "RUN [-p LOCAL:JOB]... [--logs]")
	if err != nil {
		return err
	}
	extra, err := parseForwards(c.StringSlice("port"))
	if err != nil {
		return err
	}
	run, job, err := selectedJob(c, cn, a[0])
	if err != nil {
		return err
	}
	att, err := attach(c.Context, cn, run, job, extra)
	if err != nil {
		return err
	}
	defer att.Close()
	att.describe(c.App.Writer)
	finished := func(ctx context.Context) (bool, error) {
		r, err := cn.GetRun(ctx, cn.Project, a[0])
		return err != nil || r.Status.Finished(), notFound(err, "run", a[0])
	}
	if c.Bool("logs") {
		tail := &logTail{cn: cn, run: a[0], sub: job.JobSubmissions[len(job.JobSubmissions)-1].ID}
		return tail.follow(c.Context, c.App.Writer, finished)
	}
	fmt.Fprintln(c.App.Writer, "Attached; press Ctrl-C to detach.")
	gone := att.gone()
	for {
		lost := false
		select {
		case <-c.Context.Done():
			return nil
		case <-gone:
			lost = true
		case <-time.After(5 * time.Second):
		}
		done, err := finished(c.Context)
		// A job that ends closes its SSH server a moment before the
		// server reports the run finished.
		for i := 0; lost && err == nil && !done && i < 10 && c.Context.Err() == nil; i++ {
			time.Sleep(time.Second)
			done, err = finished(c.Context)
		}
		if lost && err == nil && !done {
			return fmt.Errorf("lost the SSH connection to the run %s; it goes on (attach again with `dstack attach %s`)", a[0], a[0])
		}
		if err != nil || done {
			if c.Context.Err() != nil {
				return nil
			}
			if err == nil {
				fmt.Fprintf(c.App.Writer, "The run %s has finished.\n", a[0])
			}
			return err
		}
	}
}
