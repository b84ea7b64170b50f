package ssh_test

import (
	"bytes"
	"context"
	"debug/elf"
	"encoding/binary"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/dstackgo/dstack/backends/agent/client"
	sshfleet "github.com/dstackgo/dstack/backends/ssh"
)

var (
	binOnce sync.Once
	binDir  string
	binPath string
	binErr  error
)

func TestMain(m *testing.M) {
	code := m.Run()
	if binDir != "" {
		_ = os.RemoveAll(binDir)
	}
	os.Exit(code)
}

// dstackBinary returns the real dstack executable, built once per test
// binary with CGO_ENABLED=0 (or taken from DSTACK_TEST_BINARY).
func dstackBinary(t testing.TB) *sshfleet.Binary {
	t.Helper()
	binOnce.Do(func() {
		if p := os.Getenv("DSTACK_TEST_BINARY"); p != "" {
			binPath = p
			return
		}
		if binDir, binErr = os.MkdirTemp("", "sshfleet-bin-"); binErr != nil {
			return
		}
		binPath = filepath.Join(binDir, "dstack")
		cmd := exec.Command("go", "build", "-o", binPath, "github.com/dstackgo/dstack")
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			binErr = &buildError{out: out, err: err}
		}
	})
	if binErr != nil {
		t.Fatalf("build dstack: %v", binErr)
	}
	b, err := sshfleet.OpenBinary(binPath)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = b.Close() })
	return b
}

type buildError struct {
	out []byte
	err error
}

func (e *buildError) Error() string { return e.err.Error() + ": " + string(e.out) }

// fakeELF returns a bare ELF header for machine: enough for NewBinary.
func fakeELF(machine elf.Machine) []byte {
	var h elf.Header64
	copy(h.Ident[:], elf.ELFMAG)
	h.Ident[elf.EI_CLASS] = byte(elf.ELFCLASS64)
	h.Ident[elf.EI_DATA] = byte(elf.ELFDATA2LSB)
	h.Ident[elf.EI_VERSION] = byte(elf.EV_CURRENT)
	h.Type, h.Machine, h.Version, h.Ehsize = uint16(elf.ET_EXEC), uint16(machine), uint32(elf.EV_CURRENT), 64
	var buf bytes.Buffer
	_ = binary.Write(&buf, binary.LittleEndian, h)
	return buf.Bytes()
}

// shimHealthy calls the shim's healthcheck through the connection.
func shimHealthy(ctx context.Context, c *sshfleet.Conn) error {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	_, err := client.NewShimClient(c.HTTPClient(sshfleet.DefaultShimPort), "http://127.0.0.1:10998").Healthcheck(ctx)
	return err
}
