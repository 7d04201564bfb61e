"""The README stays short, and every link in it and in the docs names something that exists."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
LINK = re.compile(r"\]\(([^)\s]+)\)")
FENCE = re.compile(r"^```.*?^```", re.DOTALL | re.MULTILINE)

pytestmark = pytest.mark.skipif(not (ROOT / "docs").is_dir(), reason="not a source checkout")


def _markdown_files() -> list[Path]:
    return [
        README,
        ROOT / "ARCHITECTURE.md",
        ROOT / "examples" / "typescript" / "README.md",
        *sorted((ROOT / "docs").glob("*.md")),
    ]


def _slug(heading: str) -> str:
    """A heading's anchor as GitHub and mkdocs' toc make it (for the headings we write)."""
    text = re.sub(r"[`*_]", "", heading.strip().lower())
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def _anchors(markdown: Path) -> set[str]:
    text = FENCE.sub("", markdown.read_text(encoding="utf-8"))
    return {_slug(m) for m in re.findall(r"^#{1,6} (.+)$", text, re.MULTILINE)}


def test_the_readme_is_what_a_newcomer_needs() -> None:
    text = README.read_text(encoding="utf-8")
    assert len(text.splitlines()) <= 250
    quick_starts = re.findall(r"^## Quick start: (.+)$", text, re.MULTILINE)
    assert quick_starts == [
        "a Python bot with pytest",
        "a TypeScript or JavaScript bot, with the container",
        "a dashboard, with a world that moves",
        "checking an implementation",
    ]
    assert "make serve" in text and "make test" in text


@pytest.mark.parametrize("markdown", _markdown_files(), ids=lambda p: str(p.relative_to(ROOT)))
def test_every_relative_link_names_an_existing_file_and_anchor(markdown: Path) -> None:
    broken = []
    for target in LINK.findall(FENCE.sub("", markdown.read_text(encoding="utf-8"))):
        if re.match(r"[a-z]+:", target):
            continue  # http(s), mailto: not checked here
        path_part, _, anchor = target.partition("#")
        path = (markdown.parent / path_part).resolve() if path_part else markdown
        if not path.exists():
            broken.append(f"{target}: no such file")
        elif anchor and path.suffix == ".md" and anchor not in _anchors(path):
            broken.append(f"{target}: no such heading")
    assert broken == []


def test_the_link_check_finds_a_broken_anchor(tmp_path: Path) -> None:
    page = tmp_path / "page.md"
    page.write_text("# Title\n\n## Real heading: yes\n", encoding="utf-8")
    assert _anchors(page) == {"title", "real-heading-yes"}
