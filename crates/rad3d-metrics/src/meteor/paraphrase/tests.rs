use super::*;

#[test]
fn paths_in_file_order() {
    let t = ParaphraseTable::from_text(
        "0.1\nlung\npulmonary\n0.2\nlung\nlungs\n0.3\nlung field\nlung zone\n0.1\nx y\nz\n\
         0.1\nlung\nchest\n",
    )
    .unwrap();
    assert_eq!(t.len(), 5);
    let ids: Vec<u64> = ["lung", "field", "nope"]
        .iter()
        .map(|w| t.translate(w))
        .collect();
    let mut got = Vec::new();
    t.for_each_path(&ids, 0, |len, p| got.push((len, p.to_vec())));
    let pulmonary = t.translate("pulmonary");
    let lungs = t.translate("lungs");
    let zone = t.translate("zone");
    let chest = t.translate("chest");
    // A phrase's later, non-contiguous entries follow its first group.
    assert_eq!(
        got,
        vec![
            (1, vec![pulmonary]),
            (1, vec![lungs]),
            (1, vec![chest]),
            (2, vec![ids[0], zone])
        ]
    );
    assert!(ParaphraseTable::from_text("0.1\nonly ref\n").is_err());

    // Binary cache round trip.
    let dir = std::env::temp_dir().join(format!("rad3d-para-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let cache = dir.join("t.rad3d-index");
    t.write_cache(&cache).unwrap();
    let back = ParaphraseTable::map_cache(&cache, [0, 0]).unwrap().unwrap();
    assert!(
        ParaphraseTable::map_cache(&cache, [7, 10])
            .unwrap()
            .is_none()
    );
    // A truncated cache is rejected, not trusted.
    let bytes = std::fs::read(&cache).unwrap();
    let cut = dir.join("cut.rad3d-index");
    std::fs::write(&cut, &bytes[..bytes.len() - 3]).unwrap();
    assert!(ParaphraseTable::map_cache(&cut, [0, 0]).is_err());
    std::fs::remove_dir_all(&dir).unwrap();
    let mut again = Vec::new();
    back.for_each_path(&ids, 0, |len, p| again.push((len, p.to_vec())));
    assert_eq!(again, got);
    assert_eq!(back.len(), t.len());
}

#[test]
fn corrupt_cache_is_detected_and_rebuilt() {
    use std::io::Write;
    let dir = tempfile::tempdir().unwrap();
    let gz = dir.path().join("p.gz");
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    enc.write_all(b"0.1\nlung\npulmonary\n0.3\nlung field\nlung zone\n")
        .unwrap();
    std::fs::write(&gz, enc.finish().unwrap()).unwrap();
    let fresh = ParaphraseTable::load_cached(&gz).unwrap();
    let cache = cache_path(&gz);
    let good = std::fs::read(&cache).unwrap();
    let stamp = file_stamp(&gz).unwrap();
    assert!(ParaphraseTable::map_cache(&cache, stamp).unwrap().is_some());
    let paths = |t: &ParaphraseTable| {
        let ids = [t.translate("lung"), t.translate("field")];
        let mut got = Vec::new();
        t.for_each_path(&ids, 0, |len, p| got.push((len, p.to_vec())));
        got
    };
    // Every probe slot taken: the damage that made lookups scan the whole table.
    let mut bad = good.clone();
    let l = fresh.layout;
    for b in &mut bad[l.slots..] {
        *b = 0xff;
    }
    // And one flipped bit of a paraphrase word: wrong matches, no hang.
    let mut flipped = good.clone();
    flipped[l.words] ^= 1;
    for damaged in [bad, flipped] {
        std::fs::write(&cache, &damaged).unwrap();
        let e = ParaphraseTable::map_cache(&cache, stamp).err();
        assert_eq!(e.as_deref(), Some("checksum mismatch"));
        let t = ParaphraseTable::load_cached(&gz).unwrap();
        assert_eq!(paths(&t), paths(&fresh));
        // Rebuilt and rewritten.
        assert_eq!(std::fs::read(&cache).unwrap(), good);
    }
}
