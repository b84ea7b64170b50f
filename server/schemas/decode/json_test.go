package decode

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"reflect"
	"testing"

	"github.com/stretchr/testify/require"
)

// jsonToNodeTokens is the reference parser the fast one is checked against.
func jsonToNodeTokens(data []byte) (*Node, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	n, err := jsonValue(dec)
	if err != nil {
		return nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, fmt.Errorf("invalid JSON: trailing data after the value")
	}
	return n, nil
}

func jsonValue(dec *json.Decoder) (*Node, error) {
	tok, err := dec.Token()
	if err != nil {
		return nil, fmt.Errorf("invalid JSON: %w", err)
	}
	switch t := tok.(type) {
	case nil:
		return &Node{Kind: NullNode}, nil
	case bool:
		return &Node{Kind: BoolNode, Bool: t}, nil
	case string:
		return &Node{Kind: StringNode, Str: t}, nil
	case json.Number:
		n := numberNode(string(t))
		return &n, nil
	case json.Delim:
		if t == '[' {
			n := &Node{Kind: SeqNode}
			for dec.More() {
				item, err := jsonValue(dec)
				if err != nil {
					return nil, err
				}
				n.Items = append(n.Items, item)
			}
			_, err := dec.Token()
			return n, err
		}
		n := &Node{Kind: MapNode}
		for dec.More() {
			kt, err := dec.Token()
			if err != nil {
				return nil, fmt.Errorf("invalid JSON: %w", err)
			}
			val, err := jsonValue(dec)
			if err != nil {
				return nil, err
			}
			n.SetKey(kt.(string), 0, val)
		}
		_, err := dec.Token()
		return n, err
	}
	return nil, fmt.Errorf("invalid JSON token %v", tok)
}

// FuzzJSONScanner checks the fast parser against encoding/json's tokens:
// both accept the same documents and build the same trees.
func FuzzJSONScanner(f *testing.F) {
	for _, seed := range []string{`{"a": [1, 2.5, -3e2, true, false, null, "x\u00e9\n"]}`, `[]`, `{}`, `"s"`, `01`,
		`{"a":1,"a":2}`, `[1,]`, `{"k" 1}`, "\"\xff\"", `-`, `1e`, `{"a":{"b":{"c":[[]]}}}`, ` 7 `, `tru`} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		fast, ferr := ParseJSON(data)
		ref, rerr := jsonToNodeTokens(data)
		require.True(t, (ferr == nil) == (rerr == nil), "%q: fast err %v, reference err %v", data, ferr, rerr)
		require.False(t, ferr == nil && !reflect.DeepEqual(fast, ref), "%q: trees differ", data)
	})
}

// BenchmarkParseJSON compares the scanner with the reference parser built
// on encoding/json's token API, on the run specs of a runs/list answer (what
// every run submission and every stored spec read goes through).
func BenchmarkParseJSON(b *testing.B) {
	raw, err := os.ReadFile("../../../testdata/compat/responses/runs_list.json")
	if err != nil {
		b.Fatal(err)
	}
	var runs []struct {
		RunSpec json.RawMessage `json:"run_spec"`
	}
	if err := json.Unmarshal(raw, &runs); err != nil {
		b.Fatal(err)
	}
	for _, p := range []struct {
		name  string
		parse func([]byte) (*Node, error)
	}{{"scanner", ParseJSON}, {"tokens", jsonToNodeTokens}} {
		b.Run(p.name, func(b *testing.B) {
			for b.Loop() {
				for _, r := range runs {
					if _, err := p.parse(r.RunSpec); err != nil {
						b.Fatal(err)
					}
				}
			}
		})
	}
}
