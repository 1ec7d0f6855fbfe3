//go:build !linux

package test

import "syscall"

// nodeSysProcAttr: only Linux can tie a child's life to its parent's.
func nodeSysProcAttr() *syscall.SysProcAttr { return nil }
