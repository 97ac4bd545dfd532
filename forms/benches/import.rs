//! XLSForm import speed: the corpus's largest forms (by questions, whova_form.xlsx; by bytes,
//! xlsform_spec_test.xlsx) and the two built-in forms, from workbook bytes to a checked `Form`.
//!
//! Run: `cargo bench -p minga-forms --bench import`

use calamine::Reader;
use criterion::{criterion_group, criterion_main, Criterion};
use minga_forms::{templates, xlsform};
use std::hint::black_box;

#[path = "../tests/common/shared.rs"]
mod shared;

/// A corpus workbook's bytes; the bench needs the corpus (`../shared` or `$MINGA_SHARED_DIR`).
fn corpus(file: &str) -> Vec<u8> {
    let dir = shared::shared_dir().join("corpus/xlsform");
    let path = dir.join(file);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn import(c: &mut Criterion) {
    let mut group = c.benchmark_group("xlsform_import");
    group.sample_size(20);
    for file in [
        "webforms/whova_form.xlsx",
        "pyxform/xlsform_spec_test.xlsx",
        "webforms/all-question-types-v2024091201-3.xlsx",
    ] {
        let bytes = corpus(file);
        let name = file.rsplit('/').next().unwrap();
        group.bench_function(name, |b| {
            b.iter(|| xlsform::import(black_box(&bytes), name).expect("imports"))
        });
    }
    // Where the time goes, for the largest: reading the workbook (calamine) is part of it; the
    // rest is reading rows into the tree and compiling the form's logic (the engine).
    let bytes = corpus("webforms/whova_form.xlsx");
    group.bench_function("whova_form.xlsx: read the workbook only", |b| {
        b.iter(|| {
            let mut book =
                calamine::open_workbook_auto_from_rs(std::io::Cursor::new(black_box(&bytes)))
                    .unwrap();
            for name in book.sheet_names() {
                black_box(book.worksheet_range(&name).unwrap());
            }
        })
    });
    for template in templates::ALL {
        group.bench_function(template.file_name, |b| {
            b.iter(|| black_box(template.form()))
        });
    }
    group.finish();
}

criterion_group!(benches, import);
criterion_main!(benches);
