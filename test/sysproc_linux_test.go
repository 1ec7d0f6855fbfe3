package test

import "syscall"

// nodeSysProcAttr has the kernel kill a node if the test process dies first (a test binary killed
// by a timeout or a signal runs no cleanups), so no server outlives its test.
func nodeSysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
