"""Write docs/rules.md, docs/rules/, docs/ruff.md and the rule catalog from the rules' own metadata. Run it after changing a rule:

    python scripts/document_rules.py

tests/test_docs.py fails while the pages on disk differ from what this writes.
"""

from __future__ import annotations

from pathlib import Path

from poollint.ruledocs import CATALOG_PATH, RUFF_PAGE, generated_catalog, generated_pages, generated_ruff_page

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    pages = generated_pages()
    folder = ROOT / "docs" / "rules"
    for stale in folder.glob("*.md"):
        if f"docs/rules/{stale.name}" not in pages:
            stale.unlink()
    for relative, text in pages.items():
        target = ROOT / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
    (ROOT / CATALOG_PATH).write_text(generated_catalog(), encoding="utf-8")
    (ROOT / RUFF_PAGE).write_text(generated_ruff_page(), encoding="utf-8")
    print(f"wrote {len(pages)} pages: docs/rules.md and {folder.relative_to(ROOT)}/, {RUFF_PAGE}, and {CATALOG_PATH}")


if __name__ == "__main__":
    main()
