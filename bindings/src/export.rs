//! Export for analysis, from the app: a store's submissions as CSV laid out as analysts know it
//! from ODK Central (one table per form and per repeat), the same tables as an Excel workbook,
//! GeoJSON of located submissions, or JSON, written into a folder by the core's writers.

use crate::error::Result;
use crate::form::Form;
use crate::store::Store;
use minga_core::export::{CsvOptions, Format};
use minga_core::ReviewState;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::Path;
use std::sync::Arc;

/// The files an export writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum ExportFormat {
    /// `<form>.csv`, and `<form>-<repeat>.csv` for each repeat, joined by keys.
    Csv,
    /// `<form>.geojson`: a feature per located submission.
    GeoJson,
    /// `<form>.json`: every submission with plain answers.
    Json,
    /// `<form>.xlsx`: the CSV's tables as the sheets of one Excel workbook, numbers as
    /// numbers and text exactly as answered (a workbook's text never runs as a formula).
    Xlsx,
}

/// Implemented by the app for a progress bar: told `(done, total)` after each submission is
/// read. An exception thrown here is dropped and the export goes on.
#[uniffi::export(with_foreign)]
pub trait ExportProgressListener: Send + Sync {
    fn on_progress(&self, done: u64, total: u64);
}

#[uniffi::export]
impl Store {
    /// Exports the store's submissions (deleted ones left out) into the folder `out_dir`
    /// (created if missing), one set of files per form, laid out by the newest of `forms` with
    /// its id; returns the paths written. A submission of a form not among `forms` is
    /// `InvalidArgument` naming the form, and nothing is written. `labels_in` writes CSV
    /// choices as their labels in that language instead of their names. CSV text cells that a
    /// spreadsheet would run as a formula (beginning `=`, `+`, `-`, `@`, tab or carriage
    /// return) are written with a leading `'`; numbers never are. A geopoint that is no place
    /// on Earth (latitude 1000, NaN…) is written as no location: empty CSV cells, a GeoJSON
    /// feature with `"geometry": null`. A `labels_in` language a form lacks is
    /// `InvalidArgument` naming the languages it has. `review_state` exports only the
    /// submissions whose review is in that state (`Approved` for the approved ones).
    /// CSV files begin with a UTF-8 byte-order mark, for spreadsheets.
    #[uniffi::method(default(labels_in = None, progress = None, review_state = None))]
    pub fn export(
        &self,
        forms: Vec<Arc<Form>>,
        format: ExportFormat,
        out_dir: String,
        labels_in: Option<String>,
        progress: Option<Arc<dyn ExportProgressListener>>,
        review_state: Option<ReviewState>,
    ) -> Result<Vec<String>> {
        let forms: Vec<_> = forms.iter().map(|form| form.model().clone()).collect();
        let options = CsvOptions {
            labels_in,
            review_state,
        };
        let tell = |done: u64, total: u64| {
            if let Some(listener) = &progress {
                let _ = catch_unwind(AssertUnwindSafe(|| listener.on_progress(done, total)));
            }
        };
        self.call(|store| {
            let report =
                store.export(&forms, format.into(), &options, Path::new(&out_dir), &tell)?;
            Ok(report
                .files
                .iter()
                .map(|path| path.display().to_string())
                .collect())
        })
    }
}

impl From<ExportFormat> for Format {
    fn from(format: ExportFormat) -> Self {
        match format {
            ExportFormat::Csv => Format::Csv,
            ExportFormat::GeoJson => Format::GeoJson,
            ExportFormat::Json => Format::Json,
            ExportFormat::Xlsx => Format::Xlsx,
        }
    }
}
