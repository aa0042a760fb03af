"""encodectl.lerobot.commit: the journal of moves, a commit cut off at every point, and the dataset's guard.

No ffmpeg: the files moved are bytes standing for verified videos and metadata. A commit "cut off" is a
journal written as commit_moves writes it, then completed by complete_cut_off_commit as the next run does.
"""

from __future__ import annotations

import fcntl
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from encodectl.errors import DatasetBusy, EncodeError, InputError
from encodectl.lerobot import commit
from encodectl.lerobot.commit import CommitJournal, FileState, Move
from tests.conftest import BEFORE_FFMPEG

pytestmark = BEFORE_FFMPEG


@pytest.fixture
def root(tmp_path: Path) -> Path:
    dataset = tmp_path / "dataset"
    (dataset / "meta").mkdir(parents=True)
    (dataset / "meta" / "info.json").write_text('{"v": 1}')
    return dataset


def staging(root: Path) -> Path:
    folder = root / ".encodectl" / "lerobot-staging"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def stage(root: Path, name: str, content: bytes, target: str) -> Move:
    """A staged file and its move, as the run planned it (the target as it is now)."""
    source = staging(root) / name
    source.write_bytes(content)
    destination = root / target
    return Move(source=source, target=destination, staged=FileState.of(source), before=FileState.of(destination))


def journal_of(root: Path, *moves: Move) -> Path:
    journal = root / ".encodectl" / "lerobot-commit.json"
    journal.write_text(CommitJournal(moves=list(moves)).model_dump_json())
    return journal


def test_file_state(tmp_path: Path) -> None:
    file = tmp_path / "f"
    file.write_bytes(b"12345")
    state = FileState.of(file)
    assert state == FileState(size=5, mtime_ns=file.stat().st_mtime_ns)
    assert FileState.of(tmp_path / "absent") is None
    assert FileState.of(file / "below a file") is None
    file.write_bytes(b"1234")
    assert FileState.of(file) != state


# Completing a commit cut off by a crash


def test_nothing_to_complete(root: Path) -> None:
    staging(root)
    assert commit.complete_cut_off_commit(root) is True
    assert not (root / ".encodectl").exists()  # the staging folder and the then-empty state folder are gone


def test_a_journal_never_finished_means_the_commit_never_began(root: Path) -> None:
    move = stage(root, "a.mp4", b"video", "videos/a.mp4")
    journal = journal_of(root, move)
    journal.replace(journal.with_suffix(".tmp"))
    assert commit.complete_cut_off_commit(root) is True
    assert not (root / "videos" / "a.mp4").exists()
    assert not (root / ".encodectl").exists()


def test_every_move_is_made_in_order(root: Path) -> None:
    video = stage(root, "a.mp4", b"video", "videos/a.mp4")
    info = stage(root, "info.json", b'{"v": 2}', "meta/info.json")
    leftover = commit._copy_beside(root / "meta" / "info.json")
    leftover.write_text("a copy cut off")
    journal_of(root, video, info)
    assert commit.complete_cut_off_commit(root) is True
    assert (root / "videos" / "a.mp4").read_bytes() == b"video"
    assert (root / "meta" / "info.json").read_bytes() == b'{"v": 2}'
    assert not leftover.exists()
    assert not (root / ".encodectl").exists()


def test_moves_already_made_are_passed_over(root: Path) -> None:
    video = stage(root, "a.mp4", b"video", "videos/a.mp4")
    info = stage(root, "info.json", b'{"v": 2}', "meta/info.json")
    journal_of(root, video, info)
    commit.publish(video.source, video.target)  # the crash came after the first move
    assert commit.complete_cut_off_commit(root) is True
    assert (root / "meta" / "info.json").read_bytes() == b'{"v": 2}'


def test_a_staged_file_lost_in_a_power_cut_stops_the_metadata(root: Path) -> None:
    """Neither moved nor still staged: the metadata that would point at it must not follow."""
    video = stage(root, "a.mp4", b"video", "videos/a.mp4")
    info = stage(root, "info.json", b'{"v": 2}', "meta/info.json")
    journal_of(root, video, info)
    video.source.unlink()
    assert commit.complete_cut_off_commit(root) is False
    assert not (root / "videos" / "a.mp4").exists()
    assert (root / "meta" / "info.json").read_text() == '{"v": 1}'  # untouched
    assert not (root / ".encodectl" / "lerobot-commit.json").exists()


def test_a_staged_file_changed_since_the_journal_stops_the_commit(root: Path) -> None:
    video = stage(root, "a.mp4", b"video", "videos/a.mp4")
    info = stage(root, "info.json", b'{"v": 2}', "meta/info.json")
    journal_of(root, video, info)
    video.source.write_bytes(b"other bytes")
    assert commit.complete_cut_off_commit(root) is False
    assert not (root / "videos" / "a.mp4").exists()
    assert (root / "meta" / "info.json").read_text() == '{"v": 1}'


def test_a_dataset_changed_since_drops_the_rest_and_remembers_what_was_placed(root: Path) -> None:
    first = stage(root, "a.mp4", b"video a", "videos/a.mp4")
    second = stage(root, "b.mp4", b"video b", "videos/b.mp4")
    info = stage(root, "info.json", b'{"v": 2}', "meta/info.json")
    journal_of(root, first, second, info)
    (root / "meta" / "info.json").write_text('{"v": 1, "resumed": true}')  # a resumed recording rewrote it
    assert commit.complete_cut_off_commit(root) is False
    assert (root / "videos" / "a.mp4").read_bytes() == b"video a"
    assert (root / "videos" / "b.mp4").read_bytes() == b"video b"
    assert (root / "meta" / "info.json").read_text() == '{"v": 1, "resumed": true}'
    made = json.loads((root / ".encodectl" / "lerobot-made.json").read_text())
    assert set(made["files"]) == {str(root / "videos" / "a.mp4"), str(root / "videos" / "b.mp4")}
    assert commit.made_by_encodectl(root, root / "videos" / "a.mp4")
    assert not commit.made_by_encodectl(root, root / "meta" / "info.json")
    assert not (root / ".encodectl" / "lerobot-staging").exists()


def test_a_journal_that_cannot_be_read(root: Path) -> None:
    staging(root)
    journal = root / ".encodectl" / "lerobot-commit.json"
    journal.write_text("{not json")
    with pytest.raises(InputError) as caught:
        commit.complete_cut_off_commit(root)
    assert str(caught.value) == (
        f"{journal} cannot be read (ValidationError); move it aside to drop the commit it describes"
    )
    assert journal.exists()


@pytest.mark.parametrize(
    ("source", "target"),
    [
        ("{root}/elsewhere.mp4", "{root}/videos/a.mp4"),  # not from the staging folder
        ("{root}/.encodectl/lerobot-staging/a.mp4", "{root}/.encodectl/ledger.json"),  # into encodectl's own
        ("{root}/.encodectl/lerobot-staging/a.mp4", "{root}/../outside.mp4"),  # out of the dataset
        ("{root}/.encodectl/lerobot-staging/a.mp4", "/tmp/outside.mp4"),
        (".encodectl/lerobot-staging/a.mp4", "{root}/videos/a.mp4"),  # relative: taken from the current folder
        ("{root}/.encodectl/lerobot-staging/a.mp4", "videos/a.mp4"),
    ],
)
def test_a_journal_that_came_with_the_dataset_is_refused(root: Path, source: str, target: str) -> None:
    (staging(root) / "a.mp4").write_bytes(b"video")
    (root / "elsewhere.mp4").write_bytes(b"video")
    move = Move(source=Path(source.format(root=root)), target=Path(target.format(root=root)))
    journal = journal_of(root, move)
    with pytest.raises(InputError) as caught:
        commit.complete_cut_off_commit(root)
    assert str(caught.value) == (
        f"{journal} moves {move.source} to {move.target}, which is not from this dataset's staging folder into "
        "the dataset: encodectl did not write it here; move it aside and run again"
    )
    assert not (root / "videos").exists() and journal.exists()


def test_a_move_that_cannot_be_made_keeps_the_journal(root: Path) -> None:
    (root / "videos" / "a.mp4" / "x").mkdir(parents=True)  # a folder where the video goes: never replaced
    video = stage(root, "a.mp4", b"video", "videos/a.mp4")
    journal = journal_of(root, video)
    with pytest.raises(EncodeError) as caught:
        commit.complete_cut_off_commit(root)
    assert str(caught.value) == (
        f"cannot put {video.target} in place (Is a directory); the rest of the commit waits in {journal}, and the "
        "next run completes it once that file can be written"
    )
    assert journal.exists() and video.source.exists()
    (root / "videos" / "a.mp4" / "x").rmdir()
    (root / "videos" / "a.mp4").rmdir()
    journal_of(root, video.model_copy(update={"before": None}))  # as a run planning on the folder gone would
    assert commit.complete_cut_off_commit(root) is True
    assert video.target.read_bytes() == b"video"


# Files a dropped commit placed


def test_made_files_are_only_those_inside_and_unchanged(root: Path, tmp_path: Path) -> None:
    (root / "videos").mkdir()
    placed = root / "videos" / "a.mp4"
    placed.write_bytes(b"video")
    outside = tmp_path / "outside.mp4"
    outside.write_bytes(b"video")
    linked = root / "videos" / "link.mp4"
    linked.symlink_to(outside)
    state = root / ".encodectl"
    state.mkdir()
    made = {
        str(placed): FileState.of(placed).model_dump(),  # type: ignore[union-attr]
        str(outside): FileState.of(outside).model_dump(),  # type: ignore[union-attr]
        str(linked): FileState.of(linked).model_dump(),  # type: ignore[union-attr]
        "videos/a.mp4": FileState.of(placed).model_dump(),  # type: ignore[union-attr]
    }
    (state / "lerobot-made.json").write_text(json.dumps({"files": made}))
    assert commit.made_by_encodectl(root, placed)
    assert not commit.made_by_encodectl(root, outside)
    assert not commit.made_by_encodectl(root, linked)  # leads out of the dataset
    assert list(commit._read_made(root).files) == [placed]
    placed.write_bytes(b"changed by someone")
    assert not commit.made_by_encodectl(root, placed)
    commit.remove_staging(root)  # keeps only entries still true: none, so no file
    assert not (state / "lerobot-made.json").exists()
    (state / "lerobot-made.json").mkdir(parents=True)
    assert commit._read_made(root).files == {}  # unreadable: nothing is encodectl's


def test_staging_stays_while_a_journal_needs_it(root: Path) -> None:
    move = stage(root, "a.mp4", b"video", "videos/a.mp4")
    journal_of(root, move)
    commit.remove_staging(root)
    assert move.source.exists()


# Committing


def test_commit_moves(root: Path) -> None:
    video = stage(root, "a.mp4", b"video", "videos/a.mp4")
    info = stage(root, "info.json", b'{"v": 2}', "meta/info.json")
    planned = {root / "meta" / "info.json": FileState.of(root / "meta" / "info.json")}
    commit.commit_moves(root, [Move(source=video.source, target=video.target), Move(source=info.source,
                        target=info.target)], planned)  # fmt: skip
    assert (root / "videos" / "a.mp4").read_bytes() == b"video"
    assert (root / "meta" / "info.json").read_bytes() == b'{"v": 2}'
    assert not (root / ".encodectl").exists()


def test_commit_refused_when_a_planned_file_changed(root: Path) -> None:
    video = stage(root, "a.mp4", b"video", "videos/a.mp4")
    planned = {root / "meta" / "info.json": FileState.of(root / "meta" / "info.json"), video.target: None}
    (root / "meta" / "info.json").write_text('{"v": 1, "more": 1}')
    with pytest.raises(DatasetBusy) as caught:
        commit.commit_moves(root, [Move(source=video.source, target=video.target)], planned)
    assert str(caught.value) == "meta/info.json changed while encoding; nothing was changed in the dataset: run again"
    assert not video.target.exists() and video.source.exists()
    assert not (root / ".encodectl" / "lerobot-commit.json").exists()


def test_commit_refused_when_two_files_would_go_to_one_place(root: Path) -> None:
    (root / "videos").mkdir()
    (root / "alias").symlink_to(root / "videos")
    first = stage(root, "a.mp4", b"a", "videos/a.mp4")
    second = stage(root, "b.mp4", b"b", "alias/a.mp4")
    with pytest.raises(InputError) as caught:
        commit.commit_moves(root, [first, second], {})
    assert str(caught.value) == (
        f"{root.resolve() / 'videos' / 'a.mp4'}: two files of this commit would go to one place (through a link in "
        "the dataset); nothing was changed"
    )
    assert not first.target.exists()


def test_commit_of_a_target_that_changes_under_it_is_dropped(root: Path) -> None:
    """The journal says what the target was planned on; a target already other than that stops the commit."""
    video = stage(root, "a.mp4", b"video", "videos/a.mp4")
    info = stage(root, "info.json", b'{"v": 2}', "meta/info.json")
    planned_then = FileState(size=1, mtime_ns=1)  # as the run saw it, but not as it is
    with pytest.raises(DatasetBusy) as caught:
        commit.commit_moves(root, [video, info], {info.target: planned_then, info.target.parent: None})
    assert "changed while encoding" in str(caught.value)


# Placing one file


def test_publish_on_one_file_system(tmp_path: Path) -> None:
    source = tmp_path / "staged.mp4"
    source.write_bytes(b"video")
    target = tmp_path / "deep" / "er" / "a.mp4"
    commit.publish(source, target)
    assert target.read_bytes() == b"video" and not source.exists()


def test_publish_across_file_systems(tmp_path: Path) -> None:
    shm = Path("/dev/shm")
    if not shm.is_dir() or shm.stat().st_dev == tmp_path.stat().st_dev:
        pytest.skip("no second file system to move across")
    source = shm / f"encodectl-test-{os.getpid()}-staged.mp4"
    source.write_bytes(b"video")
    os.utime(source, ns=(1_000_000_000, 2_000_000_000))
    target = tmp_path / "videos" / "a.mp4"
    try:
        commit.publish(source, target)
    finally:
        source.unlink(missing_ok=True)
    assert target.read_bytes() == b"video"
    assert target.stat().st_mtime_ns == 2_000_000_000  # the journal knows the file by it
    assert not commit._copy_beside(target).exists()


def test_publish_raises_what_is_not_a_move_across_file_systems(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        commit.publish(tmp_path / "absent.mp4", tmp_path / "a.mp4")


def test_copy_beside_and_is_staged(root: Path) -> None:
    assert commit._copy_beside(root / "videos" / "a.mp4") == root / "videos" / ".a.mp4.encodectl-copy.partial"
    assert commit.is_staged(root / ".encodectl" / "lerobot-staging" / "a.mp4")
    assert not commit.is_staged(root / "lerobot-staging" / "a.mp4")
    assert not commit.is_staged(root / ".encodectl" / "a.mp4")


# The guard: one encodectl at a time, and none while another program writes


@pytest.fixture
def held(root: Path) -> Iterator[int]:
    descriptor = os.open(root, os.O_RDONLY | os.O_DIRECTORY)
    fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
    yield descriptor
    os.close(descriptor)


def test_one_encodectl_at_a_time(root: Path, held: int) -> None:
    with pytest.raises(DatasetBusy) as caught, commit.dataset_opened(root):
        pass
    assert str(caught.value) == (
        f"another encodectl (pid {os.getpid()}: {commit._command_of(os.getpid())}) is finishing {root}; wait for it "
        "to end, or stop it"
    )


def test_lock_holder_when_none() -> None:
    assert commit._command_of("no-such-pid") == "?"
    assert commit._name_of(Path("/proc/no-such-pid")) == "?"


def test_dataset_opened_completes_a_cut_off_commit(root: Path) -> None:
    move = stage(root, "a.mp4", b"video", "videos/a.mp4")
    journal_of(root, move)
    with commit.dataset_opened(root, dry_run=True):
        assert not move.target.exists()  # a dry run changes nothing
    with commit.dataset_opened(root):
        assert move.target.read_bytes() == b"video"
    with commit.dataset_opened(root):  # the lock was released
        pass


def test_a_dataset_open_in_another_program_is_left_alone(root: Path) -> None:
    opened = root / "meta" / "info.json"
    holder = subprocess.Popen(
        [sys.executable, "-c", f"f = open({str(opened)!r}); print('open', flush=True); input()"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert holder.stdout is not None and holder.stdout.readline() == "open\n"  # waits for the event
        name = Path(f"/proc/{holder.pid}/comm").read_text().strip()
        assert (holder.pid, name, opened.resolve()) in commit.processes_using(root)
        with pytest.raises(DatasetBusy) as caught, commit.dataset_opened(root):
            pass
        assert str(caught.value).startswith(
            f"meta/info.json is open in {name} (pid {holder.pid}): the dataset is being written (LeRobot keeps its "
            "files open while it records); encodectl changes nothing until it is closed"
        )
        video = stage(root, "a.mp4", b"video", "videos/a.mp4")
        with pytest.raises(DatasetBusy):
            commit.commit_moves(root, [video], {})
        assert not video.target.exists()
    finally:
        holder.kill()
        holder.wait()
    assert commit.processes_using(root) == []
