package logstore

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// File is the default Store: JSON Lines files under a projects directory,
// <dir>/<project>/logs/<run>/<job_submission_id>/{job,runner}.log. Each line is
// {"timestamp":"<ISO UTC>","log_source":"stdout","message":"<text>"}.
type File struct {
	dir string
}

var _ Store = (*File)(nil)

// NewFile returns a File store rooted at dir, the server's "projects" directory
// (<DSTACK_SERVER_DIR>/projects). Directories are created on first write.
func NewFile(dir string) *File {
	return &File{dir: dir}
}

// Describe returns "file <dir>".
func (s *File) Describe() string { return "file " + s.dir }

// Close does nothing: File holds no open files between calls.
func (s *File) Close() error { return nil }

// Path returns the file that holds the log named by k.
func (s *File) Path(k Key) string {
	return filepath.Join(s.dir, k.Project, "logs", k.Run, k.JobSubmissionID, k.producer()+".log")
}

// Write appends events to k's file with a single O_APPEND write, so batches of
// concurrent writers never interleave within a line.
func (s *File) Write(ctx context.Context, k Key, events []Event) error {
	if len(events) == 0 {
		return nil
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if !k.valid() {
		return fmt.Errorf("write logs: invalid key %+v", k)
	}
	size := 0
	for _, e := range events {
		size += len(e.Message) + 96
	}
	buf := make([]byte, 0, size)
	for _, e := range events {
		buf = appendLine(buf, e)
	}
	path := s.Path(k)
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if errors.Is(err, fs.ErrNotExist) {
		if err = os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			return fmt.Errorf("write logs: %w", err)
		}
		f, err = os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	}
	if err != nil {
		return fmt.Errorf("write logs: %w", err)
	}
	_, err = f.Write(buf)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("write logs %s: %w", path, err)
	}
	return nil
}

// Poll reads one page of k's file; see Query for the bounds. Ascending tokens
// count the lines already consumed; descending tokens are the byte offset of
// the oldest line returned so far. A missing file is an empty page.
func (s *File) Poll(ctx context.Context, q Query) (Page, error) {
	if err := ctx.Err(); err != nil {
		return Page{}, err
	}
	var tok *int64
	// Like upstream, an empty token means "from the start" only when ascending.
	if q.NextToken != nil && (q.Descending || *q.NextToken != "") {
		n, err := parseOffset(*q.NextToken)
		if err != nil {
			return Page{}, err
		}
		tok = &n
	}
	if q.Limit <= 0 || !q.valid() {
		return Page{}, nil
	}
	f, err := os.Open(s.Path(q.Key))
	if errors.Is(err, fs.ErrNotExist) {
		return Page{}, nil
	}
	if err != nil {
		return Page{}, fmt.Errorf("poll logs: %w", err)
	}
	defer f.Close()
	var p Page
	if q.Descending {
		p, err = pollDescending(f, q, tok)
	} else {
		var start int64
		if tok != nil {
			start = *tok
		}
		p, err = pollAscending(f, q, start)
	}
	if err != nil {
		return Page{}, fmt.Errorf("poll logs %s: %w", f.Name(), err)
	}
	return p, nil
}
