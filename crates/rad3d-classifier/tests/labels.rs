//! The label set is the classifier's: the synthetic phantom names its findings with the same
//! strings, in the same order, so phantom multi-hot vectors line up with CT-RATE logits.

use rad3d_classifier::{CT_RATE_LABELS, LabelSet};
use rad3d_volume::phantom::{FINDING_NAMES, Finding};

#[test]
fn phantom_finding_names_are_ct_rate_labels_in_order() {
    assert_eq!(FINDING_NAMES, CT_RATE_LABELS);
    let labels = LabelSet::ct_rate();
    for (i, finding) in Finding::all().iter().enumerate() {
        assert_eq!(finding.label_index(), i);
        assert_eq!(labels.index_of(finding.label()), Some(i), "{finding:?}");
    }
}
