"""A small JSONPath subset for data-model mappings: $, .key, ['key'], [n], [*], .* and ..key (recursive descent)."""

import re

_TOKEN = re.compile(r"\.\.([A-Za-z0-9_\-@$]+|\*)|\.([A-Za-z0-9_\-@$]+|\*)|\[\s*'([^']*)'\s*\]|\[\s*\"([^\"]*)\"\s*\]|\[\s*(-?\d+)\s*\]|\[\s*\*\s*\]")

_cache = {}


def _parse(path):
    steps = _cache.get(path)
    if steps is not None:
        return steps
    text = path.strip()
    if text.startswith("$"):
        text = text[1:]
    elif text and not text.startswith((".", "[")):
        text = "." + text
    steps = []
    pos = 0
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if m is None:
            raise ValueError(f"unsupported JSONPath [{path}] at offset {pos}")
        recursive, name, sq, dq, index = m.group(1), m.group(2), m.group(3), m.group(4), m.group(5)
        if recursive is not None:
            steps.append(("recurse", recursive))
        elif name is not None:
            steps.append(("wild", None) if name == "*" else ("key", name))
        elif sq is not None or dq is not None:
            steps.append(("key", sq if sq is not None else dq))
        elif index is not None:
            steps.append(("index", int(index)))
        else:
            steps.append(("wild", None))
        pos = m.end()
    _cache[path] = steps
    return steps


def _descendants(node):
    yield node
    if isinstance(node, dict):
        for value in node.values():
            yield from _descendants(value)
    elif isinstance(node, list):
        for value in node:
            yield from _descendants(value)


def jsonpath_find(path, data):
    nodes = [data]
    for kind, arg in _parse(path):
        nxt = []
        for node in nodes:
            if kind == "key":
                if isinstance(node, dict) and arg in node:
                    nxt.append(node[arg])
            elif kind == "index":
                if isinstance(node, list) and -len(node) <= arg < len(node):
                    nxt.append(node[arg])
            elif kind == "wild":
                if isinstance(node, dict):
                    nxt.extend(node.values())
                elif isinstance(node, list):
                    nxt.extend(node)
            else:
                for sub in _descendants(node):
                    if arg == "*":
                        if isinstance(sub, dict):
                            nxt.extend(sub.values())
                    elif isinstance(sub, dict) and arg in sub:
                        nxt.append(sub[arg])
        nodes = nxt
    return nodes
