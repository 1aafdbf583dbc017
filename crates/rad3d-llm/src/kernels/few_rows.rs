//! Products of a few rows with a weight matrix on Flex, reading the weight in place.
//!
//! At decode time every linear layer multiplies a handful of rows (one per sequence) by
//! a weight matrix that does not fit in cache, so the product costs what reading the
//! weight from memory costs. General matmul kernels first pack the right-hand side into
//! their own tile layout, which for a few rows doubles that traffic (read, write, read
//! again) and, for the tied output projection (the transposed embeddings), turns the
//! read into a strided gather. The kernels here read the weight exactly once, in its
//! stored layout:
//!
//! - weight `[K, N]` with unit column stride (a linear layer's `[in, out]`), one to eight
//!   rows: each thread streams a contiguous band of the weight's rows and accumulates
//!   every output column over it; the bands' partial sums are added in band order;
//! - the same weight, nine to sixteen rows: register tiles of columns,
//!   `acc[r] += x[r, k] · W[k, tile]` over `k`, columns split across the thread pool;
//! - weight given as the transpose of `[N, K]` rows (tied embeddings): `y[r, n] =
//!   x[r] · E[n]`, several `n` at a time, columns split across the thread pool.
//!
//! The kernels use AVX-512F fused multiply-adds; on other CPUs (and for autodiff tensors
//! and other backends) [`few_rows_matmul`] declines and the general matmul runs.

use burn::backend::flex::{Flex, FlexTensor};
use burn::tensor::{DType, Shape, Tensor, TensorPrimitive, backend::Backend};
use rayon::prelude::*;

/// Products with more rows than this are left to the general kernel, whose packing
/// then pays for itself.
pub(super) const MAX_ROWS: usize = 16;

/// How the weight's elements are laid out in its buffer.
#[derive(Debug, Clone, Copy)]
enum WeightLayout {
    /// `W[k, n]` at `offset + k · ld + n`.
    Rows { ld: usize },
    /// `W[k, n]` at `offset + n · ld + k` (the transpose of row-major `[N, K]`).
    Columns { ld: usize },
}

/// A borrowed weight `[K, N]`.
#[derive(Debug, Clone, Copy)]
struct Weight<'a> {
    data: &'a [f32],
    offset: usize,
    k: usize,
    n: usize,
    layout: WeightLayout,
}

/// The Flex tensor behind `t`, if `B` is Flex and `t` holds f32.
fn flex_tensor<B: Backend>(t: &Tensor<B, 2>) -> Option<FlexTensor> {
    let primitive = t.clone().into_primitive().tensor();
    let any: Box<dyn std::any::Any> = Box::new(primitive);
    let flex = *any.downcast::<FlexTensor>().ok()?;
    (flex.dtype() == DType::F32).then_some(flex)
}

fn weight_view(t: &FlexTensor) -> Option<Weight<'_>> {
    let layout = t.layout();
    let dims = layout.shape();
    let (k, n) = (dims[0], dims[1]);
    let strides = layout.strides();
    let (s0, s1) = (strides[0], strides[1]);
    let layout = if s1 == 1 && s0 >= n as isize {
        WeightLayout::Rows { ld: s0 as usize }
    } else if s0 == 1 && s1 >= k as isize {
        WeightLayout::Columns { ld: s1 as usize }
    } else {
        return None;
    };
    Some(Weight {
        data: t.storage::<f32>(),
        offset: t.layout().start_offset(),
        k,
        n,
        layout,
    })
}

/// `x` `[rows, K]` × `w` `[K, N]` with the kernels of this module, when `B` is Flex,
/// both are f32, `rows ≤ MAX_ROWS` and `w` has a unit stride along one axis; `None`
/// otherwise (the caller then uses the general matmul).
pub(super) fn few_rows_matmul<B: Backend>(
    x: &Tensor<B, 2>,
    w: &Tensor<B, 2>,
) -> Option<Tensor<B, 2>> {
    let [rows, k] = x.dims();
    if rows == 0
        || rows > MAX_ROWS
        || std::any::TypeId::of::<B>() != std::any::TypeId::of::<Flex>()
        || !supported()
    {
        return None;
    }
    let xf = flex_tensor(x)?;
    let xf = if xf.is_contiguous() && xf.layout().start_offset() == 0 {
        xf
    } else {
        xf.to_contiguous()
    };
    let wf = flex_tensor(w)?;
    let weight = weight_view(&wf)?;
    if weight.k != k || k == 0 || weight.n == 0 {
        return None;
    }
    let xs = &xf.storage::<f32>()[..rows * k];
    let out = multiply(xs, rows, weight);
    let n = weight.n;
    let data = burn::tensor::TensorData::new(out, [rows, n]);
    let flex = FlexTensor::from_data(data);
    debug_assert_eq!(flex.layout().shape(), &Shape::new([rows, n]));
    let any: Box<dyn std::any::Any> = Box::new(flex);
    let primitive = *any
        .downcast::<B::FloatTensorPrimitive>()
        .expect("B is Flex (checked above)");
    Some(Tensor::from_primitive(TensorPrimitive::Float(primitive)))
}

/// Columns per parallel task: enough tasks to balance the pool, each a multiple of 64.
fn task_columns(n: usize) -> usize {
    let tasks = (rayon::current_num_threads() * 4).max(1);
    n.div_ceil(tasks).div_ceil(64).max(1) * 64
}

/// `x` `[rows, K]` × `w` → `[rows, N]`, row-major.
fn multiply(x: &[f32], rows: usize, w: Weight<'_>) -> Vec<f32> {
    if let WeightLayout::Rows { ld } = w.layout
        && rows <= STREAM_ROWS
    {
        return stream(x, rows, w, ld);
    }
    let n = w.n;
    let cols = task_columns(n);
    let blocks: Vec<(usize, Vec<f32>)> = (0..n.div_ceil(cols))
        .into_par_iter()
        .map(|b| {
            let start = b * cols;
            let len = cols.min(n - start);
            let mut out = vec![0.0f32; rows * len];
            block(x, rows, w, start, len, &mut out);
            (start, out)
        })
        .collect();
    let mut y = vec![0.0f32; rows * n];
    for (start, out) in blocks {
        let len = out.len() / rows;
        for r in 0..rows {
            y[r * n + start..r * n + start + len].copy_from_slice(&out[r * len..(r + 1) * len]);
        }
    }
    y
}

/// Row counts up to this stream a row-major weight band by band ([`stream`]).
const STREAM_ROWS: usize = 8;

/// A few rows against a row-major weight, reading it strictly sequentially: each task
/// takes a contiguous band of the weight's rows (one block of memory) and accumulates
/// every output column over it; the bands' partial sums are then added in band order.
/// With one or a few rows the product is bound by reading the weight, and a sequential
/// read is the fastest there is, where column tiles read a few cache lines per row.
fn stream(x: &[f32], rows: usize, w: Weight<'_>, ld: usize) -> Vec<f32> {
    let (k, n) = (w.k, w.n);
    let tasks = rayon::current_num_threads().min(k / 16).max(1);
    let band = k.div_ceil(tasks);
    let mut partials: Vec<Vec<f32>> = (0..k.div_ceil(band))
        .into_par_iter()
        .map(|t| {
            let (k0, k1) = (t * band, ((t + 1) * band).min(k));
            let mut acc = vec![0.0f32; rows * n];
            band_product(x, rows, w, ld, k0..k1, &mut acc);
            acc
        })
        .collect();
    let mut y = partials.remove(0);
    for p in partials {
        for (a, b) in y.iter_mut().zip(p) {
            *a += b;
        }
    }
    y
}

/// `acc` `[rows, N]` += `x[:, band]` × `W[band, :]`.
fn band_product(
    x: &[f32],
    rows: usize,
    w: Weight<'_>,
    ld: usize,
    band: std::ops::Range<usize>,
    acc: &mut [f32],
) {
    #[cfg(target_arch = "x86_64")]
    {
        assert!(supported(), "few-row kernels need AVX-512F");
        assert_eq!(x.len(), rows * w.k);
        assert_eq!(acc.len(), rows * w.n);
        assert!(band.end <= w.k && band.start < band.end);
        assert!(
            w.offset + (band.end - 1) * ld + w.n <= w.data.len(),
            "weight view out of bounds"
        );
        // SAFETY: AVX-512F is present and every index formed lies within the bounds
        // asserted above.
        unsafe {
            match rows {
                1 => avx512::band::<1>(x, w, ld, band, acc),
                2 => avx512::band::<2>(x, w, ld, band, acc),
                3 => avx512::band::<3>(x, w, ld, band, acc),
                4 => avx512::band::<4>(x, w, ld, band, acc),
                5 => avx512::band::<5>(x, w, ld, band, acc),
                6 => avx512::band::<6>(x, w, ld, band, acc),
                7 => avx512::band::<7>(x, w, ld, band, acc),
                8 => avx512::band::<8>(x, w, ld, band, acc),
                _ => unreachable!("rows checked against STREAM_ROWS"),
            }
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        let _ = (x, rows, w, ld, band, acc);
        unreachable!("few-row kernels are only dispatched on x86_64")
    }
}

/// Whether this CPU runs the kernels (AVX-512F); elsewhere products keep the general
/// matmul.
fn supported() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        std::arch::is_x86_feature_detected!("avx512f")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

/// Columns `start..start + len` of the product into `out` `[rows, len]`.
fn block(x: &[f32], rows: usize, w: Weight<'_>, start: usize, len: usize, out: &mut [f32]) {
    #[cfg(target_arch = "x86_64")]
    {
        assert!(supported(), "few-row kernels need AVX-512F");
        assert_eq!(x.len(), rows * w.k);
        assert_eq!(out.len(), rows * len);
        let last = match w.layout {
            WeightLayout::Rows { ld } => w.offset + (w.k - 1) * ld + start + len,
            WeightLayout::Columns { ld } => w.offset + (start + len - 1) * ld + w.k,
        };
        assert!(
            start + len <= w.n && last <= w.data.len(),
            "weight view out of bounds"
        );
        macro_rules! by_rows {
            ($($r:literal),*) => {
                match rows {
                    // SAFETY: AVX-512F is present (asserted) and every index the kernels
                    // form lies within the bounds asserted above.
                    $($r => unsafe { avx512::kernel::<$r>(x, w, start, len, out) },)*
                    _ => unreachable!("rows checked against MAX_ROWS"),
                }
            };
        }
        by_rows!(1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16)
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        let _ = (x, rows, w, start, len, out);
        unreachable!("few-row kernels are only dispatched on x86_64")
    }
}

#[cfg(target_arch = "x86_64")]
mod avx512 {
    use std::arch::x86_64::*;

    use super::{Weight, WeightLayout};

    const LANES: usize = 16;

    /// Register tiles of up to 24 accumulators (of the 32 vector registers): several
    /// vectors of columns (or several outputs) per row when there are few rows, so each
    /// weight load feeds as many multiply-adds as the registers allow.
    #[target_feature(enable = "avx512f")]
    pub(super) unsafe fn kernel<const R: usize>(
        x: &[f32],
        w: Weight<'_>,
        start: usize,
        len: usize,
        out: &mut [f32],
    ) {
        // SAFETY: forwarded from the caller (bounds and CPU feature checked there).
        unsafe {
            match w.layout {
                // Up to STREAM_ROWS rows never get here with this layout (see `multiply`).
                WeightLayout::Rows { ld } if R <= 12 => rows::<R, 2>(x, w, ld, start, len, out, 0),
                WeightLayout::Rows { ld } => rows::<R, 1>(x, w, ld, start, len, out, 0),
                WeightLayout::Columns { ld } if R <= 3 => dots::<R, 8>(x, w, ld, start, len, out),
                WeightLayout::Columns { ld } if R <= 4 => dots::<R, 6>(x, w, ld, start, len, out),
                WeightLayout::Columns { ld } if R <= 6 => dots::<R, 4>(x, w, ld, start, len, out),
                WeightLayout::Columns { ld } if R <= 8 => dots::<R, 3>(x, w, ld, start, len, out),
                WeightLayout::Columns { ld } if R <= 12 => dots::<R, 2>(x, w, ld, start, len, out),
                WeightLayout::Columns { ld } => dots::<R, 1>(x, w, ld, start, len, out),
            }
        }
    }

    /// Weight rows ahead of the one being multiplied that are prefetched: a tile reads a
    /// few cache lines from each of `k` rows a page or more apart, a pattern the hardware
    /// prefetchers do not follow across pages.
    const PREFETCH_ROWS: usize = 12;

    /// Row-major weight from column `c0`, `V` vectors of columns at a time:
    /// `acc[r][v] += x[r, k] · W[k, tile v]` over `k`; what is left of `len` goes to
    /// one-vector tiles, then column by column.
    #[target_feature(enable = "avx512f")]
    unsafe fn rows<const R: usize, const V: usize>(
        x: &[f32],
        w: Weight<'_>,
        ld: usize,
        start: usize,
        len: usize,
        out: &mut [f32],
        mut c0: usize,
    ) {
        let k = w.k;
        let tile = V * LANES;
        let (xp, wp, op) = (x.as_ptr(), w.data.as_ptr(), out.as_mut_ptr());
        // SAFETY: `w.offset + kk · ld + start + c < w.data.len()` for every `kk < k`,
        // `c < len` (checked by the caller); `x` is `[R, k]` and `out` `[R, len]`.
        // Prefetches may point past the weight: they never fault.
        unsafe {
            while c0 + tile <= len {
                let mut acc = [[_mm512_setzero_ps(); V]; R];
                let base = wp.add(w.offset + start + c0);
                for kk in 0..k {
                    let row = base.add(kk * ld);
                    if kk + PREFETCH_ROWS < k {
                        let ahead = row.add(PREFETCH_ROWS * ld);
                        for v in 0..V {
                            _mm_prefetch::<_MM_HINT_T0>(ahead.add(v * LANES).cast());
                        }
                    }
                    let wv: [__m512; V] =
                        std::array::from_fn(|v| _mm512_loadu_ps(row.add(v * LANES)));
                    for r in 0..R {
                        let xv = _mm512_set1_ps(*xp.add(r * k + kk));
                        for v in 0..V {
                            acc[r][v] = _mm512_fmadd_ps(xv, wv[v], acc[r][v]);
                        }
                    }
                }
                for r in 0..R {
                    for v in 0..V {
                        _mm512_storeu_ps(op.add(r * len + c0 + v * LANES), acc[r][v]);
                    }
                }
                c0 += tile;
            }
            if V > 1 {
                return rows::<R, 1>(x, w, ld, start, len, out, c0);
            }
            for c in c0..len {
                for r in 0..R {
                    let mut sum = 0.0f32;
                    for kk in 0..k {
                        let wk = *wp.add(w.offset + kk * ld + start + c);
                        sum = (*xp.add(r * k + kk)).mul_add(wk, sum);
                    }
                    *op.add(r * len + c) = sum;
                }
            }
        }
    }

    /// Weight rows multiplied per pass over the accumulators in [`band`].
    const GROUP: usize = 4;

    /// `acc[r, :] += Σ_{k ∈ band} x[r, k] · W[k, :]`, `GROUP` weight rows per pass over
    /// the accumulators (one load and store of each accumulator vector per `GROUP`
    /// multiply-adds), leftover rows one at a time.
    #[target_feature(enable = "avx512f")]
    pub(super) unsafe fn band<const R: usize>(
        x: &[f32],
        w: Weight<'_>,
        ld: usize,
        band: std::ops::Range<usize>,
        acc: &mut [f32],
    ) {
        let mut kk = band.start;
        // SAFETY: forwarded from the caller (bounds and CPU feature checked there).
        unsafe {
            while kk + GROUP <= band.end {
                group::<R, GROUP>(x, w, ld, kk, acc);
                kk += GROUP;
            }
            while kk < band.end {
                group::<R, 1>(x, w, ld, kk, acc);
                kk += 1;
            }
        }
    }

    /// `acc[r, :] += Σ_{i < G} x[r, k0 + i] · W[k0 + i, :]`; leftover columns scalar.
    #[target_feature(enable = "avx512f")]
    unsafe fn group<const R: usize, const G: usize>(
        x: &[f32],
        w: Weight<'_>,
        ld: usize,
        k0: usize,
        acc: &mut [f32],
    ) {
        let (k, n) = (w.k, w.n);
        let body = n / LANES * LANES;
        let (xp, wp, ap) = (x.as_ptr(), w.data.as_ptr(), acc.as_mut_ptr());
        // SAFETY: `w.offset + (k0 + i) · ld + c < w.data.len()` for `i < G`, `c < n`
        // (checked by the caller); `x` is `[R, k]` and `acc` `[R, n]`.
        unsafe {
            let rows: [*const f32; G] = std::array::from_fn(|i| wp.add(w.offset + (k0 + i) * ld));
            let xs: [[f32; G]; R] =
                std::array::from_fn(|r| std::array::from_fn(|i| *xp.add(r * k + k0 + i)));
            let xv: [[__m512; G]; R] =
                std::array::from_fn(|r| std::array::from_fn(|i| _mm512_set1_ps(xs[r][i])));
            for c in (0..body).step_by(LANES) {
                let wv: [__m512; G] = std::array::from_fn(|i| _mm512_loadu_ps(rows[i].add(c)));
                for r in 0..R {
                    let p = ap.add(r * n + c);
                    let mut a = _mm512_loadu_ps(p);
                    for i in 0..G {
                        a = _mm512_fmadd_ps(xv[r][i], wv[i], a);
                    }
                    _mm512_storeu_ps(p, a);
                }
            }
            for c in body..n {
                for r in 0..R {
                    let mut a = *ap.add(r * n + c);
                    for i in 0..G {
                        a = xs[r][i].mul_add(*rows[i].add(c), a);
                    }
                    *ap.add(r * n + c) = a;
                }
            }
        }
    }

    /// Weight stored as rows `E[n]` of length `k`: `C` outputs at a time, each a dot
    /// product in one vector of partial sums, reduced at the end; leftover `k` scalar.
    #[target_feature(enable = "avx512f")]
    unsafe fn dots<const R: usize, const C: usize>(
        x: &[f32],
        w: Weight<'_>,
        ld: usize,
        start: usize,
        len: usize,
        out: &mut [f32],
    ) {
        let k = w.k;
        let body = k / LANES * LANES;
        let (xp, wp, op) = (x.as_ptr(), w.data.as_ptr(), out.as_mut_ptr());
        let mut c0 = 0;
        // SAFETY: `w.offset + (start + c) · ld + kk < w.data.len()` for every `c < len`,
        // `kk < k` (checked by the caller); `x` is `[R, k]` and `out` `[R, len]`.
        unsafe {
            while c0 < len {
                let width = C.min(len - c0);
                let mut acc = [[_mm512_setzero_ps(); C]; R];
                let rows: [*const f32; C] = std::array::from_fn(|c| {
                    wp.add(w.offset + (start + c0 + c.min(width - 1)) * ld)
                });
                for k0 in (0..body).step_by(LANES) {
                    let ev: [__m512; C] = std::array::from_fn(|c| _mm512_loadu_ps(rows[c].add(k0)));
                    for r in 0..R {
                        let xv = _mm512_loadu_ps(xp.add(r * k + k0));
                        for c in 0..C {
                            acc[r][c] = _mm512_fmadd_ps(xv, ev[c], acc[r][c]);
                        }
                    }
                }
                for r in 0..R {
                    for c in 0..width {
                        let mut sum = _mm512_reduce_add_ps(acc[r][c]);
                        for kk in body..k {
                            sum = (*xp.add(r * k + kk)).mul_add(*rows[c].add(kk), sum);
                        }
                        *op.add(r * len + c0 + c) = sum;
                    }
                }
                c0 += width;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::tensor::{Distribution, Tolerance};

    /// Every row count, both weight layouts, column blocks that are not tile multiples
    /// and narrowed (offset, strided) weights agree with the general matmul.
    #[test]
    fn equals_general_matmul() {
        let device = Default::default();
        for rows in 1..=MAX_ROWS {
            for (k, n) in [(40, 200), (33, 77), (64, 1000)] {
                let x =
                    Tensor::<Flex, 2>::random([rows, k], Distribution::Normal(0.0, 1.0), &device);
                let w =
                    Tensor::<Flex, 2>::random([k, n + 9], Distribution::Normal(0.0, 1.0), &device)
                        .narrow(1, 5, n);
                let e =
                    Tensor::<Flex, 2>::random([n + 3, k], Distribution::Normal(0.0, 1.0), &device)
                        .narrow(0, 2, n)
                        .transpose();
                for w in [w, e] {
                    let want = x.clone().matmul(w.clone());
                    let Some(got) = few_rows_matmul(&x, &w) else {
                        assert!(
                            !supported(),
                            "the kernel applies where the CPU has AVX-512F"
                        );
                        eprintln!("no AVX-512F: the general matmul serves every product");
                        return;
                    };
                    got.into_data()
                        .assert_approx_eq::<f32>(&want.into_data(), Tolerance::absolute(1e-4));
                }
            }
        }
        let x = Tensor::<Flex, 2>::zeros([MAX_ROWS + 1, 8], &device);
        let w = Tensor::<Flex, 2>::zeros([8, 8], &device);
        assert!(few_rows_matmul(&x, &w).is_none(), "too many rows");
    }
}
