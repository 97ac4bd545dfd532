//! The Kotlin bindings against the real library: stores, answers, repeats, lists, conflicts.
package org.minga

import kotlinx.coroutines.runBlocking
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.assertThrows
import org.junit.jupiter.api.io.TempDir
import org.minga.ffi.Answer
import org.minga.ffi.ChangeSignature
import org.minga.ffi.AnswerPath
import org.minga.ffi.FormRef
import org.minga.ffi.GeoPoint
import org.minga.ffi.InstanceRef
import org.minga.ffi.ReviewState
import org.minga.ffi.MingaException
import org.minga.ffi.Status
import org.minga.ffi.Store
import org.minga.ffi.SubmissionFilter
import org.minga.ffi.Value
import org.minga.ffi.builtinForms
import java.io.File
import java.time.LocalDate
import java.time.LocalTime
import java.time.OffsetDateTime
import java.time.ZoneOffset

val KEY = ByteArray(32) { it.toByte() }
val SAFETY_WALK = FormRef(formId = "safety_walk", formVersion = "1")

fun at(name: String, vararg instances: InstanceRef) = AnswerPath(instances = instances.toList(), name = name)

class StoreTest {
    @TempDir
    lateinit var dir: File

    private fun path(name: String = "field.minga") = File(dir, name).path

    @Test
    fun answersSurviveReopeningWithTheKey() = runBlocking {
        val store = MingaStore.open(path(), KEY, deviceId = "phone-1", userName = "ana")
        val id = store.io { createSubmission(SAFETY_WALK) }
        store.io { setAnswer(id, at("village"), Value.Text("San Rafael")) }
        store.close()

        MingaStore.open(path(), KEY, "phone-1", "ana").use { reopened ->
            val submission = reopened.io { submission(id) }
            assertEquals(Answer.Value(Value.Text("San Rafael")), submission.answers.fields["village"])
            assertEquals(SAFETY_WALK, submission.form)
            assertEquals(Status.DRAFT, submission.status)
        }
    }

    @Test
    fun aWrongKeyIsTypedAndTheFileIsUntouched() {
        Store.open(path(), KEY, "phone-1", "ana").close()
        val before = File(path()).readBytes()
        assertThrows<MingaException.WrongKey> { Store.open(path(), ByteArray(32), "phone-1", "ana") }
        assertTrue(before.contentEquals(File(path()).readBytes()))
        assertThrows<MingaException.InvalidArgument> { Store.open(path(), ByteArray(3), "phone-1", "ana") }
    }

    @Test
    fun everyKindOfValueRoundTrips() {
        Store.open(path(), KEY, "phone-1", "ana").use { store ->
            val id = store.createSubmission(SAFETY_WALK)
            val values = mapOf(
                "name" to Value.Text("Rosa Quishpe"),
                "age" to Value.Integer(34),
                "income" to Value.Decimal(412.5),
                "consent" to Value.Choice("yes"),
                "visit_date" to Value.Date(LocalDate.of(2026, 11, 29)),
                "visit_time" to Value.Time(LocalTime.of(14, 5)),
                "started" to Value.DateTime(OffsetDateTime.of(2026, 11, 29, 9, 0, 0, 0, ZoneOffset.ofHours(-5))),
                "where" to Value.GeoPoint(GeoPoint(-0.1807, -78.4678, 2850.0, null)),
            )
            values.forEach { (name, value) -> store.setAnswer(id, at(name), value) }
            store.setAnswer(id, at("risks"), Value.Choices(listOf("theft", "extortion")))
            val fields = store.answers(id).fields
            values.forEach { (name, value) -> assertEquals(Answer.Value(value), fields[name], name) }
            val risks = (fields["risks"] as Answer.Value).value as Value.Choices
            assertEquals(setOf("theft", "extortion"), risks.names.toSet())
        }
    }

    @Test
    fun repeatsKeepStableIdsThroughMoves() {
        Store.open(path(), KEY, "phone-1", "ana").use { store ->
            val id = store.createSubmission(SAFETY_WALK)
            val luis = store.addRepeatInstance(id, at("participants"), null)
            val marta = store.addRepeatInstance(id, at("participants"), 0u)
            store.setAnswer(id, at("who", InstanceRef("participants", luis)), Value.Text("Luis"))
            store.setAnswer(id, at("who", InstanceRef("participants", marta)), Value.Text("Marta"))
            store.moveRepeatInstance(id, at("participants"), marta, 1u)
            val repeat = store.answers(id).fields["participants"] as Answer.Repeat
            assertEquals(listOf(luis, marta), repeat.instances.map { it.id })
            assertEquals(Answer.Value(Value.Text("Marta")), repeat.instances[1].answers.fields["who"])
        }
    }

    @Test
    fun listsPageAndFilter() {
        Store.open(path(), KEY, "phone-1", "ana").use { store ->
            val ids = List(5) { store.createSubmission(SAFETY_WALK) }
            store.setStatus(ids[2], Status.COMPLETE)
            val first = store.listSubmissions(SubmissionFilter(), null, 3u)
            val second = store.listSubmissions(SubmissionFilter(), first.next, 3u)
            assertEquals(3, first.items.size)
            assertEquals(2, second.items.size)
            assertEquals(ids.toSet(), (first.items + second.items).map { it.id }.toSet())
            val complete = store.listSubmissions(SubmissionFilter(status = Status.COMPLETE), null, 10u)
            assertEquals(listOf(ids[2]), complete.items.map { it.id })
        }
    }

    @Test
    fun aSupervisorsListShowsAndFiltersByVerdict() {
        Store.open(path(), KEY, "tablet-9", "sara").use { store ->
            val (approved, waiting) = List(2) { store.createSubmission(SAFETY_WALK) }
            store.setReviewState(approved, ReviewState.APPROVED)
            val rows = store.listSubmissions(SubmissionFilter(), null, 10u).items
            assertEquals(
                mapOf(approved to ReviewState.APPROVED, waiting to null),
                rows.associate { it.id to it.reviewState },
            )
            val awaiting = SubmissionFilter(reviewState = ReviewState.RECEIVED)
            assertEquals(listOf(waiting), store.listSubmissions(awaiting, null, 10u).items.map { it.id })
        }
    }

    @Test
    fun whatArrivesBreakingItsFormIsKeptFlaggedAndListedWithItsReasons() {
        val dialogue = builtinForms().first { it.id() == "minga_stakeholder_dialogue" }
        val office = Store.open(path("office.minga"), KEY, "tablet-9", "sara")
        val phone = Store.openUnencrypted(path("phone.minga"), "phone-1", "ana")
        office.publishForm(dialogue)
        val typed = office.createSubmission(dialogue.formRef())
        // The phone lacks the form, so nothing checks what is typed there.
        val id = phone.createSubmission(dialogue.formRef())
        phone.setAnswer(id, AnswerPath(name = "colour"), Value.Text("red"))
        office.importSubmission(phone.exportSubmission(id))
        val rows = office.listSubmissions(SubmissionFilter(), null, 10u).items
        assertEquals(mapOf(id to true, typed to false), rows.associate { it.id to it.invalid })
        val flagged = office.listSubmissions(SubmissionFilter(invalid = true), null, 10u).items
        assertEquals(listOf(id), flagged.map { it.id })
        assertEquals(listOf("colour"), office.invalidReasons(id).map { it.question })
        assertTrue(office.invalidReasons(typed).isEmpty())
        phone.close()
        office.close()
    }

    @Test
    fun aStoresOwnChangesShowAsSignedByItsOwnKeyWhereverTheyAreRead() {
        val phone = Store.open(path("phone.minga"), KEY, "phone-1", "ana")
        val office = Store.open(path("office.minga"), KEY, "tablet-9", "supervisor")
        val id = phone.createSubmission(SAFETY_WALK)
        phone.setAnswer(id, at("households"), Value.Integer(12))
        office.importSubmission(phone.exportSubmission(id))

        val phones = ChangeSignature.Signed(phone.keyFingerprint())
        assertTrue(phone.history(id).isNotEmpty())
        assertEquals(setOf(phones), phone.history(id).map { it.signature }.toSet())
        assertEquals(setOf(phones), office.history(id).map { it.signature }.toSet())
        office.setAnswer(id, at("households"), Value.Integer(15))
        assertEquals(ChangeSignature.Signed(office.keyFingerprint()), office.history(id).last().signature)
        phone.close()
        office.close()
    }

    @Test
    fun concurrentEditsConflictAndSettle() {
        val phone = Store.open(path("phone.minga"), KEY, "phone-1", "ana")
        val office = Store.open(path("office.minga"), KEY, "tablet-9", "supervisor")
        val id = phone.createSubmission(SAFETY_WALK)
        office.importSubmission(phone.exportSubmission(id))
        phone.setAnswer(id, at("households"), Value.Integer(12))
        office.setAnswer(id, at("households"), Value.Integer(15))
        phone.importSubmission(office.exportSubmission(id))

        val conflict = phone.conflicts(id).single()
        assertEquals("households", conflict.path.name)
        assertEquals(setOf("ana", "supervisor"), conflict.values.map { it.author?.userName }.toSet())
        phone.resolveConflict(id, at("households"), Value.Integer(15))
        assertTrue(phone.conflicts(id).isEmpty())
        assertTrue(phone.history(id).any { "households" in it.answers })
        phone.close()
        office.close()
    }
}
