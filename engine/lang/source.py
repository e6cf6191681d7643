"""Safe YAML (and JSON) loading that remembers where every value came from.

Rulebooks and facts files are written by people and may come from anywhere, so the loader is
strict and defensive. It refuses, with a located ``RulebookSyntaxError``:

====  ===========================================================================================
E001  a file that cannot be read, or bytes that are not UTF-8 (a UTF-8 BOM is accepted)
E002  input larger than ``max_bytes`` (checked with ``os.stat`` before reading)
E003  YAML syntax errors (tabs used for indentation get their own message)
E004  a key defined twice in one mapping
E005  alias bombs: more than 100 aliases, or aliases that would expand to more than 100,000 nodes;
      recursive aliases; nesting deeper than 200 levels (also counted with aliases expanded)
E006  tags other than the YAML core ones, keys that are not strings or integers, a top level
      that is not a mapping (when one is expected), more than one document in the stream
E010  more than 100,000 values (scalars, lists and mappings) in one document, refused at the
      value past the limit, before the rest is read: 2 MB of tiny values (`[0,0,0,...]`) would
      take the parser alone seconds, and every check after it longer (issue 12.8)
====  ===========================================================================================

How it works: PyYAML's safe loader (the libyaml ``CSafeLoader`` when available) supplies only
the *events* of its parser and its implicit-tag resolver. This module composes the node tree
itself, iteratively, so that it can count aliases, measure nesting and the nodes aliases would
add as nodes complete (never expanding an alias to do so) and stop at the first hostile construct, without
recursion that deep input could exhaust. Values are then built from the checked nodes: plain
``dict`` / ``list`` / ``str`` / ``int`` / ``float`` / ``bool`` / ``None``, resolved like YAML 1.1
``SafeLoader`` except that timestamps stay the strings that were written and integer mapping keys
stay integers. Every value and every mapping key gets a ``Location`` keyed by its path.
"""

from __future__ import annotations

import contextlib
import gc
import os
import re
from typing import Any, NoReturn, Union

import yaml
from yaml.events import (
    AliasEvent,
    CollectionEndEvent,
    CollectionStartEvent,
    MappingStartEvent,
    ScalarEvent,
    SequenceStartEvent,
    StreamEndEvent,
)

from pingji.diagnostics import Location
from pingji.errors import RulebookSyntaxError
from pingji.lang.document import Document, Key, Path

try:  # libyaml is much faster; the pure-Python parser produces the same events
    from yaml import CSafeLoader as _SafeLoader
except ImportError:  # pragma: no cover - depends on how PyYAML was built
    from yaml import SafeLoader as _SafeLoader  # type: ignore[assignment]

__all__ = ["MAX_BYTES", "MAX_VALUES", "Document", "check_values", "load_yaml", "load_yaml_text", "read_bytes"]

MAX_BYTES = 2_000_000
MAX_DEPTH = 200
MAX_ALIASES = 100
MAX_EXPANDED_NODES = 100_000
# Values (scalars, lists, mappings) in one document. The largest built-in rulebook has about
# 1,000; a 2 MB loan portfolio in YAML about 100,000. Past it even the parser's events cost
# seconds (about 2.5 us each), so the count is checked as they arrive.
MAX_VALUES = 100_000


class _EventLoader(_SafeLoader):
    """A safe loader used only for its parser events and its resolver, never its constructor."""


class _PureLoader(yaml.SafeLoader):
    """The pure-Python safe loader, for texts libyaml gives up on (see _compose)."""


# The loader class used to parse; tests may swap in a yaml.SafeLoader subclass.
_LOADER: type[Any] = _EventLoader


# ---------------------------------------------------------------------------------------------
# Entry points


def load_yaml(
    path: str | os.PathLike[str],
    *,
    display_name: str | None = None,
    max_bytes: int = MAX_BYTES,
    expect_mapping: bool = True,
) -> Document:
    """Read and load the YAML (or JSON) file at `path`.

    Locations name the file `display_name`, or `path` as given when there is none.
    """
    name = display_name if display_name is not None else os.fspath(path)
    return load_yaml_text(read_bytes(path, name, max_bytes), name, max_bytes=max_bytes, expect_mapping=expect_mapping)


def read_bytes(path: str | os.PathLike[str], name: str, max_bytes: int = MAX_BYTES) -> bytes:
    """The bytes of a file to load, refused as `load_yaml` refuses them (E001 unreadable, E002 too large).

    Separate from parsing so that one process can read a file and another parse it (a batch on a
    Dask cluster reads a folder's fact files where the folder is, and parses them on the workers).
    """
    try:
        size = os.stat(path).st_size
        if size > max_bytes:
            _fail("E002", f"file is {size} bytes; the limit is {max_bytes} bytes", Location(name))
        with open(path, "rb") as fh:
            raw = fh.read(max_bytes + 1)  # the file may have grown since stat
    except OSError as exc:
        _fail("E001", f"cannot read file: {exc.strerror or exc}", Location(name))
    if len(raw) > max_bytes:
        _fail("E002", f"file is more than {max_bytes} bytes; the limit is {max_bytes} bytes", Location(name))
    return raw


def load_yaml_text(
    text: str | bytes,
    name: str,
    *,
    max_bytes: int = MAX_BYTES,
    expect_mapping: bool = True,
) -> Document:
    """Load YAML (or JSON) from a string or UTF-8 bytes; `name` is the file shown in locations."""
    if isinstance(text, bytes) or text.isascii():
        size = len(text)
    else:
        size = len(text.encode("utf-8", "surrogatepass"))
    if size > max_bytes:
        _fail("E002", f"file is {size} bytes; the limit is {max_bytes} bytes", Location(name))
    if isinstance(text, bytes):
        text = _decode(text, name)
    elif text.startswith("\ufeff"):
        text = text[1:]
    _check_characters(text, name)

    with _no_gc():
        root = _compose(text, name)
        if expect_mapping and not isinstance(root, _Map):
            found = _describe(root)
            where = root.loc if root is not None and found != "an empty document" else Location(name, 1, 1)
            _fail("E006", f"expected a mapping at the top level, found {found}", where)
        marks: dict[Path, Location] = {}
        key_marks: dict[Path, Location] = {}
        data = None if root is None else _build(root, (), marks, key_marks)
    return Document(name, data, marks, key_marks, text)


@contextlib.contextmanager
def _no_gc() -> Any:
    """The cyclic garbage collector paused: composing allocates a few objects per value and none of
    them form cycles, yet the collector's full passes over them took a third of the time."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


# ---------------------------------------------------------------------------------------------
# Bytes and characters

_BOM = b"\xef\xbb\xbf"
# What the YAML reader accepts (yaml.reader.Reader.NON_PRINTABLE); anything else is refused.
_NON_PRINTABLE = re.compile("[^\x09\x0A\x0D\x20-\x7E\x85\xA0-\uD7FF\uE000-\uFFFD\U00010000-\U0010FFFF]")


def _decode(raw: bytes, name: str) -> str:
    start = len(_BOM) if raw.startswith(_BOM) else 0
    try:
        return raw[start:].decode("utf-8")
    except UnicodeDecodeError as exc:
        offset = start + exc.start
        line_start = max(raw.rfind(b"\n", 0, offset) + 1, start)
        line = raw.count(b"\n", 0, offset) + 1
        col = len(raw[line_start:offset].decode("utf-8")) + 1
        _fail("E001", f"file is not valid UTF-8 (byte 0x{raw[offset]:02x} at offset {offset})",
              Location(name, line, col))


def _text_location(text: str, index: int, name: str) -> Location:
    line_start = text.rfind("\n", 0, index) + 1
    return Location(name, text.count("\n", 0, index) + 1, index - line_start + 1)


def _check_characters(text: str, name: str) -> None:
    bad = _NON_PRINTABLE.search(text)
    if bad is not None:
        _fail("E003", f"invalid YAML: unacceptable character #x{ord(bad.group()):04x}: "
              "special characters are not allowed", _text_location(text, bad.start(), name))


# ---------------------------------------------------------------------------------------------
# Nodes (aliases are kept as references, never copied)


class _Scalar:
    __slots__ = ("loc", "tag", "text", "value")
    height = 0  # collections nested inside this node, aliases expanded
    size = 1  # nodes in this node, aliases expanded
    expanded = 0  # of those, the nodes that only aliases bring in

    def __init__(self, loc: Location, tag: str, text: str, value: Any):
        self.loc, self.tag, self.text, self.value = loc, tag, text, value


class _Collection:
    __slots__ = ("loc", "height", "size", "expanded")

    def __init__(self, loc: Location, measures: tuple[int, int, int]):
        self.loc = loc
        self.height, self.size, self.expanded = measures


class _Seq(_Collection):
    __slots__ = ("items",)

    def __init__(self, loc: Location, measures: tuple[int, int, int], items: list[_Node]):
        super().__init__(loc, measures)
        self.items = items


class _Map(_Collection):
    __slots__ = ("entries",)

    def __init__(
        self, loc: Location, measures: tuple[int, int, int], entries: dict[Key, tuple[_Node, _Node]]
    ):
        super().__init__(loc, measures)
        self.entries = entries  # key -> (key node, value node), merge keys applied, in YAML's order


class _Alias:
    __slots__ = ("loc", "target")

    def __init__(self, loc: Location, target: _Scalar | _Seq | _Map):
        self.loc, self.target = loc, target

    @property
    def height(self) -> int:
        return self.target.height

    @property
    def size(self) -> int:
        return self.target.size

    @property
    def expanded(self) -> int:
        return self.target.size  # every node behind an alias is an expansion


_Node = Union[_Scalar, _Seq, _Map, _Alias]


def _target(node: _Node | None) -> _Scalar | _Seq | _Map | None:
    return node.target if isinstance(node, _Alias) else node


def _describe(node: _Node | None) -> str:
    node = _target(node)
    if node is None or (isinstance(node, _Scalar) and node.value is None and node.text == ""):
        return "an empty document"
    if isinstance(node, _Seq):
        return "a sequence"
    if isinstance(node, _Map):
        return "a mapping"
    return "a scalar"


# ---------------------------------------------------------------------------------------------
# Tags and scalar values

_CORE = "tag:yaml.org,2002:"
_STR, _INT, _FLOAT, _BOOL, _NULL = (_CORE + t for t in ("str", "int", "float", "bool", "null"))
_TIMESTAMP, _MERGE, _VALUE, _SEQ, _MAP = (_CORE + t for t in ("timestamp", "merge", "value", "seq", "map"))
_SCALAR_TAGS = frozenset({_STR, _INT, _FLOAT, _BOOL, _NULL, _TIMESTAMP, _MERGE, _VALUE})
_ALLOWED_TAGS: dict[str, frozenset[str]] = {
    "scalar": _SCALAR_TAGS,
    "sequence": frozenset({_SEQ}),
    "mapping": frozenset({_MAP}),
}
# Plain numbers with an exponent but no dot, which YAML 1.1 would leave as strings.
_EXPONENT_FLOAT = re.compile(r"^[-+]?[0-9][0-9_]*(?:\.[0-9_]*)?[eE][-+]?[0-9]+$")
# Only its scalar converters are used (they read node.value and nothing else).
_CONVERT = yaml.constructor.SafeConstructor()


def _show_tag(tag: str) -> str:
    return "!!" + tag[len(_CORE):] if tag.startswith(_CORE) else tag


def _check_tag(tag: str, kind: str, loc: Location) -> None:
    if tag in _ALLOWED_TAGS[kind]:
        return
    if any(tag in allowed for allowed in _ALLOWED_TAGS.values()):
        _fail("E006", f"YAML tag '{_show_tag(tag)}' cannot be used on a {kind}", loc)
    _fail("E006", f"unsupported YAML tag '{_show_tag(tag)}'", loc)


def _scalar_value(tag: str, text: str, loc: Location) -> Any:
    """The value of a scalar whose (resolved or explicit) tag is `tag`; timestamps stay text."""
    node = yaml.ScalarNode(tag, text)
    try:
        if tag == _NULL:
            return None
        if tag == _BOOL:
            return _CONVERT.construct_yaml_bool(node)
        if tag == _INT:
            return _CONVERT.construct_yaml_int(node)
        if tag == _FLOAT:
            return _CONVERT.construct_yaml_float(node)
    except (ValueError, KeyError):
        shown = text if len(text) <= 40 else text[:37] + "..."
        _fail("E003", f"invalid YAML: '{shown}' is not a valid {_show_tag(tag)}", loc)
    return text  # str, timestamp, and the '<<' / '=' forms outside key position


# ---------------------------------------------------------------------------------------------
# Composing: events -> checked nodes, without recursion


class _Frame:
    """A sequence or mapping whose end event has not been seen yet."""

    __slots__ = ("kind", "loc", "anchor", "children")

    def __init__(self, kind: str, loc: Location, anchor: str | None):
        self.kind, self.loc, self.anchor = kind, loc, anchor
        self.children: list[_Node] = []


_OPEN = object()  # an anchor whose node is still being composed


class _Composer:
    def __init__(self, loader: Any, name: str):
        self.loader, self.name = loader, name
        self.anchors: dict[str, object] = {}
        self.aliases = 0
        self.values = 0
        self.first_excess_alias: Location | None = None

    def loc(self, mark: Any) -> Location:
        return Location(self.name, mark.line + 1, mark.column + 1)

    def document(self) -> _Node | None:
        loader = self.loader
        loader.get_event()  # StreamStartEvent
        if loader.check_event(StreamEndEvent):
            return None  # nothing but comments and blank lines
        loader.get_event()  # DocumentStartEvent
        root = self.node()
        loader.get_event()  # DocumentEndEvent
        if self.first_excess_alias is not None:
            message = f"too many aliases ({self.aliases}); the limit is {MAX_ALIASES}"
            _fail("E005", message, self.first_excess_alias)
        if not loader.check_event(StreamEndEvent):
            _fail("E006", "expected one YAML document, found more", self.loc(loader.peek_event().start_mark))
        return root

    def node(self) -> _Node:
        """Compose one whole node (the document's root) from the parser's events."""
        stack: list[_Frame] = []
        get_event = self.loader.get_event
        while True:
            event = get_event()
            node: _Node
            if not isinstance(event, CollectionEndEvent):
                self.values += 1
                if self.values > MAX_VALUES:
                    _fail("E010", _too_many_values(), self.loc(event.start_mark))
            if isinstance(event, AliasEvent):
                node = self.alias(event)
            elif isinstance(event, ScalarEvent):
                node = self.scalar(event)
                self.define(event.anchor, node)
            elif isinstance(event, CollectionStartEvent):
                stack.append(self.start(event, len(stack)))
                continue
            else:  # SequenceEndEvent or MappingEndEvent
                frame = stack.pop()
                node = self.sequence(frame) if frame.kind == "sequence" else self.mapping(frame)
                self.define(frame.anchor, node)
            if not stack:
                return node
            stack[-1].children.append(node)

    def define(self, anchor: str | None, node: _Node) -> None:
        if anchor is not None:
            self.anchors[anchor] = node

    def alias(self, event: Any) -> _Alias:
        loc = self.loc(event.start_mark)
        self.aliases += 1
        if self.aliases > MAX_ALIASES and self.first_excess_alias is None:
            self.first_excess_alias = loc
        target = self.anchors.get(event.anchor)
        if target is None:
            _fail("E003", f"invalid YAML: found undefined alias '{event.anchor}'", loc)
        if target is _OPEN:
            _fail("E005", f"recursive alias '*{event.anchor}' (it refers to a node that contains it)", loc)
        assert isinstance(target, (_Scalar, _Seq, _Map))
        return _Alias(loc, target)

    def scalar(self, event: Any) -> _Scalar:
        loc = self.loc(event.start_mark)
        tag = event.tag
        if tag is None or tag == "!":
            tag = self.loader.resolve(yaml.ScalarNode, event.value, event.implicit)
            if tag == _STR and event.implicit[0] and _EXPONENT_FLOAT.match(event.value):
                tag = _FLOAT  # JSON's 1e5: YAML 1.1 wants a dot (1.0e5), JSON and YAML 1.2 do not
        _check_tag(tag, "scalar", loc)
        return _Scalar(loc, tag, event.value, _scalar_value(tag, event.value, loc))

    def start(self, event: Any, depth: int) -> _Frame:
        loc = self.loc(event.start_mark)
        if depth >= MAX_DEPTH:
            _fail("E005", f"nesting deeper than {MAX_DEPTH} levels", loc)
        kind = "sequence" if isinstance(event, SequenceStartEvent) else "mapping"
        assert kind == "sequence" or isinstance(event, MappingStartEvent)
        if event.tag is not None and event.tag != "!":
            _check_tag(event.tag, kind, loc)
        if event.anchor is not None:
            self.anchors[event.anchor] = _OPEN
        return _Frame(kind, loc, event.anchor)

    def measure(self, frame: _Frame) -> tuple[int, int, int]:
        """Nesting height, node count and nodes brought in by aliases of a finished collection.

        Only the nodes that aliases add count towards the expansion limit: a large document
        without aliases is limited by its size in bytes, not refused as an alias bomb.
        """
        children = frame.children
        height = 1 + max((c.height for c in children), default=0)
        if height > MAX_DEPTH:
            _fail("E005", f"nesting deeper than {MAX_DEPTH} levels", frame.loc)
        expanded = sum(c.expanded for c in children)
        if expanded > MAX_EXPANDED_NODES:
            _fail("E005", f"alias expansion too large (more than {MAX_EXPANDED_NODES} nodes)", frame.loc)
        return height, 1 + sum(c.size for c in children), expanded

    def sequence(self, frame: _Frame) -> _Seq:
        return _Seq(frame.loc, self.measure(frame), frame.children)

    def mapping(self, frame: _Frame) -> _Map:
        measures = self.measure(frame)
        explicit: dict[Key, tuple[_Node, _Node]] = {}
        merged: list[_Map] = []  # merge sources, the one that wins first
        merge_key: _Node | None = None
        children = frame.children
        for key_node, value_node in zip(children[0::2], children[1::2]):
            key = _target(key_node)
            if isinstance(key, _Scalar) and key.tag == _MERGE:
                if merge_key is not None:
                    first_line = merge_key.loc.line
                    _fail("E004", f"duplicate key '<<' (first defined at line {first_line})", key_node.loc)
                merge_key = key_node
                merged = self.merge_sources(value_node)
                continue
            if not isinstance(key, _Scalar) or type(key.value) not in (str, int):  # bool is not int here
                _fail("E006", "mapping keys must be strings or integers", key_node.loc)
            first = explicit.get(key.value)
            if first is not None:
                _fail("E004", f"duplicate key '{key.value}' (first defined at line {first[0].loc.line})",
                      key_node.loc)
            explicit[key.value] = (key_node, value_node)
        entries: dict[Key, tuple[_Node, _Node]] = {}
        for source in reversed(merged):  # later updates win, first insertion keeps its place
            entries.update(source.entries)
        entries.update(explicit)
        return _Map(frame.loc, measures, entries)

    def merge_sources(self, value: _Node) -> list[_Map]:
        target = _target(value)
        if isinstance(target, _Map):
            return [target]
        if isinstance(target, _Seq):
            sources = [_target(item) for item in target.items]
            if all(isinstance(s, _Map) for s in sources):
                return [s for s in sources if isinstance(s, _Map)]
        _fail("E003", "invalid YAML: a merge key '<<' needs a mapping or a list of mappings", value.loc)


def _compose(text: str, name: str, loader_class: type[Any] | None = None) -> _Node | None:
    loader = (loader_class or _LOADER)(text)
    try:
        return _Composer(loader, name).document()
    except yaml.MarkedYAMLError as exc:
        if "maximum nesting depth" in str(exc.problem) and loader_class is None:
            # Newer libyaml scans flow collections ahead and stops at its own depth limit (1,000)
            # before our 200-level check sees the events; the pure-Python parser does not, so it
            # reports the same located E005 whichever libyaml is installed.
            return _compose(text, name, _PureLoader)
        mark = exc.problem_mark or exc.context_mark
        if mark is None:
            _fail("E003", f"invalid YAML: {exc.problem or exc}", Location(name))
        if _is_indentation_tab(text, mark.index):
            where = _text_location(text, mark.index, name)
            _fail("E003", "tab character used for indentation; use spaces", where)
        _fail("E003", f"invalid YAML: {exc.problem}", Location(name, mark.line + 1, mark.column + 1))
    except yaml.YAMLError as exc:  # e.g. a ReaderError, which has no mark
        _fail("E003", f"invalid YAML: {exc}", Location(name))
    finally:
        loader.dispose()


def _is_indentation_tab(text: str, index: int) -> bool:
    """Whether text[index] is a tab with only spaces and tabs before it on its line."""
    if not 0 <= index < len(text) or text[index] != "\t":
        return False
    line_start = max(text.rfind("\n", 0, index), text.rfind("\r", 0, index)) + 1
    return text[line_start:index].strip(" \t") == ""


# ---------------------------------------------------------------------------------------------
# Building plain values (aliases expand into fresh copies; depth is at most MAX_DEPTH)


def _build(node: _Node, path: Path, marks: dict[Path, Location], key_marks: dict[Path, Location]) -> Any:
    if path:  # the empty path is the document start, not the root node
        marks[path] = node.loc  # an alias is located where it is used, its contents where defined
    target = _target(node)
    if isinstance(target, _Scalar):
        return target.value
    if isinstance(target, _Seq):
        return [_build(item, path + (i,), marks, key_marks) for i, item in enumerate(target.items)]
    assert isinstance(target, _Map)
    out: dict[Key, Any] = {}
    for key, (key_node, value_node) in target.entries.items():
        key_marks[path + (key,)] = key_node.loc
        out[key] = _build(value_node, path + (key,), marks, key_marks)
    return out


def _too_many_values() -> str:
    return f"more than {MAX_VALUES:,} values in one document; the limit is {MAX_VALUES:,} (split the input)"


def check_values(data: Any, location: Location) -> None:
    """Refuse, as a document's YAML is refused, a value built elsewhere (a JSONL record) that holds
    more than MAX_VALUES values (E010) or nests deeper than MAX_DEPTH levels (E005)."""
    count = 0  # values counted, and (below) every value waiting on the stack will be
    stack: list[tuple[Any, int]] = [(data, 0)]
    while stack:
        value, depth = stack.pop()
        count += 1
        if isinstance(value, dict):
            children: Any = value.values()
        elif isinstance(value, list):
            children = value
        else:
            continue
        if depth >= MAX_DEPTH:
            _fail("E005", f"nesting deeper than {MAX_DEPTH} levels", location)
        if count + len(stack) + len(children) > MAX_VALUES:
            _fail("E010", _too_many_values(), location)
        stack.extend((c, depth + 1) for c in children)


def _fail(code: str, message: str, location: Location) -> NoReturn:
    if location.file.lower().endswith(".json") and message.startswith("invalid YAML"):
        message = "invalid JSON" + message[len("invalid YAML"):]  # JSON is read as YAML; say what the user wrote
    raise RulebookSyntaxError.at(code, message, location)
