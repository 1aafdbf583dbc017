//! Atomic, verified checkpoints.
//!
//! A checkpoint is a folder of files plus `manifest.json` listing each file's size and
//! SHA-256. It is written under a temporary name, synced, then renamed into place, so a
//! process killed at any point leaves either the previous checkpoint or the new one —
//! never a half-written folder under the real name. Loading verifies every file against
//! the manifest before anything is deserialised.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::error::{Result, TrainError, io_err};

/// Name of the manifest inside a checkpoint folder.
pub const MANIFEST: &str = "manifest.json";

/// One file's expected size and digest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileEntry {
    /// Size in bytes.
    pub size: u64,
    /// Lowercase hex SHA-256.
    pub sha256: String,
}

/// The manifest: file name → entry.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Manifest {
    /// Files of the checkpoint.
    pub files: BTreeMap<String, FileEntry>,
}

fn digest(path: &Path) -> Result<FileEntry> {
    let mut f = std::fs::File::open(path).map_err(io_err(path))?;
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    let mut size = 0u64;
    loop {
        let n = f.read(&mut buf).map_err(io_err(path))?;
        if n == 0 {
            break;
        }
        size += n as u64;
        h.update(&buf[..n]);
    }
    let sha256 = h.finalize().iter().map(|b| format!("{b:02x}")).collect();
    Ok(FileEntry { size, sha256 })
}

/// Writes a checkpoint to `dest` atomically. `fill` writes the files into the temporary
/// folder it is given; every regular file it leaves there goes into the manifest.
pub fn write_atomic(dest: &Path, fill: impl FnOnce(&Path) -> Result<()>) -> Result<()> {
    rad3d_io::write_dir_atomic(dest, |tmp| {
        fill(tmp)?;
        let mut manifest = Manifest::default();
        let mut entries: Vec<_> = std::fs::read_dir(tmp)
            .map_err(io_err(tmp))?
            .filter_map(|e| e.ok())
            .collect();
        entries.sort_by_key(|e| e.file_name());
        for e in entries {
            let p = e.path();
            if p.is_file() {
                rad3d_io::sync_file(&p)?;
                manifest
                    .files
                    .insert(e.file_name().to_string_lossy().into_owned(), digest(&p)?);
            }
        }
        let json = serde_json::to_string_pretty(&manifest).expect("plain struct");
        rad3d_io::write_atomic(&tmp.join(MANIFEST), json.as_bytes())?;
        Ok(())
    })
}

/// The folder to load for `dest`: `dest` itself, or the previous checkpoint if the
/// process died between the two renames of [`write_atomic`]. None if neither exists.
pub fn resolve(dest: &Path) -> Option<PathBuf> {
    if dest.join(MANIFEST).exists() {
        return Some(dest.to_path_buf());
    }
    let old = rad3d_io::previous_dir(dest);
    old.join(MANIFEST).exists().then_some(old)
}

/// Removes the temporary folders that checkpoint writes killed mid-way left in `dir`
/// (`.<name>.tmp-<pid>`, see `rad3d_io::temp_path`); returns how many. Called when a run
/// starts, before anything of its own is being written.
pub fn remove_stale_temporaries(dir: &Path) -> Result<usize> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Ok(0);
    };
    let mut removed = 0;
    for entry in entries.filter_map(|e| e.ok()) {
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with('.') && name.contains(".tmp-") {
            let path = entry.path();
            let result = if path.is_dir() {
                std::fs::remove_dir_all(&path)
            } else {
                std::fs::remove_file(&path)
            };
            result.map_err(io_err(&path))?;
            removed += 1;
        }
    }
    Ok(removed)
}

/// Checks every file of a checkpoint folder against its manifest (existence, size,
/// SHA-256). Errors name the file and what differs.
pub fn verify(dir: &Path) -> Result<Manifest> {
    let mpath = dir.join(MANIFEST);
    let text = std::fs::read_to_string(&mpath).map_err(|e| TrainError::Checkpoint {
        path: mpath.clone(),
        reason: format!("cannot read manifest: {e}"),
    })?;
    let manifest: Manifest = serde_json::from_str(&text).map_err(|e| TrainError::Checkpoint {
        path: mpath.clone(),
        reason: format!("malformed manifest: {e}"),
    })?;
    // Every checkpoint holds files: an empty list would verify nothing.
    if manifest.files.is_empty() {
        return Err(TrainError::Checkpoint {
            path: mpath,
            reason: "the manifest lists no files".into(),
        });
    }
    for (name, want) in &manifest.files {
        let p = dir.join(name);
        if !p.is_file() {
            return Err(TrainError::Checkpoint {
                path: p,
                reason: "listed in the manifest but missing".into(),
            });
        }
        let got = digest(&p)?;
        if got.size != want.size {
            return Err(TrainError::Checkpoint {
                path: p,
                reason: format!("size {} bytes, manifest says {}", got.size, want.size),
            });
        }
        if got.sha256 != want.sha256 {
            return Err(TrainError::Checkpoint {
                path: p,
                reason: format!(
                    "SHA-256 {} does not match the manifest's {}",
                    got.sha256, want.sha256
                ),
            });
        }
    }
    Ok(manifest)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn write_verify_and_detect_corruption() {
        let d = tempfile::tempdir().unwrap();
        let dest = d.path().join("last");
        write_atomic(&dest, |tmp| {
            std::fs::write(tmp.join("a.bin"), b"hello").unwrap();
            std::fs::write(tmp.join("b.json"), b"{}").unwrap();
            Ok(())
        })
        .unwrap();
        let m = verify(&dest).unwrap();
        assert_eq!(m.files.len(), 2);
        assert_eq!(m.files["a.bin"].size, 5);

        // Overwrite: the new content replaces the old one, no leftovers.
        write_atomic(&dest, |tmp| {
            std::fs::write(tmp.join("a.bin"), b"world!").unwrap();
            Ok(())
        })
        .unwrap();
        assert_eq!(verify(&dest).unwrap().files.len(), 1);
        let leftovers: Vec<_> = std::fs::read_dir(d.path()).unwrap().collect();
        assert_eq!(leftovers.len(), 1);

        // Same size, one byte flipped: checksum mismatch.
        std::fs::write(dest.join("a.bin"), b"wOrld!").unwrap();
        let e = verify(&dest).unwrap_err().to_string();
        assert!(e.contains("a.bin") && e.contains("SHA-256"), "{e}");
        // Truncated: size mismatch.
        std::fs::write(dest.join("a.bin"), b"wor").unwrap();
        let e = verify(&dest).unwrap_err().to_string();
        assert!(e.contains("size 3 bytes"), "{e}");
        std::fs::remove_file(dest.join("a.bin")).unwrap();
        assert!(verify(&dest).unwrap_err().to_string().contains("missing"));
    }

    #[test]
    fn resolve_falls_back_to_the_previous_checkpoint() {
        let d = tempfile::tempdir().unwrap();
        let dest = d.path().join("last");
        assert!(resolve(&dest).is_none());
        write_atomic(&dest, |tmp| {
            std::fs::write(tmp.join("x"), b"1").map_err(io_err(tmp))
        })
        .unwrap();
        // Simulate death between the renames.
        std::fs::rename(&dest, d.path().join(".last.old")).unwrap();
        assert_eq!(resolve(&dest).unwrap(), d.path().join(".last.old"));
    }
}
