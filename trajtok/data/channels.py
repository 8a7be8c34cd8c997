"""How a robot dataset's action columns become tokenizer channels, declared and never guessed.

A `ChannelSpec` says which action columns are continuous dims (named from the dataset's metadata), whether
they are absolute targets (differenced into per-step deltas) or already deltas, and which columns are binary
events (a gripper) and how each becomes 0/1: a threshold the user gives, a convention the format documents
(robosuite: -1 open, +1 closed), or the midpoint of a column that is clearly two-valued (reported). Where the
metadata cannot decide, `resolve_channels` raises one line naming the option to set.

The options every robot loader takes (`CHANNEL_OPTIONS`):
  dims=all | COLUMNS        the continuous dims (default: every column that is not an event)
  events=auto | none | COLUMNS   auto: the columns named like a gripper, else the format's convention
  actions=absolute | delta  how to read the dims (default: from the metadata, see each loader)
  gripper_threshold=VALUE   events are on (gripper closed) where the column is above VALUE
COLUMNS are names or 0-based indices, as a list or a comma-separated string ("x,y,z", "0:3", [0, 1, 2]).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from trajtok.errors import DataError
from trajtok.sample import Sample, SampleSet

CHANNEL_OPTIONS = ("dims", "events", "actions", "gripper_threshold")
ACTION_MODES = ("absolute", "delta")
GRIPPER_NAME = re.compile(r"gripper|grasp|claw", re.IGNORECASE)
DELTA_NAME = re.compile(r"^(delta\W?.+|d(x|y|z|rx|ry|rz|roll|pitch|yaw))$", re.IGNORECASE)
TWO_VALUED_SHARE = 0.99  # of the values within 5 % of the range from its ends: "clearly two-valued"


@dataclass(frozen=True)
class Event:
    column: int
    name: str
    threshold: float
    how: str  # why this threshold, in words


@dataclass(frozen=True)
class ChannelSpec:
    feature: str  # the dataset's name for the action array ("action", "actions")
    columns: tuple[str, ...]  # every column's name
    dims: tuple[int, ...]
    absolute: bool
    absolute_why: str
    events: tuple[Event, ...]

    @property
    def dim_names(self) -> tuple[str, ...]:
        return tuple(self.columns[i] for i in self.dims)

    @property
    def event_names(self) -> tuple[str, ...]:
        return tuple(e.name for e in self.events)

    def sample(
        self,
        actions: np.ndarray,
        where: str,
        text: str = "",
        state: np.ndarray | None = None,
        origin: np.ndarray | None = None,
    ) -> Sample:
        """(T, K) actions -> a Sample. Absolute dims become deltas from `origin` (the start pose; the first
        target when unknown, so deltas[0] is then zero)."""
        values = np.asarray(actions, np.float64)[:, list(self.dims)]
        if self.absolute:
            start = values[0] if origin is None else np.asarray(origin, np.float64).reshape(-1)
            values = np.diff(np.vstack([start, values]), axis=0)
        events = np.zeros((len(values), len(self.events)), bool)
        for k, event in enumerate(self.events):
            events[:, k] = np.asarray(actions)[:, event.column] > event.threshold
        return Sample(
            deltas=values.astype(np.float32),
            events=events,
            text=text,
            state=None if state is None else np.asarray(state, np.float32).reshape(-1),
        )

    def sample_set(
        self, samples: list[Sample], source: str, dropped: dict[str, int], mapping: dict
    ) -> SampleSet:
        return SampleSet(samples, self.dim_names, self.event_names, source, dict(dropped), mapping=mapping)

    def describe(self) -> dict:
        """The mapping in robot words (JSON-able; `trajtok data stats` prints it)."""
        reading = "absolute targets, differenced into per-step deltas" if self.absolute else "per-step deltas"
        return {
            "dims": f"{self.feature}[{_ranges(self.dims)}] {_listing(self.dim_names)}: {reading} "
            f"({self.absolute_why})",
            "events": [
                f"{e.name} closed where {self.feature}[{e.column}] > {e.threshold:g} ({e.how})"
                for e in self.events
            ]
            or [f"none (no gripper column in {self.feature}; declare one with --option events=COLUMN)"],
        }


def resolve_channels(
    values: np.ndarray,
    names: list[str] | None,
    *,
    where: str,
    feature: str,
    options: dict,
    absolute: bool | None,
    absolute_why: str,
    convention: dict[int, tuple[float, str]] | None = None,
) -> ChannelSpec:
    """The channel spec of an action array, from its names and the user's options.

    values: (N, K) all frames (to fit two-valued thresholds and check given columns); names: the K column
    names from the metadata, or None; absolute: the format's default reading (None: decided by the names);
    convention: {column: (threshold, why)} of the grippers the format documents (used when no names say,
    and for their thresholds).
    """
    mode = options.get("actions")
    if mode is not None and mode not in ACTION_MODES:
        raise DataError(f"{where}: actions={mode!r}: expected one of {', '.join(ACTION_MODES)}")
    n_columns = values.shape[1]
    columns = tuple(names) if names else tuple(f"{feature}[{i}]" for i in range(n_columns))
    if len(columns) != n_columns:
        raise DataError(f"{where}: {feature} has {n_columns} columns but its metadata names {len(columns)}")
    events = _event_columns(options.get("events", "auto"), columns, names is not None, convention, where)
    dims = _dim_columns(options.get("dims", "all"), columns, events, where)
    if not dims:
        raise DataError(f"{where}: {feature} has no continuous columns left; set --option dims=COLUMNS")
    threshold = options.get("gripper_threshold")
    if threshold is not None and not events:
        raise DataError(
            f"{where}: gripper_threshold given but {feature} has no event column; set events=COLUMN"
        )
    resolved = []
    for column in events:
        if threshold is not None:
            name = _event_name(columns[column])
            resolved.append(Event(column, name, float(threshold), "gripper_threshold"))
        elif convention and column in convention:
            resolved.append(Event(column, _event_name(columns[column]), *convention[column]))
        else:
            resolved.append(_fitted_event(values[:, column], column, columns[column], where, feature))
    if len({e.name for e in resolved}) < len(resolved):  # two grippers: keep the dataset's own names
        resolved = [Event(e.column, columns[e.column], e.threshold, e.how) for e in resolved]
    if mode is not None:
        is_absolute, why = mode == "absolute", f"actions={mode}"
    else:
        is_absolute, why = _absolute_from_names([columns[i] for i in dims], names, absolute, absolute_why)
        if is_absolute is None:
            raise DataError(
                f"{where}: cannot tell whether {feature} columns {', '.join(columns[i] for i in dims)} are "
                "absolute targets or deltas; set --option actions=absolute or actions=delta"
            )
    return ChannelSpec(feature, columns, tuple(dims), is_absolute, why, tuple(resolved))


def check_options(options: dict, allowed: tuple[str, ...], source: str) -> None:
    """Refuse options a loader does not use (never ignore them)."""
    unknown = sorted(set(options) - set(allowed))
    if unknown:
        takes = f"it takes {', '.join(allowed)}" if allowed else "it takes none"
        raise DataError(f"{source}: unknown option(s) {', '.join(unknown)}; {takes}")


def check_finite(actions: np.ndarray, where: str, feature: str, names: list[str] | None = None) -> None:
    """Refuse NaN / inf actions, naming the frame and the column."""
    bad = np.argwhere(~np.isfinite(actions))
    if len(bad):
        frame, column = (int(v) for v in bad[0])
        name = f" {names[column]!r}" if names and column < len(names) else ""
        raise DataError(
            f"{where}: frame {frame}: {feature}[{column}]{name} is {actions[frame, column]} "
            f"({len(bad)} non-finite value(s)); fix or remove the episode"
        )


def _event_name(column_name: str) -> str:
    return "gripper" if GRIPPER_NAME.search(column_name) else column_name


def _columns(spec, columns: tuple[str, ...], option: str, where: str) -> list[int]:
    """COLUMNS (names, indices, "a:b" ranges; a list or a comma-separated string) -> sorted indices."""
    items = spec if isinstance(spec, (list, tuple)) else str(spec).split(",")
    chosen = []
    for item in items:
        text = str(item).strip()
        if text in columns:
            chosen.append(columns.index(text))
        elif re.fullmatch(r"\d*:\d*", text):
            start, stop = text.split(":")
            chosen.extend(range(int(start or 0), int(stop or len(columns))))
        elif re.fullmatch(r"-?\d+", text) and -len(columns) <= int(text) < len(columns):
            chosen.append(int(text) % len(columns))
        else:
            raise DataError(
                f"{where}: {option}: no column {text!r}; columns are 0..{len(columns) - 1} "
                f"({', '.join(columns[:8])}{', ...' if len(columns) > 8 else ''})"
            )
    return sorted(set(chosen))


def _event_columns(spec, columns, named: bool, convention, where: str) -> list[int]:
    if spec in (None, "none", [], False):
        return []
    if spec != "auto":
        return _columns(spec, columns, "events", where)
    if named:
        return [i for i, name in enumerate(columns) if GRIPPER_NAME.search(name)]
    if convention is not None:
        return sorted(convention)
    raise DataError(
        f"{where}: the {len(columns)} action columns have no names, so which is a gripper cannot be "
        "decided; set --option events=none (no gripper) or events=COLUMN (its 0-based index)"
    )


def _dim_columns(spec, columns, events: list[int], where: str) -> list[int]:
    if spec in (None, "all"):
        return [i for i in range(len(columns)) if i not in events]
    chosen = _columns(spec, columns, "dims", where)
    overlap = sorted(set(chosen) & set(events))
    if overlap:
        raise DataError(f"{where}: column(s) {overlap} are both dims and events; fix --option dims / events")
    return chosen


def _fitted_event(column: np.ndarray, index: int, name: str, where: str, feature: str) -> Event:
    """The midpoint threshold of a clearly two-valued column, or a DataError naming gripper_threshold."""
    finite = column[np.isfinite(column)]
    low, high = (float(finite.min()), float(finite.max())) if len(finite) else (0.0, 0.0)
    near_ends = np.mean((finite <= low + 0.05 * (high - low)) | (finite >= high - 0.05 * (high - low)))
    if high > low and near_ends >= TWO_VALUED_SHARE:
        how = f"fitted: two-valued {low:g} / {high:g}"
        return Event(index, _event_name(name), (low + high) / 2, how)
    spread = f"constant {low:g}" if high == low else f"{low:g}..{high:g}, not two-valued"
    raise DataError(
        f"{where}: {feature}[{index}] {name!r} looks like a gripper but its values are {spread}; "
        "set --option gripper_threshold=VALUE (closed above VALUE) or events=none"
    )


def _absolute_from_names(dim_names: list[str], named, default: bool | None, default_why: str):
    deltas = [bool(DELTA_NAME.match(name)) for name in dim_names] if named else []
    if deltas and all(deltas):
        return False, "names say deltas"
    if deltas and any(deltas):
        return None, ""
    return default, default_why


def _listing(names: tuple[str, ...]) -> str:
    """Names, or for many of them the first and last few and how many."""
    if len(names) <= 8:
        return ", ".join(names)
    return f"{', '.join(names[:3])}, ..., {', '.join(names[-2:])} ({len(names)} columns)"


def _ranges(indices: tuple[int, ...]) -> str:
    """(0, 1, 2, 5) -> "0:3, 5"."""
    parts, start = [], None
    for k, i in enumerate(indices):
        if start is None:
            start = i
        if k + 1 == len(indices) or indices[k + 1] != i + 1:
            parts.append(str(start) if start == i else f"{start}:{i + 1}")
            start = None
    return ", ".join(parts)
