"""mkdocs hook: links from docs pages to repository files outside docs/ (``../examples/...``, ``../policies/...``).

On GitHub those links work as written. In the built site they have no target, so this hook rewrites each one to
the file on the repository host when ``repo_url`` is set in mkdocs.yml (``REPO_URL/blob/main/PATH``), and to
the path as code text when it is not. Either way it first checks that the file exists, so a broken link to a
repository file fails ``mkdocs build --strict`` like a broken link between pages.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path
from typing import Any

log = logging.getLogger("mkdocs.plugins.guardrails_links")
_OUTSIDE = re.compile(r"\[([^\]]+)\]\((\.\./[^)#\s]+)(#[^)\s]*)?\)")


def on_page_markdown(markdown: str, page: Any, config: Any, files: Any) -> str:
    docs_dir = Path(config["docs_dir"])
    page_dir = (docs_dir / page.file.src_uri).parent
    repo_root = docs_dir.parent
    repo_url = (config.get("repo_url") or "").rstrip("/")

    def rewrite(match: re.Match[str]) -> str:
        text, target, anchor = match.group(1), match.group(2), match.group(3) or ""
        path = (page_dir / target).resolve()
        if not path.is_relative_to(docs_dir.resolve()) and path.is_relative_to(repo_root.resolve()):
            if not path.exists():
                log.warning("Doc file '%s' links to '%s', which does not exist in the repository", page.file.src_uri, target)
                return match.group(0)
            relative = path.relative_to(repo_root.resolve()).as_posix()
            if repo_url:
                kind = "tree" if path.is_dir() else "blob"
                return f"[{text}]({repo_url}/{kind}/main/{relative}{anchor})"
            shown = text.strip("`").rstrip("/")
            return f"`{relative}`" if relative.endswith(shown) else f"{text} (`{relative}`)"
        return match.group(0)

    return _OUTSIDE.sub(rewrite, markdown)
