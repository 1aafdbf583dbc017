//! Fuzz the table readers: report files for evaluation (CSV, JSONL, plain text) and the
//! training manifests (reports, labels and split CSVs). Any bytes must give a typed
//! error or rows — never a panic, hang or oversized allocation.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rad3d_fuzz::scratch_file;

fuzz_target!(|data: &[u8]| {
    for name in ["reports.csv", "reports.jsonl", "reports.txt"] {
        let path = scratch_file(name, data);
        let _ = rad3d_metrics::reports::read_reports(&path);
    }
    let path = scratch_file("manifest.csv", data);
    let _ = rad3d_train::read_csv_header(&path);
    let _ = rad3d_train::read_reports(&path, "VolumeName", "Findings_EN");
    let labels = vec!["Emphysema".to_string(), "Atelectasis".to_string()];
    let _ = rad3d_train::read_labels(&path, "VolumeName", &labels);
    let _ = rad3d_train::read_split_file(&path, "VolumeName");
});
