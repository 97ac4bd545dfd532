//! Sync between two stores over a link the app brings (a Kotlin lambda handing the bytes to the
//! other store's responder): the Flow of changes hears what arrives by sync, the Flow of sync
//! steps carries progress and the report, bundles travel encrypted, reviews reach the author;
//! a sync agent syncs over such a link by itself.
package org.minga

import kotlinx.coroutines.CoroutineStart
import kotlinx.coroutines.async
import kotlinx.coroutines.flow.filter
import kotlinx.coroutines.flow.filterIsInstance
import kotlinx.coroutines.flow.first
import kotlinx.coroutines.flow.toList
import kotlinx.coroutines.runBlocking
import kotlinx.coroutines.withTimeout
import kotlinx.coroutines.yield
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.assertThrows
import org.junit.jupiter.api.io.TempDir
import org.minga.ffi.AgentSchedule
import org.minga.ffi.BundleScope
import org.minga.ffi.DocKind
import org.minga.ffi.MingaException
import org.minga.ffi.ReviewState
import org.minga.ffi.Store
import org.minga.ffi.SyncEvent
import org.minga.ffi.SyncResponder
import org.minga.ffi.Value
import org.minga.ffi.generateBundleKeys
import java.io.File

class SyncTest {
    @TempDir
    lateinit var dir: File

    private fun store(name: String, device: String, user: String) =
        MingaStore(Store.openUnencrypted(File(dir, name).path, device, user))

    /** A facilitator's phone, a supervisor's tablet, and the tablet's responder. */
    private fun phoneAndTablet(): Triple<MingaStore, MingaStore, SyncResponder> {
        val tablet = store("tablet.minga", "tablet-1", "sara")
        return Triple(store("phone.minga", "phone-1", "ana"), tablet, tablet.blocking.responder(true))
    }

    @Test
    fun theFlowOfChangesHearsASyncedSubmission() = runBlocking {
        val (phone, tablet, responder) = phoneAndTablet()
        val id = phone.io { createSubmission(SAFETY_WALK) }
        phone.io { setAnswer(id, at("village"), Value.Text("San Rafael")) }

        val arriving = async(start = CoroutineStart.UNDISPATCHED) {
            tablet.changes().filter { e -> e.documents.any { it.bySync } }.first()
        }
        yield()
        val steps = phone.syncWithSteps("tablet-1", true) { responder.respond(it) }.toList()

        val report = (steps.last() as SyncStep.Done).report
        assertEquals(1uL, report.sent)
        assertTrue(steps.dropLast(1).isNotEmpty() && steps.dropLast(1).all { it is SyncStep.Progress })
        val event = withTimeout(10_000) { arriving.await() }
        assertEquals(listOf(Triple(id, DocKind.SUBMISSION, true)), event.documents.map { Triple(it.id, it.kind, it.bySync) })
        assertEquals(phone.io { answers(id) }, tablet.io { answers(id) })
        assertEquals(1uL, phone.syncWith("tablet-1", true) { responder.respond(it) }.roundTrips)
        phone.close()
        tablet.close()
    }

    @Test
    fun anAgentSyncsWithAPeerOverTheAppsLinkByItself() = runBlocking {
        val (phone, tablet, responder) = phoneAndTablet()
        var carried = 0
        val finished = async(start = CoroutineStart.UNDISPATCHED) {
            phone.syncEvents().filterIsInstance<SyncEvent.Finished>().first()
        }
        yield()
        val agent = phone.startPeerSyncAgent("tablet-1", AgentSchedule(afterChangeMs = 10uL)) {
            carried++
            responder.respond(it)
        }
        val id = phone.io { createSubmission(SAFETY_WALK) }
        phone.io { setAnswer(id, at("village"), Value.Text("Tumbaco")) }
        agent.networkAvailable(true)
        val event = withTimeout(60_000) { finished.await() }
        assertEquals("tablet-1", event.peer)
        assertEquals(1uL, event.report.sent)
        assertEquals(phone.io { answers(id) }, tablet.io { answers(id) })
        assertTrue(carried > 0, "the bytes went over the app's link")
        val status = agent.status()!!.peers.single()
        assertTrue(status.lastSuccessAgo != null && status.lastError == null, "$status")
        phone.io { agent.stop() }
        phone.close()
        tablet.close()
    }

    @Test
    fun aTransportErrorComesBackAsTheAppThrewIt() = runBlocking {
        val phone = store("p.minga", "phone-1", "ana")
        phone.io { createSubmission(SAFETY_WALK) }
        var attempts = 0
        assertThrows<MingaException.Network> {
            runBlocking { phone.syncWith("tablet-1", true) { attempts++; throw MingaException.Network("out of range") } }
        }
        assertEquals(4, attempts)
        assertThrows<MingaException.Unauthorized> {
            runBlocking { phone.syncWith("tablet-1", true) { throw MingaException.Unauthorized("unknown phone") } }
        }
        assertThrows<MingaException.Internal> {
            runBlocking { phone.syncWith("tablet-1", true) { throw IllegalStateException("a bug in the app") } }
        }
        assertThrows<MingaException.Network> {
            runBlocking { phone.syncWith("tablet-1", true) { ByteArray(64) { 7 } } }
        }
        phone.close()
    }

    @Test
    fun aBundleTravelsEncryptedAndImportsAsSynced() = runBlocking {
        val phone = store("a.minga", "phone-1", "ana")
        val tablet = store("b.minga", "tablet-1", "sara")
        val id = phone.io { createSubmission(SAFETY_WALK) }
        val keys = generateBundleKeys()
        val bundle = phone.io { writeBundle("tablet-1", keys.publicKey, BundleScope.EVERYTHING) }
        val report = tablet.io { importBundle(keys.secretKey, bundle) }
        assertEquals(1uL, report.received)
        assertEquals(id, tablet.io { submission(id) }.id)
        assertThrows<MingaException.InvalidArgument> {
            runBlocking { tablet.io { importBundle(generateBundleKeys().secretKey, bundle) } }
        }
        phone.close()
        tablet.close()
    }

    @Test
    fun aSupervisorsReviewReachesTheFacilitator() = runBlocking {
        val (phone, tablet, responder) = phoneAndTablet()
        val id = phone.io { createSubmission(SAFETY_WALK) }
        phone.syncWith("tablet-1", true) { responder.respond(it) }
        tablet.io {
            setReviewState(id, ReviewState.HAS_ISSUES)
            addReviewComment(id, "¿Qué barrio?", "village")
        }
        phone.syncWith("tablet-1", true) { responder.respond(it) }
        val review = phone.io { review(id) }!!
        assertEquals(ReviewState.HAS_ISSUES, review.state)
        assertEquals(listOf("village"), review.comments.map { it.question })
        assertEquals("sara", review.decidedBy)
        phone.close()
        tablet.close()
    }
}
