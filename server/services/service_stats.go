package services

import (
	"sync"
	"time"
)

// statsSpan is the longest window the autoscaler asks about (upstream's
// windows: 30 s, 60 s, 300 s).
const statsSpan = 300

// ServiceStats counts the requests the proxy forwards to each service run,
// per second over the last five minutes, for the runs pipeline's autoscaler.
// The counts are this server's: with several replicas behind one address,
// each scales on the traffic it sees.
type ServiceStats struct {
	mu   sync.Mutex
	runs map[string]*runCounter
}

// runCounter is a ring of per-second counts; stamps says which second a
// slot holds.
type runCounter struct {
	counts [statsSpan]int64
	stamps [statsSpan]int64
	first  int64 // the first second counted: a window reaching before it is incomplete
}

// NewServiceStats returns empty stats.
func NewServiceStats() *ServiceStats { return &ServiceStats{runs: map[string]*runCounter{}} }

// Record counts one request to a run at now.
func (s *ServiceStats) Record(runID string, now time.Time) {
	sec := now.Unix()
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.runs[runID]
	if !ok {
		c = &runCounter{first: sec}
		s.runs[runID] = c
	}
	i := sec % statsSpan
	if c.stamps[i] != sec {
		c.stamps[i], c.counts[i] = sec, 0
	}
	c.counts[i]++
}

// Requests returns how many requests a run got in the window ending at now
// (window at most five minutes), and whether anything was counted for it.
func (s *ServiceStats) Requests(runID string, window time.Duration, now time.Time) (int64, bool) {
	n := min(int64(window/time.Second), statsSpan)
	sec := now.Unix()
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.runs[runID]
	if !ok {
		return 0, false
	}
	var total int64
	for k := sec - n + 1; k <= sec; k++ {
		if i := ((k % statsSpan) + statsSpan) % statsSpan; c.stamps[i] == k {
			total += c.counts[i]
		}
	}
	return total, true
}

// Forget drops a finished run's counts.
func (s *ServiceStats) Forget(runID string) {
	s.mu.Lock()
	delete(s.runs, runID)
	s.mu.Unlock()
}
