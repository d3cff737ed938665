//go:build windows

package api

import "time"

// processCPU is not measured on Windows.
func processCPU() (user, sys time.Duration) { return 0, 0 }
