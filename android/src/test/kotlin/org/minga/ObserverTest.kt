//! The Flow of changes: it hears local edits and imported (synced) documents, and stops when
//! its collector is cancelled.
package org.minga

import kotlinx.coroutines.CoroutineStart
import kotlinx.coroutines.async
import kotlinx.coroutines.flow.take
import kotlinx.coroutines.flow.toList
import kotlinx.coroutines.runBlocking
import kotlinx.coroutines.withTimeout
import kotlinx.coroutines.yield
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.io.TempDir
import org.minga.ffi.ChangeEvent
import org.minga.ffi.ChangeObserver
import org.minga.ffi.Store
import org.minga.ffi.Value
import java.io.File
import java.util.concurrent.CopyOnWriteArrayList

class ObserverTest {
    @TempDir
    lateinit var dir: File

    @Test
    fun theFlowCarriesLocalAndImportedChanges() = runBlocking {
        val store = MingaStore.open(File(dir, "a.minga").path, KEY, "phone-1", "ana")
        val other = Store.openUnencrypted(File(dir, "b.minga").path, "phone-2", "luis")
        val arriving = other.createSubmission(SAFETY_WALK)

        val events = async(start = CoroutineStart.UNDISPATCHED) { store.changes().take(2).toList() }
        yield()
        val local = store.io { createSubmission(SAFETY_WALK) }
        store.io { importSubmission(other.exportSubmission(arriving)) }

        val received = withTimeout(10_000) { events.await() }
        assertEquals(listOf(listOf(local), listOf(arriving)), received.map { e -> e.documents.map { it.id } })
        store.close()
        other.close()
    }

    @Test
    fun aCancelledHandleHearsNothingMore() {
        Store.openUnencrypted(File(dir, "c.minga").path, "phone-1", "ana").use { store ->
            val seen = CopyOnWriteArrayList<ChangeEvent>()
            val handle = store.observe(object : ChangeObserver {
                override fun onChange(event: ChangeEvent) {
                    seen.add(event)
                }
            })
            val id = store.createSubmission(SAFETY_WALK)
            handle.cancel()
            store.setAnswer(id, at("q"), Value.Integer(1))
            assertEquals(1, seen.size)
            handle.close()
        }
    }

    @Test
    fun anObserverThatThrowsDoesNotFailTheChange() {
        Store.openUnencrypted(File(dir, "d.minga").path, "phone-1", "ana").use { store ->
            val handle = store.observe(object : ChangeObserver {
                override fun onChange(event: ChangeEvent) = throw IllegalStateException("the UI crashed")
            })
            val id = store.createSubmission(SAFETY_WALK)
            assertEquals(id, store.submission(id).id)
            handle.cancel()
        }
    }
}
