//go:build !windows

package main

import "os"

// enableVT: terminals outside Windows interpret ANSI codes as they are.
func enableVT(*os.File) bool { return true }
