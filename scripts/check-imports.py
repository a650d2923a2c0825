#!/usr/bin/env python3
"""Fails if the modules of app/src/ssr import each other in a cycle.

Reads every `crate::ssr::…` and `super::…` path in the Rust files under app/src/ssr, maps it to
the file of the module it names, and looks for cycles among those files (a module's unit tests,
`#[cfg(test)] mod tests` at the end of a file, are left out: tests may reach anywhere). Prints
the module graph with --graph.
"""
import os
import re
import sys

ROOT = os.path.join(os.path.dirname(__file__), "..", "app", "src")
SSR = os.path.join(ROOT, "ssr")


def module_of(path):
    rel = os.path.relpath(path, ROOT)[:-3].split(os.sep)
    if rel[-1] == "mod":
        rel = rel[:-1]
    return rel


def files():
    for d, _, fs in os.walk(SSR):
        for f in fs:
            if f.endswith(".rs"):
                yield os.path.join(d, f)


def resolve(mods, parts):
    """The longest prefix of `parts` that is a module file."""
    for n in range(len(parts), 0, -1):
        if tuple(parts[:n]) in mods:
            return tuple(parts[:n])
    return None


def main():
    paths = {tuple(module_of(p)): p for p in files()}
    mods = set(paths)
    edges = {m: set() for m in mods}
    path_re = re.compile(r"\b((?:crate|super)(?:::\w+)+)")
    group_re = re.compile(r"\b((?:crate|super)(?:::\w+)*)::\{([^}]*)\}", re.S)
    for mod, path in paths.items():
        src = open(path).read()
        cut = re.search(r"^#\[cfg\(test\)\]\s*\nmod tests", src, re.M)
        if cut:
            src = src[: cut.start()]
        src = re.sub(r"//[^\n]*", "", src)
        found = [m.group(1) for m in path_re.finditer(src)]
        for m in group_re.finditer(src):
            for item in m.group(2).split(","):
                item = item.strip().split(" as ")[0].strip()
                if item and item != "self":
                    found.append(m.group(1) + "::" + item.replace(" ", ""))
        for p in found:
            parts = p.split("::")
            if parts[0] == "crate":
                target = parts[1:]
            else:
                here = list(mod)
                while parts and parts[0] == "super":
                    here = here[:-1]
                    parts = parts[1:]
                target = here + parts
            t = resolve(mods, target)
            if t and t != mod and t[: len(mod)] != mod:
                edges[mod].add(t)
    if "--graph" in sys.argv:
        for m in sorted(edges):
            print("::".join(m), "->", ", ".join(sorted("::".join(t) for t in edges[m])))
    # Cycles: Tarjan's strongly connected components.
    index, low, stack, on, sccs, counter = {}, {}, [], set(), [], [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in edges[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                sccs.append(comp)

    sys.setrecursionlimit(10000)
    for v in sorted(mods):
        if v not in index:
            visit(v)
    if sccs:
        for comp in sccs:
            names = sorted("::".join(m) for m in comp)
            print("check-imports: these modules import each other in a cycle:", ", ".join(names))
            for m in sorted(comp):
                inside = sorted("::".join(t) for t in edges[m] if t in comp)
                print("   ", "::".join(m), "->", ", ".join(inside))
        sys.exit(1)
    print(f"check-imports: {len(mods)} modules under app/src/ssr, no import cycle")


main()
