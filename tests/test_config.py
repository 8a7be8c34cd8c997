from dataclasses import dataclass, field

import pytest

from trajtok.config import load_config
from trajtok.errors import ConfigError


@dataclass
class Inner:
    n_layers: int = 2
    dropout: float = 0.1


@dataclass
class Outer:
    name: str = "run"
    lr: float = 1e-3
    amp: bool = False
    phrases: list[str] = field(default_factory=lambda: ["a"])
    model: Inner = field(default_factory=Inner)


def test_defaults_yaml_and_overrides_compose(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("lr: 0.01\nmodel:\n  n_layers: 4\n")
    config = load_config(Outer, path, ["model.dropout=0.0", "amp=true", "phrases=[x, y]"])
    assert config.lr == 0.01
    assert config.model == Inner(n_layers=4, dropout=0.0)
    assert config.amp is True
    assert config.phrases == ["x", "y"]
    assert config.name == "run"


@pytest.mark.parametrize(
    "override, message",
    [
        ("nope=1", "unknown key"),
        ("model.n_layers=2.5", "expected int"),
        ("amp=maybe", "expected bool"),
        ("lr", "key=value"),
    ],
)
def test_bad_overrides_name_the_key(override, message):
    with pytest.raises(ConfigError, match=message):
        load_config(Outer, None, [override])


def test_missing_file_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError, match="not found"):
        load_config(Outer, tmp_path / "missing.yaml")


def test_a_folder_or_a_binary_file_is_named_as_what_it_is(tmp_path):
    with pytest.raises(ConfigError, match="a folder; give the config's .yaml file"):
        load_config(Outer, tmp_path)
    binary = tmp_path / "model.pt"
    binary.write_bytes(b"PK\x03\x04\xf5\xff")
    with pytest.raises(ConfigError, match=r"model.pt: not a YAML config \(binary, not text\)"):
        load_config(Outer, binary)


@dataclass
class Checked:
    width: int = 8
    heads: int = 2

    def __post_init__(self):
        if self.width % self.heads:
            raise ConfigError("config: width must be a multiple of heads")


@dataclass
class Run:
    steps: int = 10
    model: Checked = field(default_factory=Checked)


def test_a_refused_setting_is_named_where_it_came_from(tmp_path):
    """Each file and each override is a layer; the message names the one whose arrival brings the problem,
    not the last file read (a bad override was blamed on the task's own file)."""
    good, bad = tmp_path / "good.yaml", tmp_path / "bad.yaml"
    good.write_text("steps: 5\n")
    bad.write_text("model:\n  width: 9\n")
    with pytest.raises(ConfigError, match=r"^override 'model\.wide=3': model: unknown key\(s\) wide "):
        load_config(Run, [good, None], ["steps=3", "model.wide=3"])
    with pytest.raises(ConfigError, match=r"wide \(did you mean width\?\) for Checked"):
        load_config(Run, None, ["model.wide=3"])
    with pytest.raises(ConfigError, match=r"unknown key\(s\) zzz for Run; known"):
        load_config(Run, None, ["zzz=3"])  # nothing close: no guess
    with pytest.raises(ConfigError, match=r"^override 'steps=x': steps: expected int"):
        load_config(Run, good, ["steps=x"])
    with pytest.raises(ConfigError, match=r"^.*bad\.yaml: model: width must be a multiple of heads$"):
        load_config(Run, [bad, good], ["steps=4"])
    with pytest.raises(ConfigError, match=r"^override 'model\.heads=4': model: width must be a multiple"):
        load_config(Run, good, ["model.width=6", "model.heads=4"])  # each fine alone
    assert load_config(Run, bad, ["model.heads=3"]).model == Checked(9, 3)  # a later layer mends it
