//! Where a batch-1 decode step spends its time: the whole step against its matmuls alone.
//!
//! Builds SmolLM2-135M's shape with random weights (or loads `--gguf FILE`), decodes a
//! few steps and times them, then times the same per-step matmul sequence (four per
//! block on that block's weights, plus the output projection) without anything else.
//! The difference is the per-op overhead of norms, RoPE, cache writes and attention.
//!
//! `cargo run --release -p rad3d-llm --example decode_profile -- [STEPS] [BATCH]`

use std::time::Instant;

use burn::backend::Flex;
use burn::tensor::{Distribution, Tensor};
use rad3d_llm::{GenerationConfig, Kernels, LlamaConfig, Llm, generate, synthetic_prefix};

type B = Flex;

fn main() {
    let mut args = std::env::args().skip(1);
    let steps: usize = args.next().and_then(|s| s.parse().ok()).unwrap_or(32);
    let batch: usize = args.next().and_then(|s| s.parse().ok()).unwrap_or(1);
    let device = Default::default();
    let cfg = LlamaConfig::smollm2_135m();
    let model: Llm<B> = rad3d_llm::ModelConfig::Llama(cfg.clone())
        .init(0, &device)
        .expect("valid config");

    let prefix = synthetic_prefix::<B>(batch, 10, cfg.hidden_size, &device);
    let prompts = vec![vec![1u32, 2, 3, 4, 5, 6]; batch];
    let run = |n: usize| {
        let config = GenerationConfig::greedy(n)
            .with_min_new_tokens(n)
            .with_eos(vec![]);
        let t = Instant::now();
        generate(&model, Some(prefix.clone()), &prompts, &config).unwrap();
        t.elapsed().as_secs_f64()
    };
    run(2);
    let one = run(1);
    let full = run(steps + 1);
    let per_step = (full - one) / steps as f64;
    println!(
        "prefill+1: {:.1} ms; decode step: {:.2} ms ({:.1} tok/s at batch {batch})",
        one * 1e3,
        per_step * 1e3,
        batch as f64 / per_step
    );

    // The matmuls alone, same shapes, one weight set per block, through the same
    // `matmul_rows` (few-row kernels included) that decoding uses.
    let (d, i, v) = (cfg.hidden_size, cfg.intermediate_size, cfg.vocab_size);
    let qkv_out = (cfg.num_heads + 2 * cfg.num_kv_heads) * cfg.head_dim;
    let kernels = Kernels::for_backend::<B>(&device);
    let matmul_rows = |x: Tensor<B, 2>, w: Tensor<B, 2>| kernels.matmul_rows(x, w);
    let rnd = |r: usize, c: usize| {
        Tensor::<B, 2>::random([r, c], Distribution::Normal(0.0, 0.02), &device)
    };
    let layers: Vec<_> = (0..cfg.num_layers)
        .map(|_| (rnd(d, qkv_out), rnd(d, d), rnd(d, 2 * i), rnd(i, d)))
        .collect();
    let embed = rnd(v, d);
    let x = rnd(batch, d);
    let xi = rnd(batch, i);
    let time = |f: &dyn Fn()| {
        f();
        let t = Instant::now();
        for _ in 0..steps {
            f();
        }
        t.elapsed().as_secs_f64() / steps as f64
    };
    let blocks = time(&|| {
        for (a, b, c, e) in &layers {
            let _ = matmul_rows(x.clone(), a.clone()).into_data();
            let _ = matmul_rows(x.clone(), b.clone());
            let _ = matmul_rows(x.clone(), c.clone());
            let _ = matmul_rows(xi.clone(), e.clone());
        }
    });
    let head_t = time(&|| {
        let _ = matmul_rows(x.clone(), embed.clone().transpose()).into_data();
    });
    let head_c = {
        let w = embed.clone().transpose().into_data();
        let w = Tensor::<B, 2>::from_data(w, &device);
        time(&|| {
            let _ = matmul_rows(x.clone(), w.clone()).into_data();
        })
    };
    let bytes = 4.0 * (cfg.num_layers * d * (qkv_out + d + 2 * i + i)) as f64;
    println!(
        "block matmuls: {:.2} ms ({:.1} GB/s); lm_head on transposed embeddings: {:.2} ms, on a contiguous [D, V] copy: {:.2} ms ({:.1} GB/s)",
        blocks * 1e3,
        bytes / blocks / 1e9,
        head_t * 1e3,
        head_c * 1e3,
        4.0 * (v * d) as f64 / head_c / 1e9
    );
    println!(
        "other work per step: {:.2} ms",
        (per_step - blocks - head_t) * 1e3
    );
    breakdown(&model, batch, steps);
}

/// Times each operation kind of a block over all blocks, on `[batch, 1, D]` inputs.
fn breakdown(model: &Llm<B>, batch: usize, steps: usize) {
    let Llm::Llama(m) = model else { return };
    let device = Default::default();
    let c = &m.config;
    let (hq, hkv, hd) = (c.num_heads, c.num_kv_heads, c.head_dim);
    let x = Tensor::<B, 3>::random(
        [batch, 1, c.hidden_size],
        Distribution::Normal(0.0, 1.0),
        &device,
    );
    let h = Tensor::<B, 3>::random(
        [batch, 1, c.intermediate_size],
        Distribution::Normal(0.0, 1.0),
        &device,
    );
    let time = |name: &str, f: &dyn Fn()| {
        f();
        let t = Instant::now();
        for _ in 0..steps {
            f();
        }
        println!(
            "  {name:<28} {:8.3} ms/step",
            t.elapsed().as_secs_f64() / steps as f64 * 1e3
        );
    };
    {
        use rad3d_llm::CausalLm;
        let mut cache = model.new_cache(batch, 140 + steps + 1, &device);
        let pre = Tensor::<B, 3>::random(
            [batch, 140, c.hidden_size],
            Distribution::Normal(0.0, 1.0),
            &device,
        );
        let _ = model.forward_hidden(pre, None, Some(&mut cache));
        let t = Instant::now();
        let mut fwd = 0.0;
        let mut out = x.clone();
        for _ in 0..steps {
            let t0 = Instant::now();
            out = model.forward_hidden(x.clone(), None, Some(&mut cache));
            fwd += t0.elapsed().as_secs_f64();
            let _ = model.logits(out.clone()).into_data();
        }
        let all = t.elapsed().as_secs_f64();
        let _ = out;
        println!(
            "  forward_hidden (cached, 1 token) {:8.3} ms/step, + logits {:8.3} ms/step",
            fwd / steps as f64 * 1e3,
            (all - fwd) / steps as f64 * 1e3
        );
    }
    time("rms_norm x2", &|| {
        for l in &m.layers {
            let _ = l.attn_norm.forward(x.clone());
            let _ = l.mlp_norm.forward(x.clone());
        }
    });
    time("qkv linear", &|| {
        for l in &m.layers {
            let _ = l.qkv.forward(x.clone());
        }
    });
    time("o_proj linear", &|| {
        for l in &m.layers {
            let _ = l.o_proj.forward(x.clone());
        }
    });
    time("gate_up linear", &|| {
        for l in &m.layers {
            let _ = l.gate_up.forward(x.clone());
        }
    });
    time("down linear", &|| {
        for l in &m.layers {
            let _ = l.down.forward(h.clone());
        }
    });
    time("silu*mul", &|| {
        for _ in &m.layers {
            let gu = Tensor::cat(vec![h.clone(), h.clone()], 2);
            let i = c.intermediate_size;
            let _ = burn::tensor::activation::silu(gu.clone().narrow(2, 0, i)) * gu.narrow(2, i, i);
        }
    });
    let cap = 160;
    let kv = Tensor::<B, 4>::zeros([batch, hkv, cap, hd], &device);
    let knew = Tensor::<B, 4>::random([batch, hkv, 1, hd], Distribution::Normal(0.0, 1.0), &device);
    time("cache slice_assign x2", &|| {
        let mut k = kv.clone();
        for _ in &m.layers {
            k = k.slice_assign([0..batch, 0..hkv, 100..101, 0..hd], knew.clone());
            k = k.slice_assign([0..batch, 0..hkv, 101..102, 0..hd], knew.clone());
        }
    });
    let q = Tensor::<B, 4>::random([batch, hq, 1, hd], Distribution::Normal(0.0, 1.0), &device);
    let kk = Tensor::<B, 4>::random(
        [batch, hkv, cap, hd],
        Distribution::Normal(0.0, 1.0),
        &device,
    );
    time("attention (140 keys)", &|| {
        for _ in &m.layers {
            let k = kk.clone().narrow(2, 0, 140);
            let _ = rad3d_llm::grouped_attention(q.clone(), k.clone(), k, None, 0.125);
        }
    });
    let qkv = Tensor::<B, 4>::random(
        [batch, hq + 2 * hkv, 1, hd],
        Distribution::Normal(0.0, 1.0),
        &device,
    );
    let cs = Tensor::<B, 4>::random([1, 1, 1, hd], Distribution::Normal(0.0, 1.0), &device);
    time("rope", &|| {
        for _ in &m.layers {
            let x = qkv.clone().narrow(1, 0, hq + hkv);
            let half = hd / 2;
            let sw = Tensor::cat(
                vec![
                    x.clone().narrow(3, half, half),
                    x.clone().narrow(3, 0, half),
                ],
                3,
            );
            let _ = x * cs.clone() + sw * cs.clone();
        }
    });
    time("residual add x2", &|| {
        for _ in &m.layers {
            let _ = x.clone() + x.clone();
            let _ = x.clone() + x.clone();
        }
    });
}
