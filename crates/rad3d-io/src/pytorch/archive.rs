//! The zip container of a PyTorch checkpoint: `<root>/data.pkl` and one
//! `<root>/data/<key>` entry per storage, read whole so that the zip checksum is verified.

use std::fs::File;
use std::io::{BufReader, Read};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use zip::ZipArchive;
use zip::result::ZipError;

use crate::error::{IoError, Result};

/// An opened `.pt` zip with the folder its records live under.
///
/// torch.save names the root folder after the file's stem (or `archive` for in-memory
/// buffers), so the root is found from `data.pkl` rather than assumed.
pub(crate) struct PtArchive {
    path: PathBuf,
    /// Size of the whole file: no storage can hold more bytes than this.
    file_len: u64,
    root: String,
    // `read_f32` takes `&self`; a zip entry is read through `&mut`, so reads take turns.
    zip: Mutex<ZipArchive<BufReader<File>>>,
}

impl PtArchive {
    /// Opens the zip and locates its `data.pkl`.
    pub(crate) fn open(path: &Path) -> Result<Self> {
        let not = |reason: String| IoError::NotACheckpoint {
            path: path.to_path_buf(),
            reason,
        };
        let file = File::open(path).map_err(IoError::at(path))?;
        let file_len = file.metadata().map_err(IoError::at(path))?.len();
        let zip = ZipArchive::new(BufReader::new(file))
            .map_err(|e| not(format!("unreadable zip: {e}")))?;
        // The shortest `…/data.pkl`: a nested copy (a checkpoint zipped inside a folder
        // of another) must not shadow the real one.
        let root = zip
            .file_names()
            .filter_map(|n| n.strip_suffix("data.pkl"))
            .filter(|r| r.is_empty() || r.ends_with('/'))
            .min_by_key(|r| r.len())
            .map(str::to_string)
            .ok_or_else(|| not("zip without a data.pkl: not a PyTorch checkpoint".into()))?;
        Ok(Self {
            path: path.to_path_buf(),
            file_len,
            root,
            zip: Mutex::new(zip),
        })
    }

    /// Size of the file in bytes.
    pub(crate) fn file_len(&self) -> u64 {
        self.file_len
    }

    /// The pickle that describes the checkpoint's objects.
    pub(crate) fn read_pickle(&self) -> Result<Vec<u8>> {
        let entry = format!("{}data.pkl", self.root);
        self.read_entry(&entry, 0).map_err(|e| match e {
            EntryError::Missing => IoError::NotACheckpoint {
                path: self.path.clone(),
                reason: format!("{entry} vanished"),
            },
            EntryError::TooShort { found } => IoError::NotACheckpoint {
                path: self.path.clone(),
                reason: format!("{entry} holds {found} bytes"),
            },
            EntryError::Corrupt(reason) => IoError::CorruptEntry {
                path: self.path.clone(),
                entry,
                name: None,
                reason,
            },
        })
    }

    /// The bytes of storage `key`, which tensor `name` needs at least `needed` of;
    /// shorter, absent and damaged entries are refused before or while reading.
    pub(crate) fn read_storage(&self, key: &str, name: &str, needed: u64) -> Result<Vec<u8>> {
        let entry = format!("{}data/{key}", self.root);
        self.read_entry(&entry, needed).map_err(|e| match e {
            EntryError::Missing => IoError::MissingStorage {
                path: self.path.clone(),
                name: name.to_string(),
                key: key.to_string(),
            },
            EntryError::TooShort { found } => IoError::StorageTooShort {
                path: self.path.clone(),
                name: name.to_string(),
                key: key.to_string(),
                needed,
                found,
            },
            EntryError::Corrupt(reason) => IoError::CorruptEntry {
                path: self.path.clone(),
                entry,
                name: Some(name.to_string()),
                reason,
            },
        })
    }

    /// Reads one entry whole. The declared size is checked against `needed` and the
    /// file size before anything is allocated; reading to the end is what makes the
    /// zip crate compare the CRC, and a mismatch arrives as an I/O error.
    fn read_entry(&self, entry: &str, needed: u64) -> std::result::Result<Vec<u8>, EntryError> {
        // A poisoned lock only means another read panicked; the archive itself is intact.
        let mut zip = self.zip.lock().unwrap_or_else(|p| p.into_inner());
        let mut file = match zip.by_name(entry) {
            Ok(f) => f,
            Err(ZipError::FileNotFound) => return Err(EntryError::Missing),
            Err(e) => return Err(EntryError::Corrupt(e.to_string())),
        };
        let declared = file.size();
        if declared < needed {
            return Err(EntryError::TooShort { found: declared });
        }
        // Storages are written uncompressed, so an entry larger than the file is forged.
        if file.compressed_size() > self.file_len || declared > self.file_len.saturating_mul(8) {
            return Err(EntryError::Corrupt(format!(
                "entry claims {declared} bytes in a {}-byte file",
                self.file_len
            )));
        }
        let cap = usize::try_from(declared).map_err(|e| EntryError::Corrupt(e.to_string()))?;
        let mut bytes = Vec::with_capacity(cap);
        // One byte past the declared size: a longer stream is damage, and reaching the
        // end of the entry is what triggers the checksum comparison.
        (&mut file)
            .take(declared + 1)
            .read_to_end(&mut bytes)
            .map_err(|e| EntryError::Corrupt(e.to_string()))?;
        if bytes.len() as u64 != declared {
            return Err(EntryError::Corrupt(format!(
                "entry declares {declared} bytes, holds {}",
                bytes.len()
            )));
        }
        Ok(bytes)
    }
}

/// Why an entry could not be read, before it is named in an [`IoError`].
enum EntryError {
    Missing,
    TooShort { found: u64 },
    Corrupt(String),
}
