//! Attachments through the Kotlin bindings against the real library: a photo attached from a
//! file, its state, read back whole, and carried by sync to another store.
package org.minga

import kotlinx.coroutines.runBlocking
import org.junit.jupiter.api.Assertions.assertArrayEquals
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.assertThrows
import org.junit.jupiter.api.io.TempDir
import org.minga.ffi.AttachmentState
import org.minga.ffi.MingaException
import org.minga.ffi.Store
import org.minga.ffi.Value
import java.io.File

class AttachmentTest {
    @TempDir
    lateinit var dir: File

    private val photo = ByteArray(400_000) { (it % 251).toByte() }

    @Test
    fun aPhotoAttachedFromAFileReadsBackWholeAndTravelsBySync() = runBlocking {
        val source = File(dir, "street.jpg").apply { writeBytes(photo) }
        MingaStore.open(File(dir, "phone.minga").path, KEY, "phone-1", "ana").use { phone ->
            val attachment = phone.io { addAttachmentFile(source.path, "image/jpeg") }
            assertEquals("street.jpg", attachment.fileName)
            assertEquals(AttachmentState.Present(photo.size.toULong()), phone.io { attachmentState(attachment.sha256) })
            assertArrayEquals(photo, phone.io { readAttachment(attachment.sha256) })

            val id = phone.io { createSubmission(SAFETY_WALK) }
            phone.io { setAnswer(id, at("photo"), Value.Attachment(attachment)) }
            MingaStore.open(File(dir, "office.minga").path, KEY, "tablet-1", "sara").use { office ->
                val responder = office.blocking.responder(true)
                val report = phone.syncWith("tablet-1", true) { request -> responder.respond(request) }
                assertEquals(1UL, report.attachmentsSent)
                val copy = File(dir, "copy.jpg")
                office.io { saveAttachment(attachment.sha256, copy.path) }
                assertArrayEquals(photo, copy.readBytes())
            }
        }
    }

    @Test
    fun anAttachmentNotHereIsMissingAndReadingItIsNotFound() {
        Store.open(File(dir, "phone.minga").path, KEY, "phone-1", "ana").use { phone ->
            val unknown = "0".repeat(64)
            assertEquals(AttachmentState.Missing, phone.attachmentState(unknown))
            assertThrows<MingaException.NotFound> { phone.readAttachment(unknown) }
        }
    }
}
