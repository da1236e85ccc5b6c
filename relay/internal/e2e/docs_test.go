package e2e_test

import (
	"io/fs"
	"os"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/hookrelay/hookrelay/relay/client"
	"github.com/hookrelay/hookrelay/relay/web"
)

// docs/client.md must describe the API that exists: these checks read the
// doc's code blocks and tables and compare every name they use with
// hookrelay.js, hookrelay.d.ts and relay/client (TestE2EDocExamples runs
// the plain-JavaScript examples in a browser on top).

func readStatic(t *testing.T, name string) string {
	t.Helper()
	b, err := fs.ReadFile(web.Files(), name)
	if err != nil {
		t.Fatalf("read %s: %v", name, err)
	}
	return string(b)
}

// codeBlocks returns the fenced blocks of the given languages.
func codeBlocks(doc string, langs ...string) []string {
	re := regexp.MustCompile("(?s)\n```(\\w*)\n(.*?)\n```")
	var out []string
	for _, m := range re.FindAllStringSubmatch(doc, -1) {
		if slices.Contains(langs, m[1]) {
			out = append(out, m[2])
		}
	}
	return out
}

// between returns the text from the first line after start up to end.
func between(t *testing.T, s, start, end string) string {
	t.Helper()
	i := strings.Index(s, start)
	if i < 0 {
		t.Fatalf("%q not found", start)
	}
	s = s[i+len(start):]
	j := strings.Index(s, end)
	if j < 0 {
		t.Fatalf("%q not found after %q", end, start)
	}
	return s[:j]
}

func matches(re, s string) []string {
	var out []string
	for _, m := range regexp.MustCompile(re).FindAllStringSubmatch(s, -1) {
		out = append(out, m[1])
	}
	return out
}

// literalKeys returns the keys of every object (or Go composite) literal
// that follows opener (e.g. "connect({") in code: the leading identifier of
// each top-level entry, "key: value" or shorthand "key". Strings and line
// comments are blanked first so their content does not count.
func literalKeys(code, opener string) []string {
	code = regexp.MustCompile("\"(?:[^\"\\\\\n]|\\\\.)*\"|'(?:[^'\\\\\n]|\\\\.)*'|`[^`]*`").ReplaceAllString(code, `""`)
	code = regexp.MustCompile(`//[^\n]*`).ReplaceAllString(code, "")
	entryRE := regexp.MustCompile(`^\s*([A-Za-z_]\w*)\s*(?::|$)`)
	var keys []string
	for rest := code; ; {
		i := strings.Index(rest, opener)
		if i < 0 {
			return keys
		}
		rest = rest[i+len(opener):]
		var top strings.Builder // the literal's text without nested brackets
		depth := 0
	scan:
		for _, c := range rest {
			switch c {
			case '{', '[', '(':
				depth++
				continue
			case '}', ']', ')':
				if depth--; depth < 0 {
					break scan
				}
				continue
			}
			if depth == 0 {
				top.WriteRune(c)
			}
		}
		for _, entry := range strings.Split(top.String(), ",") {
			if m := entryRE.FindStringSubmatch(entry); m != nil {
				keys = append(keys, m[1])
			}
		}
	}
}

func TestClientDocMatchesAPI(t *testing.T) {
	b, err := os.ReadFile(clientDoc)
	if err != nil {
		t.Fatalf("read %s: %v", clientDoc, err)
	}
	doc := string(b)
	js := readStatic(t, "hookrelay.js")
	dts := readStatic(t, "hookrelay.d.ts")
	jsBlocks := strings.Join(codeBlocks(doc, "html", "js", "jsx"), "\n")
	if jsBlocks == "" {
		t.Fatal("no JavaScript examples found")
	}

	exports := matches(`(?m)^export (?:class|function|async function|const) (\w+)`, js)
	global := between(t, string(web.GlobalScript([]byte(js))), "window.hookrelay = {", "}")
	for _, name := range exports {
		if !regexp.MustCompile(`(?m)^export (?:class|function) ` + name + `\b`).MatchString(dts) {
			t.Errorf("hookrelay.d.ts does not declare %s", name)
		}
	}
	for _, list := range matches(`import \{([^}]*)\} from "[^"]*hookrelay\.js"`, jsBlocks) {
		for _, name := range strings.Split(list, ",") {
			if name = strings.TrimSpace(name); !slices.Contains(exports, name) {
				t.Errorf("docs import %q, which hookrelay.js does not export (exports: %v)", name, exports)
			}
		}
	}
	for _, name := range matches(`\bhookrelay\.(\w+)\(`, jsBlocks) {
		if !strings.Contains(global, " "+name+",") && !strings.Contains(global, " "+name+" ") {
			t.Errorf("docs call hookrelay.%s, which window.hookrelay lacks (%s)", name, global)
		}
	}

	// Options: hookrelay.js's DEFAULTS, the d.ts interface and the doc's
	// table list the same names, and the examples use only those.
	jsOpts := matches(`(?m)^\s+(\w+):`, between(t, js, "const DEFAULTS = {", "\n};"))
	dtsOpts := matches(`(?m)^\s+(\w+)\??:`, between(t, dts, "export interface Options {", "\n}"))
	docOpts := matches("(?m)^\\| `(\\w+)` \\|", between(t, doc, "### `connect(options)`", "\n### "))
	slices.Sort(jsOpts)
	slices.Sort(dtsOpts)
	slices.Sort(docOpts)
	if !slices.Equal(jsOpts, dtsOpts) || !slices.Equal(jsOpts, docOpts) {
		t.Errorf("options differ:\n hookrelay.js %v\n d.ts         %v\n docs         %v", jsOpts, dtsOpts, docOpts)
	}
	used := literalKeys(jsBlocks, "connect({")
	t.Logf("options the examples pass to connect(): %v", used)
	if len(used) < 5 {
		t.Errorf("found only options %v in the examples' connect() calls: the scan is broken", used)
	}
	for _, k := range used {
		if !slices.Contains(jsOpts, k) {
			t.Errorf("an example passes option %q, which hookrelay.js does not have", k)
		}
	}

	// Methods called on a client exist in the declarations.
	methods := matches(`(?m)^  (\w+)(?:<[^>]*>)?\(`, between(t, dts, "export class Client {", "\n}"))
	for _, m := range matches(`\b(?:client|clientRef\.current)\.(\w+)\(`, jsBlocks) {
		if !slices.Contains(methods, m) {
			t.Errorf("an example calls client.%s, which Client does not declare (%v)", m, methods)
		}
	}
	// States in the doc's table are the declared ones.
	states := matches(`"(\w+)"`, between(t, dts, "export type State =", ";"))
	for _, s := range matches("(?m)^\\| `\"(\\w+)\"`", between(t, doc, "### States and notifications", "\n### ")) {
		if !slices.Contains(states, s) && s != "truncated" && s != "error" {
			t.Errorf("docs list state %q, not in hookrelay.d.ts's State %v", s, states)
		}
	}

	// The Go examples use fields and methods relay/client has.
	goBlocks := strings.Join(codeBlocks(doc, "go"), "\n")
	for typ, v := range map[string]any{"client.Options{": client.Options{}, "client.Message{": client.Message{}, "client.Publisher{": client.Publisher{}} {
		keys := literalKeys(goBlocks, typ)
		t.Logf("%s…}: %v", typ, keys)
		if len(keys) == 0 {
			t.Errorf("no %s… in the Go examples", typ)
		}
		for _, k := range keys {
			if _, ok := reflect.TypeOf(v).FieldByName(k); !ok {
				t.Errorf("Go example sets %s%s}, which does not exist", typ, k)
			}
		}
	}
	for _, m := range matches(`\bsub\.(\w+)\(`, goBlocks+doc) {
		if _, ok := reflect.TypeOf(&client.Subscriber{}).MethodByName(m); !ok {
			t.Errorf("docs call sub.%s on *client.Subscriber, which has no such method", m)
		}
	}
}
