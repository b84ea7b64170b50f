// Package catalog reads instance offers from the catalog format that
// gpuhunt publishes and dstack servers use: one CSV per provider
// (`{provider}.csv`, format v2) inside `{base}/{provider}/{version}/catalog.zip`,
// the latest version named by `{base}/{provider}/version`. A Catalog starts
// from a snapshot embedded in the binary (so an air-gapped server still has
// offers), replaces it with the published catalog when it can download one,
// and checks for a newer version every 15 minutes.
package catalog

import (
	"archive/zip"
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/dstackgo/dstack/server/schemas"
)

// Item is one row of a provider's catalog: an instance type in a location,
// on-demand or spot, with its hourly price.
type Item struct {
	InstanceName string
	Location     string
	Price        float64
	CPUs         int
	MemoryGB     float64
	GPUCount     int
	GPUName      string
	GPUMemoryGB  float64
	// GPUVendor is lower case; rows without a vendor column are nvidia when
	// they have GPUs (google for "tpu-" names), as in gpuhunt.
	GPUVendor string
	Spot      bool
	// DiskGB is 0 when the disk size is configurable (the backend decides).
	DiskGB float64
	Flags  []string
	// CPUArch is "x86" or "arm".
	CPUArch string
}

// columns are the catalog v2 columns this reader needs.
var columns = []string{"instance_name", "location", "price", "cpu", "memory", "gpu_count", "gpu_name",
	"gpu_memory", "spot", "disk_size", "gpu_vendor", "flags", "cpu_arch"}

// Parse reads a catalog CSV. Malformed rows are skipped, as gpuhunt does,
// and counted in skipped; a file without the required header is an error.
func Parse(r io.Reader) (items []Item, skipped int, err error) {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1
	cr.ReuseRecord = true
	head, err := cr.Read()
	if err != nil {
		return nil, 0, fmt.Errorf("read catalog header: %w", err)
	}
	idx := make(map[string]int, len(head))
	for i, h := range head {
		idx[strings.TrimSpace(h)] = i
	}
	col := make([]int, len(columns))
	for i, c := range columns {
		j, ok := idx[c]
		if !ok && i < 9 { // gpu_vendor, flags, cpu_arch and disk_size are newer or optional
			return nil, 0, fmt.Errorf("catalog header has no %q column", c)
		}
		if !ok {
			j = -1
		}
		col[i] = j
	}
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			return items, skipped, nil
		}
		if err != nil {
			var pe *csv.ParseError
			if errors.As(err, &pe) {
				skipped++
				continue
			}
			return nil, skipped, fmt.Errorf("read catalog: %w", err)
		}
		it, err := parseRow(rec, col)
		if err != nil {
			skipped++
			continue
		}
		items = append(items, it)
	}
}

func parseRow(rec []string, col []int) (Item, error) {
	get := func(i int) string {
		if col[i] < 0 || col[i] >= len(rec) {
			return ""
		}
		return strings.TrimSpace(rec[col[i]])
	}
	var it Item
	var err error
	it.InstanceName, it.Location = strings.Clone(get(0)), strings.Clone(get(1))
	if it.InstanceName == "" || it.Location == "" {
		return it, errors.New("instance_name and location are required")
	}
	if it.Price, err = strconv.ParseFloat(get(2), 64); err != nil {
		return it, err
	}
	if it.CPUs, err = strconv.Atoi(get(3)); err != nil {
		return it, err
	}
	if it.MemoryGB, err = strconv.ParseFloat(get(4), 64); err != nil {
		return it, err
	}
	if it.GPUCount, err = strconv.Atoi(get(5)); err != nil {
		return it, err
	}
	it.GPUName = strings.Clone(get(6))
	if v := get(7); v != "" {
		if it.GPUMemoryGB, err = strconv.ParseFloat(v, 64); err != nil {
			return it, err
		}
	}
	switch strings.ToLower(get(8)) {
	case "true":
		it.Spot = true
	case "false":
	default:
		return it, fmt.Errorf("spot %q is not a boolean", get(8))
	}
	if v := get(9); v != "" {
		if it.DiskGB, err = strconv.ParseFloat(v, 64); err != nil {
			return it, err
		}
	}
	it.GPUVendor = strings.ToLower(get(10))
	if strings.HasPrefix(it.GPUName, "tpu-") {
		it.GPUName = it.GPUName[4:]
		if it.GPUVendor == "" {
			it.GPUVendor = "google"
		}
	} else if it.GPUVendor == "" && it.GPUCount > 0 {
		it.GPUVendor = "nvidia"
	}
	if f := get(11); f != "" {
		it.Flags = strings.Fields(f)
	}
	it.CPUArch = strings.ToLower(get(12))
	if it.CPUArch == "" {
		it.CPUArch = "x86"
	}
	return it, nil
}

// ParseZip reads `{provider}.csv` from a catalog.zip.
func ParseZip(data []byte, provider string) ([]Item, int, error) {
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		return nil, 0, fmt.Errorf("open catalog.zip: %w", err)
	}
	f, err := zr.Open(provider + ".csv")
	if err != nil {
		return nil, 0, fmt.Errorf("catalog.zip has no %s.csv: %w", provider, err)
	}
	defer f.Close()
	return Parse(f)
}

// supportedFlags are the flags of catalog rows this server can use; rows
// with any other flag are meant for newer servers and are hidden.
var supportedFlags = map[string]bool{"oci-spot": true, "lambda-arm": true, "gcp-a4": true, "gcp-g4": true,
	"gcp-dws-calendar-mode": true, "runpod-cpu": true, "runpod-cluster": true}

// Usable reports whether every flag of the item is one this server supports.
func (it *Item) Usable() bool {
	for _, f := range it.Flags {
		if !supportedFlags[f] {
			return false
		}
	}
	return true
}

// Offer turns the item into an offer of backend (availability unknown; a
// disk of 0 when the catalog leaves the size to the backend).
func (it *Item) Offer(backend string) schemas.InstanceOffer {
	res := schemas.Resources{CPUs: it.CPUs, MemoryMiB: int(it.MemoryGB*1024 + 0.5), Gpus: []schemas.Gpu{}, Spot: it.Spot,
		Disk: schemas.Disk{SizeMiB: int(it.DiskGB*1024 + 0.5)}}
	arch := it.CPUArch
	res.CPUArch = &arch
	if it.GPUCount > 0 {
		g := schemas.Gpu{Name: it.GPUName, MemoryMiB: int(it.GPUMemoryGB*1024 + 0.5)}
		if it.GPUVendor != "" {
			v := it.GPUVendor
			g.Vendor = &v
		}
		res.Gpus = make([]schemas.Gpu, it.GPUCount)
		for i := range res.Gpus {
			res.Gpus[i] = g
		}
	}
	return schemas.InstanceOffer{Backend: backend, Instance: schemas.InstanceType{Name: it.InstanceName, Resources: res},
		Region: it.Location, Price: it.Price, BackendData: []byte("{}"), Availability: schemas.AvailabilityUnknown,
		AvailabilityZones: nil, InstanceRuntime: "shim", Blocks: 1, TotalBlocks: 1}
}
