//! What the fuzz targets share: the readers under test take paths, so each input is
//! written to a scratch file of this process first.

use std::path::{Path, PathBuf};

use rad3d_io::CheckpointReader;

/// Writes `data` to this process's scratch file named `name` (its extension chooses the
/// reader where the reader goes by extension) and returns its path. One file per name and
/// process, rewritten for every input, so parallel fuzzing jobs never share a file.
pub fn scratch_file(name: &str, data: &[u8]) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("rad3d-fuzz-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("create the fuzz scratch folder");
    let path = dir.join(name);
    std::fs::write(&path, data).expect("write the fuzz input");
    path
}

/// Opens `path` with the checkpoint reader and reads every tensor it lists, as f32 and as
/// i64: whatever it accepts must come back in its declared shape.
pub fn read_checkpoint(path: &Path) {
    let Ok(reader) = CheckpointReader::open(path) else {
        return;
    };
    for name in reader.names() {
        let shape = reader.shape(&name);
        let _ = reader.dtype(&name);
        if let Ok(tensor) = reader.read_f32(&name) {
            assert_eq!(Some(tensor.shape.to_vec()), shape);
        }
        let _ = reader.read_i64(&name);
    }
}
