"""trajtok: tokenize N-D continuous trajectories plus discrete events for transformers."""

__version__ = "0.1.0"
