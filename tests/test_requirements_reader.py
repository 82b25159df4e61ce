"""Unit tests for celerylint.parse.requirements: requirements files and pip install lines."""

from __future__ import annotations

import os

import pytest

from celerylint.parse.requirements import (
    include_path,
    parse_requirement,
    pip_install_args,
    read_file,
    read_pip_install,
)
from celerylint.parse.shell import Word, commands_of, split


def reqs(text: str) -> list[tuple[str, str, int]]:
    """(name, text, line) of every requirement of a file."""
    return [(r.name, r.text, r.line) for r in read_file(text).requirements]


# --------------------------------------------------------------------------- read_file


def test_plain_requirements_with_line_numbers():
    result = read_file("celery==5.3.4\n\nredis>=4.5,<5\nkombu\n")
    assert [(r.name, r.text, r.line) for r in result.requirements] == [
        ("celery", "celery==5.3.4", 1), ("redis", "redis>=4.5,<5", 3), ("kombu", "kombu", 4)]
    assert str(result.requirements[1].requirement.specifier) == "<5,>=4.5"
    assert result.invalid == [] and result.includes == []


def test_names_are_canonicalized():
    assert [r.name for r in read_file("Django_Celery-Beat==2.5\nPyYAML\n").requirements] == [
        "django-celery-beat", "pyyaml"]


def test_comments_are_ignored():
    text = "# celery==1.0\ncelery==5.3.4  # pinned for redis\n   # indented comment\n"
    assert reqs(text) == [("celery", "celery==5.3.4", 2)]


def test_hash_without_preceding_space_is_not_a_comment():
    # pip only starts a comment at a '#' after whitespace: this line is invalid for pip too
    result = read_file("celery==5.3#x\n")
    assert result.requirements == [] and [i[0] for i in result.invalid] == [1]


def test_extras_and_markers():
    [line] = read_file("celery[redis,sqs]==5.3.4 ; python_version < '3.12'\n").requirements
    assert line.name == "celery"
    assert line.requirement.extras == {"redis", "sqs"}
    assert str(line.requirement.marker) == 'python_version < "3.12"'
    assert line.text == "celery[redis,sqs]==5.3.4 ; python_version < '3.12'"


def test_continuation_lines_form_one_requirement_at_the_first_line():
    text = "celery==5.3.4 \\\n    --hash=sha256:abc \\\n    --hash=sha256:def\nredis==5.0.1\n"
    result = read_file(text)
    assert [(r.name, r.text, r.line, r.hashed) for r in result.requirements] == [
        ("celery", "celery==5.3.4", 1, True), ("redis", "redis==5.0.1", 4, False)]


def test_hash_option_with_space():
    [line] = read_file("celery==5.3.4 --hash sha256:abc\n").requirements
    assert line.hashed and line.text == "celery==5.3.4"


def test_per_requirement_options_are_cut_off():
    result = read_file("django>=3 --config-settings=x=y\nredis==5 -C foo\n")
    assert [r.text for r in result.requirements] == ["django>=3", "redis==5"]
    assert result.invalid == []


def test_continuation_that_breaks_the_requirement_is_invalid_at_first_line():
    result = read_file("a\nb \\\n c\nd\n")
    assert [r.name for r in result.requirements] == ["a", "d"]
    assert [i[0] for i in result.invalid] == [2]


def test_continuation_at_end_of_file():
    assert reqs("celery==5.3.4 \\\n") == [("celery", "celery==5.3.4", 1)]


def test_comment_line_ending_in_backslash_does_not_continue():
    assert reqs("# pinned for python 3.8 \\\ncelery==5.3.4\n") == [
        ("celery", "celery==5.3.4", 2)]


def test_continuation_joins_without_a_space_like_pip():
    assert reqs("cel\\\nery==5.3.4\n") == [("celery", "celery==5.3.4", 1)]


# --------------------------------------------------------------------------- includes / options


@pytest.mark.parametrize("line, include", [
    ("-r base.txt", ("base.txt", False, 1)),
    ("-rbase.txt", ("base.txt", False, 1)),
    ("--requirement base.txt", ("base.txt", False, 1)),
    ("--requirement=base.txt", ("base.txt", False, 1)),
    ("-c constraints.txt", ("constraints.txt", True, 1)),
    ("-cconstraints.txt", ("constraints.txt", True, 1)),
    ("--constraint constraints.txt", ("constraints.txt", True, 1)),
    ("--constraint=constraints.txt", ("constraints.txt", True, 1)),
    ("-r   base.txt   # the base", ("base.txt", False, 1)),
    ("  -r base.txt", ("base.txt", False, 1)),
])
def test_includes(line, include):
    result = read_file(line + "\n")
    assert result.includes == [include]
    assert result.requirements == [] and result.invalid == []


def test_includes_keep_their_line_numbers():
    result = read_file("celery\n-r base.txt\n\n-c pins.txt\n")
    assert result.includes == [("base.txt", False, 2), ("pins.txt", True, 4)]


def test_include_without_a_path_is_ignored():
    assert read_file("-r\n").includes == []


@pytest.mark.parametrize("line", [
    "--index-url https://example.com/simple",
    "-i https://example.com/simple",
    "--extra-index-url https://example.com/simple",
    "-e .",
    "-e git+https://github.com/celery/celery.git#egg=celery",
    "--find-links /wheels",
    "--no-binary :all:",
])
def test_other_option_lines_are_neither_requirements_nor_invalid(line):
    result = read_file(line + "\n")
    assert result.requirements == [] and result.invalid == [] and result.includes == []
    assert not result.allow_pre


def test_pre_option():
    assert read_file("--pre\ncelery\n").allow_pre
    assert not read_file("celery\n").allow_pre


# --------------------------------------------------------------------------- unknowns and errors


@pytest.mark.parametrize("line", [
    "${PKG}==1.0",
    "celery==${CELERY_VERSION}",
    "./local/pkg",
    "/abs/path/pkg",
    "~/pkg",
    "https://example.com/pkgs/celery-5.3.4-py3-none-any.whl",
    "foo.whl",
    "dist/foo-1.0.tar.gz",
    "dist/foo-1.0.zip",
    "file:///opt/wheels/celery",
    "git+https://github.com/celery/celery.git#egg=celery",
])
def test_unnamed_or_unknown_lines_are_skipped_not_invalid(line):
    result = read_file(line + "\n")
    assert result.requirements == [] and result.invalid == []


def test_invalid_lines_are_reported_with_line_and_column():
    result = read_file("celery==5.3.4\nfoo bar baz\n  !!!\nredis>=\n")
    assert [r.name for r in result.requirements] == ["celery"]
    assert [(line, column) for line, column, _ in result.invalid] == [(2, 1), (3, 3), (4, 1)]
    assert all(message and "\n" not in message for _, _, message in result.invalid)


def test_direct_reference_to_a_vcs_url_is_a_named_requirement():
    [line] = read_file("foo @ git+https://github.com/x/foo.git@v1\n").requirements
    assert line.name == "foo" and line.requirement.url == "git+https://github.com/x/foo.git@v1"


@pytest.mark.parametrize("url", ["https://example.com/foo-1.0.tar.gz",
                                 "https://example.com/foo-1.0-py3-none-any.whl"])
def test_direct_reference_to_an_archive_is_a_named_requirement(url):
    [line] = read_file(f"foo @ {url}\n").requirements
    assert line.name == "foo" and line.requirement.url == url


@pytest.mark.parametrize("text, expected", [
    ("celery==5", "celery"),
    ("${X}", None),
    ("./x", None),
    ("https://x/y.whl", None),
])
def test_parse_requirement(text, expected):
    result = parse_requirement(text)
    if expected is None:
        assert result is None
    else:
        assert result.name == expected


def test_parse_requirement_error_is_a_one_line_message():
    result = parse_requirement("foo bar")
    assert isinstance(result, str) and result and "\n" not in result


# --------------------------------------------------------------------------- columns


@pytest.mark.parametrize("physical", [
    "celery==5.3.4",
    "   redis==5.0.1",
    "\tkombu>=5",
    "redis==5.0.1  # pinned",
    "celery[redis]==5.3.4 ; python_version >= '3.8'",
    "celery==5.3.4 --hash=sha256:abc",
])
def test_column_and_end_column_point_at_the_requirement_text(physical):
    [line] = read_file(physical + "\n").requirements
    assert physical[line.column - 1:line.end_column - 1] == line.text
    assert line.column == len(physical) - len(physical.lstrip()) + 1


def test_columns_on_a_later_line():
    text = "# header\ncelery==5.3.4\n    redis==5.0.1\n"
    redis = read_file(text).requirements[1]
    assert (redis.line, redis.column, redis.end_column) == (3, 5, 17)


def test_end_column_of_a_requirement_split_across_lines_stays_on_its_first_line():
    physical = "celery \\"
    [line] = read_file(physical + "\n  ==5.3.4\n").requirements
    assert line.line == 1 and line.column == 1
    assert line.end_column == len(physical) + 1


# --------------------------------------------------------------------------- pip_install_args


def args_of(script: str) -> list[str] | None:
    [command] = split(script)
    args = pip_install_args(command)
    return None if args is None else [w.text for w in args]


@pytest.mark.parametrize("script, expected", [
    ("pip install celery", ["celery"]),
    ("pip3 install celery redis", ["celery", "redis"]),
    ("pip3.11 install celery", ["celery"]),
    ("/usr/local/bin/pip install celery", ["celery"]),
    ("python -m pip install celery", ["celery"]),
    ("python3 -m pip install -U celery", ["-U", "celery"]),
    ("python3.12 -m pip install celery", ["celery"]),
    ("uv pip install --system celery", ["--system", "celery"]),
    ("pip --no-cache-dir install celery", ["celery"]),
    ("pip -q --disable-pip-version-check install celery", ["celery"]),
    ("pip install", []),
])
def test_pip_install_args(script, expected):
    assert args_of(script) == expected


@pytest.mark.parametrize("script", [
    "pip download celery",
    "pip uninstall -y celery",
    "pip freeze",
    "pip",
    "python -m pip",
    "python -m pipx install celery",
    "python3 -m venv /venv",
    "python -c 'import pip'",
    "uv add celery",
    "uv sync",
    "pipx install celery",
    "pipenv install celery",
    "conda install celery",
    "echo pip install celery",
])
def test_not_a_pip_install(script):
    assert args_of(script) is None


def test_pip_install_args_on_empty_command():
    [command] = split("FOO=1")
    assert pip_install_args(command) is None


@pytest.mark.parametrize("script", [
    "pip --timeout 60 install celery",
    "pip --cache-dir /tmp/pip install celery",
])
def test_pip_global_option_with_separate_value(script):
    assert args_of(script) == ["celery"]


# --------------------------------------------------------------------------- read_pip_install


def pip(script: str):
    [command] = split(script)
    args = pip_install_args(command)
    assert args is not None
    return read_pip_install(args)


def test_read_pip_install_requirements_and_origins():
    script = "pip install celery[redis]==5.3.4 'redis==5.0.1' kombu"
    result, origins = pip(script)
    assert [r.name for r in result.requirements] == ["celery", "redis", "kombu"]
    assert [r.text for r in result.requirements] == ["celery[redis]==5.3.4", "redis==5.0.1", "kombu"]
    assert [o.text for o in origins] == ["celery[redis]==5.3.4", "redis==5.0.1", "kombu"]
    # column/end_column are the word's offsets in the script
    assert [script[r.column:r.end_column] for r in result.requirements] == [
        "celery[redis]==5.3.4", "'redis==5.0.1'", "kombu"]
    assert all(r.line == 0 for r in result.requirements)


# Values are chosen to parse as requirement names, so a value taken for a requirement shows up.
@pytest.mark.parametrize("script", [
    "pip install -i mirror celery",
    "pip install --index-url mirror celery",
    "pip install --index-url=https://example.com/simple celery",
    "pip install --extra-index-url mirror celery",
    "pip install -f wheels celery",
    "pip install --find-links wheels celery",
    "pip install --target lib celery",
    "pip install -t lib celery",
    "pip install --prefix usr celery",
    "pip install --log pip.log celery",
    "pip install --timeout 60 celery",
    "pip install --retries 3 celery",
    "pip install --cache-dir cache celery",
    "pip install -C setting celery",
    "pip install --no-binary grpcio celery",
    "pip install --only-binary grpcio celery",
    "pip install --progress-bar off celery",
    "pip install --upgrade-strategy eager celery",
    "pip install --python-version 3.11 --platform manylinux2014 celery",
    "pip install --root-user-action ignore celery",
    "pip install -e src celery",
    "pip install --editable=src celery",
    "pip install --user --no-cache-dir -U -q celery",
])
def test_option_values_are_not_requirements(script):
    result, origins = pip(script)
    assert [r.name for r in result.requirements] == ["celery"]
    assert [o.text for o in origins] == ["celery"]


def test_no_deps_and_pre():
    result, _ = pip("pip install --no-deps --pre celery")
    assert result.no_deps and result.allow_pre
    plain, _ = pip("pip install celery")
    assert not plain.no_deps and not plain.allow_pre


@pytest.mark.parametrize("script, includes", [
    ("pip install -r requirements.txt", [("requirements.txt", False, 0)]),
    ("pip install -rrequirements.txt", [("requirements.txt", False, 0)]),
    ("pip install --requirement=requirements.txt", [("requirements.txt", False, 0)]),
    ("pip install --requirement requirements.txt", [("requirements.txt", False, 0)]),
    ("pip install -c constraints.txt celery", [("constraints.txt", True, 0)]),
    ("pip install -cconstraints.txt celery", [("constraints.txt", True, 0)]),
    ("pip install --constraint=c.txt -r a.txt -r b.txt",
     [("c.txt", True, 0), ("a.txt", False, 0), ("b.txt", False, 0)]),
])
def test_read_pip_install_includes(script, includes):
    result, _ = pip(script)
    assert result.includes == includes
    assert [r.name for r in result.requirements] == (["celery"] if "celery" in script else [])


def test_include_path_is_not_a_requirement():
    result, origins = pip("pip install -r requirements.txt")
    assert result.requirements == [] and origins == []


def test_option_missing_its_value_at_the_end():
    result, origins = pip("pip install celery -r")
    assert [o.text for o in origins] == ["celery"] and result.includes == []


def test_dynamic_and_unnamed_words_are_skipped():
    result, origins = pip('pip install $PACKAGES "celery==${V}" ./dist/app.whl . redis==5.0.1')
    assert [r.name for r in result.requirements] == ["redis"]
    assert [o.text for o in origins] == ["redis==5.0.1"]


def test_invalid_words_are_skipped_without_reporting():
    result, origins = pip("pip install 'foo bar' celery")
    assert [o.text for o in origins] == ["celery"] and result.invalid == []


def test_read_pip_install_exec_form_positions():
    argv = ["pip", "install", "--no-cache-dir", "celery==5.3.4"]
    [command] = commands_of(argv)
    result, origins = read_pip_install(pip_install_args(command))
    [line] = result.requirements
    assert origins[0].item == 3
    assert (line.column, line.end_column) == (0, len("celery==5.3.4"))


def test_read_pip_install_empty():
    result, origins = read_pip_install([])
    assert result.requirements == [] and origins == [] and result.includes == []


def test_read_pip_install_skips_dynamic_words():
    words = [Word("celery", 0, 6, dynamic=True), Word("redis", 7, 12)]
    result, origins = read_pip_install(words)
    assert [o.text for o in origins] == ["redis"]


# --------------------------------------------------------------------------- include_path


@pytest.mark.parametrize("base, include, expected", [
    ("requirements/prod.txt", "base.txt", "requirements/base.txt"),
    ("requirements/prod.txt", "../constraints.txt", "constraints.txt"),
    ("requirements.txt", "reqs/base.txt", "reqs/base.txt"),
    ("a/b/req.txt", "./c.txt", "a/b/c.txt"),
])
def test_include_path(base, include, expected):
    assert include_path(base, include) == expected.replace("/", os.sep)
