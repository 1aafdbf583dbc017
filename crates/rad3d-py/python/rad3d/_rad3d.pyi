"""Type stubs of the native extension ``rad3d._rad3d``."""

import os
from typing import List, Optional, Sequence, Tuple, Union

import numpy as np
import numpy.typing as npt

__version__: str

class Rad3dError(ValueError):
    """Bad input, unreadable or missing files, missing METEOR data: the Rust message."""

_Path = Union[str, os.PathLike]

def evaluate(
    refs: Sequence[Tuple[str, str]],
    hyps: Sequence[Tuple[str, str]],
    compare: Optional[Sequence[Tuple[str, str]]] = None,
    *,
    tokenize: str = "basic",
    bootstrap: Optional[int] = None,
    resamples: Optional[int] = None,
    seed: int = 0,
    confidence: float = 0.95,
    cider_df: str = "corpus",
    meteor_dir: Optional[_Path] = None,
    meteor_approx: bool = False,
    timings: bool = False,
    compare_label: str = "compare",
) -> dict: ...
def coco_bleu(refs: Sequence[Sequence[str]], hyps: Sequence[str], n: int) -> Tuple[List[float], List[List[float]]]: ...
def coco_rouge(refs: Sequence[Sequence[str]], hyps: Sequence[str]) -> List[float]: ...
def coco_cider(refs: Sequence[Sequence[str]], hyps: Sequence[str]) -> List[float]: ...

class MeteorScorer:
    def __init__(self, meteor_dir: Optional[_Path] = None, approx: bool = False) -> None: ...
    def corpus(self, refs: Sequence[Sequence[str]], hyps: Sequence[str]) -> Tuple[float, List[float]]: ...
    @property
    def full(self) -> bool: ...

class RougeScorer:
    def __init__(self, types: Sequence[str], use_stemmer: bool = False) -> None: ...
    def score(self, target: str, prediction: str) -> List[Tuple[float, float, float]]: ...
    def score_multi(self, targets: Sequence[str], prediction: str) -> List[Tuple[float, float, float]]: ...
    def score_batch(
        self, targets: Sequence[str], predictions: Sequence[str]
    ) -> List[List[Tuple[float, float, float]]]: ...
    @property
    def rouge_types(self) -> List[str]: ...

def read_nifti(
    path: _Path,
    *,
    rescale: Optional[Tuple[float, float]] = None,
    volume: Optional[int] = None,
    max_voxels: Optional[int] = None,
) -> Tuple[npt.NDArray[np.float32], npt.NDArray[np.float64]]: ...
def preprocess(
    path: _Path,
    *,
    recipe: str = "ct-clip",
    clip_first: bool = False,
    rescale: Optional[Tuple[float, float]] = None,
    volume: Optional[int] = None,
    max_voxels: Optional[int] = None,
) -> npt.NDArray[np.float32]: ...
