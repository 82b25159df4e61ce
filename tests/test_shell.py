"""Unit tests for celerylint.parse.shell: tokenize, split, shell_script, commands_of."""

from __future__ import annotations

import pytest

from celerylint.parse.shell import (
    Heredoc,
    ShellSyntaxError,
    SimpleCommand,
    Word,
    commands_of,
    shell_script,
    split,
    tokenize,
)


def texts(tokens):
    """Tokens as plain values: a Word becomes its text, operators stay as they are."""
    return [t.text if isinstance(t, Word) else t for t in tokens if not isinstance(t, Heredoc)]


def words_of(commands: list[SimpleCommand]) -> list[list[str]]:
    return [[w.text for w in c.words] for c in commands]


# --------------------------------------------------------------------------- tokenize


def test_tokenize_separates_every_operator():
    assert texts(tokenize("a && b || c; d | e & f\ng")) == [
        "a", "&&", "b", "||", "c", ";", "d", "|", "e", "&", "f", "\n", "g"]


def test_tokenize_operators_need_no_surrounding_spaces():
    assert texts(tokenize("a&&b||c;d|e")) == ["a", "&&", "b", "||", "c", ";", "d", "|", "e"]


def test_tokenize_pipe_stderr_and_double_semicolon():
    assert texts(tokenize("a |& b ;; c")) == ["a", "|&", "b", ";;", "c"]


@pytest.mark.parametrize("script, expected", [
    ("echo 'a b'", ["echo", "a b"]),
    ('echo "a b"', ["echo", "a b"]),
    ("echo a\\ b", ["echo", "a b"]),
    ("echo 'a'\"b\"c", ["echo", "abc"]),
    ('echo "a\\"b"', ["echo", 'a"b']),
    ('echo "a\\\\b"', ["echo", "a\\b"]),
    ('echo "a\\nb"', ["echo", "a\\nb"]),       # \n is not an escape inside double quotes
    ("echo ''", ["echo", ""]),
    ('echo ""', ["echo", ""]),
    ("echo 'it''s'", ["echo", "its"]),
])
def test_tokenize_removes_quotes(script, expected):
    assert texts(tokenize(script)) == expected


def test_tokenize_backslash_newline_joins_lines():
    assert texts(tokenize("celery worker \\\n  -c 4")) == ["celery", "worker", "-c", "4"]


def test_tokenize_backslash_newline_inside_double_quotes_is_removed():
    assert texts(tokenize('echo "a\\\nb"')) == ["echo", "ab"]


def test_tokenize_comment_runs_to_end_of_line():
    assert texts(tokenize("echo a # celery worker\necho b")) == ["echo", "a", "\n", "echo", "b"]


def test_tokenize_hash_inside_a_word_is_not_a_comment():
    assert texts(tokenize("echo a#b")) == ["echo", "a#b"]


@pytest.mark.parametrize("script, expected", [
    ("$(date +%s)", True),
    ("`id -u`", True),
    ("${HOME}", True),
    ("$HOME", True),
    ("prefix-$HOME", True),
    ("$1", True),
    ("$@", True),
    ("$?", True),
    ('"$HOME"', True),
    ('"${A:-x}"', True),
    ('"a$(b)c"', True),
    ("'$HOME'", False),       # single quotes: no expansion
    ("\\$HOME", False),       # escaped dollar
    ("price=5$", False),      # a lone trailing dollar
    ("plain", False),
    ("--pool=prefork", False),
])
def test_tokenize_marks_expansions_dynamic(script, expected):
    [word] = tokenize(script)
    assert word.dynamic is expected


def test_tokenize_dynamic_flag_does_not_leak_to_next_word():
    first, second = tokenize("$A b")
    assert first.dynamic and not second.dynamic


def test_tokenize_command_substitution_keeps_its_text_and_nesting():
    words = texts(tokenize('echo $(a "$(b c)") `d e` x'))
    assert words == ["echo", '$(a "$(b c)")', "`d e`", "x"]


def test_tokenize_command_substitution_may_contain_operators():
    tokens = tokenize("X=$(a | b && c); celery")
    assert texts(tokens) == ["X=$(a | b && c)", ";", "celery"]


def test_tokenize_arithmetic_expansion_is_one_dynamic_word():
    [echo, word] = tokenize("echo $((1+2))")
    assert (word.text, word.dynamic) == ("$((1+2))", True)


@pytest.mark.parametrize("script", [
    "celery worker --loglevel=info -c 4",
    "exec celery -A 'my app' worker \"--hostname=w@%h\" -Q a,b",
    "FOO=1 celery worker 2>&1 | tee /tmp/log && echo done",
    "echo $(date) `id` ${HOME} e\\ f",
    "cat <<EOF >/tmp/x\nbody line\nEOF\nexec celery worker",
    "a \\\n  b \\\n  c",
    "echo 'x' ; echo \"y\" # trailing comment",
])
def test_tokenize_word_offsets_point_at_the_source_text(script):
    for token in tokenize(script):
        if not isinstance(token, Word):
            continue
        source = script[token.start:token.end]
        assert token.end > token.start
        # the source span is the word as written: same text once quotes/escapes are dropped
        assert source.replace("\\\n", "").replace("\\", "").replace("'", "").replace('"', "") \
            == token.text.replace("\\", "").replace("'", "").replace('"', "")


def test_tokenize_word_offsets_exact_values():
    script = "  exec  celery 'a b' \"c\"d e\\ f"
    words = [t for t in tokenize(script) if isinstance(t, Word)]
    assert [(w.start, w.end) for w in words] == [(2, 6), (8, 14), (15, 20), (21, 25), (26, 30)]
    assert [script[w.start:w.end] for w in words] == ["exec", "celery", "'a b'", '"c"d', "e\\ f"]


def test_tokenize_item_is_recorded_on_every_word():
    assert {w.item for w in tokenize("a b; c", item=3) if isinstance(w, Word)} == {3}


@pytest.mark.parametrize("script, expected", [
    ("celery worker 2>&1", ["celery", "worker", ">&", "1"]),
    ("celery worker >/tmp/log", ["celery", "worker", ">", "/tmp/log"]),
    ("celery worker > /tmp/log", ["celery", "worker", ">", "/tmp/log"]),
    ("celery worker 2>/dev/null", ["celery", "worker", ">", "/dev/null"]),
    ("celery worker >>log", ["celery", "worker", ">>", "log"]),
    ("celery worker &>/dev/null", ["celery", "worker", "&>", "/dev/null"]),
    ("celery worker &>>log", ["celery", "worker", "&>>", "log"]),
    ("celery worker </dev/null", ["celery", "worker", "<", "/dev/null"]),
    ("celery worker 1>&2", ["celery", "worker", ">&", "2"]),
])
def test_tokenize_redirections_are_operators_and_fd_numbers_vanish(script, expected):
    assert texts(tokenize(script)) == expected


def test_tokenize_skips_heredoc_body():
    script = "cat <<EOF >/tmp/x\ncelery worker\nEOF\necho done"
    tokens = tokenize(script)
    assert "celery" not in texts(tokens)
    assert texts(tokens)[-2:] == ["echo", "done"]
    echo = [t for t in tokens if isinstance(t, Word) and t.text == "echo"][0]
    assert script[echo.start:echo.end] == "echo"
    assert echo.start == script.index("echo")


def test_tokenize_skips_dash_heredoc_with_tab_indented_delimiter():
    script = "cat <<-EOF >/tmp/x\n\tcelery worker\n\tEOF\necho done"
    assert texts(tokenize(script))[-2:] == ["echo", "done"]
    assert "celery" not in texts(tokenize(script))


def test_tokenize_plain_heredoc_needs_unindented_delimiter():
    # with <<, a tab-indented "EOF" does not end the body: everything after is body text
    script = "cat <<EOF >/tmp/x\n\tEOF\necho hidden\nEOF\necho shown"
    words = texts(tokenize(script))
    assert "hidden" not in words and words[-2:] == ["echo", "shown"]


@pytest.mark.parametrize("opener", ["<<'EOF'", '<<"EOF"', "<<\\EOF", "<< EOF"])
def test_tokenize_heredoc_delimiter_spellings(opener):
    script = f"cat {opener} >/tmp/x\n$(celery worker)\nEOF\necho done"
    words = texts(tokenize(script))
    assert words[-2:] == ["echo", "done"]
    assert not any("celery" in w for w in words)


def test_tokenize_two_heredocs_on_one_line():
    script = "cat <<A >/x; cat <<B >/y\none\nA\ntwo\nB\necho done"
    words = texts(tokenize(script))
    assert "one" not in words and "two" not in words
    assert words[-2:] == ["echo", "done"]


def test_tokenize_heredoc_without_delimiter_raises():
    with pytest.raises(ShellSyntaxError):
        tokenize("cat <<")


@pytest.mark.parametrize("script", [
    "echo 'oops",
    'echo "oops',
    "echo `oops",
    "echo $(oops",
    'echo "$(oops"',
    "echo $(echo 'oops)",
])
def test_tokenize_unbalanced_quotes_raise(script):
    with pytest.raises(ShellSyntaxError):
        tokenize(script)


def test_shell_syntax_error_is_a_value_error():
    assert issubclass(ShellSyntaxError, ValueError)


# --------------------------------------------------------------------------- split


def test_split_connections_between_commands():
    commands = split("a && b || c; d | e & f\ng")
    assert words_of(commands) == [["a"], ["b"], ["c"], ["d"], ["e"], ["f"], ["g"]]
    flags = [(c.piped_into, c.piped_from, c.background, c.last) for c in commands]
    assert flags == [
        (False, False, False, False),  # a
        (False, False, False, False),  # b
        (False, False, False, False),  # c
        (True, False, False, False),   # d |
        (False, True, True, False),    # | e &
        (False, False, False, False),  # f
        (False, False, False, True),   # g, last
    ]


def test_split_pipe_stderr_counts_as_a_pipe():
    first, second = split("celery worker |& tee log")
    assert first.piped_into and second.piped_from


def test_split_background_command_is_not_last_when_something_follows():
    first, second = split("celery worker & celery beat")
    assert first.background and not first.last
    assert second.last and not second.background


def test_split_trailing_ampersand_backgrounds_the_last_command():
    [command] = split("celery worker &")
    assert command.background and command.last


def test_split_exec():
    [command] = split("exec celery -A app worker")
    assert command.exec_
    assert [w.text for w in command.words] == ["celery", "-A", "app", "worker"]
    assert command.replaces_shell


def test_split_without_exec_the_shell_stays():
    [command] = split("celery -A app worker", shell="sh")
    assert not command.exec_ and command.shell == "sh"
    assert not command.replaces_shell


def test_split_assignments_before_exec():
    [command] = split("FOO=1 BAR='a b' exec celery worker")
    assert [w.text for w in command.assignments] == ["FOO=1", "BAR=a b"]
    assert command.exec_
    assert [w.text for w in command.words] == ["celery", "worker"]


def test_split_assignment_only_command_is_kept():
    [command] = split("FOO=1")
    assert command.words == [] and [w.text for w in command.assignments] == ["FOO=1"]


@pytest.mark.parametrize("script, words, assignments", [
    ("A_B=x celery", ["celery"], ["A_B=x"]),
    ("_x=1 celery", ["celery"], ["_x=1"]),
    ("1A=2 celery", ["1A=2", "celery"], []),          # a name cannot start with a digit
    ("A-B=1 celery", ["A-B=1", "celery"], []),        # '-' is not allowed in a name
    ("=1 celery", ["=1", "celery"], []),
    ("celery --opt=1", ["celery", "--opt=1"], []),     # only leading words are assignments
    ("echo foo=bar", ["echo", "foo=bar"], []),
    ("X=$(id) celery", ["celery"], ["X=$(id)"]),
])
def test_split_env_assignments(script, words, assignments):
    [command] = split(script)
    assert [w.text for w in command.words] == words
    assert [w.text for w in command.assignments] == assignments


def test_split_dynamic_assignment_keeps_its_flag():
    [command] = split("X=$(id) celery")
    assert command.assignments[0].dynamic


@pytest.mark.parametrize("script, expected", [
    ("if true; then celery worker; fi", [["true"], ["celery", "worker"]]),
    ("while true; do celery worker; done", [["true"], ["celery", "worker"]]),
    ("! celery worker", [["celery", "worker"]]),
    ("time celery worker", [["celery", "worker"]]),
    ("{ celery worker; }", [["celery", "worker"]]),
])
def test_split_skips_reserved_words_at_command_start(script, expected):
    assert words_of(split(script)) == expected


def test_split_reserved_word_later_in_command_is_kept():
    [command] = split("echo done if")
    assert [w.text for w in command.words] == ["echo", "done", "if"]


def test_split_subshell_parentheses_separate_commands():
    commands = split("(cd /app && exec celery worker)")
    assert words_of(commands) == [["cd", "/app"], ["celery", "worker"]]
    assert commands[1].exec_


def test_split_drops_redirections_and_their_targets():
    [first, second] = split("celery -A app worker 2>&1 >/tmp/log | tee -a out")
    assert [w.text for w in first.words] == ["celery", "-A", "app", "worker"]
    assert first.piped_into and second.piped_from
    assert [w.text for w in second.words] == ["tee", "-a", "out"]


def test_split_heredoc_followed_by_redirect_keeps_next_command():
    commands = split("cat <<EOF >/etc/app.conf\ncelery worker\nEOF\nexec celery -A app worker")
    assert words_of(commands) == [["cat"], ["celery", "-A", "app", "worker"]]
    assert commands[1].exec_ and commands[1].last


def test_split_heredoc_at_end_of_line_keeps_next_command():
    commands = split("cat <<EOF\nhello\nEOF\nexec celery -A app worker")
    assert words_of(commands) == [["cat"], ["celery", "-A", "app", "worker"]]
    assert commands[1].exec_


def test_split_heredoc_piped_into_next_command():
    commands = split("cat <<EOF | grep x\nbody\nEOF\n")
    assert words_of(commands) == [["cat"], ["grep", "x"]]


def test_split_redirection_glued_to_a_word():
    [command] = split("celery -A app worker>/tmp/log")
    assert [w.text for w in command.words] == ["celery", "-A", "app", "worker"]


def test_split_passes_shell_and_item_through():
    [command] = split("celery worker", shell="bash", item=2)
    assert command.shell == "bash"
    assert all(w.item == 2 for w in command.words)


@pytest.mark.parametrize("script", ["", "   ", "\n\n", "# only a comment", ";"])
def test_split_empty_scripts_have_no_commands(script):
    assert split(script) == []


def test_split_last_is_set_only_on_the_final_command():
    commands = split("a\nb\n\n")
    assert [c.last for c in commands] == [False, True]


def test_word_name_is_the_basename():
    assert Word("/usr/local/bin/celery", 0, 21).name == "celery"
    assert Word("celery", 0, 6).name == "celery"


# --------------------------------------------------------------------------- shell_script


@pytest.mark.parametrize("argv, expected", [
    (["sh", "-c", "x"], ("sh", 2)),
    (["/bin/sh", "-c", "x"], ("sh", 2)),
    (["/bin/sh", "-ec", "x"], ("sh", 2)),
    (["bash", "-c", "x"], ("bash", 2)),
    (["/bin/bash", "-lc", "x"], ("bash", 2)),
    (["bash", "-e", "-c", "x"], ("bash", 3)),
    (["bash", "-o", "pipefail", "-c", "x"], ("bash", 4)),
    (["bash", "--login", "-c", "x"], ("bash", 3)),
    (["dash", "-c", "x"], ("dash", 2)),
    (["busybox", "sh", "-c", "x"], ("sh", 3)),
    (["sh", "-c", "x", "arg0", "arg1"], ("sh", 2)),
])
def test_shell_script_finds_the_script(argv, expected):
    assert shell_script(argv) == expected


@pytest.mark.parametrize("argv", [
    [],
    ["sh"],
    ["sh", "-c"],                      # -c without a script
    ["sh", "start.sh"],                # running a file, not -c
    ["sh", "-e", "start.sh"],
    ["sh", "--", "-c", "x"],           # after --, -c is an argument
    ["python", "-c", "print(1)"],      # not a shell
    ["celery", "-c", "4"],
    ["busybox", "wget", "-c", "x"],
])
def test_shell_script_none_when_not_a_c_script(argv):
    assert shell_script(argv) is None


# --------------------------------------------------------------------------- commands_of


def test_commands_of_exec_form_is_one_command_of_whole_items():
    argv = ["celery", "-A", "app", "worker"]
    [command] = commands_of(argv)
    assert [w.text for w in command.words] == argv
    assert [(w.item, w.start, w.end) for w in command.words] == [
        (0, 0, 6), (1, 0, 2), (2, 0, 3), (3, 0, 6)]
    assert command.shell is None and command.last and command.replaces_shell


def test_commands_of_exec_form_does_not_split_on_operators():
    [command] = commands_of(["celery", "worker", "&&", "echo"])
    assert [w.text for w in command.words] == ["celery", "worker", "&&", "echo"]


def test_commands_of_exec_form_dynamic_flags():
    [command] = commands_of(["celery", "worker", "$(ARGS)"], dynamic=[False, False, True])
    assert [w.dynamic for w in command.words] == [False, False, True]


def test_commands_of_exec_form_short_dynamic_list():
    [command] = commands_of(["celery", "worker", "x"], dynamic=[True])
    assert [w.dynamic for w in command.words] == [True, False, False]


def test_commands_of_exec_form_is_literal_without_dynamic_flags():
    [command] = commands_of(["celery", "$POOL"])
    assert not command.words[1].dynamic


def test_commands_of_empty_argv():
    assert commands_of([]) == []


def test_commands_of_shell_c_splits_the_script_with_offsets_into_it():
    script = "cd /app && exec celery -A app worker"
    argv = ["/bin/sh", "-ec", script]
    commands = commands_of(argv)
    assert words_of(commands) == [["cd", "/app"], ["celery", "-A", "app", "worker"]]
    assert all(c.shell == "sh" for c in commands)
    assert commands[1].exec_ and commands[1].replaces_shell
    assert not commands[0].replaces_shell
    for word in commands[1].words:
        assert word.item == 2
        assert argv[word.item][word.start:word.end] == word.text


def test_commands_of_bash_c():
    [command] = commands_of(["bash", "-c", "celery -A app worker"])
    assert command.shell == "bash" and not command.exec_ and not command.replaces_shell


def test_commands_of_raises_on_unreadable_script():
    with pytest.raises(ShellSyntaxError):
        commands_of(["sh", "-c", "celery worker 'unterminated"])


def test_shell_options_with_a_value_before_dash_c():
    from celerylint.parse.celery_cli import invocations
    from celerylint.parse.shell import commands_of

    argv = ["bash", "-euo", "pipefail", "-c", "celery -A proj worker"]
    [inv] = invocations(commands_of(argv))
    assert inv.subcommand == "worker" and inv.command.shell == "bash"


def test_here_string_is_a_redirection():
    from celerylint.parse.shell import split

    [cmd] = split('cat <<< "hello"')
    assert [w.text for w in cmd.words] == ["cat"]


@pytest.mark.parametrize("opener,quoted", [("<<EOF", False), ("<<'EOF'", True),
                                           ('<<"EOF"', True), ("<<\\EOF", True),
                                           ('<<E"O"F', True), ("<< EOF", False)])
def test_heredoc_bodies_and_quoting(opener, quoted):
    script = f"cat {opener} | kubectl apply -f -\nkind: Pod\nname: $X\nEOF\necho done\n"
    commands = split(script)
    heredoc, = commands[0].heredocs
    assert heredoc.quoted is quoted and heredoc.delimiter == "EOF"
    assert script[heredoc.start:heredoc.end] == "kind: Pod\nname: $X\n"
    assert commands[0].piped_into and [w.text for w in commands[1].words][:2] == ["kubectl",
                                                                                  "apply"]


def test_heredoc_with_tab_stripping_and_redirect_target():
    script = "cat > /app/tasks.py <<-EOF\n\tx = 1\n\tEOF\ncat <<A >/x; cat <<B >/y\none\nA\n"
    commands = split(script)
    assert commands[0].heredocs[0].strip_tabs
    assert script[commands[0].heredocs[0].start:commands[0].heredocs[0].end] == "\tx = 1\n"
    assert [(op, w.text) for op, w in commands[0].redirects] == [(">", "/app/tasks.py")]
    second, third = commands[1], commands[2]
    assert script[second.heredocs[0].start:second.heredocs[0].end] == "one\n"
    assert third.heredocs[0].start == third.heredocs[0].end == len(script)  # never closed


def test_bash_arrays_keep_their_items_as_words():
    script = 'A=(-A "shop app" worker)\nA+=(--detach)\nB=(x=(y))\n'
    first, second, third = split(script)
    assert [w.text for w in first.assignments[0].array] == ["-A", "shop app", "worker"]
    assert script[first.assignments[0].array[0].start:first.assignments[0].array[0].end] == "-A"
    assert [w.text for w in second.assignments[0].array] == ["--detach"]
    assert third.assignments[0].array == []  # arrays do not nest: not read deeper
