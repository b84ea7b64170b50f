package dist

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"debug/elf"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"
)

// fakeELF is the smallest ELF header debug/elf accepts, for machine.
func fakeELF(machine elf.Machine) []byte {
	b := make([]byte, 64)
	copy(b, []byte{0x7f, 'E', 'L', 'F', 2, 1, 1})
	binary.LittleEndian.PutUint16(b[16:], uint16(elf.ET_EXEC))
	binary.LittleEndian.PutUint16(b[18:], uint16(machine))
	binary.LittleEndian.PutUint32(b[20:], 1)
	binary.LittleEndian.PutUint16(b[52:], 64)
	return b
}

// fakeMachO is the smallest 64-bit Mach-O header, for an arm64 Mac.
func fakeMachO() []byte {
	b := make([]byte, 32)
	binary.LittleEndian.PutUint32(b[0:], 0xfeedfacf)
	binary.LittleEndian.PutUint32(b[4:], 0x0100000c) // CPU_TYPE_ARM64
	binary.LittleEndian.PutUint32(b[12:], 2)         // MH_EXECUTE
	return b
}

func writeFile(t *testing.T, path string, data []byte) string {
	t.Helper()
	require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o755))
	require.NoError(t, os.WriteFile(path, data, 0o755))
	return path
}

func tarGz(t *testing.T, name string, data []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	tw := tar.NewWriter(zw)
	for _, f := range []struct {
		name string
		data []byte
	}{{"README.md", []byte("readme")}, {name, data}} {
		require.NoError(t, tw.WriteHeader(&tar.Header{Name: f.name, Mode: 0o755, Size: int64(len(f.data)), Typeflag: tar.TypeReg}))
		_, err := tw.Write(f.data)
		require.NoError(t, err)
	}
	require.NoError(t, tw.Close())
	require.NoError(t, zw.Close())
	return buf.Bytes()
}

// releaseServer serves a release folder v1.2.3 with archives for linux
// amd64 and arm64 and their checksums.txt; it counts archive downloads.
func releaseServer(t *testing.T, corrupt bool) (*httptest.Server, *atomic.Int32) {
	t.Helper()
	files := map[string][]byte{}
	sums := ""
	for arch, m := range map[string]elf.Machine{"amd64": elf.EM_X86_64, "arm64": elf.EM_AARCH64} {
		name := ArchiveName("1.2.3", "linux", arch)
		files[name] = tarGz(t, "dstack", fakeELF(m))
		sum := sha256.Sum256(files[name])
		if corrupt {
			sum[0] ^= 0xff
		}
		sums += fmt.Sprintf("%s  %s\n", hex.EncodeToString(sum[:]), name)
	}
	files["checksums.txt"] = []byte(sums)
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		name := filepath.Base(r.URL.Path)
		data, ok := files[name]
		if !ok || filepath.Dir(r.URL.Path) != "/v1.2.3" {
			http.NotFound(w, r)
			return
		}
		if name != "checksums.txt" {
			hits.Add(1)
		}
		_, _ = w.Write(data)
	}))
	t.Cleanup(srv.Close)
	return srv, &hits
}

func TestLocatorConfiguredPathPerArch(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "dstack-linux-amd64"), fakeELF(elf.EM_X86_64))
	arm := writeFile(t, filepath.Join(dir, "dstack-linux-arm64"), fakeELF(elf.EM_AARCH64))
	l := New(Options{Version: "dev", Configured: filepath.Join(dir, "dstack-{os}-{arch}"), CacheDir: t.TempDir(),
		Self: writeFile(t, filepath.Join(dir, "self"), fakeMachO()), SelfOS: "darwin", SelfArch: "arm64"})
	p, err := l.Path(context.Background(), "linux", "arm64")
	require.NoError(t, err)
	require.Equal(t, arm, p)
}

func TestLocatorSelfWhenPlatformMatches(t *testing.T) {
	dir := t.TempDir()
	self := writeFile(t, filepath.Join(dir, "dstack"), fakeELF(elf.EM_X86_64))
	// A configured binary of another architecture is passed over.
	other := writeFile(t, filepath.Join(dir, "arm"), fakeELF(elf.EM_AARCH64))
	l := New(Options{Version: "dev", Configured: other, Self: self, SelfOS: "linux", SelfArch: "amd64"})
	p, err := l.Path(context.Background(), "linux", "amd64")
	require.NoError(t, err)
	require.Equal(t, self, p)
}

func TestLocatorReleaseDownloadIsCached(t *testing.T) {
	srv, hits := releaseServer(t, false)
	cache := t.TempDir()
	opts := Options{Version: "v1.2.3", CacheDir: cache, ReleaseURL: srv.URL + "/v{version}",
		Self: writeFile(t, filepath.Join(t.TempDir(), "dstack"), fakeMachO()), SelfOS: "darwin", SelfArch: "arm64"}
	p, err := New(opts).Path(context.Background(), "linux", "arm64")
	require.NoError(t, err)
	require.Equal(t, filepath.Join(cache, "1.2.3", "linux_arm64", "dstack"), p)
	require.NoError(t, Check(p, "linux", "arm64"))
	require.EqualValues(t, 1, hits.Load())

	srv.Close() // a restarted server finds it in the cache, offline
	p2, err := New(opts).Path(context.Background(), "linux", "arm64")
	require.NoError(t, err)
	require.Equal(t, p, p2)
}

func TestLocatorConfiguredURL(t *testing.T) {
	archive := tarGz(t, "dist/dstack", fakeELF(elf.EM_AARCH64))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/agents/dstack-linux-arm64.tar.gz" {
			http.NotFound(w, r)
			return
		}
		_, _ = w.Write(archive)
	}))
	defer srv.Close()
	l := New(Options{Version: "dev", Configured: srv.URL + "/agents/dstack-{os}-{arch}.tar.gz", CacheDir: t.TempDir(), SelfOS: "darwin", SelfArch: "arm64"})
	p, err := l.Path(context.Background(), "linux", "arm64")
	require.NoError(t, err)
	require.NoError(t, Check(p, "linux", "arm64"))
}

func TestLocatorNotFoundNamesWhatWasTried(t *testing.T) {
	srv, _ := releaseServer(t, true)
	missing := filepath.Join(t.TempDir(), "nothing-{arch}")
	tests := []struct {
		name    string
		opts    Options
		arch    string
		wantAll []string
	}{
		{name: "development build", arch: "arm64",
			opts:    Options{Version: "dev", Configured: missing, SelfOS: "darwin", SelfArch: "arm64", Self: "/x"},
			wantAll: []string{"no linux/arm64 dstack binary of version dev", "nothing-arm64: no such file", "this executable (built for darwin/arm64)", `version "dev" is not a release`, "DSTACK_SERVER_AGENT_BINARY"}},
		{name: "checksum mismatch", arch: "amd64",
			opts:    Options{Version: "1.2.3", ReleaseURL: srv.URL + "/v{version}", SelfOS: "darwin", SelfArch: "amd64", Self: "/x"},
			wantAll: []string{"release download " + srv.URL + "/v1.2.3/dstack_1.2.3_linux_amd64.tar.gz", "differs from checksums.txt"}},
		{name: "no such release", arch: "amd64",
			opts:    Options{Version: "9.9.9", ReleaseURL: srv.URL + "/v{version}", SelfOS: "darwin", SelfArch: "amd64", Self: "/x"},
			wantAll: []string{"checksums.txt: GET " + srv.URL + "/v9.9.9/checksums.txt: 404 Not Found"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.opts.CacheDir = t.TempDir()
			_, err := New(tt.opts).Path(context.Background(), "linux", tt.arch)
			require.Error(t, err)
			var nf *NotFoundError
			require.ErrorAs(t, err, &nf)
			for _, want := range tt.wantAll {
				require.Contains(t, err.Error(), want)
			}
		})
	}
}

func TestCheck(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name, os, arch string
		data           []byte
		wantErr        string
	}{
		{name: "linux arm64", os: "linux", arch: "arm64", data: fakeELF(elf.EM_AARCH64)},
		{name: "darwin arm64", os: "darwin", arch: "arm64", data: fakeMachO()},
		{name: "wrong arch", os: "linux", arch: "arm64", data: fakeELF(elf.EM_X86_64), wantErr: "built for linux/amd64, not linux/arm64"},
		{name: "script", os: "linux", arch: "amd64", data: []byte("#!/bin/sh\n"), wantErr: "not an executable"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := Check(writeFile(t, filepath.Join(dir, tt.name), tt.data), tt.os, tt.arch)
			if tt.wantErr == "" {
				require.NoError(t, err)
			} else {
				require.ErrorContains(t, err, tt.wantErr)
			}
		})
	}
}
