//! Idiomatic Kotlin over the generated bindings (package org.minga.ffi): a store whose calls
//! run on an I/O dispatcher, and its changes as a Flow.
package org.minga

import kotlinx.coroutines.CoroutineDispatcher
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.channels.Channel
import kotlinx.coroutines.channels.awaitClose
import kotlinx.coroutines.channels.trySendBlocking
import kotlinx.coroutines.flow.Flow
import kotlinx.coroutines.flow.buffer
import kotlinx.coroutines.flow.callbackFlow
import kotlinx.coroutines.withContext
import org.minga.ffi.ChangeEvent
import org.minga.ffi.ChangeObserver
import org.minga.ffi.Store

/**
 * An open Minga store for coroutine code. Every call into the library blocks on SQLite (an
 * answer is durable when the call returns), so [io] runs it on [dispatcher], never on the
 * main thread. Errors arrive as subclasses of `org.minga.ffi.MingaException`.
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
     * Every change to the store (edits here, and changes arriving by sync) as a cold Flow:
     * collecting registers an observer, cancelling the collection unregisters it. Events are
     * buffered without limit so that the library's thread never waits for a slow collector.
     */
    fun changes(): Flow<ChangeEvent> = callbackFlow {
        val handle = blocking.observe(object : ChangeObserver {
            override fun onChange(event: ChangeEvent) {
                trySendBlocking(event)
            }
        })
        awaitClose {
            handle.cancel()
            handle.close()
        }
    }.buffer(Channel.UNLIMITED)

    /** Closes the store; later calls fail with `MingaException.Closed`. */
    override fun close() {
        blocking.closeStore()
    }

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
