//! A form session opened from the store stores each step itself: the defaults and counted
//! instances of a JSON form when the submission starts, an answer together with the instances
//! its count adds or removes as one change, a reopened submission as stored.
package org.minga

import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.assertThrows
import org.junit.jupiter.api.io.TempDir
import org.minga.ffi.Answer
import org.minga.ffi.AnswerPath
import org.minga.ffi.ChangeEvent
import org.minga.ffi.ChangeObserver
import org.minga.ffi.Context
import org.minga.ffi.MingaException
import org.minga.ffi.Store
import org.minga.ffi.Value
import org.minga.ffi.formFromJson
import java.io.File
import java.time.OffsetDateTime

/** A count defaulting to 2, a village defaulting to Tumbaco, and a repeat of people that
 *  follows the count, each with an age defaulting to 30. */
private const val VISIT = """{
    "id": "visit", "version": "1", "title": {"default": "Visit"},
    "default_language": null, "languages": [], "instance_name": null, "choices": {},
    "survey": [
        {"kind": "question", "name": "count", "type": {"base": "integer"}, "default": "2"},
        {"kind": "question", "name": "village", "type": {"base": "text"}, "default": "Tumbaco"},
        {"kind": "repeat", "name": "people", "repeat_count": "${'$'}{count}", "children": [
            {"kind": "question", "name": "age", "type": {"base": "integer"}, "default": "30"},
            {"kind": "question", "name": "pname", "type": {"base": "text"}}
        ]}
    ]
}"""

class StoredSessionTest {
    @TempDir
    lateinit var dir: File

    private fun context() = Context(null, OffsetDateTime.now(), "phone-1", "ana")

    private fun people(store: Store, id: String) = (store.answers(id).fields.getValue("people") as Answer.Repeat).instances

    @Test
    fun aSessionOpenedFromTheStoreStoresDefaultsAndCountedRepeatsOneChangePerStep() {
        val store = Store.openUnencrypted(File(dir, "visit.minga").path, "phone-1", "ana")
        val changes = mutableListOf<ChangeEvent>()
        val handle = store.observe(object : ChangeObserver {
            override fun onChange(event: ChangeEvent) {
                synchronized(changes) { changes.add(event) }
            }
        })
        val form = formFromJson(VISIT)
        val id = store.createSubmission(form.formRef())
        val session = store.startFormSession(id, form, context())
        assertEquals(2, changes.size, "the creation, then the start")
        assertEquals(Answer.Value(Value.Text("Tumbaco")), store.answers(id).fields["village"])
        assertEquals(listOf(Answer.Value(Value.Integer(30)), Answer.Value(Value.Integer(30))), people(store, id).map { it.answers.fields["age"] })
        assertEquals(session.answers(), store.answers(id))

        session.set(AnswerPath(name = "count"), Value.Integer(5))
        assertEquals(3, changes.size, "the answer and the instances it adds are one change")
        assertEquals(5, people(store, id).size)
        session.set(AnswerPath(name = "count"), Value.Integer(1))
        val kept = people(store, id).single()
        assertEquals(session.answers(), store.answers(id))

        assertThrows<MingaException.Conflict> { store.startFormSession(id, form, context()) }
        val reopened = store.openFormSession(id, form, context())
        assertEquals(store.answers(id), reopened.answers())
        assertEquals(kept.id, people(store, id).single().id)
        assertThrows<MingaException.InvalidForm> { formFromJson("{\"id\": 3}") }
        handle.cancel()
        store.closeStore()
    }
}
