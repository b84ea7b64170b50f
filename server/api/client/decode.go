package client

import (
	"encoding/json"
	"fmt"
	"runtime"
	"sync"

	"github.com/dstackgo/dstack/server/schemas"
)

// parallelFrom is the length from which an array is decoded on several cores.
const parallelFrom = 16

// unmarshal is json.Unmarshal for one element of a list.
func unmarshal[T any](b []byte, v *T) error { return json.Unmarshal(b, v) }

// decodeList decodes a JSON array (or null) into a slice, each element with
// decode. Arrays of at least parallelFrom elements are decoded by one worker
// per core; the array is cut into its elements by a scan of the bytes, and
// input that is not an array gets json.Unmarshal's error.
func decodeList[T any](data []byte, decode func([]byte, *T) error) ([]T, error) {
	elems, err := schemas.SplitJSONArray(data)
	if err != nil {
		var out []T
		if err := json.Unmarshal(data, &out); err != nil {
			return nil, err
		}
		return nil, fmt.Errorf("not a JSON array: %w", err)
	}
	if elems == nil {
		return nil, nil
	}
	out := make([]T, len(elems))
	errs := make([]error, len(elems))
	workers := runtime.GOMAXPROCS(0)
	if len(elems) < parallelFrom {
		workers = 1
	}
	var wg sync.WaitGroup
	per := (len(elems) + workers - 1) / workers
	for w := 0; w*per < len(elems); w++ {
		lo, hi := w*per, min((w+1)*per, len(elems))
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := lo; i < hi; i++ {
				errs[i] = decode(elems[i], &out[i])
			}
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			return nil, fmt.Errorf("element %d: %w", i, err)
		}
	}
	return out, nil
}
