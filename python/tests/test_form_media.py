"""A form's media files through the real bindings: a form published with its list file in one
store reaches another store by sync, and a session opened there on `Store.form` offers the
list's rows, narrowed by the `choice_filter`, without the app reading the file itself."""

import datetime
import json

import pytest

import minga

CANTONS = b"name,label,province\nquito,Quito,pichincha\nibarra,Ibarra,imbabura\notavalo,Otavalo,imbabura\n"

FORM = {
    "id": "cantons",
    "version": "1",
    "title": {"default": "Cantons"},
    "default_language": None,
    "languages": [],
    "instance_name": None,
    "choices": {},
    "survey": [
        {"kind": "question", "name": "province", "type": {"base": "text"}},
        {
            "kind": "question",
            "name": "canton",
            "type": {"base": "select_one_from_file", "list": "cantons.csv"},
            "choice_filter": "province = ${province}",
        },
        {
            "kind": "question",
            "name": "canton_label",
            "type": {"base": "calculate"},
            "calculation": "pulldata('cantons', 'label', 'name', ${canton})",
        },
    ],
}


def context():
    now = datetime.datetime.now(datetime.timezone(datetime.timedelta(hours=-5)))
    return minga.Context(language=None, now=now, device_id="tablet-1", user_name="sara")


def test_a_form_naming_a_file_not_given_is_refused_naming_it(store):
    form = minga.form_from_json(json.dumps(FORM))
    with pytest.raises(minga.MingaError.NotFound, match="cantons.csv"):
        store.publish_form_with_media(form, [])
    assert store.forms() == []


def test_a_synced_form_session_reads_the_forms_list_file_by_itself(tmp_path, store):
    form = minga.form_from_json(json.dumps(FORM))
    media = [minga.FormMediaFile(name="cantons.csv", bytes=CANTONS)]
    published = store.publish_form_with_media(form, media)
    assert [c.name for c in published.choices_of("canton")] == ["quito", "ibarra", "otavalo"]

    with minga.Store.open_unencrypted(str(tmp_path / "tablet.minga"), "tablet-1", "sara") as tablet:
        minga.sync_with(store, tablet.responder(unenrolled=True).respond, "tablet-1", unenrolled=True)
        assert tablet.form_media("cantons", "1", "cantons.csv") == CANTONS
        received = tablet.form("cantons", "1")
        sid = tablet.create_submission(received.form_ref())
        session = tablet.start_form_session(sid, received, context())
        session.set_answer("province", "imbabura")
        offered = session.choice_options("canton")
        assert [(c.name, c.label["default"]) for c in offered] == [("ibarra", "Ibarra"), ("otavalo", "Otavalo")]
        session.set_answer("canton", "otavalo")
        assert tablet.values(sid)["canton_label"] == "Otavalo"
