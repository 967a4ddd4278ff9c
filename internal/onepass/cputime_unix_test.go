//go:build unix

package onepass

import (
	"syscall"
	"time"
)

// cpuTime is the CPU time (user and system) the process has used: a
// pass's cost per byte that other processes on the machine do not change,
// unlike its wall-clock speed.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
