"""mkdocs hook: the docs link repository files (``../openapi.yaml``) as GitHub shows them.

Each such link must name a file of the repository (the build fails otherwise); the file is copied
into the site under ``repo/`` and the link rewritten to that copy, so the site works offline and
the same Markdown reads correctly on GitHub.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from mkdocs.exceptions import PluginError
from mkdocs.structure.files import File, Files

REPOSITORY_LINK = re.compile(r"\]\(\.\./([^)#\s]+)\)")
SITE_FOLDER = "repo"


def _repository_root(config: Any) -> Path:
    return Path(config["docs_dir"]).resolve().parent


def on_files(files: Files, config: Any) -> Files:
    """Add every repository file the pages link to, and fail on a link to a missing one."""
    root = _repository_root(config)
    wanted: set[str] = set()
    for page in files.documentation_pages():
        for target in REPOSITORY_LINK.findall(Path(page.abs_src_path or "").read_text("utf-8")):
            path = (root / target).resolve()
            if not path.is_file() or root not in path.parents:
                raise PluginError(f"{page.src_uri}: link to ../{target}: no such repository file")
            if path.suffix == ".md":
                raise PluginError(f"{page.src_uri}: ../{target}: name a Markdown file in `code`")
            wanted.add(target)
    for target in sorted(wanted):
        files.append(
            File.generated(config, f"{SITE_FOLDER}/{target}", abs_src_path=str(root / target))
        )
    return files


def on_page_markdown(markdown: str, **_: Any) -> str:
    """Point links to repository files at their copies in the site."""
    return REPOSITORY_LINK.sub(rf"]({SITE_FOLDER}/\1)", markdown)
