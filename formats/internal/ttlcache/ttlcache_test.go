package ttlcache

import (
	"strconv"
	"testing"
	"time"
)

func TestCache(t *testing.T) {
	c := New[int](time.Hour, 3)
	c.Put("a", 1)
	if v, ok := c.Get("a"); !ok || v != 1 {
		t.Fatalf("Get(a) = %v %v", v, ok)
	}
	if _, ok := c.Get("b"); ok {
		t.Fatal("Get of a missing key succeeded")
	}
	// A service shown folder after folder must not grow without bound.
	for i := range 100 {
		c.Put(strconv.Itoa(i), i)
	}
	if len(c.m) > 3 {
		t.Fatalf("cache holds %d entries, bound is 3", len(c.m))
	}
	expired := New[int](time.Nanosecond, 10)
	expired.Put("x", 1)
	time.Sleep(time.Millisecond)
	if _, ok := expired.Get("x"); ok {
		t.Fatal("an expired entry was returned")
	}
}
