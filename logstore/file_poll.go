package logstore

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"os"
	"strconv"
)

// chunkSize is the unit of raw file reads (skipping and reading backwards).
const chunkSize = 64 << 10

// pollAscending returns up to q.Limit entries after the first start lines. The
// token (lines consumed) is returned only when the page is full and the file
// has more bytes after it, as upstream does.
func pollAscending(f *os.File, q Query, start int64) (Page, error) {
	off, ok, err := skipLines(f, start)
	if err != nil || !ok {
		return Page{}, err
	}
	r := bufio.NewReaderSize(io.NewSectionReader(f, off, 1<<62), chunkSize)
	var (
		p        Page
		long     []byte
		consumed = start
	)
	for {
		line, err := r.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) { // a line longer than the buffer
			long = append(long[:0], line...)
			for errors.Is(err, bufio.ErrBufferFull) {
				line, err = r.ReadSlice('\n')
				long = append(long, line...)
			}
			line = long
		}
		if err != nil {
			// io.EOF: an unterminated tail is a write in progress, not a line yet.
			if errors.Is(err, io.EOF) {
				err = nil
			}
			return p, err
		}
		consumed++
		e, ok := parseLine(line[:len(line)-1])
		if !ok {
			continue
		}
		if q.StartTime != nil && !e.Timestamp.After(*q.StartTime) {
			continue
		}
		if q.EndTime != nil && !e.Timestamp.Before(*q.EndTime) {
			return p, nil
		}
		p.Entries = append(p.Entries, e)
		if len(p.Entries) >= q.Limit {
			if _, err := r.Peek(1); err == nil {
				tok := strconv.FormatInt(consumed, 10)
				p.NextToken = &tok
			}
			return p, nil
		}
	}
}

// skipLines returns the offset just after the n-th newline of f, counting
// newlines in raw chunks without parsing; ok is false if f has fewer lines.
func skipLines(f *os.File, n int64) (off int64, ok bool, err error) {
	if n == 0 {
		return 0, true, nil
	}
	buf := make([]byte, chunkSize)
	for {
		m, err := f.ReadAt(buf, off)
		chunk := buf[:m]
		if c := int64(bytes.Count(chunk, []byte{'\n'})); c < n {
			n -= c
			off += int64(m)
		} else {
			for i := 0; ; i++ {
				j := bytes.IndexByte(chunk, '\n')
				if int64(i+1) == n {
					return off + int64(j) + 1, true, nil
				}
				chunk = chunk[j+1:]
				off += int64(j) + 1
			}
		}
		if errors.Is(err, io.EOF) {
			return 0, false, nil
		}
		if err != nil {
			return 0, false, err
		}
	}
}

// pollDescending reads f backwards from the end, or from just before the line
// at byte offset *tok, returning newest→oldest. The token is the offset of the
// oldest returned line, set only when one more matching line exists.
func pollDescending(f *os.File, q Query, tok *int64) (Page, error) {
	st, err := f.Stat()
	if err != nil {
		return Page{}, err
	}
	end, limit := st.Size(), st.Size()+1
	if tok != nil {
		limit = *tok
		if *tok < end {
			// Like upstream, a token inside a line includes that whole line.
			if end, err = lineEnd(f, *tok, end); err != nil {
				return Page{}, err
			}
		}
	}
	br := &backReader{f: f, pos: end}
	// The segment after the last newline is empty or a write in progress.
	if _, _, _, err := br.prev(); err != nil {
		return Page{}, err
	}
	var (
		p    Page
		last int64
	)
	for {
		line, off, ok, err := br.prev()
		if err != nil || !ok {
			return p, err
		}
		if off >= limit {
			continue
		}
		e, ok := parseLine(line)
		if !ok {
			continue
		}
		if q.EndTime != nil && e.Timestamp.After(*q.EndTime) {
			continue
		}
		if q.StartTime != nil && !e.Timestamp.After(*q.StartTime) {
			return p, nil
		}
		if len(p.Entries) >= q.Limit {
			t := strconv.FormatInt(last, 10)
			p.NextToken = &t
			return p, nil
		}
		p.Entries = append(p.Entries, e)
		last = off
	}
}

// lineEnd returns the offset just after the first newline at or after off, or
// size if there is none.
func lineEnd(f *os.File, off, size int64) (int64, error) {
	buf := make([]byte, chunkSize)
	for off < size {
		m, err := f.ReadAt(buf, off)
		if j := bytes.IndexByte(buf[:m], '\n'); j >= 0 {
			return off + int64(j) + 1, nil
		}
		off += int64(m)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return 0, err
		}
	}
	return size, nil
}

// backReader yields the newline-separated segments of f[0:pos] last to first,
// reading chunkSize bytes at a time; memory holds one chunk plus one line.
type backReader struct {
	f    *os.File
	pos  int64  // file offset of buf[0]
	buf  []byte // unconsumed bytes f[pos:pos+len(buf)]
	done bool
}

// prev returns the previous segment (without its newline) and its offset.
// The returned slice is valid until the next call.
func (b *backReader) prev() (line []byte, off int64, ok bool, err error) {
	for !b.done {
		if i := bytes.LastIndexByte(b.buf, '\n'); i >= 0 {
			line, b.buf = b.buf[i+1:], b.buf[:i]
			return line, b.pos + int64(i) + 1, true, nil
		}
		if b.pos == 0 {
			b.done = true
			return b.buf, 0, true, nil
		}
		n := min(int64(chunkSize), b.pos)
		nb := make([]byte, int(n)+len(b.buf))
		if _, err := b.f.ReadAt(nb[:n], b.pos-n); err != nil {
			return nil, 0, false, err
		}
		copy(nb[n:], b.buf)
		b.buf, b.pos = nb, b.pos-n
	}
	return nil, 0, false, nil
}
