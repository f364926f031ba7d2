"""Tree-sitter grammars and, per language, which nodes are definitions.

Grammars come from the tree-sitter project's own PyPI wheels (tree-sitter-python, ...),
which ship compiled parsers; nothing is downloaded at run time.
"""

from __future__ import annotations

import importlib
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from typing import Any

log = logging.getLogger(__name__)

Node = Any  # tree_sitter.Node; tree-sitter is imported lazily


def _field_text(node: Node, name: str) -> str:
    child = node.child_by_field_name(name)
    return child.text.decode("utf-8", "replace") if child is not None and child.text else ""


def _go_receiver(node: Node) -> str:
    # `func (p *Point) Scale()` is qualified as Point.Scale.
    recv = node.child_by_field_name("receiver")
    if recv is None or recv.text is None:
        return ""
    words = recv.text.decode("utf-8", "replace").strip("()").replace("*", " ").split()
    return words[-1].split("[")[0] if words else ""


def _go_type(node: Node) -> str:
    for child in node.named_children:
        if child.type in ("type_spec", "type_alias"):
            return _field_text(child, "name")
    return ""


def _rust_impl(node: Node) -> str:
    # `impl<T> Display for Stack<T>` is qualified as Stack, like the struct.
    return _field_text(node, "type").split("<")[0]


def _js_variable(node: Node) -> str:
    value = node.child_by_field_name("value")
    functions = ("arrow_function", "function_expression", "function", "class")
    return _field_text(node, "name") if value is not None and value.type in functions else ""


@dataclass(frozen=True)
class Definition:
    """How to recognise one kind of definition node."""

    kind: str  # "function" or "class" (a container whose nested definitions are chunked)
    name: Callable[[Node], str] = lambda n: _field_text(n, "name")
    scope: Callable[[Node], str] | None = None  # a prefix the node itself names (Go receiver)


@dataclass(frozen=True)
class LanguageSpec:
    name: str
    module: str  # the grammar wheel's module
    factory: str  # its function returning the language pointer
    extensions: tuple[str, ...]
    definitions: dict[str, Definition] = field(default_factory=dict)
    # Wrappers whose inner node is the definition but whose range includes decorators.
    wrappers: dict[str, str] = field(default_factory=dict)


_FUNC = Definition("function")
_CLASS = Definition("class")
_JS_DEFS = {
    "function_declaration": _FUNC,
    "generator_function_declaration": _FUNC,
    "class_declaration": _CLASS,
    "method_definition": _FUNC,
    "variable_declarator": Definition("function", name=_js_variable),
}
_TS_DEFS = {
    **_JS_DEFS,
    "abstract_class_declaration": _CLASS,
    "interface_declaration": _CLASS,
    "enum_declaration": _CLASS,
    "type_alias_declaration": _FUNC,
    "internal_module": _CLASS,
    "function_signature": _FUNC,
    "abstract_method_signature": _FUNC,
}

SPECS: tuple[LanguageSpec, ...] = (
    LanguageSpec(
        "python",
        "tree_sitter_python",
        "language",
        (".py", ".pyi"),
        {"function_definition": _FUNC, "class_definition": _CLASS},
        {"decorated_definition": "definition"},
    ),
    LanguageSpec(
        "javascript",
        "tree_sitter_javascript",
        "language",
        (".js", ".mjs", ".cjs", ".jsx"),
        _JS_DEFS,
    ),
    LanguageSpec(
        "typescript",
        "tree_sitter_typescript",
        "language_typescript",
        (".ts", ".mts", ".cts"),
        _TS_DEFS,
    ),
    LanguageSpec("tsx", "tree_sitter_typescript", "language_tsx", (".tsx",), _TS_DEFS),
    LanguageSpec(
        "go",
        "tree_sitter_go",
        "language",
        (".go",),
        {
            "function_declaration": _FUNC,
            "method_declaration": Definition("function", scope=_go_receiver),
            "type_declaration": Definition("class", name=_go_type),
        },
    ),
    LanguageSpec(
        "rust",
        "tree_sitter_rust",
        "language",
        (".rs",),
        {
            "function_item": _FUNC,
            "function_signature_item": _FUNC,
            "struct_item": _CLASS,
            "enum_item": _CLASS,
            "union_item": _CLASS,
            "trait_item": _CLASS,
            "mod_item": _CLASS,
            "macro_definition": _FUNC,
            "impl_item": Definition("class", name=_rust_impl),
        },
    ),
    LanguageSpec(
        "java",
        "tree_sitter_java",
        "language",
        (".java",),
        {
            "class_declaration": _CLASS,
            "interface_declaration": _CLASS,
            "enum_declaration": _CLASS,
            "record_declaration": _CLASS,
            "annotation_type_declaration": _CLASS,
            "method_declaration": _FUNC,
            "constructor_declaration": _FUNC,
        },
    ),
)
_BY_EXTENSION = {ext: spec for spec in SPECS for ext in spec.extensions}
_local = threading.local()


def spec_for(path: str) -> LanguageSpec | None:
    """The language of a path by its extension, if we parse it."""
    dot = path.rfind(".")
    return _BY_EXTENSION.get(path[dot:].lower()) if dot > path.rfind("/") else None


@cache
def _language(name: str) -> Any:
    from tree_sitter import Language

    spec = next(s for s in SPECS if s.name == name)
    module = importlib.import_module(spec.module)
    return Language(getattr(module, spec.factory)())


def parser_for(spec: LanguageSpec) -> Any | None:
    """A parser for the language, one per thread (parsers are not thread-safe); None when
    its grammar wheel is not installed, so the file falls back to line windows."""
    parsers: dict[str, Any] = _local.__dict__.setdefault("parsers", {})
    if spec.name not in parsers:
        try:
            from tree_sitter import Parser

            parsers[spec.name] = Parser(_language(spec.name))
        except (ImportError, ValueError, AttributeError) as exc:
            log.warning("no tree-sitter grammar for %s (%s); using line windows", spec.name, exc)
            parsers[spec.name] = None
    return parsers[spec.name]
