package hostinfo

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// NvidiaSMIArgs are the nvidia-smi arguments whose output ParseNvidiaSMI reads.
var NvidiaSMIArgs = []string{"--query-gpu=name,memory.total,uuid,driver_version", "--format=csv,noheader,nounits"}

// AmdSMIArgs are the amd-smi arguments whose output ParseAmdSMI reads.
var AmdSMIArgs = []string{"static", "--json", "--asic", "--vram", "--bus", "--driver"}

// DetectGPUs runs nvidia-smi, else amd-smi, when present on PATH.
func DetectGPUs(ctx context.Context) []GPU {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	if _, err := exec.LookPath("nvidia-smi"); err == nil {
		if out, err := exec.CommandContext(ctx, "nvidia-smi", NvidiaSMIArgs...).Output(); err == nil {
			if gpus, err := ParseNvidiaSMI(out); err == nil {
				return gpus
			}
		}
	}
	if _, err := exec.LookPath("amd-smi"); err == nil {
		if out, err := exec.CommandContext(ctx, "amd-smi", AmdSMIArgs...).Output(); err == nil {
			if gpus, err := ParseAmdSMI(out); err == nil {
				return gpus
			}
		}
	}
	return []GPU{}
}

// ParseNvidiaSMI parses `nvidia-smi --query-gpu=name,memory.total[,uuid[,driver_version]]
// --format=csv,noheader,nounits` output (memory in MiB). Empty output means no GPUs.
func ParseNvidiaSMI(out []byte) ([]GPU, error) {
	r := csv.NewReader(strings.NewReader(string(out)))
	r.FieldsPerRecord = -1
	r.TrimLeadingSpace = true
	gpus := []GPU{}
	for {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			return gpus, nil
		}
		if err != nil {
			return nil, fmt.Errorf("parse nvidia-smi csv: %w", err)
		}
		if len(rec) < 2 || len(rec) > 4 {
			return nil, fmt.Errorf("parse nvidia-smi csv: %d fields, want 2 to 4", len(rec))
		}
		mib, err := strconv.Atoi(strings.TrimSpace(rec[1]))
		if err != nil {
			return nil, fmt.Errorf("parse nvidia-smi memory %q: %w", rec[1], err)
		}
		g := GPU{Vendor: VendorNvidia, Name: strings.TrimSpace(rec[0]), MemoryMiB: mib}
		if len(rec) > 2 {
			g.ID = strings.TrimSpace(rec[2])
		}
		if len(rec) > 3 {
			g.DriverVersion = normalizeVersion(rec[3])
		}
		if g.Name == "" {
			return nil, errors.New("parse nvidia-smi csv: empty GPU name")
		}
		gpus = append(gpus, g)
	}
}

func normalizeVersion(v string) string {
	v = strings.TrimSpace(v)
	switch strings.ToUpper(v) {
	case "N/A", "[N/A]", "UNKNOWN", "[NOT SUPPORTED]", "[NOT AVAILABLE]":
		return ""
	}
	return v
}

type amdGPU struct {
	Asic struct {
		MarketName string `json:"market_name"`
	} `json:"asic"`
	Vram struct {
		Size struct {
			Value json.Number `json:"value"`
			Unit  string      `json:"unit"`
		} `json:"size"`
	} `json:"vram"`
	Bus struct {
		BDF string `json:"bdf"`
	} `json:"bus"`
	Driver struct {
		Version string `json:"version"`
	} `json:"driver"`
}

// ParseAmdSMI parses `amd-smi static --json --asic --vram --bus --driver`
// output: a JSON array (ROCm 6) or {"gpu_data": [...]} (ROCm 7).
func ParseAmdSMI(out []byte) ([]GPU, error) {
	var list []amdGPU
	if err := json.Unmarshal(out, &list); err != nil {
		var wrapped struct {
			GpuData []amdGPU `json:"gpu_data"`
		}
		if err2 := json.Unmarshal(out, &wrapped); err2 != nil || wrapped.GpuData == nil {
			return nil, fmt.Errorf("parse amd-smi json: %w", err)
		}
		list = wrapped.GpuData
	}
	gpus := make([]GPU, 0, len(list))
	for _, a := range list {
		size, err := strconv.ParseFloat(a.Vram.Size.Value.String(), 64)
		if err != nil {
			return nil, fmt.Errorf("parse amd-smi vram %q: %w", a.Vram.Size.Value, err)
		}
		if strings.EqualFold(a.Vram.Size.Unit, "GB") {
			size *= 1024
		}
		gpus = append(gpus, GPU{
			Vendor: VendorAMD, Name: a.Asic.MarketName, MemoryMiB: int(size),
			RenderNode: renderNode(a.Bus.BDF), DriverVersion: normalizeVersion(a.Driver.Version),
		})
	}
	return gpus, nil
}

// renderNode finds /dev/dri/renderD<N> of a PCI device, "" if unknown.
func renderNode(bdf string) string {
	if bdf == "" {
		return ""
	}
	matches, _ := filepath.Glob(filepath.Join("/sys/bus/pci/devices", strings.ToLower(bdf), "drm", "renderD*"))
	if len(matches) == 0 {
		return ""
	}
	p := "/dev/dri/" + filepath.Base(matches[0])
	if _, err := os.Stat(p); err != nil {
		return ""
	}
	return p
}
