package keras

import (
	"errors"
	"fmt"
	"strconv"

	"github.com/modelvet/modelvet/internal/jsonx"
)

// Keras configs are read with jsonx.ParsePython: encoding/json would not
// do, because Python's json module writes NaN and Infinity (Keras configs
// carry them, e.g. clip values), and a scanner must read what the loader
// reads. Objects keep every key in order, duplicates included: Python
// keeps the last duplicate, other readers the first, so all of them are
// checked. The jsonx tree is turned into plain Go values (jsonObject,
// []any, string, float64, bool, nil) that the config walker switches on.

type jsonKV struct {
	Key string
	Val any
}

// jsonObject is a JSON object with its keys in file order.
type jsonObject []jsonKV

// get returns the last value of key (Python's json keeps the last).
func (o jsonObject) get(key string) (any, bool) {
	for i := len(o) - 1; i >= 0; i-- {
		if o[i].Key == key {
			return o[i].Val, true
		}
	}
	return nil, false
}

func (o jsonObject) str(key string) string {
	v, _ := o.get(key)
	s, _ := v.(string)
	return s
}

const (
	maxJSONDepth = 512       // Python's json recursion limit is about 1000
	maxJSONNodes = 5_000_000 // values in one config
)

// parseJSON parses one JSON value filling all of b (trailing spaces allowed).
func parseJSON(b []byte) (any, error) {
	// Depth counts from 0 at the outermost value, so 513 levels of
	// containers are allowed, as Python's recursion limit allows more.
	v, _, err := jsonx.ParsePython(b, jsonx.Limits{MaxDepth: maxJSONDepth + 1, MaxNodes: maxJSONNodes})
	if err != nil {
		var je *jsonx.Error
		if errors.As(err, &je) {
			return nil, fmt.Errorf("at byte %d: %s", je.Off, je.Msg)
		}
		return nil, err
	}
	return plain(v), nil
}

// plain turns a jsonx value into the Go value the config walker expects.
// Recursion is bounded by the depth limit of the parse.
func plain(v *jsonx.Value) any {
	switch v.Kind {
	case jsonx.Object:
		o := make(jsonObject, len(v.Keys))
		for i, k := range v.Keys {
			o[i] = jsonKV{k, plain(v.Vals[i])}
		}
		return o
	case jsonx.Array:
		a := make([]any, len(v.Vals))
		for i, e := range v.Vals {
			a[i] = plain(e)
		}
		return a
	case jsonx.String:
		return v.Str
	case jsonx.Number:
		// NaN and ±Infinity parse as written; a number past float64's
		// range becomes ±Inf. No check reads numbers' values.
		f, _ := strconv.ParseFloat(v.Str, 64)
		return f
	case jsonx.Bool:
		return v.Str == "true"
	}
	return nil
}
