package runner

import (
	"bufio"
	"fmt"
	"os"
	"strings"
	"sync"
	"time"
)

// connTracker measures how long nobody has been connected to the job's sshd
// (no_connections_secs, used for dev-environment inactivity). It reports 0 when
// SSH is disabled or tracking has not started.
type connTracker struct {
	port     int
	mu       sync.Mutex
	tracking bool
	lastSeen time.Time
}

func newConnTracker(port int) *connTracker { return &connTracker{port: port} }

// Track starts polling /proc/net/tcp{,6}; the returned func stops it.
func (t *connTracker) Track() func() {
	if t.port <= 0 {
		return func() {}
	}
	t.mu.Lock()
	t.tracking, t.lastSeen = true, time.Now()
	t.mu.Unlock()
	stop := make(chan struct{})
	go func() {
		ticker := time.NewTicker(2500 * time.Millisecond)
		defer ticker.Stop()
		for {
			select {
			case <-stop:
				return
			case <-ticker.C:
				if established(t.port) > 0 {
					t.mu.Lock()
					t.lastSeen = time.Now()
					t.mu.Unlock()
				}
			}
		}
	}()
	return func() { close(stop) }
}

// NoConnectionsSecs returns the seconds since a connection was last seen.
func (t *connTracker) NoConnectionsSecs() int64 {
	t.mu.Lock()
	defer t.mu.Unlock()
	if !t.tracking {
		return 0
	}
	return int64(time.Since(t.lastSeen).Seconds())
}

// established counts ESTABLISHED TCP connections whose local port is port.
func established(port int) int {
	suffix := fmt.Sprintf(":%04X", port)
	n := 0
	for _, p := range []string{"/proc/net/tcp", "/proc/net/tcp6"} {
		f, err := os.Open(p)
		if err != nil {
			continue
		}
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			fields := strings.Fields(sc.Text())
			if len(fields) > 3 && strings.HasSuffix(fields[1], suffix) && fields[3] == "01" {
				n++
			}
		}
		_ = f.Close()
	}
	return n
}
