package scaletest

import (
	"io"
	"net"
	"sync"
	"time"
)

// pipe returns the two ends of an in-memory, buffered, full-duplex
// connection. net.Pipe does not fit: it is unbuffered, and both ends of an
// SSH connection write their version line before reading the other's.
// Deadlines are accepted and ignored (nothing here waits on the network).
func pipe() (net.Conn, net.Conn) {
	ab, ba := newBuffer(), newBuffer()
	return &pipeEnd{r: ba, w: ab}, &pipeEnd{r: ab, w: ba}
}

// buffer is one direction of a pipe.
type buffer struct {
	mu     sync.Mutex
	cond   *sync.Cond
	data   []byte
	closed bool
}

func newBuffer() *buffer {
	b := &buffer{}
	b.cond = sync.NewCond(&b.mu)
	return b
}

func (b *buffer) read(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for len(b.data) == 0 && !b.closed {
		b.cond.Wait()
	}
	if len(b.data) == 0 {
		return 0, io.EOF
	}
	n := copy(p, b.data)
	b.data = b.data[n:]
	if len(b.data) == 0 {
		b.data = nil // let the drained array go
	}
	return n, nil
}

func (b *buffer) write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return 0, io.ErrClosedPipe
	}
	b.data = append(b.data, p...)
	b.cond.Broadcast()
	return len(p), nil
}

func (b *buffer) close() {
	b.mu.Lock()
	b.closed = true
	b.cond.Broadcast()
	b.mu.Unlock()
}

// pipeEnd is one end of a pipe.
type pipeEnd struct {
	r, w *buffer
}

// pipeAddr names both ends of every pipe.
type pipeAddr struct{}

func (pipeAddr) Network() string { return "pipe" }
func (pipeAddr) String() string  { return "hollow" }

func (e *pipeEnd) Read(p []byte) (int, error)       { return e.r.read(p) }
func (e *pipeEnd) Write(p []byte) (int, error)      { return e.w.write(p) }
func (e *pipeEnd) LocalAddr() net.Addr              { return pipeAddr{} }
func (e *pipeEnd) RemoteAddr() net.Addr             { return pipeAddr{} }
func (e *pipeEnd) SetDeadline(time.Time) error      { return nil }
func (e *pipeEnd) SetReadDeadline(time.Time) error  { return nil }
func (e *pipeEnd) SetWriteDeadline(time.Time) error { return nil }

// Close closes both directions: the other end reads EOF after the data
// already written, and its writes fail.
func (e *pipeEnd) Close() error {
	e.r.close()
	e.w.close()
	return nil
}
