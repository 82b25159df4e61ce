"""``--format junit``: JUnit XML as Jenkins' junit-10 schema defines it.

One ``testsuite`` per checked file; each finding is a ``testcase`` with exactly one ``failure``
(tools that show one failure per test case show every finding), and a clean file is one passing
``testcase``. Test cases carry only the attributes the schema allows (``name``, ``classname``);
the position is in the failure's message.
"""

from __future__ import annotations

from typing import TextIO
from xml.etree import ElementTree

from celerylint.report import Result
from celerylint.report.text import printable


def render(result: Result, stream: TextIO) -> None:
    by_path: dict[str, list] = {path: [] for path in result.paths}
    for d in result.diagnostics:
        by_path.setdefault(d.path, []).append(d)
    tests = sum(max(1, len(findings)) for findings in by_path.values())
    failures = len(result.diagnostics)
    suites = ElementTree.Element("testsuites", name="celerylint", tests=str(tests),
                                 failures=str(failures), errors="0")
    for path, findings in sorted(by_path.items()):
        path = printable(path)  # XML cannot carry control characters or undecodable bytes
        suite = ElementTree.SubElement(suites, "testsuite", name=path,
                                       tests=str(max(1, len(findings))),
                                       failures=str(len(findings)), errors="0")
        if not findings:
            ElementTree.SubElement(suite, "testcase", name="celerylint", classname=path)
        for d in findings:
            case = ElementTree.SubElement(suite, "testcase", name=f"{d.code} {d.name}",
                                          classname=path)
            failure = ElementTree.SubElement(
                case, "failure", type=f"{d.code} {d.name}",
                message=f"{path}:{d.span.line}:{d.span.column}: {d.message}")
            failure.text = f"{d.severity.value}: {d.message}\nhint: {d.hint}"
    ElementTree.indent(suites)
    stream.write(ElementTree.tostring(suites, encoding="unicode", xml_declaration=True) + "\n")
