//! Closing a store whose sync agent is running, then exiting: in every order an app may do it,
//! a JVM exits cleanly (status 0, no abort, no hang), each one a child JVM against a real hub.
package org.minga

import org.junit.jupiter.api.AfterAll
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertFalse
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.BeforeAll
import org.junit.jupiter.api.TestInstance
import org.junit.jupiter.api.io.TempDir
import org.junit.jupiter.params.ParameterizedTest
import org.junit.jupiter.params.provider.ValueSource
import org.minga.ffi.FormRef
import org.minga.ffi.Store
import org.minga.ffi.SyncEvent
import org.minga.ffi.SyncEventObserver
import org.minga.ffi.enrol
import java.io.File
import java.nio.file.Files
import java.util.concurrent.CountDownLatch
import java.util.concurrent.TimeUnit

/**
 * A phone app's last moments, run as its own JVM by [CloseTest]: enrols, starts a sync agent
 * with a sync observer and the network up, waits until the agent's thread is inside the
 * observer (which runs for a second), then ends in the order `args[3]` names and returns.
 */
object AgentAtExit {
    @JvmStatic
    fun main(args: Array<String>) {
        val (hubUrl, code, path, order) = args
        val phone = Store.openUnencrypted(path, "phone-1", "ana")
        phone.createSubmission(FormRef("minga_stakeholder_dialogue", "1", null))
        val inObserver = CountDownLatch(1)
        val handle = phone.observeSync(object : SyncEventObserver {
            override fun onSyncEvent(event: SyncEvent) {
                if (inObserver.count == 0L) return
                inObserver.countDown()
                val deadline = System.nanoTime() + 1_000_000_000L
                while (System.nanoTime() < deadline) Thread.onSpinWait()
            }
        })
        val agent = phone.startSyncAgent(enrol(hubUrl, code), null)
        agent.networkAvailable(true)
        check(inObserver.await(60, TimeUnit.SECONDS)) { "the agent never called its observer" }
        when (order) {
            "close" -> phone.closeStore()
            "close-then-stop" -> { phone.closeStore(); agent.stop() }
            "stop-then-close" -> { agent.stop(); phone.closeStore() }
            "close-twice" -> { phone.closeStore(); phone.closeStore() }
            "cancel-then-close" -> { handle.cancel(); phone.closeStore() }
            "exit-without-close" -> {}
            else -> error("unknown order $order")
        }
        println("done $order")
    }
}

@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class CloseTest {
    @TempDir
    lateinit var dir: File
    private lateinit var hub: HubProcess

    @BeforeAll
    fun startHub() {
        hub = HubProcess(Files.createTempDirectory("minga-hub").toFile())
        hub.admin("project", "create", "imbabura")
        hub.start()
    }

    @AfterAll
    fun stopHub() = hub.close()

    @ParameterizedTest
    @ValueSource(strings = ["close", "close-then-stop", "stop-then-close", "close-twice", "cancel-then-close", "exit-without-close"])
    fun aStoreWithARunningAgentClosesAndTheJvmExitsCleanly(order: String) {
        val code = hub.enrolmentCode("imbabura", "facilitator", "ana-$order")
        val java = File(System.getProperty("java.home"), "bin/java").path
        val child = ProcessBuilder(
            java, "-cp", System.getProperty("java.class.path"),
            "-Djna.library.path=${System.getProperty("jna.library.path")}",
            AgentAtExit::class.java.name, hub.url, code, File(dir, "$order.minga").path, order,
        ).redirectErrorStream(true).redirectOutput(File(dir, "$order.log")).start()
        val exited = child.waitFor(120, TimeUnit.SECONDS)
        val printed = File(dir, "$order.log").readText()
        if (!exited) child.destroyForcibly()
        assertTrue(exited, "the JVM did not exit: $printed")
        assertFalse("FATAL" in printed, printed)
        assertEquals(0, child.exitValue(), printed)
        assertEquals("done $order", printed.trim())
    }
}
