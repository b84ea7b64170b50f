package catalog_test

import (
	"archive/zip"
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/dstackgo/dstack/backends/catalog"
)

const header = "instance_name,location,price,cpu,memory,gpu_count,gpu_name,gpu_memory,spot,disk_size,gpu_vendor,flags,cpu_arch,provider_data\n"

func TestParse(t *testing.T) {
	tests := []struct {
		name    string
		csv     string
		want    []catalog.Item
		skipped int
		err     string
	}{
		{
			name: "gpu row with vendor defaulted, cpu row, spot",
			csv: header + "g5.xlarge,us-east-1,1.006,4,16,1,A10G,24.0,False,,,,x86,{}\n" +
				"t3.large,eu-west-1,0.0912,2,8,0,,,True,,,,,{}\n",
			want: []catalog.Item{
				{InstanceName: "g5.xlarge", Location: "us-east-1", Price: 1.006, CPUs: 4, MemoryGB: 16, GPUCount: 1, GPUName: "A10G",
					GPUMemoryGB: 24, GPUVendor: "nvidia", CPUArch: "x86"},
				{InstanceName: "t3.large", Location: "eu-west-1", Price: 0.0912, CPUs: 2, MemoryGB: 8, Spot: true, CPUArch: "x86"},
			},
		},
		{
			name: "old tpu naming and flags",
			csv:  header + "v5litepod-1,us-west4-a,1.2,24,48,1,tpu-v5litepod,16,False,100,,gcp-a4 newer-thing,,{}\n",
			want: []catalog.Item{{InstanceName: "v5litepod-1", Location: "us-west4-a", Price: 1.2, CPUs: 24, MemoryGB: 48, GPUCount: 1,
				GPUName: "v5litepod", GPUMemoryGB: 16, GPUVendor: "google", DiskGB: 100, Flags: []string{"gcp-a4", "newer-thing"}, CPUArch: "x86"}},
		},
		{
			name:    "malformed rows are skipped",
			csv:     header + "x,us-east-1,notaprice,1,1,0,,,False,,,,x86,{}\n,us-east-1,1,1,1,0,,,False,,,,x86,{}\ny,r,1,1,1,0,,,maybe,,,,x86,{}\n",
			skipped: 3,
		},
		{
			name: "v1 header without the newer columns",
			csv:  "instance_name,location,price,cpu,memory,gpu_count,gpu_name,gpu_memory,spot\nm5.large,us-east-1,0.096,2,8,0,,,False\n",
			want: []catalog.Item{{InstanceName: "m5.large", Location: "us-east-1", Price: 0.096, CPUs: 2, MemoryGB: 8, CPUArch: "x86"}},
		},
		{name: "not a catalog", csv: "a,b,c\n1,2,3\n", err: `catalog header has no "instance_name" column`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			items, skipped, err := catalog.Parse(strings.NewReader(tt.csv))
			if tt.err != "" {
				require.ErrorContains(t, err, tt.err)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tt.want, items)
			require.Equal(t, tt.skipped, skipped)
		})
	}
}

func TestItemUsableAndOffer(t *testing.T) {
	it := catalog.Item{InstanceName: "g5.xlarge", Location: "us-east-1", Price: 1.006, CPUs: 4, MemoryGB: 16, GPUCount: 2,
		GPUName: "A10G", GPUMemoryGB: 24, GPUVendor: "nvidia", CPUArch: "x86"}
	require.True(t, it.Usable())
	o := it.Offer("aws")
	require.Equal(t, "aws", o.Backend)
	require.Equal(t, 16*1024, o.Instance.Resources.MemoryMiB)
	require.Len(t, o.Instance.Resources.Gpus, 2)
	require.Equal(t, 24*1024, o.Instance.Resources.Gpus[1].MemoryMiB)
	require.Equal(t, 0, o.Instance.Resources.Disk.SizeMiB)
	it.Flags = []string{"not-known-here"}
	require.False(t, it.Usable())
}

func TestEmbeddedSnapshot(t *testing.T) {
	c := catalog.New(catalog.Options{URL: "http://127.0.0.1:1"})
	p := c.Get("aws")
	require.Equal(t, catalog.EmbeddedVersion, p.Version)
	require.NotEmpty(t, p.Items)
	offers := p.Offers("aws")
	require.Len(t, offers, len(p.Items))
	require.Empty(t, c.Get("nosuchprovider").Items)
}

// publisher serves catalogs the way they are published: /{provider}/version
// and /{provider}/{version}/catalog.zip.
type publisher struct {
	version   atomic.Value
	downloads atomic.Int32
	csv       atomic.Value
}

func (p *publisher) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	v := p.version.Load().(string)
	switch r.URL.Path {
	case "/v3/aws/version":
		_, _ = w.Write([]byte(v + "\n"))
	case "/v3/aws/" + v + "/catalog.zip":
		p.downloads.Add(1)
		var buf bytes.Buffer
		zw := zip.NewWriter(&buf)
		f, _ := zw.Create("aws.csv")
		_, _ = f.Write([]byte(p.csv.Load().(string)))
		_ = zw.Close()
		_, _ = w.Write(buf.Bytes())
	default:
		http.NotFound(w, r)
	}
}

func TestRefresh(t *testing.T) {
	pub := &publisher{}
	pub.version.Store("20260101")
	pub.csv.Store(header + "p5.48xlarge,us-east-1,98.32,192,2048,8,H100,80,False,,nvidia,,x86,{}\n")
	srv := httptest.NewServer(pub)
	defer srv.Close()
	c := catalog.New(catalog.Options{URL: srv.URL + "/v3/"})
	ctx := context.Background()

	changed, err := c.Refresh(ctx, "aws")
	require.NoError(t, err)
	require.True(t, changed)
	p := c.Get("aws")
	require.Equal(t, "20260101", p.Version)
	require.Equal(t, "p5.48xlarge", p.Items[0].InstanceName)

	changed, err = c.Refresh(ctx, "aws")
	require.NoError(t, err)
	require.False(t, changed, "same version: nothing downloaded")
	require.EqualValues(t, 1, pub.downloads.Load())

	pub.version.Store("20260102")
	pub.csv.Store("not,a,catalog\n")
	_, err = c.Refresh(ctx, "aws")
	require.ErrorContains(t, err, "aws catalog 20260102")
	require.Equal(t, "20260101", c.Get("aws").Version, "a bad download keeps the current catalog")

	_, err = c.Refresh(ctx, "gcp")
	require.ErrorContains(t, err, "404 Not Found")
}
