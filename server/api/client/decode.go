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

// decodeList decodes a JSON array (or null) into a slice. Arrays of at least
// parallelFrom elements are cut into their elements with a scan of the bytes
// and decoded by one worker per core; the result and the errors are those of
// json.Unmarshal.
func decodeList[T any](data []byte) ([]T, error) {
	return decodeListWith(data, func(b []byte, v *T) error { return json.Unmarshal(b, v) })
}

// decodeListWith is decodeList with decode for each element.
func decodeListWith[T any](data []byte, decode func([]byte, *T) error) ([]T, error) {
	workers := runtime.GOMAXPROCS(0)
	elems, err := schemas.SplitJSONArray(data)
	if err != nil || workers < 2 || len(elems) < parallelFrom {
		var out []T
		return out, json.Unmarshal(data, &out)
	}
	if elems == nil {
		return nil, nil
	}
	out := make([]T, len(elems))
	errs := make([]error, len(elems))
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
