"""Unit tests for celerylint.parse.dockerfile: the lexer, stages, heredocs and positions."""

from __future__ import annotations

import pytest

from celerylint.parse.dockerfile import (
    Dockerfile,
    Instruction,
    parse,
    python_version,
    substitute,
)
from celerylint.sources import ParseProblem, SourceFile


def source(text: str) -> SourceFile:
    return SourceFile("Dockerfile", "dockerfile", text, None)


def parsed(text: str) -> Dockerfile:
    result = parse(source(text))
    assert isinstance(result, Dockerfile), result
    return result


def instructions(text: str) -> list[Instruction]:
    return [i for stage in parsed(text).stages for i in stage.instructions]


def only(text: str, keyword: str) -> Instruction:
    [found] = [i for i in instructions(text) if i.keyword == keyword]
    return found


def problem(text: str) -> ParseProblem:
    result = parse(source(text))
    assert isinstance(result, ParseProblem), result
    return result


# --------------------------------------------------------------------------- instructions


def test_simple_instructions_and_positions():
    text = "FROM python:3.11-slim\nWORKDIR /app\n  USER   app\n"
    found = instructions(text)
    assert [(i.keyword, i.text, i.line, i.column, i.end_line) for i in found] == [
        ("FROM", "python:3.11-slim", 1, 6, 1),
        ("WORKDIR", "/app", 2, 9, 2),
        ("USER", "app", 3, 10, 3),
    ]


def test_keywords_are_case_insensitive():
    found = instructions("from python:3.11 as build\nrun echo hi\n")
    assert [i.keyword for i in found] == ["FROM", "RUN"]


def test_blank_lines_and_comments_are_skipped():
    text = "# a comment\n\nFROM python:3.11\n\n   # indented comment\nRUN echo hi\n"
    found = instructions(text)
    assert [(i.keyword, i.line) for i in found] == [("FROM", 3), ("RUN", 6)]


def test_continuation_keeps_line_breaks_in_text_and_joins_args():
    run = only("FROM python:3.11\nRUN apt-get update && \\\n    apt-get install -y gcc\n", "RUN")
    assert run.text == "apt-get update && \\\n    apt-get install -y gcc"
    assert (run.line, run.end_line) == (2, 3)
    assert run.args.split() == ["apt-get", "update", "&&", "apt-get", "install", "-y", "gcc"]
    assert "\\" not in run.args and "\n" not in run.args


def test_continuation_with_trailing_whitespace_after_backslash():
    run = only("FROM python:3.11\nRUN echo a \\  \n    b\n", "RUN")
    assert run.end_line == 3
    assert run.args.split() == ["echo", "a", "b"]


@pytest.mark.parametrize("ending", ["", "\n"])
def test_continuation_at_end_of_file(ending):
    run = only("FROM python:3.11\nRUN echo hi \\" + ending, "RUN")
    assert run.args == "echo hi"
    assert run.end_line == 2


@pytest.mark.parametrize("comment", ["# a comment", "   # indented", "#"])
def test_comment_line_inside_continuation_is_blanked_not_removed(comment):
    text = f"FROM python:3.11\nRUN pip install \\\n{comment}\n    celery\nCMD x\n"
    found = instructions(text)
    run = found[1]
    assert (run.line, run.end_line) == (2, 4)
    assert run.args.split() == ["pip", "install", "celery"]
    assert "#" not in run.text
    # the blanked line keeps its length, so offsets still map to the file
    assert len(run.text.split("\n")[1]) == len(comment)
    assert (found[2].keyword, found[2].line) == ("CMD", 5)


@pytest.mark.parametrize("blank", ["", "   ", "\t"])
def test_empty_line_inside_continuation_is_skipped(blank):
    # BuildKit skips it (deprecated: a NoEmptyContinuation warning, but it still builds)
    text = f"FROM python:3.11\nRUN pip install \\\n{blank}\n    celery\nCMD x\n"
    found = instructions(text)
    run = found[1]
    assert run.args.split() == ["pip", "install", "celery"]
    assert (run.line, run.end_line) == (2, 4)
    assert (found[2].keyword, found[2].line) == ("CMD", 5)


def test_position_after_an_empty_continuation_line():
    text = "FROM python:3.11\nRUN pip install \\\n\n    celery\n"
    run = only(text, "RUN")
    offset = run.text.index("celery")
    assert run.position(offset) == (4, 5)


# --------------------------------------------------------------------------- directives


def test_escape_directive_backtick():
    text = "# escape=`\nFROM python:3.12\nRUN echo a `\n  b\nCMD x\n"
    found = instructions(text)
    run = found[1]
    assert (run.line, run.end_line) == (3, 4)
    assert run.args.split() == ["echo", "a", "b"]
    assert (found[2].keyword, found[2].line) == ("CMD", 5)


def test_escape_directive_backtick_leaves_backslash_alone():
    text = "# escape=`\nFROM python:3.12\nRUN dir C:\\\nCMD x\n"
    found = instructions(text)
    assert [i.keyword for i in found] == ["FROM", "RUN", "CMD"]
    assert found[1].text == "dir C:\\"


def test_escape_directive_after_syntax_directive():
    text = "# syntax=docker/dockerfile:1\n# escape=`\nFROM python:3.12\nRUN echo a `\n  b\n"
    assert only(text, "RUN").args.split() == ["echo", "a", "b"]


def test_escape_directive_with_spaces():
    text = "#  escape = `\nFROM python:3.12\nRUN echo a `\n  b\n"
    assert only(text, "RUN").args.split() == ["echo", "a", "b"]


@pytest.mark.parametrize("prefix", [
    "FROM python:3.12\n",          # after an instruction
    "\n",                          # after an empty line
    "# just a comment\n",          # after an ordinary comment
])
def test_escape_directive_only_at_the_top(prefix):
    text = prefix + "# escape=`\nFROM python:3.12\nRUN echo a `\nCMD x\n"
    found = instructions(text)
    # the backtick is not an escape: RUN ends on its own line and CMD is separate
    run = [i for i in found if i.keyword == "RUN"][0]
    assert run.text == "echo a `"
    assert found[-1].keyword == "CMD"


# --------------------------------------------------------------------------- flags and JSON


def test_flags_are_read_and_removed_from_args():
    copy = only("FROM python:3.11\nCOPY --from=build --chown=app:app /src /dst\n", "COPY")
    assert copy.flags == {"from": "--from=build", "chown": "--chown=app:app"}
    assert copy.args == "/src /dst"


def test_flags_across_a_continuation():
    run = only("FROM python:3.11\nRUN --mount=type=cache,target=/root/.cache \\\n"
               "    pip install celery\n", "RUN")
    assert run.flags == {"mount": "--mount=type=cache,target=/root/.cache"}
    assert run.args == "pip install celery"


def test_options_after_the_command_are_not_flags():
    run = only("FROM python:3.11\nRUN pip install --no-cache-dir celery\n", "RUN")
    assert run.flags == {}


def test_from_platform_flag():
    df = parsed("FROM --platform=linux/amd64 python:3.11 AS app\n")
    [stage] = df.stages
    assert stage.instructions[0].flags == {"platform": "--platform=linux/amd64"}
    assert (stage.base, stage.name, stage.python) == ("python:3.11", "app", "3.11")


@pytest.mark.parametrize("keyword", ["CMD", "ENTRYPOINT", "RUN"])
def test_json_form(keyword):
    ins = only(f'FROM python:3.11\n{keyword} ["celery", "-A", "app", "worker"]\n', keyword)
    assert ins.json_args == ["celery", "-A", "app", "worker"]


def test_json_form_across_continuation():
    cmd = only('FROM python:3.11\nCMD ["celery", \\\n     "worker"]\n', "CMD")
    assert cmd.json_args == ["celery", "worker"]


def test_json_form_empty_list():
    assert only("FROM python:3.11\nENTRYPOINT []\n", "ENTRYPOINT").json_args == []


@pytest.mark.parametrize("line", [
    "CMD celery -A app worker",              # shell form
    "CMD [\"celery\", 'worker']",            # single quotes are not JSON: shell form
    'CMD ["celery", 1]',                     # not all strings
    'CMD ["celery", "worker"',               # unclosed
    'CMD {"a": "b"}',                        # not a list
])
def test_not_json_form(line):
    keyword = line.split()[0]
    assert only(f"FROM python:3.11\n{line}\n", keyword).json_args is None


def test_json_form_only_for_instructions_that_have_it():
    assert only('FROM python:3.11\nLABEL ["a"]\n', "LABEL").json_args is None


# --------------------------------------------------------------------------- heredocs


def test_heredoc_body_and_line_numbers():
    text = "FROM python:3.11\nRUN <<EOF\npip install celery\ncelery --version\nEOF\nCMD x\n"
    found = instructions(text)
    run = found[1]
    [heredoc] = run.heredocs
    assert heredoc.delimiter == "EOF"
    assert heredoc.body == "pip install celery\ncelery --version\n"
    assert heredoc.line == 3
    assert (run.line, run.end_line) == (2, 5)
    assert (found[2].keyword, found[2].line) == ("CMD", 6)


def test_heredoc_body_lines_are_not_instructions():
    # "celery" and "pip" would be unknown instructions if the body were read as Dockerfile
    found = instructions("FROM python:3.11\nRUN <<EOF\npip install celery\nEOF\n")
    assert [i.keyword for i in found] == ["FROM", "RUN"]


def test_dash_heredoc_strips_leading_tabs():
    text = "FROM python:3.11\nRUN <<-EOF\n\tpip install celery\n\t\tcelery --version\n\tEOF\nCMD x\n"
    found = instructions(text)
    [heredoc] = found[1].heredocs
    assert heredoc.body == "pip install celery\ncelery --version\n"
    assert heredoc.line == 3 and found[1].end_line == 5
    assert found[2].line == 6


def test_plain_heredoc_keeps_tabs_and_needs_exact_delimiter():
    text = "FROM python:3.11\nRUN <<EOF\n\techo a\n\tEOF\nEOF\n"
    [heredoc] = only(text, "RUN").heredocs
    assert heredoc.body == "\techo a\n\tEOF\n"


@pytest.mark.parametrize("opener", ['<<"EOF"', "<<'EOF'"])
def test_quoted_heredoc_delimiter(opener):
    copy = only(f"FROM python:3.11\nCOPY {opener} /app/x\nhi $x\nEOF\n", "COPY")
    [heredoc] = copy.heredocs
    assert (heredoc.delimiter, heredoc.body, heredoc.line) == ("EOF", "hi $x\n", 3)


def test_two_heredocs_in_one_instruction():
    text = "FROM python:3.11\nRUN cat <<A && cat <<B\none\nA\ntwo\nB\nCMD x\n"
    found = instructions(text)
    run = found[1]
    assert [(h.delimiter, h.body, h.line) for h in run.heredocs] == [
        ("A", "one\n", 3), ("B", "two\n", 5)]
    assert run.end_line == 6
    assert found[2].line == 7


def test_heredoc_body_starts_after_the_continued_instruction():
    text = "FROM python:3.11\nRUN cat <<EOF \\\n  > /x\nbody\nEOF\nCMD x\n"
    run = only(text, "RUN")
    assert [(h.body, h.line) for h in run.heredocs] == [("body\n", 4)]
    assert run.end_line == 5


def test_heredoc_on_add():
    add = only("FROM python:3.11\nADD <<EOF /x\nbody\nEOF\n", "ADD")
    assert [h.body for h in add.heredocs] == ["body\n"]


def test_no_heredoc_in_json_form():
    run = only('FROM python:3.11\nRUN ["sh", "-c", "cat <<EOF"]\n', "RUN")
    assert run.heredocs == [] and run.json_args == ["sh", "-c", "cat <<EOF"]


def test_no_heredoc_on_cmd():
    cmd = only("FROM python:3.11\nCMD cat <<EOF\n", "CMD")
    assert cmd.heredocs == []


def test_unterminated_heredoc_is_a_parse_problem():
    result = problem("FROM python:3.11\n  RUN <<EOF\npip install celery\n")
    assert (result.path, result.line, result.column) == ("Dockerfile", 2, 3)
    assert "unterminated heredoc" in result.message and "'EOF'" in result.message


# --------------------------------------------------------------------------- problems


def test_unknown_instruction_is_a_parse_problem():
    result = problem("FROM python:3.11\nRUN echo hi\n    FOO bar\n")
    assert (result.line, result.column) == (3, 5)
    assert "unknown Dockerfile instruction 'FOO'" in result.message
    assert "template" not in result.message


@pytest.mark.parametrize("line", ["{{ if .Values.x }}", "{% for x in y %}", "RUN{{x}}"])
def test_template_gets_a_hint(line):
    result = problem(f"FROM python:3.11\n{line}\n")
    assert result.line == 2 and "render it first" in result.message


# --------------------------------------------------------------------------- position()


def _assert_maps_to_file(text: str, ins: Instruction, needle: str) -> tuple[int, int]:
    offset = ins.text.index(needle)
    line, column = ins.position(offset)
    assert text.split("\n")[line - 1][column - 1:].startswith(needle)
    return line, column


def test_position_on_the_first_line():
    text = "FROM python:3.11\n  RUN   pip install celery\n"
    run = only(text, "RUN")
    assert run.position(0) == (2, 9)
    assert _assert_maps_to_file(text, run, "celery") == (2, 21)


def test_position_on_continuation_lines():
    text = ("FROM python:3.11\nRUN apt-get update && \\\n    apt-get install -y gcc && \\\n"
            "  pip install celery==5.3.4\n")
    run = only(text, "RUN")
    assert _assert_maps_to_file(text, run, "apt-get install") == (3, 5)
    assert _assert_maps_to_file(text, run, "celery==5.3.4") == (4, 15)


def test_position_of_an_offset_right_after_a_newline():
    text = "FROM python:3.11\nRUN a \\\nb\n"
    run = only(text, "RUN")
    assert run.position(run.text.index("b")) == (3, 1)


def test_position_after_a_blanked_comment_line():
    text = "FROM python:3.11\nRUN pip install \\\n  # pinned\n    celery\n"
    run = only(text, "RUN")
    assert _assert_maps_to_file(text, run, "celery") == (4, 5)


def test_position_with_backtick_escape():
    text = "# escape=`\nFROM python:3.12\nRUN echo a `\n    celery worker\n"
    run = only(text, "RUN")
    assert _assert_maps_to_file(text, run, "celery") == (4, 5)


# --------------------------------------------------------------------------- stages


def test_stages_names_and_instructions():
    text = ("FROM python:3.12.1-slim-bookworm AS base\nRUN pip install celery\n"
            "FROM base AS final\nCMD x\nFROM ubuntu:22.04\n")
    df = parsed(text)
    assert [(s.base, s.name, s.line, s.python) for s in df.stages] == [
        ("python:3.12.1-slim-bookworm", "base", 1, "3.12"),
        ("base", "final", 3, "3.12"),          # inherits from the stage it builds on
        ("ubuntu:22.04", None, 5, None),
    ]
    assert [[i.keyword for i in s.instructions] for s in df.stages] == [
        ["FROM", "RUN"], ["FROM", "CMD"], ["FROM"]]
    assert df.source.path == "Dockerfile"


def test_lowercase_as():
    [stage] = parsed("FROM python:3.11 as builder\n").stages
    assert stage.name == "builder"


def test_global_args_substitute_into_from():
    df = parsed("ARG PYVER=3.10\nFROM python:${PYVER}-slim\n")
    assert df.args == {"PYVER": "3.10"}
    [stage] = df.stages
    assert (stage.base, stage.python) == ("python:3.10-slim", "3.10")


def test_global_arg_quotes_are_stripped():
    df = parsed('ARG PYVER="3.9"\nFROM python:$PYVER\n')
    assert df.args == {"PYVER": "3.9"}
    assert df.stages[0].python == "3.9"


def test_global_arg_without_default_leaves_from_unresolved():
    df = parsed("ARG PYVER\nFROM python:${PYVER}-slim\n")
    assert df.args == {}
    assert (df.stages[0].base, df.stages[0].python) == ("python:${PYVER}-slim", None)


def test_default_in_from_expansion():
    df = parsed("ARG PYVER\nFROM python:${PYVER:-3.8}-slim\n")
    assert df.stages[0].python == "3.8"


def test_whole_image_from_global_arg():
    df = parsed("ARG BASE=python:3.10-slim\nFROM $BASE AS app\n")
    assert (df.stages[0].base, df.stages[0].python) == ("python:3.10-slim", "3.10")


def test_arg_inside_a_stage_is_not_global():
    df = parsed("FROM python:3.11\nARG INNER=3.9\nFROM python:${INNER}\n")
    assert df.args == {}
    assert df.stages[1].python is None
    assert [i.keyword for i in df.stages[0].instructions] == ["FROM", "ARG"]


def test_instructions_before_first_from_are_not_in_a_stage():
    df = parsed("RUN echo orphan\nFROM python:3.11\n")
    assert [[i.keyword for i in s.instructions] for s in df.stages] == [["FROM"]]


def test_empty_dockerfile_has_no_stages():
    df = parsed("# nothing\n\n")
    assert df.stages == [] and df.args == {}


# --------------------------------------------------------------------------- python_version


@pytest.mark.parametrize("image, version", [
    ("python:3.11-slim", "3.11"),
    ("python:3.12.1-slim-bookworm", "3.12"),
    ("python:3.9", "3.9"),
    ("python:3.11-alpine3.18", "3.11"),
    ("python:3.10.13-bullseye", "3.10"),
    ("docker.io/library/python:3.10", "3.10"),
    ("localhost:5000/python:3.9-slim", "3.9"),
    ("pypy:3.10-slim", "3.10"),
    ("nikolaik/python-nodejs:python3.11-nodejs20", "3.11"),
    ("tiangolo/uvicorn-gunicorn:python3.11", "3.11"),
    ("python:3", None),               # no minor version
    ("python:latest", None),
    ("python", None),                 # no tag
    ("localhost:5000/python", None),  # registry port is not a tag
    ("python:${PYVER}-slim", None),   # unresolved
    ("ubuntu:22.04", None),
    ("node:20.11", None),
    ("myapp:3.11", None),             # not a python image and no "python" in the tag
    ("python:3.110", None),
])
def test_python_version(image, version):
    assert python_version(image) == version


def test_python_version_with_digest():
    assert python_version("python:3.11-slim@sha256:" + "a" * 64) == "3.11"


# --------------------------------------------------------------------------- substitute


@pytest.mark.parametrize("text, variables, expected", [
    ("$A", {"A": "1"}, "1"),
    ("${A}", {"A": "1"}, "1"),
    ("x-$A-${B}-y", {"A": "1", "B": "2"}, "x-1-2-y"),
    ("${A:-d}", {}, "d"),
    ("${A-d}", {}, "d"),
    ("${A:-d}", {"A": "1"}, "1"),
    ("$NOPE", {}, "$NOPE"),
    ("${NOPE}", {}, "${NOPE}"),
    ("plain", {"A": "1"}, "plain"),
])
def test_substitute(text, variables, expected):
    assert substitute(text, variables) == expected


@pytest.mark.parametrize("variables, expected", [({"A": "1"}, "alt"), ({}, "")])
def test_substitute_plus_form(variables, expected):
    assert substitute("${A:+alt}", variables) == expected
