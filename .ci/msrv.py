"""Fails when a dependency states a rust-version newer than the workspace's.

Only one toolchain (the current stable) is installed where CI runs, so the
MSRV is not built with. What is checked instead is what each package says
of itself in `cargo metadata` (`rust_version`, from its Cargo.toml), for
1. what users build: sse-runtime and sse-macros and everything they depend
   on (normal and build dependencies, every feature, every platform);
2. what the README's test command builds on this machine's platform:
   every package of the workspace, dev-dependencies included.
A package that states no rust-version is not counted either way.
"""

import json
import subprocess
import sys


def metadata(*extra):
    out = subprocess.run(
        ["cargo", "metadata", "--format-version", "1", "--all-features", *extra],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return json.loads(out)


def version(s):
    parts = [int(x) for x in s.split(".")]
    return tuple(parts + [0] * (3 - len(parts)))


full = metadata()
packages = {p["id"]: p for p in full["packages"]}
members = {packages[i]["name"]: packages[i] for i in full["workspace_members"]}
msrv = members["sse-runtime"]["rust_version"]
nodes = {n["id"]: n for n in full["resolve"]["nodes"]}
too_new = set()


def check(ids, what):
    for i in ids:
        p = packages[i]
        rv = p.get("rust_version")
        if rv and version(rv) > version(msrv):
            too_new.add(f"{p['name']} {p['version']} needs Rust {rv} ({what})")


# 1. The published crates' own dependency tree.
published, todo = set(), [members[n]["id"] for n in ("sse-runtime", "sse-macros")]
while todo:
    i = todo.pop()
    if i not in published:
        published.add(i)
        todo += [d["pkg"] for d in nodes[i]["deps"] if any(k["kind"] != "dev" for k in d["dep_kinds"])]
check(published, "a dependency of the published crates")

# 2. The whole workspace, as built on this platform (a `cfg(loom)` or
#    Windows-only dev-dependency is never built here).
rustc = subprocess.run(["rustc", "-vV"], check=True, capture_output=True, text=True).stdout
host = next(line.split(": ", 1)[1] for line in rustc.splitlines() if line.startswith("host: "))
workspace = [n["id"] for n in metadata("--filter-platform", host)["resolve"]["nodes"]]
check(workspace, f"built by the workspace on {host}")

for line in sorted(too_new):
    print(line, file=sys.stderr)
if too_new:
    sys.exit(f"{len(too_new)} package(s) need a newer Rust than rust-version {msrv}")
print(
    f"rust-version {msrv}: none of the {len(published)} packages users build, "
    f"nor of the {len(workspace)} the workspace builds on {host}, states a newer one"
)
