package runner

import (
	"sync"
	"time"

	"github.com/dstackgo/dstack/backends/agent/schemas"
)

// clock issues millisecond timestamps that are strictly increasing and thus
// distinct: the wall clock in ms, or the previous value + 1 when the wall clock
// has not advanced (bursts of more than 1000 events/s run slightly ahead).
type clock struct {
	mu   sync.Mutex
	last int64
}

// Next returns a new timestamp, greater than every previous one.
func (c *clock) Next() int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := time.Now().UnixMilli()
	if now <= c.last {
		now = c.last + 1
	}
	c.last = now
	return now
}

// Latest returns the last timestamp issued (0 before the first).
func (c *clock) Latest() int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.last
}

// logBuffer is an append-only, memory-bounded sequence of log events. When the
// total message size exceeds the limit the oldest events are dropped. It is an
// io.Writer: every Write becomes one event (the bytes are copied).
type logBuffer struct {
	mu      sync.Mutex
	clock   *clock
	limit   int
	size    int
	events  []schemas.LogEvent // live events are events[head:]
	head    int
	dropped int
	changed chan struct{} // closed and replaced on every append
}

func newLogBuffer(c *clock, limit int) *logBuffer {
	return &logBuffer{clock: c, limit: limit, changed: make(chan struct{})}
}

// Write appends p as one event.
func (b *logBuffer) Write(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	msg := append([]byte(nil), p...)
	b.mu.Lock()
	defer b.mu.Unlock()
	b.events = append(b.events, schemas.LogEvent{Message: msg, Timestamp: b.clock.Next()})
	b.size += len(msg)
	b.evict()
	close(b.changed)
	b.changed = make(chan struct{})
	return len(p), nil
}

// evict drops the oldest events (always keeping the newest) until the buffer
// fits its limit, compacting the backing array when most of it is garbage.
func (b *logBuffer) evict() {
	for b.size > b.limit && b.head < len(b.events)-1 {
		b.size -= len(b.events[b.head].Message)
		b.events[b.head] = schemas.LogEvent{}
		b.head++
		b.dropped++
	}
	if b.head > 1024 && b.head > len(b.events)/2 {
		b.events = append([]schemas.LogEvent(nil), b.events[b.head:]...)
		b.head = 0
	}
}

// Between returns the events with after < timestamp <= upto, oldest first.
func (b *logBuffer) Between(after, upto int64) []schemas.LogEvent {
	b.mu.Lock()
	defer b.mu.Unlock()
	end := len(b.events)
	for end > b.head && b.events[end-1].Timestamp > upto {
		end--
	}
	start := end
	for start > b.head && b.events[start-1].Timestamp > after {
		start--
	}
	return append([]schemas.LogEvent{}, b.events[start:end]...)
}

// Changed returns a channel that is closed on the next append.
func (b *logBuffer) Changed() <-chan struct{} {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.changed
}

// Dropped returns how many events were evicted so far.
func (b *logBuffer) Dropped() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.dropped
}
