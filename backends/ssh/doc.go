// Package ssh is the SSH layer of the server for SSH fleets: it connects
// to on-prem hosts with its own SSH client (golang.org/x/crypto/ssh, no
// OpenSSH binary), pins host keys on first use, supports proxy jumps, keeps a
// pool of live connections, tunnels HTTP to the agents on the hosts' loopback,
// and deploys the dstack binary as the host agent (`dstack shim`).
//
// Callers import it as sshfleet, beside golang.org/x/crypto/ssh. Typical use:
//
//	pool := sshfleet.NewPool(sshfleet.PoolOptions{HostKeys: store})
//	defer pool.Close()
//	conn, err := pool.Get(ctx, target)
//	info, err := sshfleet.Deploy(ctx, conn, sshfleet.DeployOptions{Binary: bin, ...})
//	shim := client.NewShimClient(conn.HTTPClient(10998), "http://127.0.0.1:10998")
//
// Errors returned for connection and deployment failures are *Error values
// whose message is meant for the instance status shown to the operator; use
// KindOf to branch on the failure class.
package ssh
