"""Sync with a real `minga-hub` process on loopback: the supervisor's command line creates a
project, publishes a built-in form and prints enrolment codes; phones enrol with a code, sync a
submission up over HTTP, and a supervisor's store pulls it; revoked and unknown devices, used
codes and a hub out of reach each get their own error; a sync agent syncs by itself and says
what it is doing."""

import copy
import os
import queue
import re
from datetime import timedelta

import pytest

import minga
from hub import Hub
from test_readme import block

PROJECT = "imbabura"


def path(name):
    return minga.AnswerPath(instances=[], name=name)


@pytest.fixture(scope="module")
def hub(tmp_path_factory):
    data = tmp_path_factory.mktemp("hub")
    running = Hub(data)
    running.admin("project", "create", PROJECT)
    workbook = next(w for w in minga.builtin_form_workbooks() if w.form_id == "minga_stakeholder_dialogue")
    form_file = data / workbook.file_name
    form_file.write_bytes(workbook.xlsx)
    published = running.admin("form", "publish", str(form_file), "--project", PROJECT)
    assert "minga_stakeholder_dialogue" in published
    running.start()
    yield running
    running.stop()


@pytest.fixture
def dialogue():
    return next(f for f in minga.builtin_forms() if f.id() == "minga_stakeholder_dialogue")


def device(tmp_path, hub, role, name):
    """A store on a new device, and the credentials it enrolled with."""
    credentials = minga.enrol(hub.url, hub.enrolment_code(PROJECT, role, name))
    store = minga.Store.open_unencrypted(str(tmp_path / f"{name}.minga"), f"{name}-phone", name)
    return store, credentials


def with_a_synced_submission(tmp_path, hub, dialogue, name):
    """A facilitator's store whose one submission is already synced to the hub."""
    phone, credentials = device(tmp_path, hub, "facilitator", name)
    sid = phone.create_submission(dialogue.form_ref())
    minga.sync_http(phone, credentials)
    return phone, credentials, sid


def test_a_submission_goes_up_from_a_phone_and_down_to_a_supervisor(tmp_path, hub, dialogue):
    phone, ana = device(tmp_path, hub, "facilitator", "ana")
    assert (ana.project, ana.role, ana.hub_url) == (PROJECT, minga.Role.FACILITATOR, hub.url)
    assert ana.token and ana.device_id and ana.hub_id
    sid = phone.create_submission(dialogue.form_ref())
    phone.set_answer(sid, path("convening_institution"), minga.Value.TEXT(text="GAD de Ibarra"))
    steps = []
    up = minga.sync_http(phone, ana, on_progress=steps.append)
    assert up.sent == 1 and up.refused == []
    assert steps and steps[-1].docs_in_flight == 0 and steps[-1].bytes_sent > 0
    assert sid in hub.admin("submissions", "list", "--project", PROJECT)

    tablet, sara = device(tmp_path, hub, "supervisor", "sara")
    assert sara.role == minga.Role.SUPERVISOR
    events = []
    handle = minga.observe(tablet, events.append)
    down = minga.sync_http(tablet, sara)
    assert down.received >= 1
    synced = [d for e in events for d in e.documents if d.id == sid]
    assert [(d.kind, d.by_sync) for d in synced] == [(minga.DocKind.SUBMISSION, True)]
    assert tablet.answers(sid) == phone.answers(sid)
    assert minga.sync_http(tablet, sara).round_trips == 1  # nothing changed: one round trip
    assert "minga_stakeholder_dialogue" in [f.form_id for f in phone.forms()]  # the hub's form
    assert phone.latest_form("minga_stakeholder_dialogue").definition() == dialogue.definition()
    handle.cancel()
    phone.close()
    tablet.close()


def test_a_facilitator_does_not_receive_another_facilitators_submission(tmp_path, hub, dialogue):
    phone, _, sid = with_a_synced_submission(tmp_path, hub, dialogue, "rosa")
    other, ben = device(tmp_path, hub, "facilitator", "ben")
    minga.sync_http(other, ben)
    with pytest.raises(minga.MingaError.NotFound):
        other.submission(sid)
    phone.close()
    other.close()


def test_a_revoked_device_is_told_to_wipe(tmp_path, hub, dialogue):
    phone, luis, _ = with_a_synced_submission(tmp_path, hub, dialogue, "luis")
    hub.admin("device", "revoke", luis.device_id)
    with pytest.raises(minga.MingaError.Revoked):
        minga.sync_http(phone, luis)
    phone.close()


def test_an_unknown_token_is_unauthorized(tmp_path, hub, dialogue):
    phone, maria = device(tmp_path, hub, "facilitator", "maria")
    forged = minga.HubCredentials(
        hub_url=maria.hub_url, project=maria.project, device_id=maria.device_id,
        role=maria.role, token="0" * 64, hub_id=maria.hub_id,
    )
    phone.create_submission(dialogue.form_ref())
    with pytest.raises(minga.MingaError.Unauthorized):
        minga.sync_http(phone, forged)
    phone.close()


def test_a_code_works_once_and_a_malformed_one_is_an_invalid_argument(hub):
    code = hub.enrolment_code(PROJECT, "facilitator", "once")
    minga.enrol(hub.url, code)
    with pytest.raises(minga.MingaError.Unauthorized, match="already used"):
        minga.enrol(hub.url, code)
    with pytest.raises(minga.MingaError.InvalidArgument):
        minga.enrol(hub.url, "not a code")
    with pytest.raises(minga.MingaError.InvalidArgument):
        minga.enrol("hub.example.org", code)


@pytest.fixture
def stopped(tmp_path):
    """A hub that enrolled a device ("ana") and then stopped, and that device's credentials."""
    hub = Hub(tmp_path / "stopped")
    hub.admin("project", "create", PROJECT)
    code = hub.enrolment_code(PROJECT, "facilitator", "ana")
    hub.start()
    ana = minga.enrol(hub.url, code)
    hub.stop()
    return hub, ana


def test_a_hub_out_of_reach_is_a_network_error(tmp_path, stopped, dialogue):
    stopped, ana = stopped
    phone = minga.Store.open_unencrypted(str(tmp_path / "phone.minga"), "phone-1", "ana")
    phone.create_submission(dialogue.form_ref())
    with pytest.raises(minga.MingaError.Network):
        minga.sync_http(phone, ana, minga.HttpSettings(timeout_seconds=5, retries=0))
    with pytest.raises(minga.MingaError.Network):
        minga.enrol(stopped.url, stopped.enrolment_code(PROJECT, "facilitator", "ben"))
    assert phone.list_submissions(minga.SubmissionFilter(), None, 10).items[0].status == minga.Status.DRAFT
    phone.close()


def test_the_readme_hub_example_runs(tmp_path, hub, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    scanned = minga.enrolment_link_uri(minga.EnrolmentLink(hub_url=hub.url, code=hub.enrolment_code(PROJECT, "facilitator", "readme")))
    example = block("python", "Sync with the office hub")
    exec(compile(example, "README.md", "exec"), {"minga": minga, "scanned": scanned, "key": os.urandom(32)})
    printed = capsys.readouterr().out
    assert re.search(r"^sent 0 received \d+$", printed, re.M) and "done:" in printed
    assert "token <hidden>" in printed and "signing as True" in printed


def test_an_enrolled_store_signs_as_the_enrolled_device_and_the_hub_names_one_submitter(tmp_path, hub, dialogue):
    path = str(tmp_path / "rosa.minga")
    with minga.Store.open_unencrypted(path, "rosa-phone", "rosa") as phone:
        before = phone.create_submission(dialogue.form_ref())
        rosa = phone.enrol(hub.url, hub.enrolment_code(PROJECT, "facilitator", "rosa"))
        assert phone.identity().device_id == rosa.device_id
        after = phone.create_submission(dialogue.form_ref())
        assert phone.submission(after).device_id == rosa.device_id
        assert phone.submission(before).device_id == "rosa-phone", "made before enrolment: kept"
    with minga.Store.open_unencrypted(path, "rosa-phone", "rosa") as reopened:
        assert reopened.identity().device_id == rosa.device_id
        assert minga.sync_http(reopened, minga.HubCredentials.from_json(rosa.to_json())).sent == 2
    assert rosa.device_id in hub.admin("device", "list")
    with pytest.raises(minga.MingaError.Unauthorized):
        minga.Store.open_unencrypted(str(tmp_path / "x.minga"), "x", "x").enrol(hub.url, "ABCD-EFGH-JKMN")


def test_a_closed_store_is_refused_before_its_code_is_spent(tmp_path, hub):
    code = hub.enrolment_code(PROJECT, "facilitator", "tomas")
    closed = minga.Store.open_unencrypted(str(tmp_path / "tomas.minga"), "tomas-phone", "tomas")
    closed.close()
    with pytest.raises(minga.MingaError.Closed):
        closed.enrol(hub.url, code)
    assert minga.enrol(hub.url, code).project == PROJECT, "the code is still good"


def next_event(events, kind):
    """The next sync event of `kind`, skipping others (a guard against hanging, not a timing)."""
    while True:
        event = events.get(timeout=60)
        if isinstance(event, kind):
            return event


def test_the_sync_agent_syncs_by_itself_and_wipes_a_revoked_phone(tmp_path, hub, dialogue):
    phone, pia = device(tmp_path, hub, "facilitator", "pia")
    events = queue.Queue()
    handle = minga.observe_sync(phone, events.put)
    quick = minga.AgentSchedule(after_change_ms=10, min_backoff_ms=100, max_backoff_ms=1000, periodic_ms=600_000)
    agent = phone.start_sync_agent(pia, quick)
    sid = phone.create_submission(dialogue.form_ref())
    agent.network_available(True)
    started = next_event(events, minga.SyncEvent.STARTED)
    assert started.peer == pia.hub_id
    finished = next_event(events, minga.SyncEvent.FINISHED)
    assert finished.report.sent == 1
    assert sid in hub.admin("submissions", "list", "--project", PROJECT)

    hub.admin("device", "revoke", pia.device_id)
    agent.sync_now()
    revoked = next_event(events, minga.SyncEvent.REVOKED)
    assert revoked.wipe_error is None
    assert phone.list_submissions(minga.SubmissionFilter(include_deleted=True), None, 10).items == []
    agent.stop()
    assert agent.is_stopped()
    handle.cancel()
    phone.close()


def test_an_agent_on_a_hub_out_of_reach_reports_a_retryable_failure(tmp_path, stopped):
    _, ana = stopped
    phone = minga.Store.open_unencrypted(str(tmp_path / "p.minga"), "phone-1", "ana")
    events = queue.Queue()
    handle = minga.observe_sync(phone, events.put)
    agent = phone.start_sync_agent(ana, minga.AgentSchedule(min_backoff_ms=60_000))
    agent.network_available(True)
    failed = next_event(events, minga.SyncEvent.FAILED)
    assert isinstance(failed.error, minga.SyncFailure.NETWORK) and failed.error.retryable
    assert failed.failures == 1 and failed.retry_in is not None
    phone.close()  # asks the agent to stop
    agent.stop()
    handle.cancel()


def test_the_agent_status_says_offline_then_when_it_synced_then_why_it_fails(tmp_path, hub, dialogue):
    phone, rosa = device(tmp_path, hub, "facilitator", "rosa")
    events = queue.Queue()
    handle = minga.observe_sync(phone, events.put)
    ten_minutes = timedelta(minutes=10)
    slow = minga.AgentSchedule(after_change_ms=600_000, min_backoff_ms=600_000, max_backoff_ms=600_000, periodic_ms=600_000)
    agent = phone.start_sync_agent(rosa, slow)
    phone.create_submission(dialogue.form_ref())
    offline = agent.status()
    assert (offline.network_available, offline.revoked) == (False, False)
    [waiting] = offline.peers
    assert (waiting.peer, waiting.syncing, waiting.changes_waiting) == (rosa.hub_id, False, True)
    assert (waiting.last_attempt_ago, waiting.last_success_ago, waiting.last_error) == (None, None, None)
    assert (waiting.failures, waiting.next_attempt_in) == (0, None)

    agent.network_available(True)
    assert next_event(events, minga.SyncEvent.FINISHED).report.sent == 1
    [synced] = agent.status().peers
    assert synced.last_success_ago is not None and synced.last_success_ago <= synced.last_attempt_ago
    assert (synced.last_error, synced.failures, synced.changes_waiting) == (None, 0, False)
    assert timedelta(0) < synced.next_attempt_in <= ten_minutes
    agent.stop()
    assert agent.status() is None

    forged = copy.copy(rosa)
    forged.token = "0" * 64
    agent = phone.start_sync_agent(forged, slow)
    agent.network_available(True)
    next_event(events, minga.SyncEvent.FAILED)
    [failing] = agent.status().peers
    assert isinstance(failing.last_error, minga.SyncFailure.NETWORK) and not failing.last_error.retryable
    assert "401" in failing.last_error.message
    assert (failing.failures, failing.last_success_ago) == (1, None)
    assert timedelta(0) < failing.next_attempt_in <= ten_minutes, "the retry waits for the backoff"
    agent.stop()
    handle.cancel()
    phone.close()


def test_a_supervisors_review_reaches_the_facilitator_through_the_hub(tmp_path, hub, dialogue):
    phone, ana, sid = with_a_synced_submission(tmp_path, hub, dialogue, "lucia")
    tablet, sara = device(tmp_path, hub, "supervisor", "marta")
    minga.sync_http(tablet, sara)
    tablet.set_review_state(sid, minga.ReviewState.HAS_ISSUES)
    tablet.add_review_comment(sid, "¿Qué parroquia?", "parish")
    assert minga.sync_http(tablet, sara).sent == 1

    events = []
    handle = minga.observe(phone, events.append)
    minga.sync_http(phone, ana)
    review = phone.review(sid)
    assert review.state == minga.ReviewState.HAS_ISSUES and review.decided_by == "marta"
    assert [(c.text, c.question) for c in review.comments] == [("¿Qué parroquia?", "parish")]
    assert (review.id, minga.DocKind.REVIEW, True) in [(d.id, d.kind, d.by_sync) for e in events for d in e.documents]
    phone.set_review_state(sid, minga.ReviewState.APPROVED)  # only supervisors may review
    refused = minga.sync_http(phone, ana).refused
    assert [(r.id, r.reason) for r in refused] == [(review.id, minga.RefusalReason.NOT_WRITABLE)]
    handle.cancel()
    phone.close()
    tablet.close()


def enrolled_store(tmp_path, hub, role, name):
    """A store enrolled at the hub with `Store.enrol`: it keeps the credential the hub signed."""
    store = minga.Store.open_unencrypted(str(tmp_path / f"{name}.minga"), f"{name}-phone", name)
    credentials = store.enrol(hub.url, hub.enrolment_code(PROJECT, role, name))
    return store, credentials


def test_enrolled_devices_syncing_directly_get_only_what_the_hub_would_give_them(tmp_path, hub, dialogue):
    tablet, sara = enrolled_store(tmp_path, hub, "supervisor", "sara")
    ana_phone, _ = enrolled_store(tmp_path, hub, "facilitator", "ana")
    ben_phone, _ = enrolled_store(tmp_path, hub, "facilitator", "ben")
    minga.sync_http(tablet, sara)  # the forms
    hers = ana_phone.create_submission(dialogue.form_ref())
    his = ben_phone.create_submission(dialogue.form_ref())
    for phone in [ana_phone, ben_phone]:
        minga.sync_with(phone, tablet.responder().respond, sara.device_id)
    for sid in [hers, his]:
        tablet.set_review_state(sid, minga.ReviewState.APPROVED)

    report = minga.sync_with(ana_phone, tablet.responder().respond, sara.device_id)
    assert report.refused == []
    assert ana_phone.review(hers).state == minga.ReviewState.APPROVED
    assert ana_phone.review(his) is None
    with pytest.raises(minga.MingaError.NotFound):
        ana_phone.submission(his)
    assert ana_phone.forms(), "the forms came from the tablet"

    # Her attempt to approve her own work is refused at the tablet, which stays as it was.
    ana_phone.set_review_state(hers, minga.ReviewState.REJECTED)
    report = minga.sync_with(ana_phone, tablet.responder().respond, sara.device_id)
    assert [(r.id, r.reason) for r in report.refused_by_peer][0][1] == minga.RefusalReason.NOT_WRITABLE
    assert tablet.review(hers).state == minga.ReviewState.APPROVED


def test_an_unenrolled_store_neither_answers_nor_starts_a_direct_sync_unless_the_app_opens_one(tmp_path, hub):
    tablet, sara = enrolled_store(tmp_path, hub, "supervisor", "sara")
    stranger = minga.Store.open_unencrypted(str(tmp_path / "stranger.minga"), "stranger", "x")
    with pytest.raises(minga.MingaError.Unauthorized):
        stranger.responder()
    with pytest.raises(minga.MingaError.Unauthorized):
        minga.sync_with(stranger, tablet.responder().respond, sara.device_id)
    with pytest.raises(minga.MingaError.Network, match="peer handshake"):
        minga.sync_with(stranger, tablet.responder().respond, sara.device_id, unenrolled=True)
    assert stranger.forms() == [], "it got nothing"
