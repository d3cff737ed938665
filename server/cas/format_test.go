package cas

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"testing"
)

type docV1 struct {
	Name  string `json:"name"`
	Count int    `json:"count,omitempty"`
	Inner struct {
		A int `json:"a"`
	} `json:"inner"`
}

// A document a newer version wrote keeps the fields this version does not
// know when this version rewrites it; fields it knows follow its value,
// including those it omits (a cleared omitempty field is cleared).
func TestEncodeKeepsUnknownFields(t *testing.T) {
	old := []byte(`{"name":"a","count":3,"inner":{"a":1},"added_later":{"x":[1,2]},"also":"kept"}`)
	v := docV1{Name: "b"} // count cleared
	out, err := Encode(old, &v)
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]json.RawMessage
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatal(err)
	}
	if string(got["added_later"]) != `{"x":[1,2]}` || string(got["also"]) != `"kept"` {
		t.Errorf("unknown fields not kept: %s", out)
	}
	if string(got["name"]) != `"b"` || got["count"] != nil {
		t.Errorf("known fields not this version's: %s", out)
	}
	// Nothing unknown: the plain encoding.
	plain, _ := json.Marshal(&v)
	if out, _ := Encode([]byte(`{"name":"a","count":1}`), &v); string(out) != string(plain) {
		t.Errorf("no unknown fields: %s, want %s", out, plain)
	}
}

func TestEncodeRefusesANewerFormat(t *testing.T) {
	if _, err := Encode([]byte(`{"name":"a","fmt":2}`), &docV1{}); !errors.Is(err, ErrNewerFormat) {
		t.Errorf("newer format: %v", err)
	}
	if _, err := Encode([]byte(`{"name":"a","fmt":1}`), &docV1{}); err != nil {
		t.Errorf("this format: %v", err)
	}
	if !NewerFormat([]byte(`{"fmt":2}`)) || NewerFormat([]byte(`{"fmt":1}`)) || NewerFormat([]byte(`{"a":1}`)) {
		t.Error("NewerFormat")
	}
}

// memDocs is Docs over a map, for the helpers' own tests.
type memDocs struct {
	mu sync.Mutex
	m  map[string][]byte
}

func (d *memDocs) GetDoc(_ context.Context, name string) ([]byte, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.m[name], nil
}

func (d *memDocs) CompareAndSetDoc(_ context.Context, name string, old, next []byte) (bool, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	cur, ok := d.m[name]
	if old == nil && ok || old != nil && (!ok || string(cur) != string(old)) {
		return false, nil
	}
	if next == nil {
		delete(d.m, name)
	} else {
		d.m[name] = next
	}
	return true, nil
}

func TestUpdateKeepsUnknownFieldsAndRetries(t *testing.T) {
	ctx := context.Background()
	d := &memDocs{m: map[string][]byte{"doc": []byte(`{"name":"a","future":true}`)}}
	var wg sync.WaitGroup
	for range 20 {
		wg.Go(func() {
			if _, _, err := Update(ctx, d, "doc", func(v *docV1, _ bool) error { v.Count++; return nil }); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	v, ok, err := Load[docV1](ctx, d, "doc")
	if err != nil || !ok || v.Count != 20 {
		t.Fatalf("after 20 concurrent increments: %+v %v %v", v, ok, err)
	}
	if raw, _ := d.GetDoc(ctx, "doc"); !json.Valid(raw) || !contains(raw, `"future":true`) {
		t.Errorf("unknown field lost: %s", raw)
	}
	// Starting from bytes read earlier: one write when nothing changed.
	raw, _ := d.GetDoc(ctx, "doc")
	if _, wrote, err := UpdateFrom(ctx, d, "doc", raw, func(v *docV1, _ bool) error { v.Name = "z"; return nil }); err != nil || !wrote {
		t.Fatalf("update from fresh bytes: %v %v", wrote, err)
	}
	// From stale bytes: re-read and applied to the current document.
	if _, _, err := UpdateFrom(ctx, d, "doc", raw, func(v *docV1, _ bool) error { v.Count += 100; return nil }); err != nil {
		t.Fatal(err)
	}
	if v, _, _ := Load[docV1](ctx, d, "doc"); v.Name != "z" || v.Count != 120 {
		t.Errorf("stale start: %+v", v)
	}
	if _, _, err := Update(ctx, d, "doc", func(*docV1, bool) error { return ErrDelete }); err != nil {
		t.Fatal(err)
	}
	if raw, _ := d.GetDoc(ctx, "doc"); raw != nil {
		t.Errorf("not deleted: %s", raw)
	}
}

func contains(b []byte, s string) bool { return strings.Contains(string(b), s) }

// A version that raised the format stamps it on every document it writes,
// new ones included, and keeps writing its own documents.
func TestEncodeStampsARaisedFormat(t *testing.T) {
	defer func(f int) { Format = f }(Format)
	Format = 2
	out, err := Encode(nil, &docV1{Name: "a"})
	if err != nil || !strings.Contains(string(out), `"fmt":2`) {
		t.Fatalf("new document: %s, %v", out, err)
	}
	if out, err = Encode(out, &docV1{Name: "b"}); err != nil || !strings.Contains(string(out), `"fmt":2`) {
		t.Fatalf("rewritten document: %s, %v", out, err)
	}
	Format = 1
	if _, err := Encode(out, &docV1{}); !errors.Is(err, ErrNewerFormat) {
		t.Errorf("an older version rewrote a format-2 document: %v", err)
	}
}

// Fields a version adds to every document are written, and an older
// version's rewrite passes them on.
func TestAddedFieldsArePassedOn(t *testing.T) {
	defer func() { addedFields = nil }()
	addedFields = map[string]json.RawMessage{"probe": json.RawMessage(`"next"`)}
	out, err := Encode(nil, &docV1{Name: "a"})
	if err != nil || !strings.Contains(string(out), `"probe":"next"`) {
		t.Fatalf("new document: %s, %v", out, err)
	}
	addedFields = nil
	if out, err = Encode(out, &docV1{Name: "b"}); err != nil || !strings.Contains(string(out), `"probe":"next"`) || !strings.Contains(string(out), `"name":"b"`) {
		t.Errorf("older version's rewrite: %s, %v", out, err)
	}
}
