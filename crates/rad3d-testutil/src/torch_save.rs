//! PyTorch checkpoints written at test time in torch.save's byte layout (zip format,
//! pickle protocol 2), so no checkpoint file lives in git: [`Pickle`] emits the opcodes
//! torch.save emits, [`write_zip`] stores the entries, [`save_state_dict`] does both for
//! a flat `state_dict` of f32 tensors.

use std::io::{Cursor, Write};
use std::path::Path;

use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, ZipWriter};

/// Pickle opcodes, as torch.save (protocol 2) emits them.
#[derive(Debug)]
pub struct Pickle(pub Vec<u8>);

impl Default for Pickle {
    fn default() -> Self {
        Self::new()
    }
}

impl Pickle {
    /// The protocol-2 header.
    pub fn new() -> Self {
        Self(vec![0x80, 2])
    }

    /// `GLOBAL module name`.
    pub fn global(&mut self, module: &str, name: &str) {
        self.0.extend(format!("c{module}\n{name}\n").bytes());
    }

    /// `BINUNICODE s`.
    pub fn string(&mut self, s: &str) {
        self.0.push(b'X');
        self.0.extend((s.len() as u32).to_le_bytes());
        self.0.extend(s.bytes());
    }

    /// `BININT1` or `BININT`.
    pub fn int(&mut self, v: usize) {
        if v < 256 {
            self.0.extend([b'K', v as u8]);
        } else {
            self.0.push(b'J');
            self.0.extend((v as i32).to_le_bytes());
        }
    }

    /// A tuple of ints (`TUPLE1..3`, else `MARK … TUPLE`).
    pub fn ints(&mut self, vs: &[usize]) {
        match vs.len() {
            0 => self.0.push(b')'),
            n @ 1..=3 => {
                vs.iter().for_each(|&v| self.int(v));
                self.0.push([0x85, 0x86, 0x87][n - 1]);
            }
            _ => {
                self.0.push(b'(');
                vs.iter().for_each(|&v| self.int(v));
                self.0.push(b't');
            }
        }
    }

    /// An empty `collections.OrderedDict()`.
    pub fn ordered_dict(&mut self) {
        self.global("collections", "OrderedDict");
        self.0.extend(b")R");
    }

    /// `torch._utils._rebuild_tensor_v2` of storage `key` (`kind`, e.g. `FloatStorage`,
    /// of `numel` elements) viewed at `offset` with `shape` and `stride`.
    pub fn tensor(
        &mut self,
        (key, kind, numel): (&str, &str, usize),
        offset: usize,
        shape: &[usize],
        stride: &[usize],
    ) {
        self.global("torch._utils", "_rebuild_tensor_v2");
        self.0.extend(b"((");
        self.string("storage");
        self.global("torch", kind);
        self.string(key);
        self.string("cpu");
        self.int(numel);
        self.0.extend(b"tQ");
        self.int(offset);
        self.ints(shape);
        self.ints(stride);
        self.0.push(0x89);
        self.ordered_dict();
        self.0.extend(b"tR");
    }

    /// `torch._utils._rebuild_parameter` around what `inner` writes.
    pub fn parameter(&mut self, inner: impl FnOnce(&mut Self)) {
        self.global("torch._utils", "_rebuild_parameter");
        self.0.push(b'(');
        inner(self);
        self.0.push(0x89);
        self.ordered_dict();
        self.0.extend(b"tR");
    }

    /// The pickle with its `STOP`.
    pub fn finish(mut self) -> Vec<u8> {
        self.0.push(b'.');
        self.0
    }
}

/// A valid zip (fresh checksums, entries stored as torch stores them) at `path`.
///
/// # Panics
/// If the file cannot be written.
pub fn write_zip(path: &Path, entries: &[(String, Vec<u8>)]) {
    let mut zip = ZipWriter::new(Cursor::new(Vec::new()));
    let opts = SimpleFileOptions::default().compression_method(CompressionMethod::Stored);
    for (n, b) in entries {
        zip.start_file(n.as_str(), opts).unwrap();
        zip.write_all(b).unwrap();
    }
    std::fs::write(path, zip.finish().unwrap().into_inner()).unwrap();
}

/// What `torch.save(state_dict, path)` writes for contiguous f32 tensors: `tensors` are
/// `(name, shape, storage index)` in order (two names may share a storage, as tied
/// weights do), `storages` the f32 values; entries sit under the folder `archive`.
///
/// # Panics
/// If a tensor's shape does not match its storage or the file cannot be written.
pub fn save_state_dict(
    path: &Path,
    archive: &str,
    tensors: &[(&str, &[usize], usize)],
    storages: &[Vec<f32>],
) {
    let mut pickle = Pickle::new();
    pickle.ordered_dict();
    pickle.0.push(b'(');
    for &(name, shape, storage) in tensors {
        let numel = storages[storage].len();
        assert_eq!(shape.iter().product::<usize>(), numel, "{name}");
        let mut stride = vec![1; shape.len()];
        for d in (0..shape.len().saturating_sub(1)).rev() {
            stride[d] = stride[d + 1] * shape[d + 1];
        }
        pickle.string(name);
        pickle.tensor(
            (&storage.to_string(), "FloatStorage", numel),
            0,
            shape,
            &stride,
        );
    }
    pickle.0.push(b'u');
    let mut entries = vec![
        (format!("{archive}/data.pkl"), pickle.finish()),
        (format!("{archive}/byteorder"), b"little".to_vec()),
    ];
    for (key, values) in storages.iter().enumerate() {
        let bytes = values.iter().flat_map(|v| v.to_le_bytes()).collect();
        entries.push((format!("{archive}/data/{key}"), bytes));
    }
    entries.push((format!("{archive}/version"), b"3\n".to_vec()));
    write_zip(path, &entries);
}
