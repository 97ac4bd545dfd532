"""Credentials an app keeps: saved as JSON and read back, never printed with their token (repr,
str, f-strings, logging, containers), and the enrolment QR code's link read into what `enrol`
takes, with a typed error for anything else."""

import logging

import pytest

import minga

TOKEN = "s3cret-token-0123456789"


@pytest.fixture
def credentials():
    return minga.HubCredentials(
        hub_url="https://hub.example.org", project="imbabura", device_id="0190c7e4-phone",
        role=minga.Role.FACILITATOR, token=TOKEN, hub_id="hub-1",
    )


def test_saved_credentials_load_back_equal(credentials):
    saved = credentials.to_json()
    assert TOKEN in saved, "the saved form keeps the token: store it as a secret"
    assert minga.HubCredentials.from_json(saved) == credentials
    assert minga.hub_credentials_from_json(saved) == credentials


def test_no_print_or_log_shows_the_token(credentials, caplog):
    with caplog.at_level(logging.INFO):
        logging.getLogger("app").info("enrolled: %s %r", credentials, credentials)
    shown = [repr(credentials), str(credentials), f"{credentials}", repr([credentials]),
             repr({"hub": credentials}), caplog.text]
    for text in shown:
        assert TOKEN not in text, text
        assert "0190c7e4-phone" in text and "<hidden>" in text, text
    assert credentials.token == TOKEN, "the field itself is there for the library"


def test_damaged_saved_credentials_name_what_is_wrong(credentials):
    with pytest.raises(minga.MingaError.InvalidArgument, match="no token"):
        minga.HubCredentials.from_json(credentials.to_json().replace('"token"', '"tokens"'))
    with pytest.raises(minga.MingaError.InvalidArgument, match="not JSON"):
        minga.HubCredentials.from_json("{")


def test_a_scanned_enrolment_link_gives_the_hub_and_the_code():
    link = minga.parse_enrolment_link("minga://enrol?v=1&hub=http%3A%2F%2F10.0.0.2%3A8080&code=ABCD-EFGH-JKMN")
    assert link == minga.EnrolmentLink(hub_url="http://10.0.0.2:8080", code="ABCD-EFGH-JKMN")
    assert minga.parse_enrolment_link(minga.enrolment_link_uri(link)) == link
    # As `minga-hub device enrol --hub-url` prints it today: not encoded, no version.
    today = minga.parse_enrolment_link("minga://enrol?hub=http://10.0.0.2:8080&code=ABCD-EFGH-JKMN")
    assert today == link


@pytest.mark.parametrize("text, error", [
    ("https://example.org", minga.EnrolmentLinkError.NotAnEnrolmentLink),
    ("minga://enrol?v=3&code=X", minga.EnrolmentLinkError.NewerVersion),
    ("minga://enrol?hub=http%3A%2F%2Fh", minga.EnrolmentLinkError.Malformed),
])
def test_other_codes_are_typed_errors(text, error):
    with pytest.raises(error):
        minga.parse_enrolment_link(text)
