//go:build !linux

package server

// rootPin is Linux-only; elsewhere names are resolved by path with the
// components re-checked after the check (modelRoot.openByPath).
type rootPin struct{}

func newRootPin(string) (*rootPin, error) { return nil, nil }

func (*rootPin) open(mr *modelRoot, name string, comps []string, anyFolder bool) (*pinnedModel, error) {
	return mr.openByPath(name, comps, anyFolder)
}
