//go:build !linux

package runner

import "syscall"

// jobProcAttr is the job process's attributes: it runs as cred. Outside
// Linux there is no parent-death signal.
func jobProcAttr(cred *syscall.Credential) *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Credential: cred}
}
