package services

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"time"

	"github.com/dstackgo/dstack/db"
	"github.com/dstackgo/dstack/server/schemas"
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

// ServiceStats lists the traffic of the project's live service runs as
// this server's proxy counted it, with the replica count each is scaled to.
func (s Runs) ServiceStats(ctx context.Context, p *db.Project) ([]schemas.ServiceStats, error) {
	runs, err := db.ListRuns(ctx, s.DB, db.RunFilter{ProjectIDs: []string{p.ID}, OnlyActive: true, Page: db.Page{Limit: 10000}})
	if err != nil {
		return nil, fmt.Errorf("list runs of %s: %w", p.Name, err)
	}
	out := []schemas.ServiceStats{}
	now := time.Now()
	for i := range runs {
		r := &runs[i]
		var head struct {
			Configuration struct {
				Type string `json:"type"`
			} `json:"configuration"`
		}
		if err := json.Unmarshal([]byte(r.RunSpec), &head); err != nil || head.Configuration.Type != "service" {
			continue
		}
		st := schemas.ServiceStats{RunName: r.RunName, DesiredReplicas: r.DesiredReplicaCount}
		if s.Stats != nil {
			for _, w := range []struct {
				secs int
				to   *float64
			}{{30, &st.RPS30}, {60, &st.RPS60}, {300, &st.RPS300}} {
				n, _ := s.Stats.Requests(r.ID, time.Duration(w.secs)*time.Second, now)
				*w.to = float64(n) / float64(w.secs)
			}
		}
		out = append(out, st)
	}
	return out, nil
}
