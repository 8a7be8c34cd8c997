"""Configs: dataclasses hold the defaults, YAML files override them, `key=value` overrides override both.

Nested dataclasses are addressed with dots (`model.n_dec_layers=2`). Values in overrides are parsed as YAML
scalars, so `lr=3e-4`, `amp=true` and `phrases=[a, b]` do what they look like.
"""

from __future__ import annotations

import copy
import dataclasses
import difflib
import types
import typing
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TypeVar

import yaml

from trajtok.errors import ConfigError

T = TypeVar("T")


def load_config(
    cls: type[T],
    paths: str | Path | Sequence[str | Path | None] | None = None,
    overrides: list[str] | None = None,
) -> T:
    """Build a `cls` dataclass from its defaults, then each YAML file of `paths` in turn (a later file's keys
    win, section by section; None entries are skipped), then `key=value` overrides. A refused setting is
    named where it came from: the file, or the override, that brought it in."""
    if paths is None or isinstance(paths, (str, Path)):
        paths = [paths]
    layers = [(str(path), _read_yaml(Path(path))) for path in paths if path is not None]
    layers += [(f"override {item!r}", _override_values(item)) for item in overrides or []]
    try:
        return from_dict(cls, _merged(layers), where=_SOMEWHERE)
    except ConfigError as exc:
        problem = str(exc)
    for n, (name, _) in enumerate(layers, start=1):  # the first layer whose arrival brings this problem
        try:
            from_dict(cls, _merged(layers[:n]), where=_SOMEWHERE)
        except ConfigError as exc:
            if str(exc) == problem:
                raise ConfigError(problem.replace(_SOMEWHERE, name, 1)) from None
    raise ConfigError(problem.replace(_SOMEWHERE, "config", 1)) from None  # only the layers together


_SOMEWHERE = "\0config"  # stands for the layer's name in a message until the layer is known


def _override_values(item: str) -> dict[str, Any]:
    """`a.b=value` -> {"a": {"b": value}}, the value parsed as a YAML scalar ("" stays "")."""
    key, sep, raw = item.partition("=")
    if not sep or not key or "" in key.split("."):
        raise ConfigError(f"override {item!r}: expected key=value")
    *parents, leaf = key.split(".")
    values: dict[str, Any] = {leaf: yaml.safe_load(raw) if raw != "" else ""}
    for part in reversed(parents):
        values = {part: values}
    return values


def _merged(layers: list[tuple[str, dict[str, Any]]]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for _, layer in layers:
        _merge(values, layer)
    return values


def _read_yaml(path: Path) -> dict[str, Any]:
    if path.is_dir():
        raise ConfigError(f"{path}: a folder; give the config's .yaml file")
    if not path.is_file():
        raise ConfigError(f"{path}: config file not found")
    try:
        loaded = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML ({exc.__class__.__name__}); fix the file") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: not a YAML config (binary, not text); give the .yaml file") from None
    if not isinstance(loaded, dict):
        raise ConfigError(f"{path}: expected a mapping of keys to values at the top level")
    return loaded


def _merge(into: dict[str, Any], values: dict[str, Any]) -> None:
    """Deep-merge `values` into `into`: sections merge key by key, anything else replaces."""
    for key, value in values.items():
        if isinstance(value, dict) and isinstance(into.get(key), dict):
            _merge(into[key], value)
        else:
            into[key] = copy.deepcopy(value)


def from_dict(cls: type[T], values: dict[str, Any], where: str = "config") -> T:
    """Build a dataclass from a (possibly partial) dict, checking names and types."""
    fields = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted(set(values) - set(fields))
    if unknown:
        close = [m for key in unknown for m in difflib.get_close_matches(key, fields, n=1)]
        guess = f" (did you mean {', '.join(close)}?)" if close else ""
        known = ", ".join(fields)
        raise ConfigError(
            f"{where}: unknown key(s) {', '.join(unknown)}{guess} for {cls.__name__}; known: {known}"
        )
    hints = typing.get_type_hints(cls)
    kwargs = {}
    for name, value in values.items():
        kwargs[name] = _coerce(hints[name], value, f"{where}: {name}")
    try:
        return cls(**kwargs)
    except ValueError as exc:  # a dataclass's own check (__post_init__); a ConfigError's says "config: "
        raise ConfigError(f"{where}: {str(exc).removeprefix('config: ')}") from None


def to_dict(config: Any) -> dict[str, Any]:
    return dataclasses.asdict(config)


def save_config(config: Any, path: str | Path) -> None:
    Path(path).write_text(yaml.safe_dump(to_dict(config), sort_keys=False))


def _coerce(hint: Any, value: Any, where: str) -> Any:
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if dataclasses.is_dataclass(hint):
        if not isinstance(value, dict):
            raise ConfigError(f"{where}: expected a section, got {value!r}")
        return from_dict(hint, value, where)
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        inner = [a for a in args if a is not type(None)]
        return _coerce(inner[0], value, where) if len(inner) == 1 else value
    if origin in (list, tuple):
        if isinstance(value, str):
            value = [v.strip() for v in value.split(",") if v.strip()]
        if not isinstance(value, (list, tuple)):
            raise ConfigError(f"{where}: expected a list, got {value!r}")
        item = args[0] if args else Any
        items = [_coerce(item, v, where) for v in value]
        return tuple(items) if origin is tuple else items
    if origin is dict and not isinstance(value, dict):
        raise ConfigError(f"{where}: expected a mapping of keys to values, got {value!r}")
    if origin is typing.Literal:
        if value not in args:
            raise ConfigError(f"{where}: {value!r} is not one of {', '.join(map(str, args))}")
        return value
    try:
        if hint is bool:
            if isinstance(value, bool):
                return value
            raise ValueError
        if hint in (int, float, str):
            if hint is int and isinstance(value, float) and not value.is_integer():
                raise ValueError
            return hint(value)
    except (TypeError, ValueError):
        raise ConfigError(f"{where}: expected {hint.__name__}, got {value!r}") from None
    return value
