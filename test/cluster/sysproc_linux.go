package cluster

import "syscall"

// sysProcAttr puts the child in its own process group (signals reach its helpers too) and has
// the kernel kill it if the harness's process dies first, so no node outlives its test.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}
