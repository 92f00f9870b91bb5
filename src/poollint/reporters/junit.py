"""`--output-format junit`: JUnit XML, one testsuite per file and one failing
testcase per finding (the names follow ruff's junit output), for CI services
that show test reports."""

from __future__ import annotations

import re
from typing import Dict, List, Tuple

from poollint.diagnostic import Diagnostic, FileResult
from poollint.reporters import Report, Reporter

# Characters XML 1.0 cannot hold at all, even escaped.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


class JunitReporter(Reporter):
    name = "junit"

    def render(self, report: Report) -> str:
        suites: Dict[str, Tuple[FileResult, List[Diagnostic]]] = {}
        for file_result, d in report.findings():
            suites.setdefault(file_result.path.as_posix(), (file_result, []))[1].append(d)
        total = sum(len(found) for _, found in suites.values())
        out = ['<?xml version="1.0" encoding="UTF-8"?>']
        out.append(f'<testsuites name="poollint" tests="{max(total, 1)}" failures="{total}" errors="0">')
        if not suites:
            out.append('    <testsuite name="poollint" tests="1" failures="0" errors="0">')
            out.append('        <testcase name="No errors found" classname="poollint"/>')
            out.append("    </testsuite>")
        for path, (_, found) in suites.items():
            classname = path[: -len(".py")] if path.endswith(".py") else path
            out.append(
                f"    <testsuite name={attribute(path)} tests=\"{len(found)}\" failures=\"{len(found)}\" errors=\"0\">"
            )
            for d in found:
                out.append(
                    f"        <testcase name={attribute('org.poollint.' + d.code)} classname={attribute(classname)}"
                    f' line="{d.line}" column="{d.column}">'
                )
                out.append(
                    f"            <failure message={attribute(d.message)}>"
                    f"{text(f'line {d.line}, col {d.column}, {d.message}')}</failure>"
                )
                out.append("        </testcase>")
            out.append("    </testsuite>")
        out.append("</testsuites>")
        return "\n".join(out) + "\n"


def text(value: str) -> str:
    """Character data: markup escaped, characters XML cannot hold replaced."""
    value = _NOT_XML.sub("\ufffd", value)
    return value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def attribute(value: str) -> str:
    """A quoted attribute value; line breaks and tabs as character references,
    which XML parsers would otherwise turn into spaces."""
    escaped = text(value).replace('"', "&quot;")
    return '"' + escaped.replace("\n", "&#10;").replace("\r", "&#13;").replace("\t", "&#9;") + '"'
