"""rad3d: the report metrics of rad3d-prefix, exact to pycocoevalcap and rouge-score, and
CT-CLIP preprocessing, from Rust.

- ``rad3d.metrics.evaluate(refs, hyps)``: every metric of ``rad3d evaluate --json`` with
  bootstrap intervals and paired tests; drop-in ``Bleu``, ``Meteor``, ``Rouge``, ``Cider``
  (pycocoevalcap) and ``RougeScorer`` (rouge-score).
- ``rad3d.read_nifti(path)`` -> ``(voxels, affine)`` and ``rad3d.preprocess(path)`` -> float32
  ``[240, 480, 480]``.

Every error is a ``rad3d.Rad3dError`` (a ``ValueError``) carrying the Rust message.
"""

from ._rad3d import Rad3dError, __version__, preprocess, read_nifti
from . import metrics

__all__ = ["Rad3dError", "__version__", "metrics", "preprocess", "read_nifti"]
