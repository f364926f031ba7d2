"""Chunker tests per language: symbols, qualified names and line ranges."""

from greenpatch.indexer.chunking import MAX_LINES, WINDOW_LINES, chunk_file
from greenpatch.indexer.types import Chunk


def _symbols(chunks: list[Chunk]) -> dict[str, tuple[int, int]]:
    return {c.symbol: (c.start_line, c.end_line) for c in chunks if c.symbol}


PY = '''import os

LIMIT = 3


@cache
def top(a):
    def helper():
        return 1
    return helper() + a


class Session(Base):
    """A session."""

    retries = 3

    def send(self, request):
        return request

    class Inner:
        def deep(self):
            pass
'''


def test_python_definitions_and_module_code() -> None:
    chunks = chunk_file("pkg/sessions.py", PY)
    symbols = _symbols(chunks)
    assert symbols["top"] == (6, 10)  # the decorator belongs to the function
    assert "helper" not in symbols and "top.helper" not in symbols  # stays inside top
    assert symbols["Session.send"] == (18, 19)
    assert symbols["Session.Inner.deep"] == (22, 23)
    header = next(c for c in chunks if c.symbol == "Session" and c.kind == "class")
    assert header.start_line == 13 and "retries = 3" in header.text
    module = next(c for c in chunks if c.kind == "module")
    assert (module.start_line, module.end_line) == (1, 3)
    assert all(c.path == "pkg/sessions.py" and c.language == "python" for c in chunks)


def test_every_nonblank_python_line_is_in_some_chunk() -> None:
    chunks = chunk_file("m.py", PY)
    covered = {n for c in chunks for n in range(c.start_line, c.end_line + 1)}
    lines = PY.split("\n")
    assert all(i + 1 in covered for i, line in enumerate(lines) if line.strip())


JS = """import x from 'y';

export function fetchUser(id) {
  return id;
}

const parseBody = (body) => JSON.parse(body);

class ApiClient {
  constructor(base) { this.base = base; }
  get(path) {
    return fetch(this.base + path);
  }
}
"""


def test_javascript() -> None:
    symbols = _symbols(chunk_file("src/api.js", JS))
    assert symbols["fetchUser"] == (3, 5)
    assert symbols["parseBody"] == (7, 7)
    assert symbols["ApiClient.constructor"] == (10, 10)
    assert symbols["ApiClient.get"] == (11, 13)


TS = """interface Shape {
  area(): number;
}

export class Circle implements Shape {
  constructor(private r: number) {}
  area(): number {
    return Math.PI * this.r ** 2;
  }
}

export const double = (n: number): number => n * 2;
"""


def test_typescript_and_tsx() -> None:
    symbols = _symbols(chunk_file("src/shapes.ts", TS))
    assert symbols["Circle.area"] == (7, 9)
    assert symbols["double"] == (12, 12)
    assert "Shape" in symbols
    tsx = "export function App() {\n  return <div>hi</div>;\n}\n"
    assert _symbols(chunk_file("src/App.tsx", tsx))["App"] == (1, 3)


GO = """package geo

type Point struct {
\tX, Y float64
}

func (p *Point) Scale(f float64) {
\tp.X *= f
}

func Origin() Point {
\treturn Point{}
}
"""


def test_go_methods_are_qualified_by_receiver() -> None:
    symbols = _symbols(chunk_file("geo/point.go", GO))
    assert symbols["Point"] == (3, 5)
    assert symbols["Point.Scale"] == (7, 9)
    assert symbols["Origin"] == (11, 13)


RUST = """use std::fmt;

pub struct Stack<T> {
    items: Vec<T>,
}

impl<T> Stack<T> {
    pub fn push(&mut self, item: T) {
        self.items.push(item);
    }
}

fn main() {}
"""


def test_rust_impl_methods() -> None:
    chunks = chunk_file("src/stack.rs", RUST)
    symbols = _symbols(chunks)
    struct = next(c for c in chunks if c.text.startswith("pub struct"))
    assert (struct.symbol, struct.start_line, struct.end_line) == ("Stack", 3, 5)
    assert symbols["Stack.push"] == (8, 10)
    assert symbols["main"] == (13, 13)


JAVA = """package a;

public class Greeter {
    private String name;

    public Greeter(String name) { this.name = name; }

    public String greet() {
        return "hi " + name;
    }
}
"""


def test_java() -> None:
    symbols = _symbols(chunk_file("src/Greeter.java", JAVA))
    assert symbols["Greeter.Greeter"] == (6, 6)
    assert symbols["Greeter.greet"] == (8, 10)
    header = [c for c in chunk_file("src/Greeter.java", JAVA) if c.symbol == "Greeter"]
    assert any("private String name" in c.text for c in header)


def test_other_text_uses_overlapping_windows() -> None:
    text = "\n".join(f"line {i}" for i in range(1, 301))
    chunks = chunk_file("docs/notes.md", text)
    assert all(c.kind == "window" and c.symbol == "" for c in chunks)
    assert chunks[0].start_line == 1 and chunks[0].end_line == WINDOW_LINES
    assert chunks[1].start_line < chunks[0].end_line  # overlap
    assert chunks[-1].end_line == 300


def test_long_function_is_split_but_keeps_its_symbol() -> None:
    body = "\n".join(f"    x{i} = {i}" for i in range(MAX_LINES + 50))
    chunks = chunk_file("big.py", f"def huge():\n{body}\n")
    assert len(chunks) > 1
    assert all(c.symbol == "huge" for c in chunks)


def test_syntax_errors_still_chunk() -> None:
    chunks = chunk_file("broken.py", "def ok():\n    return 1\n\ndef broken(:\n    pass\n")
    assert "ok" in _symbols(chunks)
    assert chunks  # nothing is lost


def test_keys_are_stable_when_lines_shift() -> None:
    before = {c.symbol: c.key() for c in chunk_file("m.py", PY)}
    after = {c.symbol: c.key() for c in chunk_file("m.py", "# new comment\n\n" + PY)}
    assert before["Session.send"] == after["Session.send"]
