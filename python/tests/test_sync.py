"""Sync between two stores over a transport the host brings (here a Python callable that hands
the bytes to the other store's responder), progress, reports, errors the transport throws, and
observers hearing what arrives; a sync agent over such a transport."""

import queue
from datetime import timedelta

import pytest

import minga
from test_hub import next_event


def path(name):
    return minga.AnswerPath(instances=[], name=name)


@pytest.fixture
def phone(tmp_path):
    opened = minga.Store.open_unencrypted(str(tmp_path / "phone.minga"), "phone-1", "ana")
    yield opened
    opened.close()


@pytest.fixture
def tablet(tmp_path):
    opened = minga.Store.open_unencrypted(str(tmp_path / "tablet.minga"), "tablet-1", "sara")
    yield opened
    opened.close()


def heard(events):
    return [(d.id, d.kind, d.by_sync) for e in events for d in e.documents]


def test_changes_go_both_ways_and_the_observer_hears_synced_ones(phone, tablet, form):
    sid = phone.create_submission(form)
    phone.set_answer(sid, path("village"), minga.Value.TEXT(text="San Rafael"))
    responder = tablet.responder(unenrolled=True)
    on_tablet, on_phone, steps = [], [], []
    tablet_handle = minga.observe(tablet, on_tablet.append)
    phone_handle = minga.observe(phone, on_phone.append)

    report = minga.sync_with(phone, responder.respond, "tablet-1", on_progress=steps.append, unenrolled=True)
    assert (report.sent, report.received, report.refused) == (1, 0, [])
    assert report.round_trips >= 1 and report.bytes_sent > 0 and report.change_bytes > 0
    assert steps and steps[-1].docs_in_flight == 0 and steps[-1].docs_done >= 1
    assert heard(on_tablet) == [(sid, minga.DocKind.SUBMISSION, True)]
    assert tablet.answers(sid) == phone.answers(sid)
    assert on_phone == []

    on_tablet.clear()
    tablet.set_answer(sid, path("people"), minga.Value.INTEGER(value=12))
    report = minga.sync_with(phone, responder.respond, "tablet-1", unenrolled=True)
    assert (report.sent, report.received) == (0, 1)
    assert heard(on_phone) == [(sid, minga.DocKind.SUBMISSION, True)]
    assert heard(on_tablet) == [(sid, minga.DocKind.SUBMISSION, False)]
    assert phone.answers(sid).fields["people"] == minga.Answer.VALUE(value=minga.Value.INTEGER(value=12))

    again = minga.sync_with(phone, responder.respond, "tablet-1", unenrolled=True)
    assert (again.sent, again.received, again.round_trips) == (0, 0, 1)
    tablet_handle.cancel()
    phone_handle.cancel()


def test_concurrent_edits_arrive_as_a_conflict(phone, tablet, form):
    sid = phone.create_submission(form)
    responder = tablet.responder(unenrolled=True)
    minga.sync_with(phone, responder.respond, "tablet-1", unenrolled=True)
    phone.set_answer(sid, path("age"), minga.Value.INTEGER(value=40))
    tablet.set_answer(sid, path("age"), minga.Value.INTEGER(value=41))
    report = minga.sync_with(phone, responder.respond, "tablet-1", unenrolled=True)
    assert report.conflicts == 1
    assert [c.path.name for c in phone.conflicts(sid)] == ["age"]


def test_a_transport_that_may_pass_is_retried_then_its_error_comes_back(phone, form):
    phone.create_submission(form)
    attempts = []

    def offline(request):
        attempts.append(len(request))
        raise minga.MingaError.Network(reason="no Bluetooth peer in range")

    with pytest.raises(minga.MingaError.Network, match="no Bluetooth peer"):
        minga.sync_with(phone, offline, "tablet-1", unenrolled=True)
    assert len(attempts) == 4  # the first try and three retries of the same request
    assert len(set(attempts)) == 1


def test_other_transport_errors_end_the_sync_at_once_with_that_error(phone, form):
    phone.create_submission(form)
    attempts = []

    def refusing(request):
        attempts.append(request)
        raise minga.MingaError.Unauthorized(reason="the tablet does not know this phone")

    with pytest.raises(minga.MingaError.Unauthorized, match="does not know"):
        minga.sync_with(phone, refusing, "tablet-1", unenrolled=True)
    assert len(attempts) == 1

    def buggy(request):
        raise ValueError("a bug in the host's transport")

    with pytest.raises(minga.MingaError.Internal):
        minga.sync_with(phone, buggy, "tablet-1", unenrolled=True)


def test_garbage_from_the_transport_is_a_typed_error_and_changes_nothing(phone, form):
    sid = phone.create_submission(form)
    before = phone.last_seq()
    for reply in [b"", b"\x00" * 10, b"MINGA" + b"\xff" * 100, bytes(range(256)) * 40]:
        with pytest.raises(minga.MingaError.Network):
            minga.sync_with(phone, lambda request, reply=reply: reply, "tablet-1", unenrolled=True)
    assert phone.last_seq() == before
    assert phone.submission(sid).id == sid


def test_a_responder_answers_garbage_with_an_abort_not_a_crash(tablet):
    responder = tablet.responder(unenrolled=True)
    reply = responder.respond(b"not a sync frame")
    assert isinstance(reply, bytes) and len(reply) > 0


def test_a_progress_listener_that_raises_does_not_stop_the_sync(phone, tablet, form):
    phone.create_submission(form)

    def explode(progress):
        raise RuntimeError("the progress bar crashed")

    report = minga.sync_with(phone, tablet.responder(unenrolled=True).respond, "tablet-1", on_progress=explode, unenrolled=True)
    assert report.sent == 1


def test_a_bundle_carries_submissions_to_a_store_with_the_key(phone, tablet, form, tmp_path):
    sid = phone.create_submission(form)
    phone.set_answer(sid, path("village"), minga.Value.TEXT(text="Ibarra"))
    keys = minga.generate_bundle_keys()
    assert keys.public_key.startswith("age1") and keys.secret_key.startswith("AGE-SECRET-KEY-1")
    bundle = phone.write_bundle("tablet-1", keys.public_key, minga.BundleScope.EVERYTHING)
    assert b"Ibarra" not in bundle  # encrypted

    events = []
    handle = minga.observe(tablet, events.append)
    report = tablet.import_bundle(keys.secret_key, bundle)
    assert report.received == 1 and report.refused == []
    assert heard(events) == [(sid, minga.DocKind.SUBMISSION, True)]
    assert tablet.answers(sid) == phone.answers(sid)
    tablet.import_bundle(keys.secret_key, bundle)  # importing twice is harmless
    assert tablet.answers(sid) == phone.answers(sid)
    handle.cancel()


def test_bad_bundles_and_keys_are_invalid_arguments(phone, tablet, form):
    phone.create_submission(form)
    keys, stranger = minga.generate_bundle_keys(), minga.generate_bundle_keys()
    bundle = phone.write_bundle("tablet-1", keys.public_key, minga.BundleScope.MISSING)
    with pytest.raises(minga.MingaError.InvalidArgument, match="another recipient") as refused:
        tablet.import_bundle(stranger.secret_key, bundle)
    assert stranger.secret_key not in str(refused.value)
    damaged = bundle[:-10] + bytes(10)
    for bad in [damaged, b"", b"garbage" * 100]:
        with pytest.raises(minga.MingaError.InvalidArgument):
            tablet.import_bundle(keys.secret_key, bad)
    with pytest.raises(minga.MingaError.InvalidArgument):
        tablet.import_bundle("AGE-SECRET-KEY-1NOTAKEY", bundle)
    with pytest.raises(minga.MingaError.InvalidArgument):
        phone.write_bundle("tablet-1", "age1notakey", minga.BundleScope.EVERYTHING)
    with pytest.raises(minga.MingaError.InvalidArgument):
        phone.write_bundle("", keys.public_key, minga.BundleScope.EVERYTHING)
    assert tablet.last_seq() == 0


def test_an_agent_syncs_with_a_peer_over_the_apps_own_link_by_itself(phone, tablet, form):
    responder = tablet.responder(unenrolled=True)
    carried = []

    def exchange(request):
        carried.append(len(request))
        return responder.respond(request)

    events = queue.Queue()
    handle = minga.observe_sync(phone, events.put)
    agent = minga.start_peer_sync_agent(phone, "tablet-1", exchange, minga.AgentSchedule(after_change_ms=10))
    sid = phone.create_submission(form)
    phone.set_answer(sid, path("village"), minga.Value.TEXT(text="Tumbaco"))
    assert carried == [], "offline: nothing is carried"
    agent.network_available(True)
    finished = next_event(events, minga.SyncEvent.FINISHED)
    assert finished.peer == "tablet-1" and finished.report.sent == 1
    assert tablet.answers(sid) == phone.answers(sid)
    assert carried, "the bytes went over the app's link"
    [status] = agent.status().peers
    assert status.peer == "tablet-1" and status.last_success_ago is not None and status.last_error is None
    agent.stop()
    handle.cancel()


def test_a_link_that_says_revoked_wipes_the_phone_and_a_failing_one_backs_off(phone, form):
    def unreachable(request):
        raise minga.MingaError.Network(reason="no peer in range")

    events = queue.Queue()
    handle = minga.observe_sync(phone, events.put)
    agent = minga.start_peer_sync_agent(phone, "tablet-1", unreachable, minga.AgentSchedule(min_backoff_ms=600_000))
    agent.network_available(True)
    failed = next_event(events, minga.SyncEvent.FAILED)
    assert isinstance(failed.error, minga.SyncFailure.NETWORK) and "no peer in range" in failed.error.message
    assert failed.retry_in is not None and failed.retry_in > timedelta(0)
    agent.stop()

    phone.create_submission(form)

    def revoked(request):
        raise minga.MingaError.Revoked()

    agent = minga.start_peer_sync_agent(phone, "tablet-1", revoked)
    agent.network_available(True)
    assert next_event(events, minga.SyncEvent.REVOKED).wipe_error is None
    assert phone.list_submissions(minga.SubmissionFilter(include_deleted=True), None, 10).items == []
    assert agent.status().revoked
    agent.stop()
    handle.cancel()
