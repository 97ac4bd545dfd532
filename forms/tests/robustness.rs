//! Import never panics, whatever the bytes: a damaged workbook is an error naming the problem.

mod common;

use common::shared::xlsform_corpus;
use minga_forms::templates::STAKEHOLDER_DIALOGUE;
use minga_forms::xlsform::{self, Limit, Part, Problem};
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
}

/// The address space of the child that imports damaged `.xls` files: a damage calamine is not
/// bounded against aborts the child on a failed allocation (and fails this test) instead of
/// taking the memory of the machine (a looping sector chain once took 24 GB).
const CHILD_MEMORY_KB: u64 = 2 << 20;

/// The variable that makes [`damaged_xls_imports`] run (in the child only).
const CHILD_VAR: &str = "MINGA_DAMAGED_XLS_CHILD";

#[test]
fn a_damaged_xls_is_an_error_not_a_panic() {
    if xls().is_none() {
        return;
    }
    // The child is this test binary run by a shell that limits its address space first.
    let output = std::process::Command::new("sh")
        .arg("-c")
        .arg(format!("ulimit -v {CHILD_MEMORY_KB} && exec \"$0\" \"$@\""))
        .arg(std::env::current_exe().expect("the test binary"))
        .args([
            "--exact",
            "damaged_xls_imports",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_VAR, "1")
        .env("MALLOC_ARENA_MAX", "1")
        .output()
        .expect("the child runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success() && stdout.contains("damaged .xls imports finished"),
        "the imports of damaged .xls files did not finish within {} MB ({}): {}\n{}",
        CHILD_MEMORY_KB >> 10,
        output.status,
        stdout,
        String::from_utf8_lossy(&output.stderr)
    );
}

/// Not a test of its own: the child's work for [`a_damaged_xls_is_an_error_not_a_panic`] (nothing
/// in a normal run). Up to 8 random bytes of `widgets.xls` overwritten, each import an error or a
/// form, never a panic or an abort.
#[test]
fn damaged_xls_imports() {
    let (Some(_), Some(xls)) = (std::env::var_os(CHILD_VAR), xls()) else {
        return;
    };
    let looped = xlsform::import(&damaged(xls, &LOOPING_DIRECTORY), "damaged.xls").unwrap_err();
    assert!(
        matches!(
            &looped.0[0].problem,
            Problem::TooLarge { part: Part::File(part), limit: Limit::Stream { .. } }
                if part == "directory"
        ),
        "{looped}"
    );
    let far = xlsform::import(&damaged(xls, &FAR_COLUMN), "damaged.xls").unwrap_err();
    assert!(
        matches!(
            &far.0[0].problem,
            Problem::TooLarge {
                part: Part::Sheet(_),
                limit: Limit::Columns { .. }
            }
        ),
        "{far}"
    );
    let damage = proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..8);
    let mut runner = proptest::test_runner::TestRunner::new(ProptestConfig::with_cases(200));
    runner
        .run(&damage, |damage| {
            let damage: Vec<(usize, u8)> = damage
                .iter()
                .map(|(at, value)| (at.index(xls.len()), *value))
                .collect();
            let _ = xlsform::import(&damaged(xls, &damage), "damaged.xls");
            Ok(())
        })
        .unwrap();
    println!("damaged .xls imports finished");
}

/// A damage that makes calamine copy without end (the 24 GB kind): the sector table's entry for the directory's first sector
/// (sector 1, its entry at byte 516 of `widgets.xls`) rewritten to name sector 1 again, so that
/// the directory's chain of sectors loops, and calamine, which reads that chain with no length,
/// copies it until the allocation fails (at 2 GB under the child's limit).
const LOOPING_DIRECTORY: [(usize, u8); 1] = [(516, 1)];

/// A damage a random run found past the first fix: among four bytes, the high bytes of one
/// cell's column and of another cell's row (LABELSST records), so that the survey sheet's cells
/// span 23,000 columns by 45,000 rows and calamine's dense range of it asked for 33 GB.
const FAR_COLUMN: [(usize, u8); 4] = [(17450, 126), (28348, 90), (29536, 176), (12826, 139)];

/// `bytes` with the `damage` (byte offset, value) written over them.
fn damaged(bytes: &[u8], damage: &[(usize, u8)]) -> Vec<u8> {
    let mut bytes = bytes.to_vec();
    for (at, value) in damage {
        bytes[*at] = *value;
    }
    bytes
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

/// calamine reads the reference with arithmetic that wraps in the builds that ship (and in the
/// tests: see the workspace's calamine profile), so the cell lands far right of the last column a
/// form may use and is refused there, naming the sheet.
#[test]
fn a_cell_reference_too_large_for_the_reader_is_an_error_not_a_panic() {
    let bytes = include_bytes!("fixtures/overflowing_cell.xlsx");
    let errors = xlsform::import(bytes, "overflowing_cell.xlsx").unwrap_err();
    assert!(
        matches!(
            &errors.0[0].problem,
            Problem::TooLarge { part: Part::Sheet(sheet), limit: Limit::Columns { .. } }
                if sheet == "survey"
        ),
        "{errors}"
    );
}
