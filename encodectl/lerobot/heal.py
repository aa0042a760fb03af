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
starts one). The statistics are computed as LeRobot computes them (stats.py), a camera's
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

import itertools
import json
import re
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
from ..job.runner import source_result
from ..models import FFmpegBinary, JobResult, JobStatus
from .commit import STAGING, FileState, Move, commit_moves
from .confine import inside
from .meta import (
    EPISODES_DIR,
    INFO_PATH,
    DatasetInfo,
    FormatVersion,
    episodes_files,
    pyarrow_modules,
    read_episodes,
    read_episodes_table,
    read_info,
)

if TYPE_CHECKING:
    import numpy as np

    from .stats import Stats

STATS_PATH = Path("meta") / "stats.json"
TASKS_PATH = Path("meta") / "tasks.parquet"
STAT_NAMES = ("min", "max", "mean", "std", "count", "q01", "q10", "q50", "q90", "q99")
_DATA_FILE = re.compile(r"chunk-(\d+)/file-(\d+)\.parquet$")
_SKIPPED = {"string", "language"}  # features LeRobot keeps no statistics of


class DataEpisode(BaseModel):
    """One episode as data/ holds it."""

    index: int
    chunk: int
    file: int
    start: int  # its first frame's global index
    length: int
    task_indices: list[int]


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
    known = _known_episodes(info)
    found: set[int] = set()
    for path, _chunk, _file in _data_files(info):
        found.update(_read(path, columns=["episode_index"]).column("episode_index").to_pylist())
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
    episodes = _data_episodes(info)
    rows = _existing_rows(info)
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
    tasks = _tasks(root, pyarrow, parquet)
    last_file = max(((r["meta/episodes/chunk_index"], r["meta/episodes/file_index"]) for r in rows.values()),
                    default=None)  # fmt: skip
    meta_chunk, meta_file = _next_file(last_file, info.chunks_size)
    target = root / EPISODES_DIR / f"chunk-{meta_chunk:03d}" / f"file-{meta_file:03d}.parquet"
    if target.exists():
        raise InputError(f"{target} exists but holds none of episodes {missing[0]}-{missing[-1]}; nothing was changed")
    data = _feature_values(info, missing)
    new_rows: list[dict[str, Any]] = []
    all_stats: list[dict[str, Stats]] = []
    for index in missing:
        episode = episodes[index]
        stats = _episode_stats(info, episode, data[index], binary)
        row: dict[str, Any] = {
            "episode_index": index,
            "tasks": _episode_tasks(episode, tasks, root),
            "length": episode.length,
            "data/chunk_index": episode.chunk,
            "data/file_index": episode.file,
            "dataset_from_index": episode.start,
            "dataset_to_index": episode.start + episode.length,
        }
        for key, values in stats.items():
            row.update({f"stats/{key}/{name}": values[name].tolist() for name in STAT_NAMES if name in values})
        row["meta/episodes/chunk_index"] = meta_chunk
        row["meta/episodes/file_index"] = meta_file
        new_rows.append(row)
        all_stats.append(stats)
    table = pyarrow.Table.from_pydict({name: [row[name] for row in new_rows] for name in new_rows[0]})
    staged = staging / target.relative_to(root)
    staged.parent.mkdir(parents=True, exist_ok=True)
    parquet.write_table(table, staged, compression="snappy", use_dictionary=True)
    plan = RebuiltRows(root=root, episodes=missing, staging=staging)
    plan.moves.append(Move(source=staged, target=target))
    plan.planned[target] = None
    plan.moves += _totals(info, episodes, missing, tasks, all_stats, staging, plan.planned)
    for path, _chunk, _file in _data_files(info):
        plan.planned[path] = FileState.of(path)
    return plan


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


# --- reading what LeRobot left ------------------------------------------------------------------------


def _read(path: Path, columns: list[str] | None = None) -> Any:
    pyarrow, parquet = pyarrow_modules()
    try:
        return parquet.read_table(path, columns=columns)
    except (OSError, pyarrow.ArrowException) as error:
        raise InputError(
            f"{path} does not read as parquet ({str(error).splitlines()[0]}): a recorder stopped before it "
            "closed the file leaves it without its footer, and the frames' values in it cannot be read; "
            "nothing was changed"
        ) from None


def _data_files(info: DatasetInfo) -> list[tuple[Path, int, int]]:
    found = []
    folder = inside(info.root, "data", "data/")
    for path in sorted(folder.glob("chunk-*/file-*.parquet")):
        inside(info.root, path.relative_to(info.root), "a data file")  # read only from inside the dataset
        match = _DATA_FILE.search(path.as_posix())
        if match:
            found.append((path, int(match.group(1)), int(match.group(2))))
    return found


def _known_episodes(info: DatasetInfo) -> set[int]:
    if episodes_files(info):
        read_episodes(info)  # rows that contradict each other (two for one episode, say) are refused first
    known: set[int] = set()
    for path in episodes_files(info):
        table = read_episodes_table(path)  # one still being written: refused as everywhere else
        if "episode_index" in table.column_names:
            known.update(table.column("episode_index").to_pylist())
    return known


def _existing_rows(info: DatasetInfo) -> dict[int, dict[str, Any]]:
    """The rows meta/episodes has, by episode: only the columns the next rows continue from."""
    names = ["episode_index", "dataset_to_index", "meta/episodes/chunk_index", "meta/episodes/file_index"]
    rows: dict[int, dict[str, Any]] = {}
    for path in episodes_files(info):
        table = read_episodes_table(path)
        absent = [name for name in names if name not in table.column_names]
        if absent:
            raise InputError(f"{path} has no {absent[0]} column")
        for row in table.select(names).to_pylist():
            rows[row["episode_index"]] = row
    return rows


def _data_episodes(info: DatasetInfo) -> dict[int, DataEpisode]:
    """Every episode in data/, each checked to be one contiguous run of rows numbered as LeRobot numbers them."""
    episodes: dict[int, DataEpisode] = {}
    for path, chunk, file in _data_files(info):
        table = _read(path, columns=["episode_index", "frame_index", "index", "task_index"])
        columns = {name: table.column(name).to_pylist() for name in table.column_names}
        row = 0
        while row < table.num_rows:
            index = columns["episode_index"][row]
            end = row
            while end < table.num_rows and columns["episode_index"][end] == index:
                end += 1
            if index in episodes:
                raise InputError(
                    f"{path}: the rows of episode {index} are not contiguous in data/ (they resume at row {row}); "
                    "nothing was changed"
                )
            frames, numbers = columns["frame_index"][row:end], columns["index"][row:end]
            if frames != list(range(end - row)) or numbers != list(range(numbers[0], numbers[0] + end - row)):
                raise InputError(
                    f"{path}: episode {index}'s frame_index or index column is not numbered 0, 1, 2... as LeRobot "
                    "numbers its frames; nothing was changed"
                )
            episodes[index] = DataEpisode(
                index=index, chunk=chunk, file=file, start=numbers[0], length=end - row,
                task_indices=columns["task_index"][row:end],
            )  # fmt: skip
            row = end
    ordered = sorted(episodes.values(), key=lambda episode: episode.index)
    for before, after in itertools.pairwise(ordered):
        if after.start != before.start + before.length:
            raise InputError(
                f"{info.root}: episode {after.index} starts at frame {after.start} in data/, not where episode "
                f"{before.index} ends ({before.start + before.length}); nothing was changed"
            )
    return episodes


def _tasks(root: Path, pyarrow: Any, parquet: Any) -> dict[int, str]:
    path = inside(root, TASKS_PATH, "meta/tasks.parquet")
    if not path.is_file():
        raise InputError(f"{path} is missing: the episodes' tasks cannot be named; nothing was changed")
    table = _read(path)
    if "task_index" not in table.column_names:
        raise InputError(f"{path} has no task_index column")
    # LeRobot writes it from pandas with the task as the index: a column named "task" (or __index_level_0__).
    name = "task" if "task" in table.column_names else "__index_level_0__"
    if name not in table.column_names:
        raise InputError(f"{path} has no task column")
    return dict(zip(table.column("task_index").to_pylist(), table.column(name).to_pylist(), strict=True))


def _episode_tasks(episode: DataEpisode, tasks: dict[int, str], root: Path) -> list[str]:
    """The episode's tasks; LeRobot lists them from a set, which has no order: first appearance here."""
    names = []
    for index in dict.fromkeys(episode.task_indices):
        if index not in tasks:
            raise InputError(f"{root}: episode {episode.index} has task_index {index}, which meta/tasks.parquet lacks")
        names.append(tasks[index])
    return names


def _feature_values(info: DatasetInfo, episodes: list[int]) -> dict[int, dict[str, np.ndarray]]:
    """Each episode's numeric features, as LeRobot's episode buffer held them when it computed its stats."""
    import numpy as np  # only here: encoding a dataset whose rows are whole never loads numpy

    wanted = set(episodes)
    features = info.document["features"]
    numeric = [key for key, feature in features.items() if feature.get("dtype") not in {"video", "image", *_SKIPPED}]
    values: dict[int, dict[str, list[Any]]] = {index: {key: [] for key in numeric} for index in episodes}
    for path, _chunk, _file in _data_files(info):
        table = _read(path)
        absent = [key for key in numeric if key not in table.column_names]
        if absent:
            raise InputError(f"{path} has no {absent[0]} column, a feature of meta/info.json")
        columns = {key: table.column(key).to_pylist() for key in numeric}
        for row, index in enumerate(table.column("episode_index").to_pylist()):
            if index in wanted:
                for key in numeric:
                    values[index][key].append(columns[key][row])
    result: dict[int, dict[str, np.ndarray]] = {}
    for index, by_key in values.items():
        arrays = {}
        for key in numeric:
            feature = features[key]
            array = np.array(by_key[key], dtype=np.dtype(feature["dtype"]))
            if key == "timestamp":
                array = _timestamps(array, by_key["frame_index"], info.fps)
            if tuple(feature.get("shape") or ()) == (1,):
                array = array.reshape(len(array))  # LeRobot: shape (1,) features become a vector of frames
            arrays[key] = array
        result[index] = arrays
    return result


def _timestamps(stored: np.ndarray, frames: list[int], fps: int) -> np.ndarray:
    """LeRobot computes each timestamp as frame_index / fps (a Python float) and stores it as float32: its stats
    are of the float64 values. Those are used when they are what was stored; else the stored values."""
    import numpy as np

    exact = np.array([index / fps for index in frames], dtype=np.float64).reshape(stored.shape)
    return exact if np.array_equal(exact.astype(stored.dtype), stored) else stored.astype(np.float64)


def _episode_stats(
    info: DatasetInfo, episode: DataEpisode, values: dict[str, np.ndarray], binary: FFmpegBinary
) -> dict[str, Stats]:
    """The episode's stats, feature by feature in info.json's order, as LeRobot's compute_episode_stats."""
    from .stats import image_stats, vector_stats

    stats: dict[str, Stats] = {}
    for key, feature in info.document["features"].items():
        dtype = feature.get("dtype")
        if dtype in _SKIPPED:
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


def _next_file(last: tuple[int, int] | None, chunks_size: int) -> tuple[int, int]:
    """LeRobot starts a resumed recording's rows in the file after the last one (update_chunk_file_indices)."""
    if last is None:
        return 0, 0
    chunk, file = last
    return (chunk + 1, 0) if file == chunks_size - 1 else (chunk, file + 1)


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
