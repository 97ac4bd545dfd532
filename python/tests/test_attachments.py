"""Attachments through the Python bindings: a photo attached from bytes and from a file, its
state, read back whole, stored once, and carried by sync, and by a bundle (bytes or a file), to
another store, which reads it."""

import struct
import zlib

import pytest

import minga
from test_sync import path


PHOTO = bytes(range(256)) * 2000  # 512,000 bytes: two chunks


def test_a_photo_attached_reads_back_whole_and_is_stored_once(store, tmp_path):
    attachment = store.add_attachment(PHOTO, "image/jpeg", "street.jpg")
    assert len(attachment.sha256) == 64
    assert attachment.file_name == "street.jpg"
    assert store.attachment_state(attachment.sha256) == minga.AttachmentState.PRESENT(size=len(PHOTO))
    assert store.read_attachment(attachment.sha256) == PHOTO

    source = tmp_path / "consent.png"
    source.write_bytes(PHOTO)
    again = store.add_attachment_file(str(source), "image/png")
    assert again.sha256 == attachment.sha256, "the same content is one attachment"
    assert again.file_name == "consent.png"

    copy = tmp_path / "copy.jpg"
    assert store.save_attachment(attachment.sha256, str(copy)) == len(PHOTO)
    assert copy.read_bytes() == PHOTO


def png(width, height, chunks=()):
    """A `width` x `height` colour PNG, with `chunks` (type, data) before its pixels."""
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    rows = b"".join(b"\x00" + bytes((x + y) % 256 for x in range(width * 3)) for y in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    extra = b"".join(chunk(kind, data) for kind, data in chunks)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + extra + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")


def png_size(content):
    return struct.unpack(">II", content[16:24])


def test_a_photo_is_scaled_to_max_pixels_and_stored_without_its_metadata(store):
    where = b"MM\x00\x2a\x00\x00\x00\x08 GPS latitude S 0 21 12.34"
    taken = png(300, 200, [(b"eXIf", where)])
    photo = store.add_photo(taken, "house.png", max_pixels=120, strip_location=True)
    assert photo.media_type == "image/png"
    stored = store.read_attachment(photo.sha256)
    assert png_size(stored) == (120, 80)
    assert b"GPS latitude" not in stored and b"eXIf" not in stored

    as_taken = store.add_photo(taken, "house.png")
    assert store.read_attachment(as_taken.sha256) == taken, "nothing asked, nothing changed"
    with pytest.raises(minga.MingaError.InvalidArgument, match="photo"):
        store.add_photo(PHOTO, "not-a-photo.jpg", strip_location=True)


def test_an_unknown_attachment_is_missing_and_reading_it_is_not_found(store):
    unknown = "0" * 64
    assert store.attachment_state(unknown) == minga.AttachmentState.MISSING()
    with pytest.raises(minga.MingaError.NotFound):
        store.read_attachment(unknown)
    with pytest.raises(minga.MingaError.InvalidArgument):
        store.attachment_state("not a hash")


def test_a_content_past_the_limit_is_refused(store):
    store.set_attachment_limit(1000)
    with pytest.raises(minga.MingaError.InvalidArgument):
        store.add_attachment(PHOTO, "image/jpeg", "big.jpg")


def test_sync_carries_an_answered_photo_to_the_other_store(tmp_path, form):
    phone = minga.Store.open_unencrypted(str(tmp_path / "phone.minga"), "phone-1", "ana")
    tablet = minga.Store.open_unencrypted(str(tmp_path / "tablet.minga"), "tablet-1", "sara")
    attachment = phone.add_attachment(PHOTO, "image/jpeg", "street.jpg")
    sid = phone.create_submission(form)
    phone.set_answer(sid, path("photo"), minga.Value.ATTACHMENT(attachment=attachment))
    responder = tablet.responder(unenrolled=True)
    steps = []
    report = minga.sync_with(phone, responder.respond, "tablet-1", on_progress=steps.append, unenrolled=True)
    assert report.attachments_sent == 1
    assert report.attachment_bytes_sent == len(PHOTO)
    assert tablet.read_attachment(attachment.sha256) == PHOTO
    assert steps[-1].attachment_bytes_done == len(PHOTO)
    assert steps[-1].attachment_bytes_left == 0
    phone.close()
    tablet.close()


def answered_photo(store, form):
    """A new submission of `store` whose photo answers PHOTO; returns the attachment."""
    attachment = store.add_attachment(PHOTO, "image/jpeg", "street.jpg")
    sid = store.create_submission(form)
    store.set_answer(sid, path("photo"), minga.Value.ATTACHMENT(attachment=attachment))
    return attachment


def test_a_bundle_carries_an_answered_photo_to_the_other_store(tmp_path, form):
    phone = minga.Store.open_unencrypted(str(tmp_path / "phone.minga"), "phone-1", "ana")
    tablet = minga.Store.open_unencrypted(str(tmp_path / "tablet.minga"), "tablet-1", "sara")
    attachment = answered_photo(phone, form)
    keys = minga.generate_bundle_keys()
    bundle = phone.write_bundle("tablet-1", keys.public_key, minga.BundleScope.EVERYTHING)
    assert PHOTO[:64] not in bundle  # encrypted
    report = tablet.import_bundle(keys.secret_key, bundle)
    assert report.received == 1
    assert report.attachments_received == 1
    assert report.attachment_bytes_received == len(PHOTO)
    assert tablet.read_attachment(attachment.sha256) == PHOTO
    phone.close()
    tablet.close()


def test_a_bundle_file_streams_the_photo_and_a_small_limit_refuses_it(tmp_path, form):
    phone = minga.Store.open_unencrypted(str(tmp_path / "phone.minga"), "phone-1", "ana")
    tablet = minga.Store.open_unencrypted(str(tmp_path / "tablet.minga"), "tablet-1", "sara")
    strict = minga.Store.open_unencrypted(str(tmp_path / "strict.minga"), "tablet-1", "sara")
    attachment = answered_photo(phone, form)
    keys = minga.generate_bundle_keys()
    file = tmp_path / "for-tablet.minga-bundle"
    written = phone.write_bundle_file("tablet-1", keys.public_key, minga.BundleScope.MISSING, str(file))
    assert (written.sent, written.attachments_sent) == (1, 1)
    assert written.bytes_sent == file.stat().st_size

    report = tablet.import_bundle_file(keys.secret_key, str(file))
    assert report.attachments_received == 1
    assert tablet.attachment_state(attachment.sha256) == minga.AttachmentState.PRESENT(size=len(PHOTO))

    strict.set_attachment_limit(len(PHOTO) - 1)
    refused = strict.import_bundle_file(keys.secret_key, str(file))
    assert refused.received == 1, "the submission lands"
    assert refused.attachments_received == 0
    assert strict.attachment_state(attachment.sha256) == minga.AttachmentState.MISSING()
    with pytest.raises(minga.MingaError.Storage):
        tablet.import_bundle_file(keys.secret_key, str(tmp_path / "no-such-file"))
    for store in (phone, tablet, strict):
        store.close()
