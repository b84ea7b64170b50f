package schemas

import (
	"encoding/json"
	"testing"
)

func TestJSONObjectField(t *testing.T) {
	doc := `{"a": 1, "retry": {"on_events": ["error"], "duration": 3600}, "s": "x\"}y", "n": null}`
	for key, want := range map[string]string{"a": "1", "retry": `{"on_events": ["error"], "duration": 3600}`, "s": `"x\"}y"`, "n": "null", "missing": ""} {
		got, err := JSONObjectField([]byte(doc), key)
		if err != nil || string(got) != want {
			t.Errorf("field %q: got %q, %v; want %q", key, got, err, want)
		}
	}
	for _, bad := range []string{``, `[]`, `{"a" 1}`, `{"a": 1,`, `{"a": "open`, `{1: 2}`} {
		if _, err := JSONObjectField([]byte(bad), "zz"); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
	if got, err := JSONObjectField([]byte(` { } `), "a"); got != nil || err != nil {
		t.Errorf("empty object: %q, %v", got, err)
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
		if err != nil {
			t.Fatalf("%q: %v", doc, err)
		}
		want, ok := m["retry"]
		if !ok {
			if got != nil {
				t.Fatalf("%q: found %q, json.Unmarshal sees no retry", doc, got)
			}
			return
		}
		var a, b any
		if json.Unmarshal(got, &a) != nil || json.Unmarshal(want, &b) != nil {
			t.Fatalf("%q: got %q, want %q", doc, got, want)
		}
	})
}
