"""A LeRobot dataset's episode rows, as LeRobot itself reads and writes them (formats v3.0 and v2.1).

What is read: v3.0, ``meta/episodes/chunk-*/file-*.parquet`` (which needs pyarrow); v2.1,
``meta/episodes.jsonl``; every row checked against the others (one row per episode, data
ranges that fit, video spans that do not overlap). What is written, always into a
staging folder first: an episodes file with the ``videos/<key>/...`` columns filled in,
in the column order and types LeRobot uses.
"""

from __future__ import annotations

import itertools
import json
import math
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from ..errors import InputError, UsageError
from ..job.verify import mp4_complete
from ..models import one_line
from .confine import check_index, inside, regular_file
from .meta import EPISODES_DIR, LEGACY_EPISODES_PATH, DatasetEpisode, DatasetInfo, FormatVersion, VideoPlacement

VIDEO_COLUMNS = ("chunk_index", "file_index", "from_timestamp", "to_timestamp")
PYARROW_HINT = "pip install 'encodectl[lerobot]'"


def read_episodes(info: DatasetInfo) -> list[DatasetEpisode]:
    """Every episode of the metadata, in index order, with the videos it already has; InputError if the
    rows contradict each other (nothing is written from metadata that does)."""
    episodes = _read_v30_episodes(info) if info.version is FormatVersion.v30 else _read_v21_episodes(info)
    episodes.sort(key=lambda episode: episode.index)
    check_consistent(info, episodes)
    return episodes


def check_consistent(info: DatasetInfo, episodes: list[DatasetEpisode]) -> None:
    """One row per episode, lengths and data ranges that fit, video spans that do not overlap."""
    where = info.root / (EPISODES_DIR if info.version is FormatVersion.v30 else LEGACY_EPISODES_PATH)
    seen: dict[int, DatasetEpisode] = {}
    for episode in episodes:
        check_index(episode.index, "episode_index", episode.meta_file or where)
        if episode.index in seen:
            files = sorted({str(e.meta_file or where) for e in (seen[episode.index], episode)})
            raise InputError(
                f"{' and '.join(files)}: episode_index {episode.index} has two rows; the metadata contradicts "
                "itself, nothing was changed"
            )
        seen[episode.index] = episode
        if not 0 < episode.length < 10**9:
            raise InputError(f"{episode.meta_file or where}: episode {episode.index} has length {episode.length}")
    ranged = [episode for episode in episodes if episode.data_range is not None]
    previous: DatasetEpisode | None = None
    for episode in ranged:
        start, end = episode.data_range or (0, 0)
        if end - start != episode.length:
            raise InputError(
                f"{episode.meta_file}: episode {episode.index} spans data rows {start}-{end} ({end - start} frames) "
                f"but its length is {episode.length}; nothing was changed"
            )
        follows = previous is not None and previous.index == episode.index - 1  # rows not yet written leave a gap
        if follows and previous is not None and previous.data_range is not None and start != previous.data_range[1]:
            raise InputError(
                f"{episode.meta_file}: episode {episode.index} starts at data row {start}, but episode "
                f"{previous.index} ends at row {previous.data_range[1]}: the data ranges are not contiguous; "
                "nothing was changed"
            )
        previous = episode
    if info.version is FormatVersion.v30:  # v2.1 has a file per episode, no spans
        for key in info.video_keys:
            _check_spans(info, key, episodes, where)


def _check_spans(info: DatasetInfo, key: str, episodes: list[DatasetEpisode], where: Path) -> None:
    """Two episodes in one file at overlapping times would read each other's pictures."""
    by_file: dict[tuple[int, int], list[tuple[float, float, int]]] = {}
    for episode in episodes:
        placement = episode.videos.get(key)
        if placement is None:
            continue
        source = episode.meta_file or where
        check_index(placement.chunk, f"episode {episode.index}'s {key} chunk_index", source)
        check_index(placement.file, f"episode {episode.index}'s {key} file_index", source)
        if not (math.isfinite(placement.from_s) and math.isfinite(placement.to_s)) or not (
            0 <= placement.from_s < placement.to_s
        ):
            raise InputError(
                f"{source}: episode {episode.index}'s {key} span {placement.from_s}-{placement.to_s} s is not a "
                "span of time"
            )
        by_file.setdefault((placement.chunk, placement.file), []).append(
            (placement.from_s, placement.to_s, episode.index)
        )
    for (chunk, file), spans in by_file.items():
        spans.sort()
        for (_, end, first), (start, _, second) in itertools.pairwise(spans):
            if start < end - 1e-6:
                raise InputError(
                    f"{where}: episodes {first} and {second} overlap in {key}'s chunk {chunk} file {file} "
                    f"({start} s < {end} s): one would read the other's pictures; nothing was changed"
                )


def _read_v21_episodes(info: DatasetInfo) -> list[DatasetEpisode]:
    path = regular_file(inside(info.root, LEGACY_EPISODES_PATH, "meta/episodes.jsonl"))
    episodes = []
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as error:
        raise InputError(f"cannot read {path}: {error.strerror or error}") from error
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            episode = DatasetEpisode(index=row["episode_index"], length=row["length"])
        except (json.JSONDecodeError, KeyError, TypeError, ValueError) as error:
            raise InputError(f"{path} line {number} is not an episode record ({error})") from None
        for key in info.video_keys:
            placement = VideoPlacement(chunk=episode.index // info.chunks_size, file=0)
            # LeRobot 0.3 writes a video straight to its final name: one it was killed writing is not whole.
            if mp4_complete(info.video_file(key, placement, episode.index)):
                episode.videos[key] = placement
        episodes.append(episode)
    return episodes


def pyarrow_modules() -> tuple[Any, Any]:
    """(pyarrow, pyarrow.parquet), or a one-line UsageError saying how to get them."""
    try:
        import pyarrow
        import pyarrow.parquet
    except ImportError:
        raise UsageError(
            f"LeRobot v3.0 datasets keep their episodes in parquet, which needs pyarrow: {PYARROW_HINT}"
        ) from None
    return pyarrow, pyarrow.parquet


def episodes_files(info: DatasetInfo) -> list[Path]:
    folder = inside(info.root, EPISODES_DIR, "meta/episodes")
    return [inside(info.root, path.relative_to(info.root), "an episodes file")
            for path in sorted(folder.glob("chunk-*/file-*.parquet"))]  # fmt: skip


def read_episodes_table(path: Path) -> Any:
    """One episodes parquet file as a pyarrow Table; a file without its footer is a LeRobot still writing it."""
    pyarrow, parquet = pyarrow_modules()
    try:
        return parquet.read_table(path)
    except (OSError, pyarrow.ArrowException) as error:
        raise InputError(
            f"{path} does not read cleanly ({str(error).splitlines()[0]}): LeRobot keeps it open without a footer "
            "until it stops recording; encodectl changes nothing in a dataset that is being written"
        ) from None


def _read_v30_episodes(info: DatasetInfo) -> list[DatasetEpisode]:
    files = episodes_files(info)
    if not files:
        raise InputError(f"{info.root / EPISODES_DIR} holds no episodes (chunk-XXX/file-XXX.parquet)")
    episodes = []
    for path in files:
        table = read_episodes_table(path)
        missing = {"episode_index", "length"} - set(table.column_names)
        if missing:
            raise InputError(f"{path} has no {', '.join(sorted(missing))} column")
        columns = table.to_pydict()
        absent = [None] * table.num_rows
        starts, ends = columns.get("dataset_from_index", absent), columns.get("dataset_to_index", absent)
        for row in range(table.num_rows):
            index, length = columns["episode_index"][row], columns["length"][row]
            try:
                start, end = starts[row], ends[row]
                data_range = (start, end) if start is not None and end is not None else None
                episode = DatasetEpisode(index=index, length=length, meta_file=path, data_range=data_range)
                for key in info.video_keys:
                    values = [columns.get(f"videos/{key}/{name}", absent)[row] for name in VIDEO_COLUMNS]
                    if all(value is not None for value in values):
                        chunk, file, start_s, end_s = values
                        episode.videos[key] = VideoPlacement(chunk=chunk, file=file, from_s=start_s, to_s=end_s)
            except ValidationError as error:
                raise InputError(
                    f"{path} row {row} (episode_index {index!r}, length {length!r}) is not an episode record: "
                    f"{one_line(error, as_option=False)}"
                ) from None
            episodes.append(episode)
    return episodes


def write_episodes_table(
    info: DatasetInfo, path: Path, placements: dict[tuple[int, str], VideoPlacement], target: Path
) -> bool:
    """Write `path` (an episodes file) to `target` with the given placements filled in; False if none apply.

    Columns LeRobot writes for videos go where its own writer puts them (after
    dataset_to_index, camera by camera); every other column is kept as it was.
    """
    pyarrow, parquet = pyarrow_modules()
    table = read_episodes_table(path)
    indices = table.column("episode_index").to_pylist()
    if not any((index, key) in placements for index in indices for key in info.video_keys):
        return False
    types = {"chunk_index": pyarrow.int64(), "file_index": pyarrow.int64()}
    new_columns: dict[str, Any] = {}
    for key in info.video_keys:
        for name in VIDEO_COLUMNS:
            column = f"videos/{key}/{name}"
            values = table.column(column).to_pylist() if column in table.column_names else [None] * len(indices)
            for row, index in enumerate(indices):
                placement = placements.get((index, key))
                if placement is not None:
                    values[row] = {
                        "chunk_index": placement.chunk,
                        "file_index": placement.file,
                        "from_timestamp": placement.from_s,
                        "to_timestamp": placement.to_s,
                    }[name]
            new_columns[column] = pyarrow.array(values, type=types.get(name, pyarrow.float64()))
    names = [name for name in table.column_names if name not in new_columns]
    position = names.index("dataset_to_index") + 1 if "dataset_to_index" in names else len(names)
    ordered = [*names[:position], *new_columns, *names[position:]]
    arrays = [new_columns[name] if name in new_columns else table.column(name) for name in ordered]
    # pandas' and datasets' own descriptions of the columns (LeRobot's batch path writes with pandas) would
    # leave the new columns out: drop them, as a file LeRobot writes with pyarrow has none.
    metadata = {k: v for k, v in (table.schema.metadata or {}).items() if k not in (b"pandas", b"huggingface")}
    result = pyarrow.Table.from_arrays(arrays, names=ordered, metadata=metadata or None)
    parquet.write_table(result, target, compression="snappy", use_dictionary=True)
    return True
