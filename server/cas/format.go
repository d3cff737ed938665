package cas

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strconv"
	"strings"
	"sync"
)

// Rolling upgrades. The nodes of a cluster can run two versions of the
// plugin for a while, over one store; a node must never drop what a newer
// one stored. Two rules keep it so:
//
//   - A document is re-encoded with every top-level field the newer
//     version wrote and this one does not know (Encode): new state goes
//     into new top-level fields, and an older node passes it on.
//   - A newer version that must change the meaning of existing fields
//     raises the format number it writes ("fmt", see Format). An older
//     node refuses to write such a document (ErrNewerFormat) and its
//     workers leave it to the newer nodes, instead of overwriting what it
//     cannot read.

// Format is the format number of the documents this version writes. Raise
// it only for a change older versions would corrupt; adding fields needs
// no new number.
var Format = 1

// formatField carries a document's format number, when above 1.
const formatField = "fmt"

// ErrNewerFormat: the document was written by a newer version of the
// plugin in a format this one cannot safely rewrite.
var ErrNewerFormat = &newerFormatError{}

type newerFormatError struct{}

func (*newerFormatError) Error() string {
	return "this record was written by a newer version of the incident bot; it is changed by the upgraded servers only, so try again once every server runs the new version"
}

// Encode marshals v as the next version of the document old (nil: a new
// one): the top-level fields of old that v's type does not know are kept,
// a document of a newer format is refused with ErrNewerFormat, and a
// format above 1 is stamped on what it writes.
func Encode(old []byte, v any) ([]byte, error) {
	next, err := json.Marshal(v)
	if err != nil || len(next) == 0 || next[0] != '{' {
		return next, err
	}
	add := stamp()
	if len(old) > 0 && old[0] == '{' {
		var prev map[string]json.RawMessage
		if json.Unmarshal(old, &prev) == nil {
			if f, ok := prev[formatField]; ok && formatOf(f) > Format {
				return nil, ErrNewerFormat
			}
			known := knownFields(reflect.TypeOf(v))
			for k, raw := range prev {
				if _, ours := add[k]; !known[k] && !ours {
					if add == nil {
						add = map[string]json.RawMessage{}
					}
					add[k] = raw
				}
			}
		}
	}
	if len(add) == 0 {
		return next, nil
	}
	var cur map[string]json.RawMessage
	if err := json.Unmarshal(next, &cur); err != nil {
		return nil, err
	}
	for k, raw := range add {
		if _, set := cur[k]; !set {
			cur[k] = raw
		}
	}
	return json.Marshal(cur)
}

// addedFields are top-level fields this version writes into every
// document beyond its types' own: none in a release. The rolling-upgrade
// test builds a bundle that adds one (build tag upgradeprobe), to run as
// the next version of the plugin beside this one.
var addedFields map[string]json.RawMessage

// stamp returns the fields Encode adds to every document: the format
// number when above 1 and addedFields (nil when there are none).
func stamp() map[string]json.RawMessage {
	if Format <= 1 && len(addedFields) == 0 {
		return nil
	}
	m := make(map[string]json.RawMessage, len(addedFields)+1)
	for k, v := range addedFields {
		m[k] = v
	}
	if Format > 1 {
		m[formatField] = json.RawMessage(strconv.Itoa(Format))
	}
	return m
}

// NewerFormat reports whether the document raw is of a format newer than
// this version writes.
func NewerFormat(raw []byte) bool {
	if !bytes.Contains(raw, []byte(`"`+formatField+`"`)) {
		return false
	}
	var head struct {
		Fmt json.RawMessage `json:"fmt"`
	}
	return json.Unmarshal(raw, &head) == nil && formatOf(head.Fmt) > Format
}

func formatOf(raw json.RawMessage) int {
	var n int
	if json.Unmarshal(raw, &n) != nil {
		return 0
	}
	return n
}

var fieldsByType sync.Map // reflect.Type -> map[string]bool

// knownFields returns the JSON names of t's top-level fields, those of
// embedded structs included, as encoding/json names them (case-folded
// matching is what decoding does, but encoding writes these names).
func knownFields(t reflect.Type) map[string]bool {
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t == nil || t.Kind() != reflect.Struct {
		return map[string]bool{}
	}
	if m, ok := fieldsByType.Load(t); ok {
		return m.(map[string]bool)
	}
	m := map[string]bool{formatField: true}
	var walk func(t reflect.Type)
	walk = func(t reflect.Type) {
		for i := range t.NumField() {
			f := t.Field(i)
			tag := f.Tag.Get("json")
			if tag == "-" {
				continue
			}
			name, _, _ := strings.Cut(tag, ",")
			if f.Anonymous && name == "" {
				ft := f.Type
				if ft.Kind() == reflect.Pointer {
					ft = ft.Elem()
				}
				if ft.Kind() == reflect.Struct {
					walk(ft)
					continue
				}
			}
			if !f.IsExported() {
				continue
			}
			if name == "" {
				name = f.Name
			}
			m[name] = true
		}
	}
	walk(t)
	fieldsByType.Store(t, m)
	return m
}
