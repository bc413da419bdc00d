#!/usr/bin/env python3
"""Checks that the files the docs show are the repository's real files.

In README.md and docs/*.md, a code block right after a line `<!-- snippet: PATH -->` must
appear, line for line, in PATH (the whole file or a contiguous part of it), so a snippet
cannot drift from the file it shows; the tests build or run those files. In README.md,
every Dockerfile, TOML, YAML and JSON block must carry such a line. And the example
requirements that pin liftoff pin this version (Cargo.toml's), with the same Flask and
gunicorn as the example app.

Needs only the standard library.
"""

from __future__ import annotations

import re
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests"))

from harness import CheckFailed, Runner, expect  # noqa: E402 - the path above makes it importable.

MARKER = re.compile(r"<!-- snippet: (\S+) -->")
FENCE = re.compile(r"^(\s*)```(\w*)")
# Languages whose blocks in README.md must be real files.
FILE_LANGUAGES = {"dockerfile", "toml", "yaml", "json"}


def blocks(path: Path):
    """Yields (line number, language, marker path or None, block text) for each fenced block."""
    lines = path.read_text().splitlines()
    index = 0
    while index < len(lines):
        fence = FENCE.match(lines[index])
        if not fence:
            index += 1
            continue
        indent, language = fence.groups()
        before = lines[index - 1] if index else ""
        marker = MARKER.fullmatch(before.strip())
        end = index + 1
        while end < len(lines) and not lines[end].strip().startswith("```"):
            end += 1
        # A block inside a list item is indented like its fence; the file's lines are not.
        block = [line[len(indent):] if line.startswith(indent) else line for line in lines[index + 1 : end]]
        yield index + 1, language, marker.group(1) if marker else None, block
        index = end + 1


def contained(block: list[str], text: str) -> bool:
    """Whether `block`'s lines appear contiguously among `text`'s lines."""
    lines = text.splitlines()
    size = len(block)
    return any(lines[i : i + size] == block for i in range(len(lines) - size + 1))


def check_file(doc: Path, require_markers: bool) -> list[str]:
    """The problems of one Markdown file's snippets."""
    problems = []
    for line, language, source, block in blocks(doc):
        where = f"{doc.relative_to(ROOT)}:{line}"
        if source is None:
            if require_markers and language in FILE_LANGUAGES:
                problems.append(f"{where}: a {language} block without `<!-- snippet: PATH -->`")
            continue
        target = ROOT / source
        if not target.is_file():
            problems.append(f"{where}: shows {source}, which does not exist")
        elif not contained(block, target.read_text()):
            problems.append(f"{where}: differs from {source}")
    return problems


def requirement_pins(path: Path) -> dict[str, str]:
    """name -> version of the `name==version` lines of a requirements file."""
    pins = {}
    for line in path.read_text().splitlines():
        name, sep, version = line.split("#")[0].strip().partition("==")
        if sep:
            pins[name.lower()] = version
    return pins


def main() -> int:
    """Checks README.md and docs/*.md, then the example requirements."""
    runner = Runner("docs")
    try:
        for doc in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]:
            with runner.step(f"check: snippets of {doc.relative_to(ROOT)} are real files"):
                problems = check_file(doc, require_markers=doc.name == "README.md")
                expect(not problems, "\n  ".join(["", *problems]))
        with runner.step("check: docs/examples/requirements.txt pins this liftoff and the app's pins"):
            with open(ROOT / "Cargo.toml", "rb") as file:
                version = tomllib.load(file)["package"]["version"]
            pins = requirement_pins(ROOT / "docs" / "examples" / "requirements.txt")
            app = requirement_pins(ROOT / "docker" / "app" / "requirements.txt")
            expect(pins.get("liftoff") == version, f"liftoff=={pins.get('liftoff')}, Cargo.toml says {version}")
            expect({k: v for k, v in pins.items() if k != "liftoff"} == app, f"{pins} against docker/app's {app}")
    except CheckFailed:
        pass
    return runner.summary()


if __name__ == "__main__":
    sys.exit(main())
