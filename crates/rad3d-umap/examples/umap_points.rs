//! UMAP of a CSV of points (one point per row, no header), for comparing with umap-learn
//! (`scripts/reference/umap_trustworthiness.py` runs both on the same data).
//!
//! `cargo run --release -p rad3d-umap --example umap_points -- POINTS.csv OUT.csv
//!  [n_neighbors] [n_components] [pca|random] [seed]` writes the embedding and prints
//! `trustworthiness <value>` at `n_neighbors` and the seconds the fit took.

use std::time::Instant;

use rad3d_umap::{Data, Init, Umap, UmapConfig, trustworthiness};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    if args.len() < 3 {
        eprintln!(
            "usage: umap_points POINTS.csv OUT.csv [n_neighbors] [n_components] [pca|random] [seed]"
        );
        std::process::exit(2);
    }
    let text = std::fs::read_to_string(&args[1])?;
    let mut rows = Vec::new();
    let mut dim = 0;
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        let values: Vec<f32> = line
            .split(',')
            .map(|v| v.trim().parse::<f32>())
            .collect::<Result<_, _>>()?;
        dim = values.len();
        rows.extend(values);
    }
    let n = rows.len() / dim.max(1);
    let k: usize = args.get(3).map_or(Ok(15), |v| v.parse())?;
    let c: usize = args.get(4).map_or(Ok(2), |v| v.parse())?;
    let init: Init = args.get(5).map_or(Ok(Init::Pca), |v| v.parse())?;
    let seed: u64 = args.get(6).map_or(Ok(0), |v| v.parse())?;
    let data = Data::new(&rows, n, dim)?;
    let umap = Umap::new(UmapConfig {
        n_neighbors: k,
        n_components: c,
        init,
        seed,
        ..Default::default()
    })?;
    let clock = Instant::now();
    let e = umap.fit(&data)?;
    let seconds = clock.elapsed().as_secs_f64();
    let mut out = String::new();
    for i in 0..e.n {
        let p: Vec<String> = e.point(i).iter().map(|v| v.to_string()).collect();
        out.push_str(&p.join(","));
        out.push('\n');
    }
    std::fs::write(&args[2], out)?;
    println!(
        "trustworthiness {}",
        trustworthiness(&data, &e.as_data()?, k)?
    );
    println!("seconds {seconds}");
    Ok(())
}
