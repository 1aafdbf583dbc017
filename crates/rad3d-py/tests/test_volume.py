"""``rad3d.read_nifti`` against nibabel and ``rad3d.preprocess`` against the nibabel +
PyTorch reference of the CT-CLIP recipe (and the command line's output when ``$RAD3D_BIN``
is set), on the shared CT fixtures; bad files raising ``Rad3dError``."""

import gzip
import subprocess

import numpy as np
import pytest

import rad3d

REF_DIR = __import__("pathlib").Path(__file__).resolve().parents[2] / "rad3d-volume" / "tests" / "data"


@pytest.mark.parametrize("name", ["example_ct_sm", "ct_cropped"])
def test_read_nifti_equals_nibabel(fixtures, name):
    nib = pytest.importorskip("nibabel")
    path = fixtures / "ct" / f"{name}.nii.gz"
    data, affine = rad3d.read_nifti(path)
    img = nib.load(str(path))
    want = img.get_fdata(dtype=np.float32)
    assert data.dtype == np.float32 and data.shape == want.shape
    assert np.array_equal(data, want)
    assert affine.dtype == np.float64 and affine.shape == (4, 4)
    assert np.allclose(affine, img.affine, rtol=0, atol=1e-6)
    # Zero-copy: numpy views the Rust buffer in NIfTI (Fortran) order.
    assert data.flags["F_CONTIGUOUS"]


@pytest.mark.parametrize("name", ["example_ct_sm", "ct_cropped"])
def test_preprocess_equals_the_reference(fixtures, name):
    from safetensors.numpy import load_file

    out = rad3d.preprocess(fixtures / "ct" / f"{name}.nii.gz")
    assert out.dtype == np.float32 and out.shape == (240, 480, 480) and out.flags["C_CONTIGUOUS"]
    ref = load_file(str(REF_DIR / f"{name}.ref.safetensors"))
    worst = 0.0
    for got, key in [
        (out[3:240:8, 5:480:12, 7:480:12], "grid"),
        (out[:, 237, 241], "line_t"),
        (out[120, :, 243], "line_h"),
        (out[118, 239, :], "line_w"),
        (out[120, 208:272, 208:272], "patch"),
    ]:
        want = ref[key].reshape(-1)
        assert got.size == want.size, key
        worst = max(worst, float(np.max(np.abs(got.reshape(-1) - want))))
    assert worst <= 1e-4, f"{name}: max |delta| {worst}"
    stats = ref["stats"]
    assert abs(out.astype(np.float64).mean() - stats[0]) < 1e-6


def test_preprocess_equals_the_cli(fixtures, rad3d_bin, tmp_path):
    from safetensors.numpy import load_file

    path = fixtures / "ct" / "example_ct_sm.nii.gz"
    subprocess.run([rad3d_bin, "preprocess", str(path), "--out", str(tmp_path / "x.safetensors")], check=True,
                   capture_output=True)
    cli = next(iter(load_file(str(tmp_path / "x.safetensors")).values()))
    got = rad3d.preprocess(path)
    assert np.array_equal(got, cli.reshape(got.shape))


def test_bad_files_raise(tmp_path, fixtures):
    with pytest.raises(rad3d.Rad3dError, match="missing.nii"):
        rad3d.read_nifti(tmp_path / "missing.nii")
    garbage = tmp_path / "garbage.nii"
    garbage.write_bytes(b"\x00" * 100)
    with pytest.raises(rad3d.Rad3dError):
        rad3d.read_nifti(garbage)
    truncated = tmp_path / "truncated.nii.gz"
    raw = gzip.decompress((fixtures / "ct" / "example_ct_sm.nii.gz").read_bytes())
    truncated.write_bytes(gzip.compress(raw[: len(raw) // 2]))
    with pytest.raises(rad3d.Rad3dError):
        rad3d.preprocess(truncated)
    with pytest.raises(rad3d.Rad3dError, match="above the limit of 1000"):
        rad3d.read_nifti(fixtures / "ct" / "example_ct_sm.nii.gz", max_voxels=1000)
    with pytest.raises(rad3d.Rad3dError, match="recipe"):
        rad3d.preprocess(fixtures / "ct" / "example_ct_sm.nii.gz", recipe="other")
