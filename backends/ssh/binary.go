package ssh

import (
	"context"
	"crypto/sha256"
	"debug/elf"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
)

// Binary is the dstack executable deployed to hosts (it runs as `dstack
// shim` there). Its SHA-256 and architecture are computed once; share one
// Binary between deploys. It is safe for concurrent use.
type Binary struct {
	r      io.ReaderAt
	size   int64
	sha    string
	arch   string
	closer io.Closer
}

// OpenBinary opens the executable at path; Close releases it.
func OpenBinary(path string) (*Binary, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("open dstack binary: %w", err)
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("stat dstack binary: %w", err)
	}
	b, err := NewBinary(f, st.Size())
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("dstack binary %s: %w", path, err)
	}
	b.closer = f
	return b, nil
}

// NewBinary wraps an executable of size bytes read through r. It must be a
// Linux ELF executable for amd64 or arm64.
func NewBinary(r io.ReaderAt, size int64) (*Binary, error) {
	ef, err := elf.NewFile(io.NewSectionReader(r, 0, size))
	if err != nil {
		return nil, fmt.Errorf("not a Linux executable (ELF): %w", err)
	}
	arch, ok := elfArch[ef.Machine]
	if !ok {
		return nil, fmt.Errorf("unsupported executable architecture %s (want amd64 or arm64)", ef.Machine)
	}
	h := sha256.New()
	if _, err := io.Copy(h, io.NewSectionReader(r, 0, size)); err != nil {
		return nil, fmt.Errorf("hash binary: %w", err)
	}
	return &Binary{r: r, size: size, arch: arch, sha: hex.EncodeToString(h.Sum(nil))}, nil
}

var elfArch = map[elf.Machine]string{elf.EM_X86_64: "amd64", elf.EM_AARCH64: "arm64"}

// SHA256 returns the hex SHA-256 of the executable.
func (b *Binary) SHA256() string { return b.sha }

// Arch returns the GOARCH-style architecture: "amd64" or "arm64".
func (b *Binary) Arch() string { return b.arch }

// Size returns the size in bytes.
func (b *Binary) Size() int64 { return b.size }

// reader returns a fresh reader over the whole executable.
func (b *Binary) reader() *io.SectionReader { return io.NewSectionReader(b.r, 0, b.size) }

// Close closes the file opened by OpenBinary; it is a no-op otherwise.
func (b *Binary) Close() error {
	if b.closer == nil {
		return nil
	}
	return b.closer.Close()
}

// unameArch maps `uname -m` to GOARCH names; unknown machines pass through.
func unameArch(machine string) string {
	switch machine {
	case "x86_64", "amd64":
		return "amd64"
	case "aarch64", "arm64":
		return "arm64"
	}
	return machine
}

// checkPlatform fails unless the host runs Linux on the binary's arch.
func checkPlatform(target Target, f hostFacts, binArch string) error {
	if f.OS != "Linux" {
		return &Error{Kind: KindUnsupportedHost, Msg: fmt.Sprintf(
			"host %s runs %s (uname -s); SSH fleet hosts must run Linux", target.Addr(), f.OS)}
	}
	if arch := unameArch(f.Machine); arch != binArch {
		return &Error{Kind: KindUnsupportedHost, Msg: fmt.Sprintf(
			"host %s is linux/%s (uname -m: %s) but the dstack binary is built for linux/%s; "+
				"configure a linux/%s dstack binary for this host", target.Addr(), arch, f.Machine, binArch, arch)}
	}
	return nil
}

// BinarySource gives the Linux dstack executable for an architecture
// ("amd64" or "arm64"), so that one server deploys hosts of either.
type BinarySource interface {
	Binary(ctx context.Context, arch string) (*Binary, error)
}

// Binaries opens, once per architecture, the executable that Locate finds
// (see backends/agent/dist). It is safe for concurrent use.
type Binaries struct {
	// Locate returns the path of a linux/arch dstack executable.
	Locate func(ctx context.Context, goos, goarch string) (string, error)

	mu   sync.Mutex
	open map[string]*Binary
}

// Binary returns the opened executable for arch.
func (s *Binaries) Binary(ctx context.Context, arch string) (*Binary, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if b, ok := s.open[arch]; ok {
		return b, nil
	}
	path, err := s.Locate(ctx, "linux", arch)
	if err != nil {
		return nil, err
	}
	b, err := OpenBinary(path)
	if err != nil {
		return nil, err
	}
	if b.Arch() != arch {
		_ = b.Close()
		return nil, fmt.Errorf("dstack binary %s is built for linux/%s, not linux/%s", path, b.Arch(), arch)
	}
	if s.open == nil {
		s.open = map[string]*Binary{}
	}
	s.open[arch] = b
	return b, nil
}

// Close closes the executables opened so far.
func (s *Binaries) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	var errs []error
	for arch, b := range s.open {
		errs = append(errs, b.Close())
		delete(s.open, arch)
	}
	return errors.Join(errs...)
}

// Reader returns a fresh reader over the whole executable.
func (b *Binary) Reader() *io.SectionReader { return b.reader() }
