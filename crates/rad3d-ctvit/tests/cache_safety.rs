//! The embedding cache refuses what would silently spoil its readers: NaN or infinite
//! latents and logits (when written and when read back from a damaged shard), and a second
//! writer of the same tag, whose shards would replace the first one's.

use std::path::Path;
use std::sync::{Arc, Barrier};

use rad3d_ctvit::CtVitError;
use rad3d_ctvit::cache::{EmbeddingCache, EmbeddingCacheWriter};

fn latent(row: usize) -> Vec<f32> {
    (0..4).map(|i| row as f32 + 0.125 * i as f32).collect()
}

/// A finished cache of volumes `a`, `b`, `c` (one shard), latents [`latent`] and logits
/// `[row, -row]`.
fn write_cache(dir: &Path) {
    let labels = Some(vec!["x".to_string(), "y".to_string()]);
    let mut w = EmbeddingCacheWriter::open(dir, "part-0of1", 8, 4, 2, labels).unwrap();
    for (row, name) in ["a", "b", "c"].iter().enumerate() {
        let r = row as f32;
        w.push(name, &latent(row), Some(&[r + 0.5, -r - 0.5]))
            .unwrap();
    }
    w.finish().unwrap();
}

/// Replaces the one occurrence of `from`'s bytes in the shard by `to`'s.
fn patch_shard(dir: &Path, from: f32, to: f32) -> std::path::PathBuf {
    let shard = dir.join("part-0of1-00000.safetensors");
    let mut bytes = std::fs::read(&shard).unwrap();
    let needle = from.to_le_bytes();
    let hits: Vec<usize> = (0..bytes.len() - 3)
        .filter(|&i| bytes[i..i + 4] == needle)
        .collect();
    assert_eq!(hits.len(), 1, "{from} must occur once in the shard");
    bytes[hits[0]..hits[0] + 4].copy_from_slice(&to.to_le_bytes());
    std::fs::write(&shard, bytes).unwrap();
    shard
}

#[test]
fn a_nan_latent_in_a_shard_is_refused_naming_file_volume_and_value() {
    let dir = tempfile::tempdir().unwrap();
    write_cache(dir.path());
    assert_eq!(EmbeddingCache::open(dir.path()).unwrap().len(), 3);
    // Volume b's third latent value (1.25) becomes NaN.
    let shard = patch_shard(dir.path(), 1.25, f32::NAN);
    let err = EmbeddingCache::open(dir.path()).unwrap_err();
    match &err {
        CtVitError::NonFinite {
            path,
            tensor,
            volume,
            value,
            count,
        } => {
            assert_eq!(path, &shard);
            assert_eq!(
                (tensor.as_str(), volume.as_str(), *count),
                ("latent", "b", 1)
            );
            assert!(value.is_nan());
        }
        other => panic!("expected NonFinite, got {other:?}"),
    }
    let msg = err.to_string();
    assert!(
        msg.contains("part-0of1-00000.safetensors")
            && msg.contains("`latent` of volume `b` is NaN"),
        "{msg}"
    );
    // Resuming `embed` into the damaged cache is refused the same way.
    let err = EmbeddingCacheWriter::open(dir.path(), "part-0of1", 8, 4, 2, None).unwrap_err();
    assert!(matches!(err, CtVitError::NonFinite { .. }), "{err:?}");
}

#[test]
fn an_infinite_logit_in_a_shard_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    write_cache(dir.path());
    // Volume c's second logit (-2.5) becomes -inf.
    patch_shard(dir.path(), -2.5, f32::NEG_INFINITY);
    let err = EmbeddingCache::open(dir.path()).unwrap_err();
    assert!(
        err.to_string().contains("`logits` of volume `c` is -inf"),
        "{err}"
    );
}

#[test]
fn non_finite_values_are_refused_when_written() {
    let dir = tempfile::tempdir().unwrap();
    let mut w = EmbeddingCacheWriter::open(dir.path(), "p", 8, 4, 1, None).unwrap();
    let err = w
        .push("v1", &[0.0, f32::NAN, 1.0, 2.0], Some(&[0.0]))
        .unwrap_err();
    assert!(
        matches!(&err, CtVitError::NonFinite { volume, tensor, .. } if volume == "v1" && tensor == "latent"),
        "{err:?}"
    );
    let err = w
        .push("v2", &latent(0), Some(&[f32::INFINITY]))
        .unwrap_err();
    assert!(
        err.to_string().contains("`logits` of volume `v2` is inf"),
        "{err}"
    );
    // Refused volumes are not recorded as cached.
    assert!(!w.contains("v1") && !w.contains("v2"));
    w.push("v3", &latent(3), Some(&[1.0])).unwrap();
    w.finish().unwrap();
    assert_eq!(EmbeddingCache::open(dir.path()).unwrap().names(), ["v3"]);
}

#[test]
fn two_writers_of_one_tag_do_not_race() {
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().to_path_buf();
    let opened = Arc::new(Barrier::new(2));
    let tried = Arc::new(Barrier::new(2));

    // The first writer holds the cache open while a second of the same tag tries to open it.
    let first = {
        let (cache, opened, tried) = (cache.clone(), opened.clone(), tried.clone());
        std::thread::spawn(move || {
            let mut w = EmbeddingCacheWriter::open(&cache, "part-0of1", 2, 4, 0, None).unwrap();
            opened.wait();
            tried.wait();
            for row in 0..5 {
                w.push(&format!("first{row}"), &latent(row), None).unwrap();
            }
            w.finish().unwrap();
        })
    };
    let second = {
        let cache = cache.clone();
        std::thread::spawn(move || {
            opened.wait();
            let result = EmbeddingCacheWriter::open(&cache, "part-0of1", 2, 4, 0, None);
            tried.wait();
            result.map(|_| ())
        })
    };
    let err = second.join().unwrap().unwrap_err();
    first.join().unwrap();
    match &err {
        CtVitError::Locked { lock, tag, holder } => {
            assert_eq!(lock, &cache.join(".part-0of1.lock"));
            assert_eq!(tag, "part-0of1");
            assert_eq!(holder, &format!("process {}", std::process::id()));
        }
        other => panic!("expected Locked, got {other:?}"),
    }
    let msg = err.to_string();
    assert!(
        msg.contains(".part-0of1.lock") && msg.contains("released when its process exits"),
        "{msg}"
    );

    // Once the first has finished the lock is free: a resumed run of that tag continues
    // the first one's shards instead of replacing them.
    let mut w = EmbeddingCacheWriter::open(&cache, "part-0of1", 2, 4, 0, None).unwrap();
    assert_eq!(w.len(), 5);
    w.push("later", &latent(9), None).unwrap();
    w.finish().unwrap();
    let read = EmbeddingCache::open(&cache).unwrap();
    assert_eq!(read.len(), 6);
    assert_eq!(read.get("first4").unwrap().latent, latent(4).as_slice());
    assert_eq!(read.get("later").unwrap().latent, latent(9).as_slice());
}

#[test]
fn writers_of_different_tags_share_a_cache_concurrently() {
    let dir = tempfile::tempdir().unwrap();
    let start = Arc::new(Barrier::new(2));
    let writers: Vec<_> = (0..2)
        .map(|part| {
            let (cache, start) = (dir.path().to_path_buf(), start.clone());
            std::thread::spawn(move || {
                let tag = format!("part-{part}of2");
                let mut w = EmbeddingCacheWriter::open(&cache, &tag, 2, 4, 0, None).unwrap();
                start.wait();
                for row in 0..7 {
                    w.push(&format!("p{part}v{row}"), &latent(row + 10 * part), None)
                        .unwrap();
                }
                w.finish().unwrap();
            })
        })
        .collect();
    for w in writers {
        w.join().unwrap();
    }
    let read = EmbeddingCache::open(dir.path()).unwrap();
    assert_eq!(read.len(), 14);
    for part in 0..2 {
        for row in 0..7 {
            let v = read.get(&format!("p{part}v{row}")).unwrap();
            assert_eq!(v.latent, latent(row + 10 * part).as_slice());
        }
    }
}
