//! Sync with a real `minga-hub` process: the supervisor's command line creates a project,
//! publishes a built-in form and prints enrolment codes; a phone enrols and syncs a submission
//! up, a supervisor's store pulls it and its Flow of changes hears it; a revoked phone is told
//! to wipe; a sync agent syncs by itself and its status says what it is doing.
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
import org.junit.jupiter.api.AfterAll
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertFalse
import org.junit.jupiter.api.Assertions.assertNotNull
import org.junit.jupiter.api.Assertions.assertNull
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.BeforeAll
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.TestInstance
import org.junit.jupiter.api.assertThrows
import org.junit.jupiter.api.io.TempDir
import org.minga.ffi.AgentSchedule
import org.minga.ffi.AnswerPath
import org.minga.ffi.DocKind
import org.minga.ffi.EnrolmentLink
import org.minga.ffi.HubCredentials
import org.minga.ffi.MingaException
import org.minga.ffi.Role
import org.minga.ffi.Store
import org.minga.ffi.SyncEvent
import org.minga.ffi.SyncFailure
import org.minga.ffi.Value
import org.minga.ffi.builtinFormWorkbooks
import org.minga.ffi.builtinForms
import org.minga.ffi.enrolmentLinkUri
import org.minga.ffi.parseEnrolmentLink
import java.io.File
import java.nio.file.Files
import java.time.Duration
import java.util.concurrent.TimeUnit

/** A `minga-hub` process over a data folder: its command line, and `serve` on a free port. */
class HubProcess(private val data: File) : AutoCloseable {
    private val binary = System.getProperty("minga.hub")?.takeIf { it.isNotEmpty() && File(it).canExecute() }
        ?: error("no minga-hub binary: run scripts/build-bindings and set MINGA_HUB_BIN")
    private var server: Process? = null
    lateinit var url: String

    fun admin(vararg args: String): String {
        val process = ProcessBuilder(binary, "--data", data.path, *args).redirectErrorStream(true).start()
        val printed = process.inputStream.bufferedReader().readText()
        check(process.waitFor(60, TimeUnit.SECONDS) && process.exitValue() == 0) { "${args.toList()}: $printed" }
        return printed
    }

    fun enrolmentCode(project: String, role: String, name: String): String =
        admin("device", "enrol", "--project", project, "--role", role, "--name", name)
            .lines().first { it.startsWith("Enrolment code") }.substringAfter(": ").trim()

    fun start() {
        val builder = ProcessBuilder(binary, "--data", data.path, "serve", "--listen", "127.0.0.1:0")
        builder.environment()["RUST_LOG"] = "info"
        val process = builder.start()
        server = process
        val log = process.errorStream.bufferedReader()
        val listening = generateSequence { log.readLine() }.first { "addr=" in it }
        url = "http://" + listening.substringAfter("addr=").substringBefore(' ')
        // Keep reading its log, so that a full pipe never blocks the hub.
        Thread { runCatching { log.forEachLine { } } }.apply { isDaemon = true }.start()
    }

    override fun close() {
        server?.let { it.destroy(); it.waitFor(20, TimeUnit.SECONDS) }
    }
}

@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class HubSyncTest {
    @TempDir
    lateinit var dir: File
    private lateinit var hub: HubProcess
    private val dialogue by lazy { builtinForms().first { it.id() == "minga_stakeholder_dialogue" } }

    @BeforeAll
    fun startHub() {
        val data = Files.createTempDirectory("minga-hub").toFile()
        hub = HubProcess(data)
        hub.admin("project", "create", "imbabura")
        val workbook = builtinFormWorkbooks().first { it.formId == "minga_stakeholder_dialogue" }
        val form = File(data, workbook.fileName).apply { writeBytes(workbook.xlsx) }
        hub.admin("form", "publish", form.path, "--project", "imbabura")
        hub.start()
    }

    @AfterAll
    fun stopHub() = hub.close()

    private fun store(name: String) = MingaStore(Store.openUnencrypted(File(dir, "$name.minga").path, "$name-phone", name))

    @Test
    fun aSubmissionGoesUpFromAPhoneAndDownToASupervisor() = runBlocking {
        val ana = enrol(hub.url, hub.enrolmentCode("imbabura", "facilitator", "ana"))
        assertEquals(Role.FACILITATOR, ana.role)
        val phone = store("ana")
        val id = phone.io { createSubmission(dialogue.formRef()) }
        val where = AnswerPath(name = "convening_institution")
        phone.io { setAnswer(id, where, Value.Text("GAD de Ibarra")) }
        val steps = phone.syncHttpSteps(ana).toList()
        assertEquals(1uL, (steps.last() as SyncStep.Done).report.sent)
        assertTrue(steps.first() is SyncStep.Progress)
        assertTrue(id in hub.admin("submissions", "list", "--project", "imbabura"))
        val listed = phone.io { forms() }.map { it.formId to it.version }
        assertTrue(dialogue.id() to dialogue.version() in listed, "the hub's form reached the phone: $listed")

        val sara = enrol(hub.url, hub.enrolmentCode("imbabura", "supervisor", "sara"))
        val tablet = store("sara")
        val arriving = async(start = CoroutineStart.UNDISPATCHED) {
            tablet.changes().filter { e -> e.documents.any { it.id == id } }.first()
        }
        yield()
        assertTrue(tablet.syncHttp(sara).received >= 1uL)
        val event = withTimeout(10_000) { arriving.await() }
        assertEquals(listOf(DocKind.SUBMISSION to true), event.documents.filter { it.id == id }.map { it.kind to it.bySync })
        assertEquals(phone.io { answers(id) }, tablet.io { answers(id) })
        phone.close()
        tablet.close()
    }

    @Test
    fun aRevokedPhoneIsToldToWipeAndAUsedCodeIsRefused() = runBlocking {
        val code = hub.enrolmentCode("imbabura", "facilitator", "luis")
        val luis = enrol(hub.url, code)
        assertThrows<MingaException.Unauthorized> { runBlocking { enrol(hub.url, code) } }
        val phone = store("luis")
        phone.io { createSubmission(dialogue.formRef()) }
        phone.syncHttp(luis)
        hub.admin("device", "revoke", luis.deviceId)
        assertThrows<MingaException.Revoked> { runBlocking { phone.syncHttp(luis) } }
        assertThrows<MingaException.Unauthorized> { runBlocking { phone.syncHttp(luis.copy(token = "0".repeat(64))) } }
        phone.close()
    }

    @Test
    fun anEnrolledStoreSignsWithTheHubsDeviceIdAndItsCredentialsSaveWithoutShowingTheToken() = runBlocking {
        val phone = store("rosa")
        val link = enrolmentLinkUri(EnrolmentLink(hubUrl = hub.url, code = hub.enrolmentCode("imbabura", "facilitator", "rosa")))
        val scanned = parseEnrolmentLink(link)
        val rosa = phone.enrol(scanned.hubUrl!!, scanned.code)
        assertEquals(rosa.deviceId, phone.io { identity() }.deviceId)
        val id = phone.io { createSubmission(dialogue.formRef()) }
        assertEquals(rosa.deviceId, phone.io { submission(id) }.deviceId)
        assertFalse(rosa.token in rosa.toString(), rosa.toString())
        assertEquals(rosa, HubCredentials.fromJson(rosa.toJson()))
        assertEquals(1uL, phone.syncHttp(HubCredentials.fromJson(rosa.toJson())).sent)
        phone.close()
    }

    @Test
    fun theSyncAgentSyncsByItselfAndItsEventsArriveAsAFlow() = runBlocking {
        val pia = enrol(hub.url, hub.enrolmentCode("imbabura", "facilitator", "pia"))
        val phone = store("pia")
        val finished = async(start = CoroutineStart.UNDISPATCHED) {
            phone.syncEvents().filterIsInstance<SyncEvent.Finished>().first()
        }
        yield()
        val agent = phone.blocking.startSyncAgent(pia, AgentSchedule(afterChangeMs = 10uL))
        val id = phone.io { createSubmission(dialogue.formRef()) }
        agent.networkAvailable(true)
        val event = withTimeout(60_000) { finished.await() }
        assertEquals(pia.hubId, event.peer)
        assertEquals(1uL, event.report.sent)
        assertTrue(id in hub.admin("submissions", "list", "--project", "imbabura"))
        phone.io { agent.stop() }
        assertTrue(agent.isStopped())
        phone.close()
    }

    @Test
    fun theAgentStatusSaysOfflineThenWhenItSyncedThenWhyItFails() = runBlocking {
        val rosa = enrol(hub.url, hub.enrolmentCode("imbabura", "facilitator", "rosa"))
        val phone = store("rosa")
        val slow = AgentSchedule(600_000uL, 600_000uL, 600_000uL, 600_000uL)
        val soon = Duration.ZERO..Duration.ofMinutes(10)
        val finished = async(start = CoroutineStart.UNDISPATCHED) {
            phone.syncEvents().filterIsInstance<SyncEvent.Finished>().first()
        }
        yield()
        val agent = phone.blocking.startSyncAgent(rosa, slow)
        phone.io { createSubmission(dialogue.formRef()) }
        val offline = agent.status()!!
        assertFalse(offline.networkAvailable)
        val waiting = offline.peers.single()
        assertEquals(rosa.hubId, waiting.peer)
        assertTrue(waiting.changesWaiting && !waiting.syncing)
        assertEquals(listOf(null, null, null), listOf(waiting.lastAttemptAgo, waiting.lastSuccessAgo, waiting.nextAttemptIn))

        agent.networkAvailable(true)
        assertEquals(1uL, withTimeout(60_000) { finished.await() }.report.sent)
        val synced = agent.status()!!.peers.single()
        assertNotNull(synced.lastSuccessAgo)
        assertNull(synced.lastError)
        assertFalse(synced.changesWaiting)
        assertTrue(synced.nextAttemptIn!! in soon, "${synced.nextAttemptIn}")
        phone.io { agent.stop() }
        assertNull(agent.status())

        val failed = async(start = CoroutineStart.UNDISPATCHED) {
            phone.syncEvents().filterIsInstance<SyncEvent.Failed>().first()
        }
        yield()
        val forged = phone.blocking.startSyncAgent(rosa.copy(token = "0".repeat(64)), slow)
        forged.networkAvailable(true)
        withTimeout(60_000) { failed.await() }
        val failing = forged.status()!!.peers.single()
        val error = failing.lastError as SyncFailure.Network
        assertFalse(error.retryable)
        assertTrue("401" in error.message, error.message)
        assertEquals(1u, failing.failures)
        assertTrue(failing.nextAttemptIn!! in soon && failing.nextAttemptIn!! > Duration.ZERO, "the retry waits")
        phone.io { forged.stop() }
        phone.close()
    }

    @Test
    fun theReadmeHubExampleRuns() = runBlocking {
        val scanned = enrolmentLinkUri(EnrolmentLink(hub.url, hub.enrolmentCode("imbabura", "facilitator", "readme")))
        val key = ByteArray(32) { 3 }
        val filesDir = dir
        // README-hub:start
        val link = parseEnrolmentLink(scanned) // the QR code `minga-hub device enrol --hub-url` drew
        val phone = MingaStore.open(File(filesDir, "phone.minga").path, key, deviceId = "phone-1", userName = "ana")
        val credentials = phone.enrol(link.hubUrl!!, link.code) // the store now signs as the enrolled device
        val saved = credentials.toJson() // keep it in the Android Keystore; toString() hides the token
        phone.syncHttpSteps(HubCredentials.fromJson(saved)).collect { step ->
            when (step) {
                is SyncStep.Progress -> println("done: ${step.progress.docsDone}")
                is SyncStep.Done -> println("sent ${step.report.sent}, received ${step.report.received}")
            }
        }
        phone.close()
        // README-hub:end
        assertEquals(Role.FACILITATOR, credentials.role)
        assertEquals(credentials.deviceId, MingaStore.open(File(filesDir, "phone.minga").path, key, "phone-1", "ana").use { it.io { identity() }.deviceId })
    }
}
