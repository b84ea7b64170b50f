package shim

import (
	"os"
	"testing"

	"github.com/dstackgo/dstack/backends/agent/internal/testutil"
)

func TestMain(m *testing.M) {
	code := m.Run()
	testutil.RemoveAgentBinary()
	os.Exit(code)
}
