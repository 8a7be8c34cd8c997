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
