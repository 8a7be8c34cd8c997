"""PyBullet, imported without the build date its C module writes to stderr on import (every `trajtok sim`
command, the studio's robot and the ROS nodes began with "pybullet build time: ..."). Import it from here."""

from __future__ import annotations

import os
import sys


def _import_quietly():
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with open(os.devnull, "w") as null:
            os.dup2(null.fileno(), 2)
            import pybullet
    finally:
        os.dup2(saved, 2)
        os.close(saved)
    return pybullet


pybullet = _import_quietly()
