package webconfig

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strings"
)

// maxFile bounds the input: a web.config is tens of kilobytes.
const maxFile = 8 << 20

// maxDepth bounds element nesting, so a hostile file cannot make the
// reader recurse without end.
const maxDepth = 100

// element is one XML element: its name, its attributes in file order and
// its child elements. Text is not kept: web.config settings live in
// attributes.
type element struct {
	name     string
	attrs    []xml.Attr
	children []*element
	line     int
}

// attr returns the value of the attribute called name, compared without
// regard to case as .NET configuration does, and whether it was present.
func (e *element) attr(name string) (string, bool) {
	for _, a := range e.attrs {
		if a.Name.Space == "" && strings.EqualFold(a.Name.Local, name) {
			return a.Value, true
		}
	}
	return "", false
}

// child returns the first child element called name (case ignored).
func (e *element) child(name string) *element {
	for _, c := range e.children {
		if strings.EqualFold(c.name, name) {
			return c
		}
	}
	return nil
}

// find returns the first element called name in document order, at any
// depth below e (e itself included).
func (e *element) find(name string) *element {
	if strings.EqualFold(e.name, name) {
		return e
	}
	for _, c := range e.children {
		if f := c.find(name); f != nil {
			return f
		}
	}
	return nil
}

// collection applies a .NET configuration collection's <add>, <remove>
// and <clear/> children in order and returns the <add> elements left.
// key names the attribute <remove> matches on.
func (e *element) collection(key string) []*element {
	var out []*element
	for _, c := range e.children {
		switch strings.ToLower(c.name) {
		case "add":
			out = append(out, c)
		case "clear":
			out = nil
		case "remove":
			v, _ := c.attr(key)
			kept := out[:0]
			for _, a := range out {
				if av, _ := a.attr(key); !strings.EqualFold(av, v) {
					kept = append(kept, a)
				}
			}
			out = kept
		}
	}
	return out
}

// parse reads an XML document into a tree of elements.
func parse(data []byte) (*element, error) {
	if len(data) > maxFile {
		return nil, fmt.Errorf("larger than %d bytes: not a web.config", maxFile)
	}
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf")) // Visual Studio writes a UTF-8 byte order mark
	if bytes.HasPrefix(data, []byte("\xff\xfe")) || bytes.HasPrefix(data, []byte("\xfe\xff")) {
		return nil, errors.New("the file is UTF-16; save it as UTF-8 and run again")
	}
	d := xml.NewDecoder(bytes.NewReader(data))
	d.CharsetReader = func(charset string, r io.Reader) (io.Reader, error) {
		switch strings.ToLower(charset) {
		case "utf-8", "utf8", "us-ascii", "ascii":
			return r, nil
		}
		return nil, fmt.Errorf("encoding %q: save the file as UTF-8 and run again", charset)
	}
	root := &element{}
	stack := []*element{root}
	line, counted := 1, 0 // the line of the byte at offset counted
	for {
		// An element's line is where its start tag begins, which a
		// multi-line <openIdConnect …> makes worth the bookkeeping.
		off := int(d.InputOffset())
		if off > counted && off <= len(data) {
			line += bytes.Count(data[counted:off], []byte("\n"))
			counted = off
		}
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("not well-formed XML: %w", err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if len(stack) > maxDepth {
				return nil, fmt.Errorf("elements nested deeper than %d", maxDepth)
			}
			e := &element{name: t.Name.Local, attrs: t.Attr, line: line}
			parent := stack[len(stack)-1]
			parent.children = append(parent.children, e)
			stack = append(stack, e)
		case xml.EndElement:
			stack = stack[:len(stack)-1]
		}
	}
	if len(root.children) == 0 {
		return nil, errors.New("no XML element found")
	}
	return root, nil
}
