package shim

import (
	"errors"
	"fmt"
	"sort"
	"sync"
)

// errNoCapacity is returned when fewer GPUs are free than requested.
var errNoCapacity = errors.New("not enough free GPUs")

// gpuLock hands out GPU ids (NVIDIA UUIDs, AMD render nodes) to tasks.
type gpuLock struct {
	mu   sync.Mutex
	busy map[string]bool // id -> reserved
}

func newGPULock(ids []string) *gpuLock {
	l := &gpuLock{busy: map[string]bool{}}
	for _, id := range ids {
		if id != "" {
			l.busy[id] = false
		}
	}
	return l
}

// acquire reserves count GPUs (-1 = every free one, possibly none).
func (l *gpuLock) acquire(count int) ([]string, error) {
	if count == 0 || count < -1 {
		return nil, fmt.Errorf("gpu count must be positive or -1, got %d", count)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	free := []string{}
	for id, busy := range l.busy {
		if !busy {
			free = append(free, id)
		}
	}
	sort.Strings(free)
	if count > 0 {
		if len(free) < count {
			return nil, fmt.Errorf("%w: requested %d, free %d", errNoCapacity, count, len(free))
		}
		free = free[:count]
	}
	for _, id := range free {
		l.busy[id] = true
	}
	return free, nil
}

// release frees ids reserved by acquire.
func (l *gpuLock) release(ids []string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, id := range ids {
		if _, ok := l.busy[id]; ok {
			l.busy[id] = false
		}
	}
}

// reserve marks ids busy (for tasks restored after a restart).
func (l *gpuLock) reserve(ids []string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, id := range ids {
		l.busy[id] = true
	}
}
