"""README.md's examples are the tested ones: the Python block runs here as written (the hub one in
test_hub.py), its REPL block is a doctest of the reprs, and the Kotlin blocks are the bodies of
android/.../ReadmeExampleTest.kt and HubSyncTest.kt (which Maven runs)."""

import doctest
import os
import pathlib
import re
import textwrap

ROOT = pathlib.Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text(encoding="utf-8")


def block(language, after_heading):
    section = README.split(after_heading, 1)[1]
    return re.search(rf"```{language}\n(.*?)```", section, re.S).group(1)


def test_the_python_example_runs(tmp_path, capsys):
    os.chdir(tmp_path)
    exec(compile(block("python", "### Python"), "README.md", "exec"), {})
    printed = capsys.readouterr().out
    assert "still missing:" in printed and "dialogue_date" in printed
    assert "changed:" in printed
    assert "sent 1 to the tablet" in printed
    assert "cantons offered:" in printed and "Instance(id=" in printed
    assert "GAD municipal de Esmeraldas" in printed, "the tablet's DataFrame shows the answer"


def test_the_attachments_example_runs(tmp_path, capsys):
    os.chdir(tmp_path)
    exec(compile(block("python", "#### Attachments"), "README.md", "exec"), {})
    printed = capsys.readouterr().out
    assert "attachments sent: 1" in printed
    assert "AttachmentState.PRESENT(size=300000)" in printed
    assert (tmp_path / "received.jpg").read_bytes() == bytes(300_000)


def test_the_python_repl_block_prints_what_it_says():
    session = doctest.DocTestParser().get_doctest(block("pycon", "### Python"), {}, "README.md", "README.md", 0)
    runner = doctest.DocTestRunner(optionflags=doctest.NORMALIZE_WHITESPACE)
    runner.run(session)
    outcome = runner.summarize(verbose=False)
    assert outcome.attempted >= 5 and outcome.failed == 0, outcome


def test_the_kotlin_example_is_the_tested_one():
    test = (ROOT / "android/src/test/kotlin/org/minga/ReadmeExampleTest.kt").read_text(encoding="utf-8")
    tested = textwrap.dedent(test.split("// README:start\n", 1)[1].split("        // README:end", 1)[0])
    assert block("kotlin", "### Kotlin") == tested


def test_the_kotlin_hub_example_is_the_tested_one():
    test = (ROOT / "android/src/test/kotlin/org/minga/HubSyncTest.kt").read_text(encoding="utf-8")
    tested = textwrap.dedent(test.split("// README-hub:start\n", 1)[1].split("        // README-hub:end", 1)[0])
    assert block("kotlin", "Sync with the office hub: the store enrols") == tested
