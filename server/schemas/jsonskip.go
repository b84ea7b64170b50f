package schemas

import (
	"bytes"
	"encoding/json"
	"errors"
)

// Finding values in JSON without decoding it: the boundaries of a top-level
// array's elements (to decode them in parallel) and one field of an object
// (to read it out of a stored spec).

var errNotJSON = errors.New("malformed JSON")
var errNotObject = errors.New("not a JSON object")

// SplitJSONArray returns the elements of a top-level JSON array as sub-slices of
// data (nil for null). It only finds the boundaries: strings, brackets and
// commas; each element is still validated when it is decoded.
func SplitJSONArray(data []byte) ([][]byte, error) {
	i := skipSpace(data, 0)
	if i+4 <= len(data) && string(data[i:i+4]) == "null" && skipSpace(data, i+4) == len(data) {
		return nil, nil
	}
	if i >= len(data) || data[i] != '[' {
		return nil, errNotJSON
	}
	i = skipSpace(data, i+1)
	if i < len(data) && data[i] == ']' {
		if skipSpace(data, i+1) != len(data) {
			return nil, errNotJSON
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
		var done bool
		if i, done, err = nextMember(data, end, ']'); err != nil {
			return nil, err
		}
		if done {
			if skipSpace(data, i) != len(data) {
				return nil, errNotJSON
			}
			return elems, nil
		}
	}
}

// nextMember reads what follows a member of an array or object ending at
// i: a ',' (more members follow at next) or the closing delimiter (done,
// next is past it).
func nextMember(data []byte, i int, closing byte) (next int, done bool, err error) {
	i = skipSpace(data, i)
	if i < len(data) {
		switch data[i] {
		case ',':
			return skipSpace(data, i+1), false, nil
		case closing:
			return i + 1, true, nil
		}
	}
	return 0, false, errNotJSON
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
				return 0, errNotJSON
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
		return 0, errNotJSON
	}
	return i, nil
}

// JSONObjectField returns the raw value of key in a JSON object (the last
// one, as encoding/json), or nil when the object has no such key. It skips
// the other values without decoding them.
func JSONObjectField(data []byte, key string) ([]byte, error) {
	vals, err := JSONObjectFields(data, key)
	if err != nil {
		return nil, err
	}
	return vals[0], nil
}

// JSONObjectFields is JSONObjectField for several keys in one pass; the
// values come in the order of keys.
func JSONObjectFields(data []byte, keys ...string) ([][]byte, error) {
	found := make([][]byte, len(keys))
	i := skipSpace(data, 0)
	if i >= len(data) || data[i] != '{' {
		return nil, errNotObject
	}
	i = skipSpace(data, i+1)
	if i < len(data) && data[i] == '}' {
		return found, nil
	}
	for {
		if i >= len(data) || data[i] != '"' {
			return nil, errNotObject
		}
		kEnd, err := skipValue(data, i)
		if err != nil {
			return nil, err
		}
		raw := data[i:kEnd]
		i = skipSpace(data, kEnd)
		if i >= len(data) || data[i] != ':' {
			return nil, errNotObject
		}
		i = skipSpace(data, i+1)
		vEnd, err := skipValue(data, i)
		if err != nil {
			return nil, err
		}
		if k := rawKeyIndex(raw, keys); k >= 0 {
			found[k] = data[i:vEnd]
		}
		var done bool
		if i, done, err = nextMember(data, vEnd, '}'); err != nil {
			return nil, err
		} else if done {
			return found, nil
		}
	}
}

// rawKeyIndex finds the quoted key raw among keys; escaped keys are decoded
// first.
func rawKeyIndex(raw []byte, keys []string) int {
	name := raw[1 : len(raw)-1]
	if bytes.IndexByte(name, '\\') >= 0 {
		var k string
		if json.Unmarshal(raw, &k) != nil {
			return -1
		}
		name = []byte(k)
	}
	for i, k := range keys {
		if string(name) == k {
			return i
		}
	}
	return -1
}
