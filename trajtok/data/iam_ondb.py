"""IAM On-Line Handwriting Database (IAM-OnDB): one handwritten text line per XML file.

    ROOT/lineStrokes/a01/a01-000/a01-000u-01.xml   <WhiteboardCaptureSession>...<StrokeSet>
                                                     <Stroke ...><Point x="1073" y="1058" time="769.05"/>...
    ROOT/ascii/a01/a01-000/a01-000u.txt            ... "CSR:", a blank line, then line 1, line 2, ...

Line NN of form a01-000u is the NN-th line after "CSR:" (1-based). Whiteboard y grows downwards. Splits: the
IAM-OnDB-t1 lists (trainset.txt -> train, testset_v.txt + testset_t.txt -> val, testset_f.txt -> test) when
any sit in ROOT, naming forms or lines: a split is read from the lists present (the SampleSet's mapping says
which), and a split whose lists are all missing is refused, naming them. With no list at all: a stable hash of
the form name (whole forms stay in one split). ascii/ and lineStrokes/ may be symlinks.
"""

from __future__ import annotations

import os
import xml.etree.ElementTree as ET
from collections.abc import Callable
from itertools import islice
from pathlib import Path

import numpy as np

from trajtok.data.normalize import LIMIT_OPTIONS, Limits, SampleSetBuilder
from trajtok.data.splits import canonical_split, select
from trajtok.errors import DataError
from trajtok.sample import SampleSet

T1_LISTS = {"train": ("trainset.txt",), "val": ("testset_v.txt", "testset_t.txt"), "test": ("testset_f.txt",)}

OPTIONS = LIMIT_OPTIONS


def form_of(line_id: str) -> str:
    """a01-000u-01 -> a01-000u."""
    return line_id.rsplit("-", 1)[0]


def read_transcriptions(path: Path) -> list[str]:
    """The lines of an ascii/*.txt file's CSR section, in order."""
    try:
        lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError as exc:
        raise DataError(f"{path}: cannot read transcription ({exc})") from exc
    starts = [i for i, line in enumerate(lines) if line.strip() == "CSR:"]
    if not starts:
        raise DataError(f"{path}: no 'CSR:' section; expected an IAM-OnDB ascii transcription file")
    body = lines[starts[0] + 1 :]
    while body and not body[0].strip():
        body = body[1:]
    return [line.strip() for line in body]


def read_line_strokes(path: Path) -> list[np.ndarray]:
    """An IAM-OnDB lineStrokes XML file -> strokes, each (N, 2) whiteboard units with y UP."""
    try:
        stroke_set = ET.parse(path).getroot().find("StrokeSet")
        if stroke_set is None:
            raise DataError(f"{path}: no <StrokeSet>; expected an IAM-OnDB lineStrokes file")
        strokes = []
        for k, stroke in enumerate(stroke_set.iter("Stroke")):
            try:
                xy = [(float(p.attrib["x"]), -float(p.attrib["y"])) for p in stroke.iter("Point")]
            except (KeyError, ValueError) as exc:
                raise DataError(f"{path}: stroke {k}: a <Point> without numeric x and y ({exc})") from exc
            strokes.append(np.array(xy, dtype=np.float64).reshape(-1, 2))
        return strokes
    except ET.ParseError as exc:
        raise DataError(f"{path}: not well-formed XML ({exc})") from exc


def holds_line_strokes(folder: Path) -> bool:
    """Whether `folder` looks like IAM-OnDB: a lineStrokes/ folder, or line files (*.xml) at most three
    folders down (lineStrokes/a01/a01-000/); no deeper, so a folder that is no dataset (a home, /tmp) is not
    searched to its bottom."""
    if (folder / "lineStrokes").is_dir():
        return True
    found = (path for depth in range(4) for path in folder.glob("*/" * depth + "*.xml"))
    return any(_is_line_file(path) for path in islice(found, 32))  # other XML (a package's) is no ink


def _is_line_file(path: Path) -> bool:
    """Whether an .xml file opens as an IAM-OnDB line file does (<WhiteboardCaptureSession>)."""
    try:
        with open(path, "rb") as f:
            return b"<WhiteboardCaptureSession" in f.read(1024)
    except OSError:
        return False


def _files(folder: Path, suffix: str) -> list[Path]:
    """Every `*suffix` file under `folder`, following symlinked folders (Path.rglob does not)."""
    found = []
    for parent, _, names in os.walk(folder, followlinks=True):
        found.extend(Path(parent) / name for name in names if name.endswith(suffix))
    return sorted(found)


def _t1_split_ids(root: Path) -> dict[str, tuple[set[str], list[str]]] | None:
    """{split: (listed ids, the list files read)} when any t1 list is in `root`, else None."""
    present = {split: [n for n in names if (root / n).is_file()] for split, names in T1_LISTS.items()}
    if not any(present.values()):
        return None
    return {
        split: (
            {line.strip() for n in names for line in (root / n).read_text().splitlines() if line.strip()},
            names,
        )
        for split, names in present.items()
    }


def _t1_members(root: Path, t1: dict, split: str) -> set[str]:
    ids, names = t1[split]
    if not names:
        found = [n for _, listed in t1.values() for n in listed]
        raise DataError(
            f"{root}: the IAM-OnDB-t1 {split} split needs {' or '.join(T1_LISTS[split])}, which is missing "
            f"(found {', '.join(found)}); add it, or choose --split {' / '.join(s for s in t1 if t1[s][1])} "
            "or all"
        )
    return ids


def _splits_source(t1: dict | None) -> str:
    if t1 is None:
        return "a stable hash of the form name (no IAM-OnDB-t1 lists in the root)"
    return "; ".join(
        f"{split} from {' + '.join(names)}" if names else f"{split}: no list ({' or '.join(T1_LISTS[split])})"
        for split, (_, names) in t1.items()
    )


def load(
    root: str | Path,
    split: str = "train",
    n: int | None = None,
    seed: int = 0,
    limits: Limits | None = None,
    progress: Callable[[int, int], None] | None = None,
    source: str | None = None,
) -> SampleSet:
    root = Path(root)
    strokes_dir = root / "lineStrokes" if (root / "lineStrokes").is_dir() else root
    xml_files = _files(strokes_dir, ".xml")
    texts = {p.stem: p for p in _files(root, ".txt") if p.parent != root}
    t1 = _t1_split_ids(root)
    split = canonical_split(split)
    builder = SampleSetBuilder(source or str(root), limits)
    if t1 is not None and split != "all":
        members = _t1_members(root, t1, split)
        xml_files = [p for p in xml_files if p.stem in members or form_of(p.stem) in members]
        chosen = select([p.stem for p in xml_files], "all", n, seed)
    else:
        chosen = select([form_of(p.stem) for p in xml_files], split, n, seed)
    transcriptions: dict[str, list[str]] = {}
    for done, i in enumerate(chosen, 1):
        path = xml_files[i]
        form = form_of(path.stem)
        if form not in transcriptions:
            transcriptions[form] = read_transcriptions(texts[form]) if form in texts else []
        try:
            line_no = int(path.stem.rsplit("-", 1)[1])
        except (IndexError, ValueError):
            raise DataError(
                f"{path}: file name is not FORM-NN.xml, cannot find its transcription line"
            ) from None
        if not 1 <= line_no <= len(transcriptions[form]):
            builder.drop("no_transcription")
            continue
        builder.add_strokes(read_line_strokes(path), transcriptions[form][line_no - 1], group=form)
        if progress and (done % 256 == 0 or done == len(chosen)):
            progress(done, len(chosen))
    loaded = builder.build()
    loaded.mapping = {"splits": _splits_source(t1)}
    return loaded
