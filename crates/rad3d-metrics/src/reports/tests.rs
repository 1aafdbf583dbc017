use super::*;

fn csv(text: &str) -> Result<Vec<(String, String)>> {
    read_csv(Path::new("r.csv"), text.as_bytes())
}

fn jsonl(text: &str, columns: &ReportColumns) -> Result<Vec<(String, String)>> {
    read_jsonl(Path::new("h.jsonl"), text.as_bytes(), columns)
}

fn pairs(p: &[(&str, &str)]) -> Vec<(String, String)> {
    p.iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect()
}

#[test]
fn ct_rate_columns_with_quoted_multiline_fields() {
    let rows = csv(
        "VolumeName,ClinicalInformation_EN,Findings_EN,Impressions_EN\r\n\
         a.nii.gz,\"Cough, fever\",\"Heart normal.\nNo \"\"effusion\"\".\",None\r\n\
         b.nii,x,Clear lungs.,None\r\n",
    )
    .unwrap();
    assert_eq!(
        rows,
        pairs(&[
            ("a", "Heart normal.\nNo \"effusion\"."),
            ("b", "Clear lungs.")
        ])
    );
}

#[test]
fn column_choice_and_errors() {
    // No known text column: the last non-id column.
    assert_eq!(csv("study,a,b\ns1,x,y\n").unwrap(), pairs(&[("s1", "y")]));
    let e = csv("title,text\nx,y\n").unwrap_err().to_string();
    assert!(e.contains("r.csv") && e.contains("no id column"), "{e}");
    let e = csv("id,report\n1,ok\n2\n").unwrap_err().to_string();
    assert!(e.contains("line 3") && e.contains("`report`"), "{e}");
    assert!(csv("").is_err());
}

#[test]
fn explicit_columns_and_missing_column_error() {
    let cols = ReportColumns {
        id: Some("VolumeName".into()),
        text: Some("Impressions_EN".into()),
    };
    let rows = read_csv_with(
        Path::new("r.csv"),
        "VolumeName,Findings_EN,Impressions_EN\n v.nii.gz ,f,imp\n".as_bytes(),
        &cols,
    )
    .unwrap();
    assert_eq!(rows, pairs(&[("v", "imp")]));
    let cols = ReportColumns {
        id: None,
        text: Some("Impression".into()),
    };
    let e = read_csv_with(Path::new("r.csv"), "id,findings\n1,x\n".as_bytes(), &cols).unwrap_err();
    assert!(
        matches!(&e, MetricsError::MissingColumn { column, present, .. }
            if column == "Impression" && present == &["id", "findings"]),
        "{e:?}"
    );
    assert_eq!(
        e.to_string(),
        "r.csv: no column `Impression` (columns present: id, findings)"
    );
}

#[test]
fn ids_are_normalised_and_unique() {
    assert_eq!(normalize_id(" valid_1_a_1.nii.gz "), "valid_1_a_1");
    assert_eq!(normalize_id("valid_1_a_1.nii"), "valid_1_a_1");
    assert_eq!(normalize_id("valid_1_a_1"), "valid_1_a_1");
    let e = csv("id,report\na.nii.gz,x\nb,y\na,z\n").unwrap_err();
    assert!(
        matches!(&e, MetricsError::DuplicateId { id, line: Some(4), .. } if id == "a"),
        "{e:?}"
    );
    assert_eq!(e.to_string(), "r.csv: duplicate id \"a\" (line 4)");
    let e = jsonl(
        "{\"id\": \"q\", \"report\": \"b\"}\n{\"id\": \"q\", \"report\": \"c\"}\n",
        &ReportColumns::default(),
    )
    .unwrap_err();
    assert!(e.to_string().contains("h.jsonl: duplicate id \"q\""), "{e}");
}

#[test]
fn trainer_jsonl_reads_generated_text() {
    // serde of rad3d_train::GeneratedReport, one per line.
    let text = "{\"name\":\"valid_1_a_1\",\"generated\":\"No effusion.\",\"reference\":\"Small effusion.\"}\n\
                {\"name\":\"valid_2_a_1\",\"generated\":\"Clear.\",\"reference\":\"Clear lungs.\"}\n";
    let rows = jsonl(text, &ReportColumns::default()).unwrap();
    assert_eq!(
        rows,
        pairs(&[("valid_1_a_1", "No effusion."), ("valid_2_a_1", "Clear.")])
    );
    let refs = jsonl(
        text,
        &ReportColumns {
            id: None,
            text: Some("reference".into()),
        },
    )
    .unwrap();
    assert_eq!(refs[0].1, "Small effusion.");
    // CT-RATE's references join the trainer's names.
    let ct = csv("VolumeName,Findings_EN\nvalid_2_a_1.nii.gz,B\nvalid_1_a_1.nii.gz,A\n").unwrap();
    assert_eq!(
        align_reports(&ct, rows, Path::new("h.jsonl")).unwrap(),
        ["Clear.", "No effusion."]
    );
}

#[test]
fn jsonl_and_alignment() {
    let p = Path::new("h.jsonl");
    let rows = jsonl(
        "{\"id\": 2, \"report\": \"b\"}\n\n{\"id\": 1, \"report\": \"a\"}\n",
        &ReportColumns::default(),
    )
    .unwrap();
    assert_eq!(rows[0], ("2".into(), "b".into()));
    let refs = pairs(&[("1", "A"), ("2", "B")]);
    assert_eq!(align_reports(&refs, rows.clone(), p).unwrap(), ["a", "b"]);
    let e = align_reports(&refs[..1], rows, p).unwrap_err().to_string();
    assert_eq!(
        e,
        "h.jsonl: ids do not match the references (2 reports, 1 references): 0 references \
         have no report; 1 reports match no reference (first: \"2\")"
    );
    let e = jsonl("[1]\n", &ReportColumns::default())
        .unwrap_err()
        .to_string();
    assert!(e.contains("line 1: not an object"), "{e}");
}

#[test]
fn unmatched_ids_list_counts_and_first_five() {
    let refs: Vec<(String, String)> = (0..8).map(|i| (format!("r{i}"), "x".into())).collect();
    let hyps: Vec<(String, String)> = (2..8)
        .map(|i| format!("r{i}"))
        .chain((0..7).map(|i| format!("h{i}")))
        .map(|id| (id, "y".into()))
        .collect();
    let e = align_reports(&refs, hyps, Path::new("hyps.csv")).unwrap_err();
    match &e {
        MetricsError::UnmatchedIds {
            missing,
            missing_first,
            extra,
            extra_first,
            ..
        } => {
            assert_eq!((*missing, *extra), (2, 7));
            assert_eq!(missing_first, &["r0", "r1"]);
            assert_eq!(extra_first, &["h0", "h1", "h2", "h3", "h4"]);
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(
        e.to_string(),
        "hyps.csv: ids do not match the references (13 reports, 8 references): 2 \
         references have no report (first: \"r0\", \"r1\"); 7 reports match no reference \
         (first: \"h0\", \"h1\", \"h2\", \"h3\", \"h4\")"
    );
    // Plain text files: line numbers.
    let refs = read_lines(Path::new("r.txt"), "a\nb\nc".as_bytes()).unwrap();
    let hyps = read_lines(Path::new("h.txt"), "a\r\nb\n".as_bytes()).unwrap();
    assert_eq!(hyps, pairs(&[("0", "a"), ("1", "b")]));
    let e = align_reports(&refs, hyps, Path::new("h.txt")).unwrap_err();
    assert!(
        e.to_string()
            .contains("1 references have no report (first: \"2\")"),
        "{e}"
    );
}

#[test]
fn text_lines_split_on_lf_crlf_and_lone_cr() {
    let want = pairs(&[("0", "a b"), ("1", ""), ("2", "c")]);
    for text in [
        "a b\n\nc\n",
        "a b\r\n\r\nc\r\n",
        "a b\r\rc\r",
        "a b\r\rc",
        "a b\n\r\nc",
    ] {
        // A one-byte buffer puts every terminator on a buffer boundary, `\r\n` split.
        let tiny = std::io::BufReader::with_capacity(1, text.as_bytes());
        for got in [
            read_lines(Path::new("h.txt"), text.as_bytes()).unwrap(),
            read_lines(Path::new("h.txt"), tiny).unwrap(),
        ] {
            assert_eq!(got, want, "{text:?}");
        }
    }
    let e = read_lines(Path::new("h.txt"), "\r".as_bytes()).unwrap();
    assert_eq!(e, pairs(&[("0", "")]));
}

#[test]
fn oversized_inputs_are_refused() {
    let long = "x".repeat(MAX_REPORT_BYTES + 1);
    let e = read_lines(Path::new("h.txt"), format!("ok\n{long}\n").as_bytes()).unwrap_err();
    assert!(
        matches!(&e, MetricsError::TooLarge { at, .. } if at == "line 2"),
        "{e:?}"
    );
    let fits = "x".repeat(MAX_REPORT_BYTES);
    assert_eq!(
        read_lines(Path::new("h.txt"), format!("{fits}\r\n").as_bytes())
            .unwrap()
            .len(),
        1
    );
    let e = csv(&format!("id,report\na,{long}\n")).unwrap_err();
    assert!(
        e.to_string()
            .starts_with("r.csv: line 2, id \"a\": report of 65537 bytes"),
        "{e}"
    );
    let huge = "x".repeat(MAX_RECORD_BYTES + 200_000);
    let e = csv(&format!("id,report\na,ok\nb,\"{huge}\"\n")).unwrap_err();
    assert!(
        matches!(&e, MetricsError::TooLarge { at, .. } if at == "data row 2"),
        "{e:?}"
    );
    let e = jsonl(
        &format!("{{\"id\": \"a\", \"report\": \"{huge}\"}}\n"),
        &ReportColumns::default(),
    )
    .unwrap_err();
    assert!(
        matches!(&e, MetricsError::TooLarge { at, .. } if at == "line 1"),
        "{e:?}"
    );
    let many = "\n".repeat(MAX_REPORTS + 1);
    let e = read_lines(Path::new("h.txt"), many.as_bytes()).unwrap_err();
    assert!(
        e.to_string()
            .contains("line 1000001: more than 1000000 reports"),
        "{e}"
    );
}
