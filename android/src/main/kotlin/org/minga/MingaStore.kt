//! Idiomatic Kotlin over the generated bindings (package org.minga.ffi): a store whose calls
//! run on an I/O dispatcher, its changes as a Flow, and sync (with a hub, with a peer over the
//! app's own link) as suspend calls or as a Flow of progress ending in the report, or by itself
//! with a sync agent.
package org.minga

import kotlinx.coroutines.CoroutineDispatcher
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.channels.Channel
import kotlinx.coroutines.channels.awaitClose
import kotlinx.coroutines.channels.trySendBlocking
import kotlinx.coroutines.flow.Flow
import kotlinx.coroutines.flow.buffer
import kotlinx.coroutines.flow.callbackFlow
import kotlinx.coroutines.flow.channelFlow
import kotlinx.coroutines.withContext
import org.minga.ffi.AgentSchedule
import org.minga.ffi.ChangeEvent
import org.minga.ffi.ChangeObserver
import org.minga.ffi.HttpSettings
import org.minga.ffi.HubCredentials
import org.minga.ffi.ObserverHandle
import org.minga.ffi.Store
import org.minga.ffi.SyncEvent
import org.minga.ffi.SyncAgent
import org.minga.ffi.SyncEventObserver
import org.minga.ffi.SyncProgress
import org.minga.ffi.SyncProgressListener
import org.minga.ffi.SyncReport
import org.minga.ffi.SyncTransport

/**
 * An open Minga store for coroutine code. Every call into the library blocks on SQLite (an
 * answer is durable when the call returns) or on the network, so [io] runs it on
 * [dispatcher], never on the main thread. Errors arrive as subclasses of
 * `org.minga.ffi.MingaException`.
 *
 * ```
 * val store = MingaStore.open(path, key, deviceId = "phone-1", userName = "ana")
 * val id = store.io { createSubmission(FormRef("safety_walk", "1")) }
 * ```
 */
class MingaStore(
    /** The generated object, for calls made from a thread that may block. */
    val blocking: Store,
    private val dispatcher: CoroutineDispatcher = Dispatchers.IO,
) : AutoCloseable {

    /** Runs [call] against the store on the I/O dispatcher. */
    suspend fun <T> io(call: Store.() -> T): T = withContext(dispatcher) { blocking.call() }

    /**
     * Every change to the store (edits here, and changes arriving by sync: see
     * `ChangedDocument.bySync`) as a cold Flow: collecting registers an observer, cancelling the
     * collection unregisters it. Events are buffered without limit so that the library's
     * thread never waits for a slow collector.
     */
    fun changes(): Flow<ChangeEvent> = observed { emit ->
        blocking.observe(object : ChangeObserver {
            override fun onChange(event: ChangeEvent) = emit(event)
        })
    }

    /**
     * Every event of the syncs a sync agent (`blocking.startSyncAgent(hub, null)`) runs on this
     * store, as a cold Flow: started, progress, finished, refused (the hub refused some of this
     * device's own work: tell the user), failed (with when it retries),
     * revoked (the store was wiped). Collecting registers an observer; cancelling unregisters.
     */
    fun syncEvents(): Flow<SyncEvent> = observed { emit ->
        blocking.observeSync(object : SyncEventObserver {
            override fun onSyncEvent(event: SyncEvent) = emit(event)
        })
    }

    /**
     * Syncs with the hub of [hub] (from [enrol]); `MingaException.Unauthorized` means enrol
     * again, `Revoked` wipe the local copy, `Network` try later (what arrived is kept).
     */
    suspend fun syncHttp(hub: HubCredentials, settings: HttpSettings? = null): SyncReport =
        io { syncHttp(hub, settings, null) }

    /** The same sync as [syncHttp], as a Flow: [SyncStep.Progress] after every round trip,
     *  then one [SyncStep.Done]. Collecting starts the sync; an error ends the Flow with it. */
    fun syncHttpSteps(hub: HubCredentials, settings: HttpSettings? = null): Flow<SyncStep> =
        steps { listener -> blocking.syncHttp(hub, settings, listener) }

    /**
     * Syncs with [peer] (its device id) over the app's own link: [exchange] carries one request
     * to the peer's `responder()` and returns its reply, blocking (it runs on the I/O
     * dispatcher). Throw `MingaException.Network` for what may pass when sent again. Both
     * stores, enrolled, first prove their credentials to each other and each gets what the hub
     * would give it; with [unenrolled] (and `responder(true)` on the other side) no store
     * proves anything and every document goes both ways.
     */
    suspend fun syncWith(
        peer: String,
        unenrolled: Boolean = false,
        exchange: (ByteArray) -> ByteArray,
    ): SyncReport = io { syncWith(transport(exchange), peer, null, unenrolled) }

    /** [syncWith] as a Flow of [SyncStep]s. */
    fun syncWithSteps(
        peer: String,
        unenrolled: Boolean = false,
        exchange: (ByteArray) -> ByteArray,
    ): Flow<SyncStep> =
        steps { listener -> blocking.syncWith(transport(exchange), peer, listener, unenrolled) }

    /**
     * Starts a sync agent that keeps this store in sync with [peer] (its device id) by itself
     * over the app's own link: [exchange] carries one request to the peer's `responder()` and
     * returns its reply, on the agent's thread. Hear it with [syncEvents]; `status()` on the
     * agent says what it is doing, `stop()` (off the main thread) ends it.
     */
    fun startPeerSyncAgent(
        peer: String,
        schedule: AgentSchedule? = null,
        exchange: (ByteArray) -> ByteArray,
    ): SyncAgent = blocking.startPeerSyncAgent(peer, transport(exchange), schedule)

    /**
     * Enrols this store with the hub at [hubUrl] with the one-time [code] (from the QR code:
     * `parseEnrolmentLink`): every later change is signed with the device id the hub gave, now
     * and whenever the store is opened again. Keep the credentials (`toJson()`) in the Android
     * Keystore; their `toString()` hides the token.
     */
    suspend fun enrol(hubUrl: String, code: String): HubCredentials = io { enrol(hubUrl, code) }

    /**
     * Closes the store; later calls fail with `MingaException.Closed`. Its observers are
     * unregistered and its sync agents stopped: it waits for their threads (a sync in flight
     * ends at its next round trip), so call it off the main thread when an agent may be syncing.
     */
    override fun close() {
        blocking.closeStore()
    }

    /** A cold Flow of what an observer hears: [register] registers one that calls `emit`;
     *  cancelling the collection cancels its handle. Buffered without limit, so that the
     *  library's thread never waits for a slow collector. */
    private fun <T> observed(register: (emit: (T) -> Unit) -> ObserverHandle): Flow<T> = callbackFlow {
        val handle = register { trySendBlocking(it) }
        awaitClose {
            handle.cancel()
            handle.close()
        }
    }.buffer(Channel.UNLIMITED)

    /** Runs [sync] on the dispatcher, sending its progress and then its report. */
    private fun steps(sync: (SyncProgressListener) -> SyncReport): Flow<SyncStep> = channelFlow {
        val listener = object : SyncProgressListener {
            override fun onProgress(progress: SyncProgress) {
                trySendBlocking(SyncStep.Progress(progress))
            }
        }
        val report = withContext(dispatcher) { sync(listener) }
        send(SyncStep.Done(report))
    }.buffer(Channel.UNLIMITED)

    companion object {
        /** Opens (or creates) the encrypted store at [path] with a 32-byte [key]. */
        suspend fun open(
            path: String,
            key: ByteArray,
            deviceId: String,
            userName: String,
            dispatcher: CoroutineDispatcher = Dispatchers.IO,
        ): MingaStore = withContext(dispatcher) {
            MingaStore(Store.open(path, key, deviceId, userName), dispatcher)
        }
    }
}

/** One step of a sync seen as a Flow: progress after each round trip, then the report. */
sealed interface SyncStep {
    data class Progress(val progress: SyncProgress) : SyncStep
    data class Done(val report: SyncReport) : SyncStep
}

/**
 * Trades the one-time enrolment [code] a supervisor printed for this device's credentials at
 * the hub [hubUrl]. Keep the result (its token in the Android Keystore): [MingaStore.syncHttp]
 * takes it.
 */
suspend fun enrol(hubUrl: String, code: String, dispatcher: CoroutineDispatcher = Dispatchers.IO): HubCredentials =
    withContext(dispatcher) { org.minga.ffi.enrol(hubUrl, code) }

/** Reads credentials saved with `toJson()`; `MingaException.InvalidArgument` names what is wrong. */
fun HubCredentials.Companion.fromJson(json: String): HubCredentials = org.minga.ffi.hubCredentialsFromJson(json)

private fun transport(carry: (ByteArray) -> ByteArray) = object : SyncTransport {
    override fun exchange(request: ByteArray): ByteArray = carry(request)
}
