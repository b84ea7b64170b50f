package logstore

import (
	"os"
	"testing"

	"github.com/dstackgo/dstack/backends/mototest"
)

func TestMain(m *testing.M) {
	// The machine's CA bundle setting breaks plain-HTTP emulator clients.
	os.Unsetenv("AWS_CA_BUNDLE")
	os.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	os.Exit(m.Run())
}

// motoURL returns the endpoint of a moto server for this test.
func motoURL(t *testing.T) string {
	t.Helper()
	return mototest.Start(t)
}
