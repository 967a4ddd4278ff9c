package server

import (
	"fmt"
	"os"
	"syscall"
)

// rootPin holds the models root open; names are opened from it with
// openat, one component at a time, with O_NOFOLLOW: a link anywhere in the
// name is refused by the kernel, not by a check that a swap could race.
type rootPin struct{ fd int }

func newRootPin(real string) (*rootPin, error) {
	fd, err := syscall.Open(real, syscall.O_RDONLY|syscall.O_DIRECTORY|syscall.O_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	// The check reads the pinned folder as /proc/self/fd/N; without /proc
	// the portable resolution (detect, not prevent) is used instead.
	if _, err := os.Stat(fmt.Sprintf("/proc/self/fd/%d", fd)); err != nil {
		syscall.Close(fd)
		return nil, nil
	}
	return &rootPin{fd: fd}, nil
}

const openDirFlags = syscall.O_RDONLY | syscall.O_DIRECTORY | syscall.O_NOFOLLOW | syscall.O_CLOEXEC

func (p *rootPin) open(mr *modelRoot, name string, comps []string, anyFolder bool) (*pinnedModel, error) {
	dirfd := p.fd
	for i, c := range comps {
		fd, err := openat(dirfd, c)
		if dirfd != p.fd {
			syscall.Close(dirfd)
		}
		if err != nil {
			return nil, mr.refusal(name, comps, i, err)
		}
		dirfd = fd
	}
	f := os.NewFile(uintptr(dirfd), name)
	if !anyFolder {
		if err := checkModelFolder(f, name); err != nil {
			f.Close()
			return nil, err
		}
	}
	var pinned syscall.Stat_t
	if err := syscall.Fstat(dirfd, &pinned); err != nil {
		f.Close()
		return nil, mr.refusal(name, comps, len(comps)-1, err)
	}
	// The gate opens files as /proc/self/fd/N/...: the kernel resolves
	// that through the descriptor, to the folder opened above even if its
	// name now leads elsewhere. What the scanner resolves as a path (a
	// link's target, and the folder links may point into) goes through
	// the folder's current name, so after the check the name must still
	// lead, without links, to the same folder, or there is no answer.
	unchanged := func(name string) error {
		again, err := p.open(mr, name, comps, true)
		if err == nil {
			var now syscall.Stat_t
			err = syscall.Stat(again.path, &now)
			again.close()
			if err == nil && now.Dev == pinned.Dev && now.Ino == pinned.Ino {
				return nil
			}
		}
		return errChanged(name)
	}
	return &pinnedModel{path: fmt.Sprintf("/proc/self/fd/%d", dirfd), close: func() { f.Close() }, unchanged: unchanged}, nil
}

func openat(dirfd int, name string) (int, error) {
	for {
		fd, err := syscall.Openat(dirfd, name, openDirFlags, 0)
		if err == syscall.EINTR {
			continue
		}
		if err != nil {
			return -1, os.NewSyscallError("openat", err)
		}
		return fd, nil
	}
}
