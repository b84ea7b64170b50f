package schemas

import (
	"encoding/json"
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestJSONObjectField(t *testing.T) {
	doc := `{"a": 1, "retry": {"on_events": ["error"], "duration": 3600}, "s": "x\"}y", "n": null}`
	for key, want := range map[string]string{"a": "1", "retry": `{"on_events": ["error"], "duration": 3600}`, "s": `"x\"}y"`, "n": "null", "missing": ""} {
		got, err := JSONObjectField([]byte(doc), key)
		assert.False(t, err != nil || string(got) != want, "field %q: got %q, %v; want %q", key, got, err, want)
	}
	for _, bad := range []string{``, `[]`, `{"a" 1}`, `{"a": 1,`, `{"a": "open`, `{1: 2}`} {
		_, err := JSONObjectField([]byte(bad), "zz")
		assert.Error(t, err, "%q: no error", bad)
	}
	if got, err := JSONObjectField([]byte(` { } `), "a"); got != nil || err != nil {
		assert.Fail(t, fmt.Sprintf("empty object: %q, %v", got, err))
	}
}

func FuzzJSONObjectField(f *testing.F) {
	for _, s := range []string{`{"retry":null}`, `{"a":[1,{"retry":2}],"retry":3}`, `{"x":"\\"retry\\""}`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, doc string) {
		var m map[string]json.RawMessage
		if json.Unmarshal([]byte(doc), &m) != nil || m == nil {
			return // only valid objects are promised an answer
		}
		got, err := JSONObjectField([]byte(doc), "retry")
		require.NoError(t, err, "%q", doc)
		want, ok := m["retry"]
		if !ok {
			require.True(t, got == nil, "%q: found %q, json.Unmarshal sees no retry", doc, got)
			return
		}
		var a, b any
		require.False(t, json.Unmarshal(got, &a) != nil || json.Unmarshal(want, &b) != nil, "%q: got %q, want %q", doc, got, want)
	})
}
