"""Import TensorFlow without its C++ start-up lines on the terminal.

TensorFlow 2.21 prints, at import and through absl before absl is initialised, lines such
as ``WARNING: All log messages before absl::InitializeLog() is called ...`` and ``I0000 ...
oneDNN custom operations are on ...`` (twice). ``TF_CPP_MIN_LOG_LEVEL`` does not silence
them, and ``TF_ENABLE_ONEDNN_OPTS=0`` would, but it also changes the numerics (oneDNN's
kernels are what the results in README were measured with). So the import runs with the
process's stderr (file descriptor 2) pointed at a temporary file, and afterwards every
line of it except those known start-up lines is written back to stderr: errors and
anything unexpected still show. Set ``TF_CPP_MIN_LOG_LEVEL=0`` to see everything.
"""

from __future__ import annotations

import os
import sys
import tempfile

#: Fragments of the start-up lines that are dropped (nothing else is).
STARTUP_NOISE = (
    "All log messages before absl::InitializeLog() is called",
    "oneDNN custom operations are on",
    "cpu_feature_guard.cc",
    "To enable the following instructions:",
    "Unable to register cuDNN factory",
    "Unable to register cuFFT factory",
    "Unable to register cuBLAS factory",
    "computation placer already registered",
    "Could not find cuda drivers on your machine",
)


def is_startup_noise(line: str) -> bool:
    """Return whether `line` is one of TensorFlow's known start-up lines."""
    return any(fragment in line for fragment in STARTUP_NOISE)


def import_tensorflow_quietly() -> None:
    """Import TensorFlow (once), dropping its known start-up lines from stderr."""
    if "tensorflow" in sys.modules:
        return
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    if os.environ["TF_CPP_MIN_LOG_LEVEL"] == "0":
        import tensorflow  # noqa: F401  (the user asked for every line)

        return
    sys.stderr.flush()
    try:
        saved = os.dup(2)
    except OSError:  # no file descriptor 2 (an embedded interpreter): nothing to filter
        import tensorflow  # noqa: F401

        return
    with tempfile.TemporaryFile() as capture:
        os.dup2(capture.fileno(), 2)
        try:
            import tensorflow  # noqa: F401
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            capture.seek(0)
            kept = [
                line
                for line in capture.read().decode(errors="replace").splitlines()
                if not is_startup_noise(line)
            ]
            if kept:
                sys.stderr.write("\n".join(kept) + "\n")


import_tensorflow_quietly()
