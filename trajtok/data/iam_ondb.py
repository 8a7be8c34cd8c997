"""IAM On-Line Handwriting Database (IAM-OnDB): one handwritten text line per XML file.

    ROOT/lineStrokes/a01/a01-000/a01-000u-01.xml   <WhiteboardCaptureSession>...<StrokeSet>
                                                     <Stroke ...><Point x="1073" y="1058" time="769.05"/>...
    ROOT/ascii/a01/a01-000/a01-000u.txt            ... "CSR:", a blank line, then line 1, line 2, ...

Line NN of form a01-000u is the NN-th line after "CSR:" (1-based). Whiteboard y grows downwards. Splits: the
IAM-OnDB-t1 lists (trainset.txt, testset_v.txt, testset_t.txt, testset_f.txt) when they sit in ROOT, naming
forms or lines; otherwise a stable hash of the form name (whole forms stay in one split).
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Callable
from pathlib import Path

import numpy as np

from trajtok.data.normalize import Limits, SampleSetBuilder
from trajtok.data.splits import canonical_split, select
from trajtok.errors import DataError
from trajtok.sample import SampleSet

T1_LISTS = {"train": ("trainset.txt",), "val": ("testset_v.txt", "testset_t.txt"), "test": ("testset_f.txt",)}


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


def _t1_split_ids(root: Path) -> dict[str, set[str]] | None:
    if not all((root / names[0]).is_file() for names in T1_LISTS.values()):
        return None
    ids = {}
    for split, names in T1_LISTS.items():
        listed = [root / name for name in names if (root / name).is_file()]
        ids[split] = {
            line.strip() for path in listed for line in path.read_text().splitlines() if line.strip()
        }
    return ids


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
    xml_files = sorted(strokes_dir.rglob("*.xml"))
    texts = {p.stem: p for p in root.rglob("*.txt") if p.parent != root}
    t1 = _t1_split_ids(root)
    split = canonical_split(split)
    builder = SampleSetBuilder(source or str(root), limits)
    if t1 is not None and split != "all":
        members = t1[split]
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
    return builder.build()
