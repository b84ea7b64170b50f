//go:build !linux

package runner

import (
	"errors"
	"os"
)

// openPTY reports that pseudo-terminals are not set up outside Linux, where
// the runner is not deployed; jobs then write to a pipe.
func openPTY() (master, slave *os.File, err error) {
	return nil, nil, errors.New("pseudo-terminals are set up on Linux only")
}
