//! Embedding extraction end to end: NIfTI phantoms and a corrupt file → cache, errors file,
//! resume without recomputation.

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;

use burn::backend::Flex;
use burn::tensor::Tensor;
use rad3d_ctvit::CtVitConfig;
use rad3d_ctvit::cache::{ERRORS_FILE, EmbeddingCache, EmbeddingCacheWriter, read_errors};
use rad3d_ctvit::embed::{
    EmbedEvent, EmbedSummary, VolumeJob, embed_volumes, jobs_from_dir, shard_jobs,
};
use rad3d_volume::phantom::{Finding, Phantom, PhantomConfig};
use rad3d_volume::{Preprocess, ReadOptions, read_nifti};

type B = Flex;

/// Logits of a stand-in head: twice the first three latent components.
fn head(latent: Tensor<B, 2>) -> Tensor<B, 2> {
    latent.slice([0..1, 0..3]) * 2.0
}

fn shard_files(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "safetensors"))
        .map(|p| {
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            (name, fs::read(&p).unwrap())
        })
        .collect()
}

/// One run of the tiny encoder over `jobs` into the cache `out` (writer tag `part-0of1`,
/// eight volumes a shard), with `head`'s three logits when there is a head.
fn embed_once(
    jobs: &[VolumeJob],
    out: &Path,
    head: Option<&dyn Fn(Tensor<B, 2>) -> Tensor<B, 2>>,
) -> EmbedSummary {
    let device = Default::default();
    let config = CtVitConfig::tiny();
    let encoder = config.init::<B>(&device);
    let preprocess = Preprocess::ct_clip().with_target_shape(config.input_shape());
    let n_logits = if head.is_some() { 3 } else { 0 };
    let mut writer =
        EmbeddingCacheWriter::open(out, "part-0of1", 8, config.dim_latent, n_logits, None).unwrap();
    let summary = embed_volumes(
        &encoder,
        &preprocess,
        head,
        jobs,
        &mut writer,
        &device,
        |_| {},
    )
    .unwrap();
    writer.finish().unwrap();
    summary
}

#[test]
fn phantoms_and_a_corrupt_file_resume_without_recomputing() {
    let device = Default::default();
    let data = tempfile::tempdir().unwrap();
    let out = tempfile::tempdir().unwrap();
    let nested = data.path().join("nested");
    fs::create_dir(&nested).unwrap();
    Phantom::write(data.path().join("a_1.nii.gz"), &PhantomConfig::small(1)).unwrap();
    Phantom::write(
        nested.join("b_2.nii"),
        &PhantomConfig::small(2).with_findings(vec![Finding::LungNodule]),
    )
    .unwrap();
    // A gzip stream cut short: the header decodes, the voxels do not.
    let whole = fs::read(data.path().join("a_1.nii.gz")).unwrap();
    fs::write(
        data.path().join("c_broken.nii.gz"),
        &whole[..whole.len() / 3],
    )
    .unwrap();
    fs::write(data.path().join("notes.txt"), "not a volume").unwrap();

    let config = CtVitConfig::tiny();
    let encoder = config.init::<B>(&device);
    let preprocess = Preprocess::ct_clip().with_target_shape(config.input_shape());
    let jobs = jobs_from_dir(data.path()).unwrap();
    let names: Vec<&str> = jobs.iter().map(|j| j.name.as_str()).collect();
    assert_eq!(names, ["a_1.nii.gz", "c_broken.nii.gz", "nested/b_2.nii"]);
    let (jobs, tag) = shard_jobs(jobs, 0, 1);
    let labels = Some(vec!["x".to_string(), "y".to_string(), "z".to_string()]);
    let head_fn: &dyn Fn(Tensor<B, 2>) -> Tensor<B, 2> = &head;

    // First run: shards of one volume each so the second volume lands in its own file.
    let mut writer =
        EmbeddingCacheWriter::open(out.path(), &tag, 1, config.dim_latent, 3, labels.clone())
            .unwrap();
    let mut events = Vec::new();
    let summary = embed_volumes(
        &encoder,
        &preprocess,
        Some(head_fn),
        &jobs,
        &mut writer,
        &device,
        |e| events.push(format!("{e:?}")),
    )
    .unwrap();
    writer.finish().unwrap();
    assert_eq!(
        (summary.total, summary.already_cached, summary.encoded),
        (3, 0, 2)
    );
    assert_eq!(summary.failed.len(), 1);
    assert_eq!(summary.failed[0].0, "c_broken.nii.gz");
    assert!(
        events[0].contains("to_encode: 3") && events[0].contains("already_cached: 0"),
        "{events:?}"
    );
    assert_eq!(
        events.iter().filter(|e| e.starts_with("Encoded")).count(),
        2
    );

    let cache = EmbeddingCache::open(out.path()).unwrap();
    assert_eq!(cache.len(), 2);
    assert_eq!(cache.names(), ["a_1.nii.gz", "nested/b_2.nii"]);
    assert_eq!(cache.labels().unwrap(), ["x", "y", "z"]);
    let errors = read_errors(out.path()).unwrap();
    assert_eq!(errors.keys().collect::<Vec<_>>(), ["c_broken.nii.gz"]);
    assert!(
        errors["c_broken.nii.gz"].contains("c_broken.nii.gz"),
        "{errors:?}"
    );

    // The cached latent is the encoder's output on the preprocessed volume, l2-normalised,
    // and the logits are the head's on that latent.
    let volume = read_nifti(nested.join("b_2.nii")).unwrap();
    let input = preprocess.apply(&volume).unwrap().into_tensor::<B>(&device);
    let direct = encoder
        .forward(input)
        .latent
        .into_data()
        .to_vec::<f32>()
        .unwrap();
    let item = cache.get("nested/b_2.nii").unwrap();
    assert_eq!(item.latent, direct.as_slice());
    let norm: f32 = item.latent.iter().map(|v| v * v).sum::<f32>().sqrt();
    assert!((norm - 1.0).abs() < 1e-5, "{norm}");
    let logits: Vec<f32> = item.latent[..3].iter().map(|v| v * 2.0).collect();
    assert_eq!(item.logits.unwrap(), logits.as_slice());
    assert_ne!(cache.get("a_1.nii.gz").unwrap().latent, item.latent);

    // Second run: nothing is recomputed, finished shards stay byte for byte, the broken file
    // is retried and logged again.
    let before = shard_files(out.path());
    assert_eq!(before.len(), 2);
    let mut writer =
        EmbeddingCacheWriter::open(out.path(), &tag, 1, config.dim_latent, 3, labels).unwrap();
    let mut began = Vec::new();
    let summary = embed_volumes(
        &encoder,
        &preprocess,
        Some(head_fn),
        &jobs,
        &mut writer,
        &device,
        |e| {
            if let EmbedEvent::Begin { name } = e {
                began.push(name.to_string());
            }
        },
    )
    .unwrap();
    writer.finish().unwrap();
    assert_eq!(
        (
            summary.already_cached,
            summary.encoded,
            summary.failed.len()
        ),
        (2, 0, 1)
    );
    assert_eq!(began, ["c_broken.nii.gz"]);
    assert_eq!(shard_files(out.path()), before);
    let log = fs::read_to_string(out.path().join(ERRORS_FILE)).unwrap();
    assert_eq!(log.lines().count(), 2);
    assert_eq!(EmbeddingCache::open(out.path()).unwrap().len(), 2);
}

/// Two patients' `ct.nii.gz` in their own folders are two volumes, named by relative path.
#[test]
fn folder_inputs_are_keyed_by_relative_path() {
    let data = tempfile::tempdir().unwrap();
    for patient in ["p1", "p2"] {
        fs::create_dir(data.path().join(patient)).unwrap();
        fs::write(data.path().join(patient).join("ct.nii.gz"), b"").unwrap();
    }
    fs::write(data.path().join("top.nii"), b"").unwrap();
    let jobs = jobs_from_dir(data.path()).unwrap();
    let names: Vec<&str> = jobs.iter().map(|j| j.name.as_str()).collect();
    assert_eq!(names, ["p1/ct.nii.gz", "p2/ct.nii.gz", "top.nii"]);
    assert_eq!(jobs[1].path, data.path().join("p2").join("ct.nii.gz"));
}

/// A gzip bomb's header (2048 × 2048 × 512 int16, 8 GiB as f32) made from a real NIfTI
/// header: only the dims change and only a few voxels follow.
fn gzip_bomb(template: &Path) -> Vec<u8> {
    use std::io::Write;
    let mut header = fs::read(template).unwrap();
    for (i, d) in [2048i16, 2048, 512].iter().enumerate() {
        header[42 + 2 * i..44 + 2 * i].copy_from_slice(&d.to_le_bytes());
    }
    header.truncate(352 + 64);
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(&header).unwrap();
    e.finish().unwrap()
}

/// A volume over the voxel limit is refused from its header and recorded in the errors
/// file like any unreadable one, and the run goes on; the limit is the job's.
#[test]
fn a_gzip_bomb_is_recorded_and_the_run_goes_on() {
    let data = tempfile::tempdir().unwrap();
    let out = tempfile::tempdir().unwrap();
    Phantom::write(data.path().join("a_1.nii"), &PhantomConfig::small(1)).unwrap();
    Phantom::write(data.path().join("c_3.nii.gz"), &PhantomConfig::small(3)).unwrap();
    fs::write(
        data.path().join("b_bomb.nii.gz"),
        gzip_bomb(&data.path().join("a_1.nii")),
    )
    .unwrap();

    let mut jobs = jobs_from_dir(data.path()).unwrap();
    assert!(
        jobs.iter()
            .all(|j| j.max_voxels == ReadOptions::DEFAULT_MAX_VOXELS)
    );
    // A limit below the phantom's size refuses it too: the job's limit is the one used.
    let tiny_limit = jobs.remove(2).with_max_voxels(10);
    jobs.push(tiny_limit);
    let summary = embed_once(&jobs, out.path(), None);
    assert_eq!((summary.total, summary.encoded), (3, 1));
    assert_eq!(
        EmbeddingCache::open(out.path()).unwrap().names(),
        ["a_1.nii"]
    );
    let errors = read_errors(out.path()).unwrap();
    assert_eq!(
        errors.keys().collect::<Vec<_>>(),
        ["b_bomb.nii.gz", "c_3.nii.gz"]
    );
    let bomb = &errors["b_bomb.nii.gz"];
    assert!(
        bomb.contains("b_bomb.nii.gz") && bomb.contains("[2048, 2048, 512]"),
        "{bomb}"
    );
    assert!(
        bomb.contains(&ReadOptions::DEFAULT_MAX_VOXELS.to_string()),
        "{bomb}"
    );
    assert!(errors["c_3.nii.gz"].contains("limit of 10"), "{errors:?}");
}

/// An encoder or head whose output is NaN (damaged weights) fails its volume, which is
/// recorded in `errors.tsv`, instead of writing NaN into the cache.
#[test]
fn nan_outputs_are_recorded_as_failures_not_cached() {
    let data = tempfile::tempdir().unwrap();
    let out = tempfile::tempdir().unwrap();
    Phantom::write(data.path().join("a_1.nii.gz"), &PhantomConfig::small(1)).unwrap();
    let jobs = jobs_from_dir(data.path()).unwrap();
    let nan_head = |latent: Tensor<B, 2>| head(latent) * f32::NAN;
    let summary = embed_once(&jobs, out.path(), Some(&nan_head));
    assert_eq!((summary.encoded, summary.failed.len()), (0, 1));
    let errors = read_errors(out.path()).unwrap();
    assert!(
        errors["a_1.nii.gz"].contains("logits value of NaN"),
        "{errors:?}"
    );
    assert!(EmbeddingCache::open(out.path()).unwrap().is_empty());
}
