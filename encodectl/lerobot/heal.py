"""Rebuild the episode rows a LeRobot recorder never wrote (format v3.0).

LeRobot (0.6.1 measured) buffers up to 10 episode rows before it writes them to
``meta/episodes/``; with videos pending, its ``finalize()`` raises before that write,
so a recorder that dies then leaves ``data/`` (every frame's values), ``images/`` (every
frame) and ``info.json`` / ``stats.json`` (updated at each saved episode), but no row for
its last episodes: LeRobot cannot load the dataset. Those rows are rebuilt here exactly
as LeRobot writes them: its columns in its order (``episode_index``, ``tasks``,
``length``, ``data/chunk_index``, ``data/file_index``, ``dataset_from_index``,
``dataset_to_index``, ``stats/<feature>/<stat>`` feature by feature, then
``meta/episodes/chunk_index`` and ``file_index``) and its types, in a new episodes file
(the first, or the one after the last file that holds rows, as a resumed recording
starts one), from what the recorder left (read in recorded.py). The statistics are
computed as LeRobot computes them (stats.py), a camera's
from its frames under ``images/`` (sampled, decoded by ffmpeg). ``info.json``'s totals
and ``stats.json`` are brought up to date as LeRobot's save_episode does, if they are
not already. The rows go in by the dataset's journaled commit; the videos follow as for
any pending dataset.

Nothing is changed, and one line says why, when the data does not tell one story: an
episode's rows not contiguous, frame or episode numbers with gaps, a missing episode
before one that has its row, a camera's frames on disk not matching the episode's
length, a data file without its parquet footer (a recorder killed before closing it).
"""

from __future__ import annotations

import json
import shutil
import tempfile
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel

from ..errors import InputError
from ..ffmpeg.child import run_child
from ..ffmpeg.copy_command import concat_list
from ..ffmpeg.frames_command import build_decode_frame_files_command
from ..frames.headers import read_image_header
from ..frames.layout import EpisodeSource
from ..frames.sequence import frames_by_number
from ..job.ledger import state_dir
from ..job.planning import source_result
from ..models import FFmpegBinary, JobResult, JobStatus
from .commit import STAGING, FileState, Move, commit_moves
from .episodes import pyarrow_modules
from .meta import EPISODES_DIR, INFO_PATH, DatasetInfo, FormatVersion, next_file, read_info
from .recorded import (
    NO_STATS,
    DataEpisode,
    data_episodes,
    data_files,
    episode_tasks,
    existing_rows,
    feature_values,
    known_episodes,
    read_parquet,
    read_tasks,
)

if TYPE_CHECKING:
    import numpy as np

    from .stats import Stats

STATS_PATH = Path("meta") / "stats.json"
STAT_NAMES = ("min", "max", "mean", "std", "count", "q01", "q10", "q50", "q90", "q99")


class RebuiltRows(BaseModel):
    """What healing a dataset will write; `episodes` are the indices whose rows were missing."""

    root: Path
    episodes: list[int]
    staging: Path
    moves: list[Move] = []
    planned: dict[Path, FileState | None] = {}

    @property
    def note(self) -> str:
        first, last = self.episodes[0], self.episodes[-1]
        which = f"episode {first}" if first == last else f"episodes {first}-{last}"
        return f"its episode row rebuilt in meta/episodes, as LeRobot writes it ({which} had none)"


def missing_rows(info: DatasetInfo) -> list[int]:
    """Episodes data/ holds that meta/episodes/ has no row for (cheap: reads the episode_index columns only)."""
    if info.version is not FormatVersion.v30:
        return []
    known = known_episodes(info)
    found: set[int] = set()
    for path, _chunk, _file in data_files(info):
        found.update(read_parquet(path, columns=["episode_index"]).column("episode_index").to_pylist())
    return sorted(found - known)


def plan_rows(info: DatasetInfo, binary: FFmpegBinary, staging: Path) -> RebuiltRows | None:
    """The rows to rebuild, staged with info.json and stats.json as they will be; None when none are missing.

    Raises a one-line InputError, having changed nothing, when the data is inconsistent."""
    missing = missing_rows(info)
    if not missing:
        return None
    root = info.root
    pyarrow, parquet = pyarrow_modules()
    if any(feature.get("dtype") == "image" for feature in info.document["features"].values()):
        raise InputError(f"{root}: rebuilding episode rows of a dataset with image features is not supported")
    episodes = data_episodes(info)
    rows = existing_rows(info)
    _check_rows_lost_last(root, missing, episodes, rows)
    tasks = read_tasks(root)
    last_file = max(((r["meta/episodes/chunk_index"], r["meta/episodes/file_index"]) for r in rows.values()),
                    default=None)  # fmt: skip
    # LeRobot starts a resumed recording's rows in the file after the last one.
    meta_chunk, meta_file = next_file(*last_file, info.chunks_size) if last_file is not None else (0, 0)
    target = root / EPISODES_DIR / f"chunk-{meta_chunk:03d}" / f"file-{meta_file:03d}.parquet"
    if target.exists():
        raise InputError(f"{target} exists but holds none of episodes {missing[0]}-{missing[-1]}; nothing was changed")
    data = feature_values(info, missing)
    new_rows: list[dict[str, Any]] = []
    all_stats: list[dict[str, Stats]] = []
    for index in missing:
        episode = episodes[index]
        stats = _episode_stats(info, episode, data[index], binary)
        new_rows.append(_new_row(episode, episode_tasks(episode, tasks, root), stats, (meta_chunk, meta_file)))
        all_stats.append(stats)
    table = pyarrow.Table.from_pydict({name: [row[name] for row in new_rows] for name in new_rows[0]})
    staged = staging / target.relative_to(root)
    staged.parent.mkdir(parents=True, exist_ok=True)
    parquet.write_table(table, staged, compression="snappy", use_dictionary=True)
    plan = RebuiltRows(root=root, episodes=missing, staging=staging)
    plan.moves.append(Move(source=staged, target=target))
    plan.planned[target] = None
    plan.moves += _totals(info, episodes, missing, tasks, all_stats, staging, plan.planned)
    for path, _chunk, _file in data_files(info):
        plan.planned[path] = FileState.of(path)
    return plan


def _check_rows_lost_last(
    root: Path, missing: list[int], episodes: dict[int, DataEpisode], rows: dict[int, dict[str, Any]]
) -> None:
    """The rows missing are the last episodes' (all a recorder loses), and data/ continues where the rows end."""
    known = sorted(rows)
    if known and min(missing) < max(known):
        raise InputError(
            f"{root}: episode {min(missing)} has no row in meta/episodes but episode {max(known)} has: "
            "not what a LeRobot recorder leaves (it loses its last episodes only); nothing was changed"
        )
    expected = list(range(len(episodes)))
    if sorted(episodes) != expected:
        gaps = sorted(set(range(max(episodes) + 1)) - set(episodes))
        raise InputError(f"{root}: data/ has no frames of episode {gaps[0]}, though it has later ones")
    previous_end = rows[known[-1]]["dataset_to_index"] if known else 0
    if episodes[missing[0]].start != previous_end:
        raise InputError(
            f"{root}: episode {missing[0]} starts at frame {episodes[missing[0]].start} in data/, not at "
            f"{previous_end} where the episodes before it end; nothing was changed"
        )


def _new_row(
    episode: DataEpisode, tasks: list[str], stats: dict[str, Stats], meta_file: tuple[int, int]
) -> dict[str, Any]:
    """One episode's row: LeRobot's columns in its order, the stats feature by feature, its own file last."""
    row: dict[str, Any] = {
        "episode_index": episode.index,
        "tasks": tasks,
        "length": episode.length,
        "data/chunk_index": episode.chunk,
        "data/file_index": episode.file,
        "dataset_from_index": episode.start,
        "dataset_to_index": episode.start + episode.length,
    }
    for key, values in stats.items():
        row.update({f"stats/{key}/{name}": values[name].tolist() for name in STAT_NAMES if name in values})
    row["meta/episodes/chunk_index"], row["meta/episodes/file_index"] = meta_file
    return row


def commit_rows(plan: RebuiltRows) -> None:
    """Put the rebuilt rows (and info.json, stats.json) in place by the dataset's journaled commit; what was staged
    elsewhere is first moved into the dataset's staging folder, where the journal of a cut-off commit finds it."""
    staging = state_dir(plan.root) / STAGING / "rows"
    moves = []
    for move in plan.moves:
        inside = staging / move.source.relative_to(plan.staging)
        inside.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(move.source, inside)
        moves.append(move.model_copy(update={"source": inside}))
    commit_moves(plan.root, moves, plan.planned)


def _episode_stats(
    info: DatasetInfo, episode: DataEpisode, values: dict[str, np.ndarray], binary: FFmpegBinary
) -> dict[str, Stats]:
    """The episode's stats, feature by feature in info.json's order, as LeRobot's compute_episode_stats."""
    from .stats import image_stats, vector_stats

    stats: dict[str, Stats] = {}
    for key, feature in info.document["features"].items():
        dtype = feature.get("dtype")
        if dtype in NO_STATS:
            continue
        if dtype == "video":
            marker = (feature.get("info") or {}).get("is_depth_map", False)  # LeRobot reads this key alone here
            stats[key] = image_stats(_sampled_images(info, key, episode, binary), depth=bool(marker))
        elif key in values:
            stats[key] = vector_stats(values[key])
    return stats


def _sampled_images(info: DatasetInfo, key: str, episode: DataEpisode, binary: FFmpegBinary) -> np.ndarray:
    """The frames LeRobot samples for the camera's stats, (N, C, H, W), as its loader decodes them."""
    import numpy as np

    from .stats import downscaled, sampled_frames

    directory = info.frames_dir(key, episode.index)
    numbered = frames_by_number(directory) if directory.is_dir() else {}
    if sorted(numbered) != list(range(episode.length)):
        raise InputError(
            f"{directory}: {len(numbered)} frame(s) on disk for episode {episode.index}, which has {episode.length} "
            "in data/ (frame-000000 on, without gaps): the frames and the data disagree; nothing was changed"
        )
    paths = [numbered[i] for i in sampled_frames(episode.length)]
    header = read_image_header(paths[0])
    width, height = header.width, header.height
    # As LeRobot's load_image_as_numpy: a TIFF keeps its values (a depth camera's 16-bit millimetres), anything
    # else is converted to 8-bit RGB.
    depth = paths[0].suffix.lower() in (".tif", ".tiff")
    if depth and not header.is_depth:
        raise InputError(f"{paths[0]}: a {header.describe()} depth frame; encodectl reads 16-bit ones only")
    pix_fmt, channels, dtype = ("gray16le", 1, np.uint16) if depth else ("rgb24", 3, np.uint8)
    with tempfile.TemporaryDirectory(prefix="encodectl-stats-") as scratch:
        listing = Path(scratch) / "frames.ffconcat"
        listing.write_bytes(concat_list([(path, Fraction(1, 30)) for path in paths]).encode(errors="surrogateescape"))
        completed = run_child(build_decode_frame_files_command(binary, listing, pix_fmt))
    size = width * height * channels * np.dtype(dtype).itemsize
    if completed.returncode != 0 or len(completed.stdout) != size * len(paths):
        raise InputError(
            f"{directory}: its frames do not all decode as {width}x{height} images (ffmpeg: "
            f"{completed.stderr.decode(errors='replace').strip()[:200] or 'no error'}); nothing was changed"
        )
    frames = np.frombuffer(completed.stdout, dtype=dtype).reshape(len(paths), height, width, channels)
    images = frames.transpose(0, 3, 1, 2)
    return np.stack([downscaled(image) for image in images])


# --- info.json totals and stats.json ------------------------------------------------------------------


def _totals(
    info: DatasetInfo,
    episodes: dict[int, DataEpisode],
    missing: list[int],
    tasks: dict[int, str],
    stats: list[dict[str, Stats]],
    staging: Path,
    planned: dict[Path, FileState | None],
) -> list[Move]:
    """info.json's totals and stats.json, as LeRobot's save_episode leaves them after each episode; nothing if
    they already count the episodes (LeRobot writes both before the rows it buffers)."""
    from .stats import aggregate

    document = info.document
    counted = document.get("total_episodes")
    if counted == len(episodes):
        return []
    if counted != missing[0]:
        raise InputError(
            f"{info.root / INFO_PATH}: total_episodes {counted!r} is neither the {len(episodes)} episodes in data/ "
            f"nor the {missing[0]} with rows; nothing was changed"
        )
    updated = json.loads(json.dumps(document))
    updated["total_episodes"] = len(episodes)
    updated["total_frames"] = sum(episode.length for episode in episodes.values())
    updated["total_tasks"] = len(tasks)
    updated["splits"] = {"train": f"0:{len(episodes)}"}
    moves = []
    info_path = info.root / INFO_PATH
    staged_info = staging / INFO_PATH
    staged_info.parent.mkdir(parents=True, exist_ok=True)
    staged_info.write_text(json.dumps(updated, indent=4, ensure_ascii=False), encoding="utf-8")
    moves.append(Move(source=staged_info, target=info_path))
    planned[info_path] = FileState.of(info_path)
    stats_path = info.root / STATS_PATH
    running = _read_stats(stats_path) if stats_path.is_file() else None
    for episode_stats in stats:
        if running is None:
            running = episode_stats
        else:
            keys = list(dict.fromkeys([*running, *episode_stats]))
            running = {key: aggregate([part[key] for part in (running, episode_stats) if key in part]) for key in keys}
    staged_stats = staging / STATS_PATH
    staged_stats.write_text(json.dumps(_listed(running or {}), indent=4, ensure_ascii=False), encoding="utf-8")
    moves.append(Move(source=staged_stats, target=stats_path))
    planned[stats_path] = FileState.of(stats_path)
    return moves


def _read_stats(path: Path) -> dict[str, Stats]:
    import numpy as np

    try:
        document = json.loads(path.read_text(encoding="utf-8"))
        return {key: {name: np.array(value) for name, value in values.items()} for key, values in document.items()}
    except (OSError, ValueError, AttributeError) as error:
        raise InputError(f"{path} is not LeRobot's stats ({error}); nothing was changed") from None


def _listed(stats: dict[str, Stats]) -> dict[str, dict[str, Any]]:
    import numpy as np

    return {key: {name: np.asarray(value).tolist() for name, value in values.items()} for key, values in stats.items()}


# --- the run ---------------------------------------------------------------------------------------------


def rows_to_rebuild(root: Path, binary: FFmpegBinary, staging: Path) -> RebuiltRows | None:
    """The rows `root` lacks, planned and staged in `staging`; None for a dataset that lacks none."""
    info = read_info(root)
    if info.version is not FormatVersion.v30 or not (root / "data").is_dir():
        return None
    try:
        return plan_rows(info, binary, staging)
    except (TypeError, ValueError, KeyError, IndexError) as error:  # values of other types than LeRobot writes
        raise InputError(
            f"{root}: data/ or meta/ hold values LeRobot does not write ({type(error).__name__}: "
            f"{str(error).splitlines()[0] if str(error) else error!r}); nothing was changed"
        ) from None


def dry_run_results(plan: RebuiltRows) -> list[JobResult]:
    """What a dry run reports of a dataset whose rows are missing: each camera-episode, to be rebuilt and encoded."""
    info = read_info(plan.root)
    results = []
    for index in plan.episodes:
        for key in info.video_keys:
            directory = info.frames_dir(key, index)
            source = EpisodeSource(directory=directory, output=directory, episode=directory.name, camera=key)
            reason = "its episode row is missing (LeRobot never wrote it): would be rebuilt, then encoded"
            result = source_result(source, JobStatus.skipped, reason=reason)
            result.dataset = plan.root
            results.append(result)
    return results
