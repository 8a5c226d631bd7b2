"""Ctrl+C quits `numascope top` (Textual 8 otherwise only says "press ctrl+q")."""

from __future__ import annotations

from pathlib import Path

from numascope.tui.help import HelpScreen
from tests.fixtures import streams
from tests.tui.conftest import played, replay_app, screen_text, until
from tests.tui.terminal import NUMASCOPE, Tmux


async def test_ctrl_c_quits_from_the_main_screen(tmp_path: Path) -> None:
    app = replay_app(tmp_path, streams.remote_heavy())
    async with app.run_test(size=(100, 30)) as pilot:
        await played(pilot)
        await pilot.press("ctrl+c")
        await until(pilot, lambda: not app.is_running, "app ends")
    assert app.return_code == 0


async def test_ctrl_c_quits_from_the_filter_and_the_help_screen(tmp_path: Path) -> None:
    app = replay_app(tmp_path, streams.remote_heavy())
    async with app.run_test(size=(100, 30)) as pilot:
        await played(pilot)
        await pilot.press("question_mark")
        await until(pilot, lambda: isinstance(app.screen, HelpScreen), "help screen")
        await pilot.press("escape")
        await pilot.press("slash")
        await until(pilot, lambda: "Esc clears" in screen_text(app), "filter input")
        await pilot.press("d", "ctrl+c")
        await until(pilot, lambda: not app.is_running, "app ends")


def test_ctrl_c_quits_in_a_real_terminal(tmux: Tmux, tmp_path: Path) -> None:
    stream = streams.write_stream(tmp_path / "remote.jsonl", streams.remote_heavy())
    tmux.send(f"{NUMASCOPE} top --replay {stream} --interval 0.2; echo EXIT=$?", "Enter")
    tmux.wait_for("replay ended")
    tmux.send("C-c")
    tmux.wait_for("EXIT=0", patience=30)
