"""What a LeRobot recorder left of the episodes whose rows it never wrote (format v3.0), read for heal.py.

``data/`` (every frame's values, in parquet files by chunk and file), ``meta/tasks.parquet``
(the task names) and the rows ``meta/episodes/`` already has. Each reader refuses, with one
line and nothing changed, data that does not tell one story: an episode's rows not
contiguous, frames not numbered as LeRobot numbers them, a file without its parquet footer.
"""

from __future__ import annotations

import itertools
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel

from ..errors import InputError
from .confine import inside
from .episodes import episodes_files, pyarrow_modules, read_episodes, read_episodes_table
from .meta import DatasetInfo

if TYPE_CHECKING:
    import numpy as np

TASKS_PATH = Path("meta") / "tasks.parquet"
NO_STATS = {"string", "language"}  # features LeRobot keeps no statistics of
_DATA_FILE = re.compile(r"chunk-(\d+)/file-(\d+)\.parquet$")


class DataEpisode(BaseModel):
    """One episode as data/ holds it."""

    index: int
    chunk: int
    file: int
    start: int  # its first frame's global index
    length: int
    task_indices: list[int]


def read_parquet(path: Path, columns: list[str] | None = None) -> Any:
    """A parquet file of the recorder's as a pyarrow Table; one without its footer is refused in one line."""
    pyarrow, parquet = pyarrow_modules()
    try:
        return parquet.read_table(path, columns=columns)
    except (OSError, pyarrow.ArrowException) as error:
        raise InputError(
            f"{path} does not read as parquet ({str(error).splitlines()[0]}): a recorder stopped before it "
            "closed the file leaves it without its footer, and the frames' values in it cannot be read; "
            "nothing was changed"
        ) from None


def data_files(info: DatasetInfo) -> list[tuple[Path, int, int]]:
    """data/'s parquet files in order, each with its chunk and file number."""
    found = []
    folder = inside(info.root, "data", "data/")
    for path in sorted(folder.glob("chunk-*/file-*.parquet")):
        inside(info.root, path.relative_to(info.root), "a data file")  # read only from inside the dataset
        match = _DATA_FILE.search(path.as_posix())
        if match:
            found.append((path, int(match.group(1)), int(match.group(2))))
    return found


def known_episodes(info: DatasetInfo) -> set[int]:
    """The episodes meta/episodes/ has a row for."""
    if episodes_files(info):
        read_episodes(info)  # rows that contradict each other (two for one episode, say) are refused first
    known: set[int] = set()
    for path in episodes_files(info):
        table = read_episodes_table(path)  # one still being written: refused as everywhere else
        if "episode_index" in table.column_names:
            known.update(table.column("episode_index").to_pylist())
    return known


def existing_rows(info: DatasetInfo) -> dict[int, dict[str, Any]]:
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


def data_episodes(info: DatasetInfo) -> dict[int, DataEpisode]:
    """Every episode in data/, each checked to be one contiguous run of rows numbered as LeRobot numbers them."""
    episodes: dict[int, DataEpisode] = {}
    for path, chunk, file in data_files(info):
        table = read_parquet(path, columns=["episode_index", "frame_index", "index", "task_index"])
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


def read_tasks(root: Path) -> dict[int, str]:
    path = inside(root, TASKS_PATH, "meta/tasks.parquet")
    if not path.is_file():
        raise InputError(f"{path} is missing: the episodes' tasks cannot be named; nothing was changed")
    table = read_parquet(path)
    if "task_index" not in table.column_names:
        raise InputError(f"{path} has no task_index column")
    # LeRobot writes it from pandas with the task as the index: a column named "task" (or __index_level_0__).
    name = "task" if "task" in table.column_names else "__index_level_0__"
    if name not in table.column_names:
        raise InputError(f"{path} has no task column")
    return dict(zip(table.column("task_index").to_pylist(), table.column(name).to_pylist(), strict=True))


def episode_tasks(episode: DataEpisode, tasks: dict[int, str], root: Path) -> list[str]:
    """The episode's tasks; LeRobot lists them from a set, which has no order: first appearance here."""
    names = []
    for index in dict.fromkeys(episode.task_indices):
        if index not in tasks:
            raise InputError(f"{root}: episode {episode.index} has task_index {index}, which meta/tasks.parquet lacks")
        names.append(tasks[index])
    return names


def feature_values(info: DatasetInfo, episodes: list[int]) -> dict[int, dict[str, np.ndarray]]:
    """Each episode's numeric features, as LeRobot's episode buffer held them when it computed its stats."""
    import numpy as np  # only here: encoding a dataset whose rows are whole never loads numpy

    wanted = set(episodes)
    features = info.document["features"]
    numeric = [key for key, feature in features.items() if feature.get("dtype") not in {"video", "image", *NO_STATS}]
    values: dict[int, dict[str, list[Any]]] = {index: {key: [] for key in numeric} for index in episodes}
    for path, _chunk, _file in data_files(info):
        table = read_parquet(path)
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
