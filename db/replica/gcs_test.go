package replica

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"testing/iotest"
	"time"

	"github.com/benbjohnson/litestream"
	"github.com/benbjohnson/litestream/gs"
	"github.com/fsouza/fake-gcs-server/fakestorage"
	"github.com/stretchr/testify/require"
	"github.com/superfly/ltx"
)

// emulator is fake-gcs-server, Google's API emulated in the process,
// behind an HTTP server the test controls.
type emulator struct {
	*fakestorage.Server
	url string
	// lists counts list requests.
	lists atomic.Int64
	// auth, when set, is the Authorization header every request must carry.
	auth atomic.Pointer[string]
	// unavailable is how many of the next requests get 503.
	unavailable atomic.Int64
}

// startEmulator starts an emulator with one bucket and points
// STORAGE_EMULATOR_HOST at it.
func startEmulator(t *testing.T, bucket string) *emulator {
	t.Helper()
	e := &emulator{}
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if want := e.auth.Load(); want != nil && r.Header.Get("Authorization") != *want {
			http.Error(w, `{"error":{"code":401,"message":"Invalid Credentials"}}`, http.StatusUnauthorized)
			return
		}
		if e.unavailable.Add(-1) >= 0 {
			http.Error(w, `{"error":{"code":503,"message":"Backend Error"}}`, http.StatusServiceUnavailable)
			return
		}
		if r.Method == http.MethodGet && strings.HasSuffix(r.URL.Path, "/o") {
			e.lists.Add(1)
		}
		e.HTTPHandler().ServeHTTP(w, r)
	}))
	// Google's SDK reads objects with the XML API, which the emulator
	// serves on its public host.
	fs, err := fakestorage.NewServerWithOptions(fakestorage.Options{NoListener: true, Writer: io.Discard,
		PublicHost: srv.Listener.Addr().String()})
	require.NoError(t, err)
	fs.CreateBucketWithOpts(fakestorage.CreateBucketOpts{Name: bucket})
	e.Server = fs
	srv.Start()
	t.Cleanup(srv.Close)
	t.Cleanup(fs.Stop)
	e.url = srv.URL
	t.Setenv("STORAGE_EMULATOR_HOST", strings.TrimPrefix(srv.URL, "http://"))
	return e
}

// ltxFile encodes a one-page LTX file for minTXID-maxTXID written at ts.
func ltxFile(t *testing.T, minTXID, maxTXID ltx.TXID, ts time.Time) []byte {
	t.Helper()
	var buf bytes.Buffer
	enc, err := ltx.NewEncoder(&buf)
	require.NoError(t, err)
	hdr := ltx.Header{Version: ltx.Version, PageSize: 512, Commit: 1, MinTXID: minTXID, MaxTXID: maxTXID, Timestamp: ts.UnixMilli()}
	if minTXID > 1 {
		hdr.PreApplyChecksum = ltx.ChecksumFlag | 1
	}
	require.NoError(t, enc.EncodeHeader(hdr))
	require.NoError(t, enc.EncodePage(ltx.PageHeader{Pgno: 1}, bytes.Repeat([]byte{byte(maxTXID)}, 512)))
	enc.SetPostApplyChecksum(ltx.ChecksumFlag | 2)
	require.NoError(t, enc.Close())
	return buf.Bytes()
}

// listLTX lists a level's files.
func listLTX(t *testing.T, c litestream.ReplicaClient, level int, seek ltx.TXID) []*ltx.FileInfo {
	t.Helper()
	itr, err := c.LTXFiles(context.Background(), level, seek, false)
	require.NoError(t, err)
	var out []*ltx.FileInfo
	for itr.Next() {
		out = append(out, itr.Item())
	}
	require.NoError(t, itr.Close())
	return out
}

func readLTX(t *testing.T, c litestream.ReplicaClient, level int, minTXID, maxTXID ltx.TXID, offset, size int64) []byte {
	t.Helper()
	rc, err := c.OpenLTXFile(context.Background(), level, minTXID, maxTXID, offset, size)
	require.NoError(t, err)
	defer rc.Close()
	b, err := io.ReadAll(rc)
	require.NoError(t, err)
	return b
}

// TestGCSClientLTXFiles writes, lists, reads and deletes LTX files through
// Litestream's interface, on the names Litestream's own GCS client uses.
func TestGCSClientLTXFiles(t *testing.T) {
	e := startEmulator(t, "dstack-state")
	c, err := newGCSClient("dstack-state", "/server/")
	require.NoError(t, err)
	ctx := context.Background()
	require.NoError(t, c.Init(ctx))

	ts := time.Date(2026, 3, 1, 12, 0, 0, 123e6, time.UTC)
	files := map[[2]ltx.TXID][]byte{}
	for i, r := range [][2]ltx.TXID{{1, 1}, {2, 5}, {6, 6}} {
		b := ltxFile(t, r[0], r[1], ts.Add(time.Duration(i)*time.Second))
		files[r] = b
		info, err := c.WriteLTXFile(ctx, 0, r[0], r[1], bytes.NewReader(b))
		require.NoError(t, err)
		require.Equal(t, &ltx.FileInfo{Level: 0, MinTXID: r[0], MaxTXID: r[1], Size: int64(len(b)),
			CreatedAt: ts.Add(time.Duration(i) * time.Second)}, info)
	}
	_, err = c.WriteLTXFile(ctx, 1, 1, 6, bytes.NewReader(ltxFile(t, 1, 6, ts)))
	require.NoError(t, err)

	obj, err := e.GetObject("dstack-state", "server/ltx/0/0000000000000002-0000000000000005.ltx")
	require.NoError(t, err)
	require.Equal(t, files[[2]ltx.TXID{2, 5}], obj.Content)
	require.Equal(t, "2026-03-01T12:00:01.123Z", obj.Metadata["litestream-timestamp"])

	got := listLTX(t, c, 0, 0)
	require.Len(t, got, 3)
	for i, f := range got {
		require.Equal(t, 0, f.Level)
		require.Equal(t, int64(len(files[[2]ltx.TXID{f.MinTXID, f.MaxTXID}])), f.Size)
		require.Equal(t, ts.Add(time.Duration(i)*time.Second), f.CreatedAt)
	}
	require.Equal(t, []ltx.TXID{1, 2, 6}, []ltx.TXID{got[0].MinTXID, got[1].MinTXID, got[2].MinTXID})
	require.Len(t, listLTX(t, c, 1, 0), 1)
	seek := listLTX(t, c, 0, 2)
	require.Len(t, seek, 2)
	require.Equal(t, ltx.TXID(2), seek[0].MinTXID)
	require.Empty(t, listLTX(t, c, 2, 0))

	whole := files[[2]ltx.TXID{2, 5}]
	require.Equal(t, whole, readLTX(t, c, 0, 2, 5, 0, 0))
	require.Equal(t, whole[10:30], readLTX(t, c, 0, 2, 5, 10, 20))
	require.Equal(t, whole[100:], readLTX(t, c, 0, 2, 5, 100, 0))
	hdr, err := litestream.FetchLTXHeader(ctx, c, got[1])
	require.NoError(t, err)
	require.Equal(t, ltx.TXID(5), hdr.MaxTXID)

	require.NoError(t, c.DeleteLTXFiles(ctx, got[:1]))
	require.NoError(t, c.DeleteLTXFiles(ctx, got[:1]), "a file already deleted")
	require.Len(t, listLTX(t, c, 0, 0), 2)
	_, err = c.OpenLTXFile(ctx, 0, 1, 1, 0, 0)
	require.ErrorIs(t, err, os.ErrNotExist)
	require.ErrorContains(t, err, "gs://dstack-state/server/ltx/0/0000000000000001-0000000000000001.ltx")

	e.CreateObject(fakestorage.Object{ObjectAttrs: fakestorage.ObjectAttrs{BucketName: "dstack-state", Name: "other/keep"}, Content: []byte("x")})
	require.NoError(t, c.DeleteAll(ctx))
	require.Empty(t, listLTX(t, c, 0, 0))
	require.Empty(t, listLTX(t, c, 1, 0))
	_, err = e.GetObject("dstack-state", "other/keep")
	require.NoError(t, err, "DeleteAll deletes only the replica's files")
}

// TestGCSClientPages lists more files than one page holds: every file
// comes back once, in order, over several requests.
func TestGCSClientPages(t *testing.T) {
	e := startEmulator(t, "b")
	const n = gcsPageSize + 17
	for i := range n {
		e.CreateObject(fakestorage.Object{ObjectAttrs: fakestorage.ObjectAttrs{BucketName: "b",
			Name: "db/ltx/0/" + ltx.FormatFilename(ltx.TXID(i+1), ltx.TXID(i+1)), Size: 1}, Content: []byte{1}})
	}
	e.CreateObject(fakestorage.Object{ObjectAttrs: fakestorage.ObjectAttrs{BucketName: "b", Name: "db/ltx/0/README"}, Content: []byte("x")})
	c, err := newGCSClient("b", "db")
	require.NoError(t, err)
	got := listLTX(t, c, 0, 0)
	require.Len(t, got, n)
	for i, f := range got {
		require.Equal(t, ltx.TXID(i+1), f.MinTXID)
		require.Equal(t, int64(1), f.Size)
	}
	require.Equal(t, int64(2), e.lists.Load())

	require.NoError(t, c.DeleteAll(context.Background()))
	require.Empty(t, listLTX(t, c, 0, 0))
}

// TestGCSClientErrors: a missing bucket and refused credentials name the
// bucket and the HTTP status.
func TestGCSClientErrors(t *testing.T) {
	e := startEmulator(t, "b")
	c, err := newGCSClient("no-such-bucket", "db")
	require.NoError(t, err)
	_, err = c.OpenLTXFile(context.Background(), 0, 1, 1, 0, 0)
	require.ErrorIs(t, err, os.ErrNotExist)
	itr, err := c.LTXFiles(context.Background(), 0, 0, false)
	require.NoError(t, err)
	require.False(t, itr.Next())
	require.ErrorContains(t, itr.Close(), "list gs://no-such-bucket/db/ltx/0/: 404 Not Found")

	// A busy API is tried again, three times in all.
	c, err = newGCSClient("b", "db")
	require.NoError(t, err)
	e.unavailable.Store(2)
	require.Empty(t, listLTX(t, c, 0, 0))
	e.unavailable.Store(3)
	_, err = c.OpenLTXFile(context.Background(), 0, 1, 1, 0, 0)
	require.EqualError(t, err, "read gs://b/db/ltx/0/0000000000000001-0000000000000001.ltx: 503 Service Unavailable: Backend Error")
	e.unavailable.Store(0)

	bad := "Bearer expired"
	e.auth.Store(&bad)
	c, err = newGCSClient("b", "db")
	require.NoError(t, err)
	_, err = c.WriteLTXFile(context.Background(), 0, 1, 1, bytes.NewReader(ltxFile(t, 1, 1, time.Now())))
	require.EqualError(t, err, "write gs://b/db/ltx/0/0000000000000001-0000000000000001.ltx: 401 Unauthorized: Invalid Credentials")

	_, err = newGCSClient("", "db")
	require.Error(t, err)
	_, err = c.WriteLTXFile(context.Background(), 0, 1, 1, strings.NewReader("not an LTX file"))
	require.ErrorContains(t, err, "read the LTX header of gs://b/db/ltx/0/0000000000000001-0000000000000001.ltx")
}

// TestGCSClientReadsLitestreamReplicas: files written by Litestream's own
// GCS client (Google's SDK) read back with this one, and the other way
// round, so replicas made before keep working.
func TestGCSClientReadsLitestreamReplicas(t *testing.T) {
	startEmulator(t, "b")
	ctx := context.Background()
	theirs := gs.NewReplicaClient()
	theirs.Bucket, theirs.Path = "b", "server"
	ours, err := newGCSClient("b", "server")
	require.NoError(t, err)
	ts := time.Date(2026, 3, 1, 12, 0, 0, 5e6, time.UTC)

	a := ltxFile(t, 1, 3, ts)
	_, err = theirs.WriteLTXFile(ctx, 0, 1, 3, bytes.NewReader(a))
	require.NoError(t, err)
	got := listLTX(t, ours, 0, 0)
	require.Equal(t, []*ltx.FileInfo{{Level: 0, MinTXID: 1, MaxTXID: 3, Size: int64(len(a)), CreatedAt: ts}}, got)
	require.Equal(t, a, readLTX(t, ours, 0, 1, 3, 0, 0))

	b := ltxFile(t, 4, 4, ts.Add(time.Second))
	_, err = ours.WriteLTXFile(ctx, 0, 4, 4, bytes.NewReader(b))
	require.NoError(t, err)
	got = listLTX(t, theirs, 0, 4)
	require.Equal(t, []*ltx.FileInfo{{Level: 0, MinTXID: 4, MaxTXID: 4, Size: int64(len(b)), CreatedAt: ts.Add(time.Second)}}, got)
	require.Equal(t, b, readLTX(t, theirs, 0, 4, 4, 0, 0))
}

// TestGCSUploadReaderFails: a reader that fails mid-file fails the upload
// and leaves no object.
func TestGCSUploadReaderFails(t *testing.T) {
	e := startEmulator(t, "b")
	c, err := newGCSClient("b", "db")
	require.NoError(t, err)
	f := ltxFile(t, 1, 1, time.Now())
	r := io.MultiReader(bytes.NewReader(f[:200]), iotest.ErrReader(errors.New("disk gone")))
	_, err = c.WriteLTXFile(context.Background(), 0, 1, 1, r)
	require.ErrorContains(t, err, "disk gone")
	_, err = e.GetObject("b", "db/ltx/0/"+ltx.FormatFilename(1, 1))
	require.Error(t, err)
	require.Empty(t, listLTX(t, c, 0, 0))
}
