package server

import (
	"net/http"
	"strconv"

	"github.com/modelvet/modelvet/internal/jsonx"
)

const requestShape = `the body must be exactly {"model": "folder/under/the/root"}`

// parseRequest reads {"model": NAME} strictly: one JSON document, one
// object, the key spelled exactly "model" (encoding/json would also take
// "MODEL" or "mode\u017f" by case folding), no duplicate keys (readers
// disagree on which copy wins, so a proxy that logged or authorized the
// first name could see a different model than the one checked), no other
// keys, nothing after the document, valid UTF-8 only.
func parseRequest(b []byte) (string, error) {
	v, dups, err := jsonx.Parse(b, jsonx.Limits{MaxDepth: 2, MaxNodes: 16})
	if err != nil {
		return "", errorf(http.StatusBadRequest, "%s: %v", requestShape, err)
	}
	if len(dups) > 0 {
		return "", errorf(http.StatusBadRequest, "%s: the key %s appears twice (at byte %d)", requestShape, strconv.Quote(dups[0].Key), dups[0].Off)
	}
	if v.Kind != jsonx.Object {
		return "", errorf(http.StatusBadRequest, "%s: got a JSON %s", requestShape, v.Kind)
	}
	for i, k := range v.Keys {
		if k != "model" {
			return "", errorf(http.StatusBadRequest, "%s: unknown key %s at byte %d", requestShape, strconv.QuoteToASCII(k), v.KOff[i])
		}
	}
	m := v.Get("model")
	switch {
	case m == nil:
		return "", errorf(http.StatusBadRequest, "%s: the key \"model\" is missing", requestShape)
	case m.Kind != jsonx.String:
		return "", errorf(http.StatusBadRequest, "%s: \"model\" is a JSON %s, not a string", requestShape, m.Kind)
	}
	return m.Str, nil
}
