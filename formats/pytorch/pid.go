package pytorch

import (
	"fmt"

	"github.com/modelvet/modelvet/formats/pickle"
)

// storageRef is one persistent id naming a tensor storage:
// ('storage', torch.FloatStorage, key, location, numel[, view_metadata]).
type storageRef struct {
	Key      string
	Type     string // "torch.FloatStorage"
	ElemSize int64  // 0 when the type is not a known storage class
	Numel    int64
	Offset   int64 // of the persistent id in its pickle
}

// parseStorageRef reads a persistent id; a non-nil error says what about
// it torch.load would refuse or a reader could not check.
func parseStorageRef(p pickle.PersistentID) (storageRef, error) {
	ref := storageRef{Offset: p.Offset}
	t, ok := p.Value.([]any)
	if !ok {
		return ref, fmt.Errorf("the persistent id is %s, not a literal tuple", describe(p.Value))
	}
	if len(t) < 5 {
		return ref, fmt.Errorf("the persistent id is a %d-tuple, not ('storage', type, key, location, numel)", len(t))
	}
	if s, _ := str(t[0]); s != "storage" {
		return ref, fmt.Errorf("the persistent id's kind is %s, not 'storage'", describe(t[0]))
	}
	g, ok := t[1].(pickle.Global)
	if !ok {
		if gp, ok2 := t[1].(*pickle.Global); ok2 && gp != nil {
			g, ok = *gp, true
		}
	}
	if !ok {
		return ref, fmt.Errorf("the storage type is %s, not a class", describe(t[1]))
	}
	ref.Type = g.Module + "." + g.Name
	ref.ElemSize, _ = storageElementSize(ref.Type)
	if ref.Key, ok = str(t[2]); !ok {
		return ref, fmt.Errorf("the storage key is %s, not a string", describe(t[2]))
	}
	n, ok := t[4].(int64)
	if !ok {
		if i, ok2 := t[4].(int); ok2 {
			n, ok = int64(i), true
		}
	}
	if !ok || n < 0 {
		return ref, fmt.Errorf("the storage size is %s, not a non-negative integer", describe(t[4]))
	}
	ref.Numel = n
	return ref, nil
}

func str(v any) (string, bool) {
	switch x := v.(type) {
	case string:
		return x, true
	case []byte:
		return string(x), true
	}
	return "", false
}

func describe(v any) string {
	switch x := v.(type) {
	case nil:
		return "not a literal"
	case string:
		if len(x) > 60 {
			x = x[:60] + "..."
		}
		return fmt.Sprintf("%q", x)
	case pickle.Global:
		return x.Module + "." + x.Name
	}
	return fmt.Sprintf("a %T", v)
}
