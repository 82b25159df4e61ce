"""``--format junit``: JUnit XML, one test case per checked file, a failure per finding."""

from __future__ import annotations

from typing import TextIO
from xml.etree import ElementTree

from celerylint.report import Result


def render(result: Result, stream: TextIO) -> None:
    by_path: dict[str, list] = {path: [] for path in result.paths}
    for d in result.diagnostics:
        by_path.setdefault(d.path, []).append(d)
    failures = sum(1 for findings in by_path.values() if findings)
    suites = ElementTree.Element("testsuites", name="celerylint", tests=str(len(by_path)),
                                 failures=str(failures))
    suite = ElementTree.SubElement(suites, "testsuite", name="celerylint", tests=str(len(by_path)),
                                   failures=str(failures), errors="0")
    for path, findings in sorted(by_path.items()):
        case = ElementTree.SubElement(suite, "testcase", name=path, classname="celerylint",
                                      file=path)
        for d in findings:
            failure = ElementTree.SubElement(
                case, "failure", type=f"{d.code} {d.name}",
                message=f"{d.path}:{d.span.line}:{d.span.column}: {d.message}")
            failure.text = f"{d.severity.value}: {d.message}\nhint: {d.hint}"
    ElementTree.indent(suites)
    stream.write(ElementTree.tostring(suites, encoding="unicode", xml_declaration=True) + "\n")
