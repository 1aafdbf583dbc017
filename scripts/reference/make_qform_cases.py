#!/usr/bin/env python3
"""Header edge cases for the NIfTI reader, with nibabel's verdict (developer tool).

Writes tiny single-file NIfTI-1 images (2x2x2 int16, 368 bytes) whose headers exercise
what nibabel repairs or refuses when it loads a file: qfac (pixdim[0]) other than +-1,
quaternions whose |(b, c, d)| is just above or below 1, zero or negative pixdims, and
xform codes outside 0..5. Each header is built as a nibabel `Nifti1Header` struct with its
fields set raw (no setter normalises them), then loaded back with `nibabel.load`, which
runs nibabel's header checks and fixes exactly as for any user file. `expected.json` maps
each file to nibabel's `img.affine` (4x4) or to the error `nibabel.load` raised.

crates/rad3d-volume/tests/qform.rs writes the same files itself (no images are committed),
reads each with our reader and compares with expected.json.

Usage:
  make_qform_cases.py OUT_DIR      # expected.json goes to crates/rad3d-volume/tests/data/qform

Run with a Python that has nibabel and numpy (see the README's reference section).
"""

import json
import math
import os
import sys

import nibabel as nib
import numpy as np


def header(**fields):
    """A 2x2x2 int16 header with unit spacing and both xform codes 0, then `fields` set raw."""
    hdr = nib.Nifti1Header()
    hdr.set_data_shape((2, 2, 2))
    hdr.set_data_dtype(np.int16)
    hdr["pixdim"] = [1, 1, 1, 1, 1, 1, 1, 1]
    hdr["vox_offset"] = 352
    hdr["scl_slope"] = 1
    hdr["scl_inter"] = 0
    for name, value in fields.items():
        if name.startswith("pixdim"):
            hdr["pixdim"][int(name[len("pixdim"):])] = value
        else:
            hdr[name] = value
    return hdr


def qform(b=0.0, c=0.0, d=0.0, **fields):
    """A qform-only header (qform_code 1) with an offset, so translations are checked too."""
    return header(
        qform_code=1,
        quatern_b=b,
        quatern_c=c,
        quatern_d=d,
        qoffset_x=-10.5,
        qoffset_y=20.25,
        qoffset_z=-30.0,
        **fields,
    )


def sform(**fields):
    """An sform header (sform_code 1) with an oblique, anisotropic srow block."""
    return header(
        sform_code=1,
        srow_x=[-0.7, 0.05, 0.0, 90.0],
        srow_y=[0.04, 0.8, 0.1, -120.0],
        srow_z=[0.0, -0.2, 1.5, 33.0],
        **fields,
    )


def norm_one_plus(eps):
    """b such that b*b - 1 is about eps, rounded to the header's float32."""
    return float(np.float32(math.sqrt(1.0 + eps)))


# A rotation of about 30 degrees around an oblique axis.
OBLIQUE = dict(b=0.1, c=-0.2, d=0.2)

CASES = {
    # qfac: nibabel keeps -1 and +1; any other value is "fixed" to +1 on load.
    "qfac_m1": qform(**OBLIQUE, pixdim0=-1.0, pixdim1=0.7, pixdim2=0.8, pixdim3=1.5),
    "qfac_p1": qform(**OBLIQUE, pixdim0=1.0, pixdim1=0.7, pixdim2=0.8, pixdim3=1.5),
    "qfac_m0p5": qform(**OBLIQUE, pixdim0=-0.5, pixdim1=0.7, pixdim2=0.8, pixdim3=1.5),
    "qfac_m2": qform(**OBLIQUE, pixdim0=-2.0, pixdim1=0.7, pixdim2=0.8, pixdim3=1.5),
    "qfac_0": qform(**OBLIQUE, pixdim0=0.0, pixdim1=0.7, pixdim2=0.8, pixdim3=1.5),
    "qfac_p3": qform(**OBLIQUE, pixdim0=3.0, pixdim1=0.7, pixdim2=0.8, pixdim3=1.5),
    # Quaternion norm: |1 - |bcd|^2| below 3 float32 eps means w = 0; above, an error.
    "quat_norm_over_7e-7": qform(b=norm_one_plus(7e-7)),
    "quat_norm_over_2e-7": qform(b=norm_one_plus(2e-7)),
    "quat_norm_under_2e-7": qform(b=norm_one_plus(-2e-7)),
    "quat_norm_under_1e-6": qform(b=norm_one_plus(-1e-6)),
    "quat_norm_over_1e-3": qform(b=0.6, c=0.6, d=0.53),
    "quat_oblique": qform(**OBLIQUE, pixdim1=0.7, pixdim2=0.8, pixdim3=1.5),
    # Spacings: zero becomes 1 and negative becomes its absolute value on load.
    "sform_pixdim_zero": sform(pixdim1=0.0),
    "sform_pixdim_negative": sform(pixdim3=-1.5),
    "qform_pixdim_negative": qform(**OBLIQUE, pixdim1=0.7, pixdim2=-0.8, pixdim3=1.5),
    "qform_pixdim_zero": qform(**OBLIQUE, pixdim1=0.7, pixdim2=0.8, pixdim3=0.0),
    "qform_negative_pixdim_and_qfac_m1": qform(pixdim0=-1.0, pixdim1=-0.7, pixdim3=2.0),
    "base_pixdim_negative_and_zero": header(pixdim1=-0.7, pixdim2=0.0, pixdim3=1.5),
    # The sform wins over a qform nibabel would refuse.
    "sform_with_bad_quaternion": sform(qform_code=1, quatern_b=0.9, quatern_c=0.9),
    # xform codes outside 0..5 are set to 0 on load.
    "sform_code_invalid_uses_qform": qform(**OBLIQUE, sform_code=7, srow_x=[2, 0, 0, 0]),
    "qform_code_invalid_uses_base": header(qform_code=-3, quatern_b=0.5, pixdim1=0.9),
}


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    data = np.arange(8, dtype="<i2").reshape((2, 2, 2), order="F")
    expected = {}
    for name, hdr in CASES.items():
        path = os.path.join(out, f"{name}.nii")
        with open(path, "wb") as f:
            # Header, empty extension flag, voxels (Fortran order, little-endian).
            f.write(hdr.binaryblock + b"\0\0\0\0" + data.tobytes(order="F"))
        try:
            img = nib.load(path)
            affine = np.asarray(img.affine, dtype=np.float64)
            expected[f"{name}.nii"] = {"affine": affine.tolist()}
        except Exception as e:  # noqa: BLE001 - the error is the expected result
            expected[f"{name}.nii"] = {"error": f"{type(e).__name__}: {e}"}
    expected = dict(sorted(expected.items()))
    # One case per line keeps the file small and its diffs readable.
    lines = [f" {json.dumps(k)}: {json.dumps(v)}" for k, v in expected.items()]
    with open(os.path.join(out, "expected.json"), "w") as f:
        f.write('{"nibabel": %s, "cases": {\n' % json.dumps(nib.__version__))
        f.write(",\n".join(lines))
        f.write("\n}}\n")
    for name, result in expected.items():
        print(name, "error" if "error" in result else "ok", result.get("error", ""))


if __name__ == "__main__":
    main()
