//! Atomic file and folder writes: nothing a user already has is left half-written.
//!
//! A file is written under a temporary name in the same folder (same file system, so
//! the rename is atomic), flushed to disk, then renamed over the destination: a crash
//! leaves either the old file or the new one, never a truncated mix. A folder is filled
//! under a temporary name and swapped in with two renames; [`previous_dir`] names the
//! folder that holds the old contents should the process die between them.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use crate::error::{IoError, Result};

fn parent_of(path: &Path) -> &Path {
    path.parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."))
}

fn name_of(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "output".into())
}

/// The temporary name [`write_atomic`] and [`write_dir_atomic`] use for `path`: a hidden
/// sibling tagged with this process's id, so two processes never share one.
pub fn temp_path(path: &Path) -> PathBuf {
    parent_of(path).join(format!(".{}.tmp-{}", name_of(path), std::process::id()))
}

/// Writes `bytes` to `path` atomically (see the module docs). The folder must exist: a
/// mistyped output path is an error, not a new folder.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    write_atomic_with(path, |w| w.write_all(bytes))
}

/// Writes `path` atomically from whatever `fill` writes into the buffered temporary file.
pub fn write_atomic_with(
    path: &Path,
    fill: impl FnOnce(&mut BufWriter<File>) -> std::io::Result<()>,
) -> Result<()> {
    let tmp = temp_path(path);
    let result = (|| {
        let mut w = BufWriter::new(File::create(&tmp)?);
        fill(&mut w)?;
        let f = w.into_inner().map_err(|e| e.into_error())?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result.map_err(IoError::at(path))
}

/// The hidden sibling that holds a folder's previous contents while
/// [`write_dir_atomic`] swaps the new ones in.
pub fn previous_dir(dest: &Path) -> PathBuf {
    parent_of(dest).join(format!(".{}.old", name_of(dest)))
}

/// Replaces the folder `dest` atomically: `fill` writes the new contents into the empty
/// temporary folder it is given; then the old `dest` (if any) moves to
/// [`previous_dir`], the temporary folder becomes `dest`, and the old one is removed.
/// If `fill` fails, `dest` is untouched and the temporary folder is removed.
pub fn write_dir_atomic<E: From<IoError>>(
    dest: &Path,
    fill: impl FnOnce(&Path) -> std::result::Result<(), E>,
) -> std::result::Result<(), E> {
    let parent = parent_of(dest);
    std::fs::create_dir_all(parent).map_err(IoError::at(parent))?;
    let tmp = temp_path(dest);
    if tmp.exists() {
        std::fs::remove_dir_all(&tmp).map_err(IoError::at(&tmp))?;
    }
    std::fs::create_dir_all(&tmp).map_err(IoError::at(&tmp))?;
    if let Err(e) = fill(&tmp) {
        let _ = std::fs::remove_dir_all(&tmp);
        return Err(e);
    }
    // A directory rename cannot replace a non-empty directory: move the old one aside
    // first; `previous_dir` is where a reader finds it if we die in between.
    let old = previous_dir(dest);
    if old.exists() {
        std::fs::remove_dir_all(&old).map_err(IoError::at(&old))?;
    }
    if dest.exists() {
        std::fs::rename(dest, &old).map_err(IoError::at(dest))?;
    }
    std::fs::rename(&tmp, dest).map_err(IoError::at(dest))?;
    if let Ok(d) = File::open(parent) {
        // Make the renames durable; not every platform can sync a folder.
        let _ = d.sync_all();
    }
    if old.exists() {
        std::fs::remove_dir_all(&old).map_err(IoError::at(&old))?;
    }
    Ok(())
}

/// Flushes a written file's contents to disk.
pub fn sync_file(path: &Path) -> Result<()> {
    File::open(path)
        .and_then(|f| f.sync_all())
        .map_err(IoError::at(path))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_whole_file_and_leaves_no_temp() {
        let dir = tempfile::tempdir().unwrap();
        assert!(write_atomic(&dir.path().join("missing/out.json"), b"x").is_err());
        let p = dir.path().join("out.json");
        write_atomic(&p, b"first version, longer").unwrap();
        write_atomic(&p, b"second").unwrap();
        assert_eq!(std::fs::read(&p).unwrap(), b"second");
        assert_eq!(std::fs::read_dir(p.parent().unwrap()).unwrap().count(), 1);
    }

    #[test]
    fn a_failed_fill_keeps_the_old_file() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("keep.txt");
        write_atomic(&p, b"precious").unwrap();
        let err = write_atomic_with(&p, |w| {
            w.write_all(b"half")?;
            Err(std::io::Error::other("disk on fire"))
        })
        .unwrap_err();
        assert!(err.to_string().contains("keep.txt"), "{err}");
        assert_eq!(std::fs::read(&p).unwrap(), b"precious");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn folder_swap_and_failed_fill() {
        let d = tempfile::tempdir().unwrap();
        let dest = d.path().join("last");
        write_dir_atomic::<IoError>(&dest, |tmp| {
            std::fs::write(tmp.join("a"), b"1").map_err(IoError::at(tmp))
        })
        .unwrap();
        write_dir_atomic::<IoError>(&dest, |tmp| {
            std::fs::write(tmp.join("b"), b"2").map_err(IoError::at(tmp))
        })
        .unwrap();
        assert!(!dest.join("a").exists() && dest.join("b").exists());
        let err = write_dir_atomic::<IoError>(&dest, |tmp| {
            Err(IoError::at(tmp)(std::io::Error::other("no space")))
        });
        assert!(err.is_err());
        assert!(
            dest.join("b").exists(),
            "a failed fill leaves the old folder"
        );
        let entries: Vec<_> = std::fs::read_dir(d.path()).unwrap().collect();
        assert_eq!(entries.len(), 1, "no temporary or old folder left");
    }
}
