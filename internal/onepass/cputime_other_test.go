//go:build !unix

package onepass

import "time"

// cpuTime is not measured here (0: the metric is left out).
func cpuTime() time.Duration { return 0 }
