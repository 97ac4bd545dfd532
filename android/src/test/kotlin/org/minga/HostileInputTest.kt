//! Hostile input from Kotlin: bad ids, huge strings, closed stores, many threads (editing, and
//! syncing and reviewing at once). Every call gets a typed MingaException and the JVM never
//! sees a crash.
package org.minga

import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.assertThrows
import org.junit.jupiter.api.io.TempDir
import org.minga.ffi.Answer
import org.minga.ffi.BundleScope
import org.minga.ffi.ExportFormat
import org.minga.ffi.FormRef
import org.minga.ffi.GeoPoint
import org.minga.ffi.HubCredentials
import org.minga.ffi.MingaException
import org.minga.ffi.ReviewState
import org.minga.ffi.Role
import org.minga.ffi.Store
import org.minga.ffi.SubmissionFilter
import org.minga.ffi.SyncTransport
import org.minga.ffi.Value
import org.minga.ffi.enrol
import org.minga.ffi.generateBundleKeys
import java.io.File
import java.util.concurrent.Callable
import java.util.concurrent.Executors
import java.util.concurrent.TimeUnit

class HostileInputTest {
    @TempDir
    lateinit var dir: File

    private fun open() = Store.open(File(dir, "h.minga").path, KEY, "phone-1", "ana")

    @Test
    fun malformedAndUnknownIds() {
        open().use { store ->
            for (bad in listOf("", "not-a-uuid", "../../etc/passwd", "\u0000", "🙂".repeat(1000))) {
                assertThrows<MingaException.InvalidArgument> { store.submission(bad) }
                assertThrows<MingaException.InvalidArgument> { store.setAnswer(bad, at("q"), Value.Integer(1)) }
            }
            assertThrows<MingaException.NotFound> { store.submission("0190c2a4-8a7e-7c3b-9f1e-2a3b4c5d6e7f") }
        }
    }

    @Test
    fun hugeStringsAndGarbageBytes() {
        open().use { store ->
            val id = store.createSubmission(SAFETY_WALK)
            val huge = "x".repeat(8 * 1024 * 1024)
            store.setAnswer(id, at("essay"), Value.Text(huge))
            val stored = (store.answers(id).fields["essay"] as Answer.Value).value as Value.Text
            assertEquals(huge.length, stored.text.length)
            assertThrows<MingaException.InvalidArgument> { store.importSubmission(ByteArray(5000) { it.toByte() }) }
            assertThrows<MingaException.InvalidArgument> { store.createSubmission(FormRef("", "1")) }
            assertEquals(listOf("ok"), store.integrityCheck())
        }
    }

    @Test
    fun aPointOffTheGlobeIsAnInvalidAnswerNamingTheQuestion() {
        open().use { store ->
            val id = store.createSubmission(SAFETY_WALK)
            val here = Value.GeoPoint(GeoPoint(0.35, -78.12, 2800.0, 4.0))
            store.setAnswer(id, at("where"), here)
            val impossible = listOf(
                GeoPoint(1000.0, 0.0, null, null) to "latitude 1000",
                GeoPoint(0.0, -500.0, null, null) to "longitude -500",
                GeoPoint(Double.NaN, 0.0, null, null) to "latitude NaN",
                GeoPoint(0.0, 0.0, null, -1.0) to "accuracy -1",
            )
            for ((point, named) in impossible) {
                val refused = assertThrows<MingaException.InvalidAnswer> {
                    store.setAnswer(id, at("where"), Value.GeoPoint(point))
                }
                assertEquals("where", refused.question)
                assertTrue(named in refused.reason, refused.reason)
            }
            assertEquals(Answer.Value(here), store.answers(id).fields["where"])
        }
    }

    @Test
    fun aClosedStoreRefusesEveryCall() {
        val store = open()
        val id = store.createSubmission(SAFETY_WALK)
        store.closeStore()
        store.closeStore()
        assertTrue(store.isClosed())
        assertThrows<MingaException.Closed> { store.submission(id) }
        assertThrows<MingaException.Closed> { store.createSubmission(SAFETY_WALK) }
        assertThrows<MingaException.Closed> { store.listSubmissions(SubmissionFilter(), null, 1u) }
        assertThrows<MingaException.Closed> { store.setAnswer(id, at("q"), Value.Integer(1)) }
    }

    @Test
    fun manyThreadsAtOnce() {
        open().use { store ->
            val shared = store.createSubmission(SAFETY_WALK)
            val pool = Executors.newFixedThreadPool(8)
            val jobs = (0 until 8).map { n ->
                Callable {
                    val own = store.createSubmission(SAFETY_WALK)
                    repeat(20) { i ->
                        store.setAnswer(own, at("count"), Value.Integer(i.toLong()))
                        store.setAnswer(shared, at("from_$n"), Value.Integer(i.toLong()))
                        store.listSubmissions(SubmissionFilter(), null, 5u)
                    }
                    assertThrows<MingaException.InvalidArgument> { store.submission("bad id") }
                }
            }
            pool.invokeAll(jobs).forEach { it.get() }
            pool.shutdown()
            assertTrue(pool.awaitTermination(10, TimeUnit.SECONDS))
            val fields = store.answers(shared).fields
            (0 until 8).forEach { n -> assertEquals(Value.Integer(19), (fields["from_$n"] as Answer.Value).value) }
            assertEquals(9, store.listSubmissions(SubmissionFilter(), null, 100u).items.size)
        }
    }

    @Test
    fun syncReviewAndBundleCallsOnAClosedStoreAreClosed() {
        val store = open()
        val id = store.createSubmission(SAFETY_WALK)
        val responder = store.responder(true)
        val keys = generateBundleKeys()
        store.closeStore()
        val link = object : SyncTransport {
            override fun exchange(request: ByteArray) = ByteArray(0)
        }
        assertThrows<MingaException.Closed> { store.syncWith(link, "tablet-1", null, true) }
        assertThrows<MingaException.Closed> { store.responder(true) }
        assertThrows<MingaException.Closed> { responder.respond(ByteArray(3)) }
        assertThrows<MingaException.Closed> { store.writeBundle("tablet-1", keys.publicKey, BundleScope.EVERYTHING) }
        assertThrows<MingaException.Closed> { store.importBundle(keys.secretKey, ByteArray(3)) }
        assertThrows<MingaException.Closed> { store.review(id) }
        assertThrows<MingaException.Closed> { store.setReviewState(id, ReviewState.APPROVED) }
        assertThrows<MingaException.Closed> { store.addReviewComment(id, "x", null) }
        val hub = HubCredentials("http://127.0.0.1:9", "p", "d", Role.FACILITATOR, "t", "h")
        assertThrows<MingaException.Closed> { store.startSyncAgent(hub, null) }
        assertThrows<MingaException.Closed> { store.forms() }
        assertThrows<MingaException.Closed> { store.export(listOf(), ExportFormat.CSV, dir.path, null, null) }
    }

    @Test
    fun malformedIdsAndAddressesInTheNewCalls() {
        open().use { store ->
            for (bad in listOf("", "not-a-uuid", "\u0000", "🙂".repeat(1000))) {
                assertThrows<MingaException.InvalidArgument> { store.review(bad) }
                assertThrows<MingaException.InvalidArgument> { store.setReviewState(bad, ReviewState.REJECTED) }
                assertThrows<MingaException.InvalidArgument> { enrol(bad, "ABCD-EFGH-JKMN") }
                val hub = HubCredentials(bad, "p", "d", Role.FACILITATOR, "t", "h")
                assertThrows<MingaException.InvalidArgument> { store.syncHttp(hub, null, null) }
            }
            assertThrows<MingaException.InvalidArgument> { store.importBundle("not a key", ByteArray(10)) }
            assertThrows<MingaException.InvalidArgument> { store.writeBundle("tablet-1", "age1nope", BundleScope.MISSING) }
        }
    }

    @Test
    fun manyPhonesSyncWithOneTabletAtOnce() {
        Store.openUnencrypted(File(dir, "tablet.minga").path, "tablet-1", "sara").use { tablet ->
            val pool = Executors.newFixedThreadPool(6)
            val jobs = (0 until 6).map { n ->
                Callable {
                    Store.openUnencrypted(File(dir, "p$n.minga").path, "phone-$n", "ana").use { phone ->
                        val id = phone.createSubmission(SAFETY_WALK)
                        val responder = tablet.responder(true)
                        val link = object : SyncTransport {
                            override fun exchange(request: ByteArray) = responder.respond(request)
                        }
                        repeat(3) {
                            phone.syncWith(link, "tablet-1", null, true)
                            tablet.setReviewState(id, ReviewState.HAS_ISSUES)
                        }
                        phone.syncWith(link, "tablet-1", null, true)
                        assertEquals(ReviewState.HAS_ISSUES, phone.review(id)?.state)
                    }
                }
            }
            pool.invokeAll(jobs).forEach { it.get() }
            pool.shutdown()
            assertTrue(pool.awaitTermination(10, TimeUnit.SECONDS))
            assertEquals(6, tablet.listSubmissions(SubmissionFilter(), null, 100u).items.size)
            assertEquals(listOf("ok"), tablet.integrityCheck())
        }
    }
}
