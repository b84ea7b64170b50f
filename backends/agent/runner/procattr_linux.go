package runner

import "syscall"

// jobProcAttr is the job process's attributes: it runs as cred and is killed
// when the runner dies.
func jobProcAttr(cred *syscall.Credential) *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Credential: cred, Pdeathsig: syscall.SIGKILL}
}
