// Package ttlcache is a small bounded cache with expiry, for analyzers that
// would otherwise redo costly work within one scan (hash a Hugging Face
// blob reached twice, re-read an ONNX model for every file beside it).
// Entries expire so a long-running service re-checks on later scans, and
// the cache is bounded so that service does not grow with every folder it
// is shown.
package ttlcache

import (
	"sync"
	"time"
)

type entry[V any] struct {
	at time.Time
	v  V
}

// Cache maps string keys to values for TTL. The zero value is not usable;
// use New.
type Cache[V any] struct {
	mu  sync.Mutex
	ttl time.Duration
	max int
	m   map[string]entry[V]
}

// New returns a cache keeping at most max entries for ttl each.
func New[V any](ttl time.Duration, max int) *Cache[V] {
	return &Cache[V]{ttl: ttl, max: max, m: map[string]entry[V]{}}
}

// Get returns the value stored under key if it has not expired.
func (c *Cache[V]) Get(key string) (V, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.m[key]
	if !ok || time.Since(e.at) >= c.ttl {
		var zero V
		return zero, false
	}
	return e.v, true
}

// Put stores value under key. When the cache is full, expired entries are
// dropped first, and everything if that is not enough.
func (c *Cache[V]) Put(key string, value V) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.m) >= c.max {
		for k, e := range c.m {
			if time.Since(e.at) >= c.ttl {
				delete(c.m, k)
			}
		}
		if len(c.m) >= c.max {
			clear(c.m)
		}
	}
	c.m[key] = entry[V]{at: time.Now(), v: value}
}
