//! Import never panics, whatever the bytes: a damaged workbook is an error naming the problem.

mod common;

use common::shared::xlsform_corpus;
use minga_forms::templates::STAKEHOLDER_DIALOGUE;
use minga_forms::xlsform;
use proptest::prelude::*;
use std::sync::OnceLock;

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn arbitrary_bytes_are_an_error_not_a_panic(bytes in proptest::collection::vec(any::<u8>(), 0..2048)) {
        let _ = xlsform::import(&bytes, "form.xlsx");
        let _ = xlsform::import(&bytes, "form.xls");
    }

    #[test]
    fn a_damaged_workbook_is_an_error_not_a_panic(
        damage in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..8),
        cut in any::<prop::sample::Index>(),
    ) {
        let mut bytes = STAKEHOLDER_DIALOGUE.xlsx.to_vec();
        for (at, value) in damage {
            let at = at.index(bytes.len());
            bytes[at] = value;
        }
        let _ = xlsform::import(&bytes, "damaged.xlsx");
        bytes.truncate(cut.index(bytes.len()));
        let result = xlsform::import(&bytes, "cut.xlsx");
        prop_assert!(result.is_err() || bytes.len() == STAKEHOLDER_DIALOGUE.xlsx.len());
    }

    #[test]
    fn a_damaged_xls_is_an_error_not_a_panic(
        damage in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..8),
    ) {
        let Some(xls) = xls() else {
            return Ok(());
        };
        let mut bytes = xls.to_vec();
        for (at, value) in damage {
            let at = at.index(bytes.len());
            bytes[at] = value;
        }
        let _ = xlsform::import(&bytes, "damaged.xls");
    }
}

/// An old binary workbook from the corpus (pyxform's widgets test), read once; `None` (SKIPPED
/// said once) where this clone has no corpus.
fn xls() -> Option<&'static [u8]> {
    static XLS: OnceLock<Option<Vec<u8>>> = OnceLock::new();
    XLS.get_or_init(|| {
        let corpus = xlsform_corpus("a_damaged_xls_is_an_error_not_a_panic")?;
        Some(std::fs::read(corpus.join("pyxform/widgets.xls")).expect("widgets.xls is readable"))
    })
    .as_deref()
}

#[test]
fn a_cell_reference_too_large_for_the_reader_is_an_error_not_a_panic() {
    let bytes = include_bytes!("fixtures/overflowing_cell.xlsx");
    let errors = xlsform::import(bytes, "overflowing_cell.xlsx").unwrap_err();
    assert!(
        matches!(
            errors.0[0].problem,
            minga_forms::xlsform::Problem::UnreadableWorkbook(_)
        ),
        "{errors}"
    );
}
