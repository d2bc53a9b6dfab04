//go:build linux || darwin

package client

import (
	"net"
	"syscall"
)

// keepAliveChecked: alive can tell an idle connection the server closed.
const keepAliveChecked = true

// alive reports whether an idle connection is still open: nothing to
// read yet. A connection the server closed reads EOF (or a reset), and
// one it wrote to unasked holds an answer to no request; neither is
// reused. One non-blocking peek, which does not consume anything.
func alive(nc net.Conn) bool {
	sc, ok := nc.(syscall.Conn)
	if !ok {
		return false
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return false
	}
	open := false
	var buf [1]byte
	err = rc.Read(func(fd uintptr) bool {
		_, _, rerr := syscall.Recvfrom(int(fd), buf[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
		open = rerr == syscall.EAGAIN || rerr == syscall.EWOULDBLOCK
		return true
	})
	return err == nil && open
}
