package client

import (
	"encoding/json"
	"errors"
	"fmt"
	"runtime"
	"sync"
)

// parallelFrom is the length from which an array is decoded on several cores.
const parallelFrom = 16

// decodeList decodes a JSON array (or null) into a slice. Arrays of at least
// parallelFrom elements are cut into their elements with a scan of the bytes
// and decoded by one worker per core; the result and the errors are those of
// json.Unmarshal.
func decodeList[T any](data []byte) ([]T, error) {
	workers := runtime.GOMAXPROCS(0)
	elems, err := splitArray(data)
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
				errs[i] = json.Unmarshal(elems[i], &out[i])
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

var errNotArray = errors.New("not a JSON array")

// splitArray returns the elements of a top-level JSON array as sub-slices of
// data (nil for null). It only finds the boundaries: strings, brackets and
// commas; each element is still validated when it is decoded.
func splitArray(data []byte) ([][]byte, error) {
	i := skipSpace(data, 0)
	if i+4 <= len(data) && string(data[i:i+4]) == "null" && skipSpace(data, i+4) == len(data) {
		return nil, nil
	}
	if i >= len(data) || data[i] != '[' {
		return nil, errNotArray
	}
	i = skipSpace(data, i+1)
	if i < len(data) && data[i] == ']' {
		if skipSpace(data, i+1) != len(data) {
			return nil, errNotArray
		}
		return [][]byte{}, nil
	}
	var elems [][]byte
	for {
		start := i
		end, err := skipValue(data, i)
		if err != nil {
			return nil, err
		}
		elems = append(elems, data[start:end])
		i = skipSpace(data, end)
		if i >= len(data) {
			return nil, errNotArray
		}
		switch data[i] {
		case ',':
			i = skipSpace(data, i+1)
		case ']':
			if skipSpace(data, i+1) != len(data) {
				return nil, errNotArray
			}
			return elems, nil
		default:
			return nil, errNotArray
		}
	}
}

func skipSpace(data []byte, i int) int {
	for i < len(data) && (data[i] == ' ' || data[i] == '\t' || data[i] == '\n' || data[i] == '\r') {
		i++
	}
	return i
}

// skipValue returns the end of the value starting at data[i]: past its
// closing bracket or quote, or past the run of scalar characters.
func skipValue(data []byte, i int) (int, error) {
	depth := 0
	for i < len(data) {
		switch c := data[i]; c {
		case '"':
			i++
			for i < len(data) && data[i] != '"' {
				if data[i] == '\\' {
					i++
				}
				i++
			}
			if i >= len(data) {
				return 0, errNotArray
			}
			i++
		case '{', '[':
			depth++
			i++
		case '}', ']':
			if depth == 0 {
				return i, nil
			}
			depth--
			i++
		case ',':
			if depth == 0 {
				return i, nil
			}
			i++
		default:
			i++
		}
		if depth == 0 && i < len(data) && (data[i-1] == '"' || data[i-1] == '}' || data[i-1] == ']') {
			return i, nil
		}
	}
	if depth != 0 {
		return 0, errNotArray
	}
	return i, nil
}
