package server

import (
	"net"
	"net/http"
	"sync"
	"time"
)

// ConnLimits cap open connections, each a file descriptor and a
// goroutine. Past a cap a new connection is closed as soon as it is
// accepted, so the listen backlog drains and descriptors never run out.
type ConnLimits struct {
	// Max is the most connections open at once (default 512).
	Max int
	// PerClient is the most from one address (default 64): one client's
	// slow bodies cannot take every connection from the others.
	PerClient int
}

func (c *ConnLimits) defaults() {
	if c.Max <= 0 {
		c.Max = 512
	}
	if c.PerClient <= 0 {
		c.PerClient = 64
	}
}

type connLimiter struct {
	net.Listener
	lim  ConnLimits
	m    *metrics
	mu   sync.Mutex
	open int
	byIP map[string]int
}

func newConnLimiter(l net.Listener, lim ConnLimits, m *metrics) net.Listener {
	return &connLimiter{Listener: l, lim: lim, m: m, byIP: map[string]int{}}
}

func (l *connLimiter) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		ip := hostOf(c.RemoteAddr().String())
		l.mu.Lock()
		if l.open >= l.lim.Max || l.byIP[ip] >= l.lim.PerClient {
			l.mu.Unlock()
			c.Close()
			l.m.connsRefused.Add(1)
			continue
		}
		l.open++
		l.byIP[ip]++
		l.mu.Unlock()
		l.m.connsOpen.Add(1)
		return &limitedConn{Conn: c, l: l, ip: ip}, nil
	}
}

func (l *connLimiter) release(ip string) {
	l.mu.Lock()
	l.open--
	if l.byIP[ip]--; l.byIP[ip] <= 0 {
		delete(l.byIP, ip)
	}
	l.mu.Unlock()
	l.m.connsOpen.Add(-1)
}

type limitedConn struct {
	net.Conn
	l    *connLimiter
	ip   string
	once sync.Once
}

func (c *limitedConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(func() { c.l.release(c.ip) })
	return err
}

// ClientLimits bound one client: requests running at once, and a token
// bucket of requests per second.
type ClientLimits struct {
	// Concurrent requests of one client (default 8); beyond, 429.
	Concurrent int
	// Rate is the sustained requests per second (default 20), Burst the
	// bucket (default 40); beyond, 429.
	Rate  float64
	Burst float64
}

func (c *ClientLimits) defaults() {
	if c.Concurrent <= 0 {
		c.Concurrent = 8
	}
	if c.Rate <= 0 {
		c.Rate = 20
	}
	if c.Burst <= 0 {
		c.Burst = max(c.Rate*2, 1)
	}
}

type clientState struct {
	active int
	tokens float64
	last   time.Time
}

type clientLimiter struct {
	lim ClientLimits
	mu  sync.Mutex
	m   map[string]*clientState
}

func newClientLimiter(lim ClientLimits) *clientLimiter {
	return &clientLimiter{lim: lim, m: map[string]*clientState{}}
}

// maxClients bounds the limiter's table; idle clients whose bucket has
// refilled carry no state worth keeping and are dropped past it.
const maxClients = 4096

// enter admits one request of client id, or says why not.
func (c *clientLimiter) enter(id string) (func(), error) {
	now := time.Now()
	c.mu.Lock()
	defer c.mu.Unlock()
	st := c.m[id]
	if st == nil {
		if len(c.m) >= maxClients {
			c.sweep(now)
		}
		st = &clientState{tokens: c.lim.Burst, last: now}
		c.m[id] = st
	}
	st.tokens = min(c.lim.Burst, st.tokens+now.Sub(st.last).Seconds()*c.lim.Rate)
	st.last = now
	if st.active >= c.lim.Concurrent {
		return nil, errorf(http.StatusTooManyRequests, "this client already has %d requests running; wait for one to finish", st.active)
	}
	if st.tokens < 1 {
		return nil, errorf(http.StatusTooManyRequests, "this client sends more than %g requests per second", c.lim.Rate)
	}
	st.tokens--
	st.active++
	return func() {
		c.mu.Lock()
		st.active--
		c.mu.Unlock()
	}, nil
}

func (c *clientLimiter) sweep(now time.Time) {
	for id, st := range c.m {
		if st.active == 0 && st.tokens+now.Sub(st.last).Seconds()*c.lim.Rate >= c.lim.Burst {
			delete(c.m, id)
		}
	}
}
