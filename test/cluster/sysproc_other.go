//go:build !linux

package cluster

import "syscall"

// sysProcAttr puts the child in its own process group so signals reach its helpers too.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true}
}
