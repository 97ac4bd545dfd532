//! A facilitator's full day on the JVM: both built-in forms filled through the store and the
//! form engine together (skip logic, validation in Spanish, repeats), then completed.
package org.minga

import kotlinx.coroutines.runBlocking
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.assertThrows
import org.junit.jupiter.api.io.TempDir
import org.minga.ffi.AnswerPath
import org.minga.ffi.Attachment
import org.minga.ffi.Context
import org.minga.ffi.Form
import org.minga.ffi.FormItem
import org.minga.ffi.FormSession
import org.minga.ffi.GeoPoint
import org.minga.ffi.InstanceRef
import org.minga.ffi.Issue
import org.minga.ffi.MingaException
import org.minga.ffi.Question
import org.minga.ffi.Status
import org.minga.ffi.Store
import org.minga.ffi.SubmissionFilter
import org.minga.ffi.Value
import org.minga.ffi.builtinFormWorkbooks
import org.minga.ffi.builtinForms
import org.minga.ffi.importXlsform
import java.io.File
import java.time.LocalDate
import java.time.LocalTime
import java.time.OffsetDateTime

const val SPANISH = "Español (es)"

/** Plays the facilitator: answers what the engine says is missing, through a stored session. */
class Facilitator(form: Form, val session: FormSession) {
    private val definition = form.definition()
    private val questions = mutableMapOf<String, Question>().also { collect(definition.survey, it) }
    private val attempts = mutableMapOf<AnswerPath, Int>()

    private fun collect(items: List<FormItem>, into: MutableMap<String, Question>) {
        for (item in items) when (item) {
            is FormItem.Question -> into[item.question.name] = item.question
            is FormItem.Group -> collect(item.children, into)
            is FormItem.Repeat -> collect(item.children, into)
        }
    }

    fun answer(path: AnswerPath, value: Value?) {
        session.set(path, value)
    }

    fun addInstance(repeat: String): String = session.newInstance(AnswerPath(name = repeat)).id

    /** Answers every missing or rejected answer, trying another plausible value each time. */
    fun fillUntilComplete(maxRounds: Int = 40) {
        repeat(maxRounds) {
            val issues = session.problems()
            if (issues.isEmpty()) return
            for (issue in issues) {
                val path = when (issue) {
                    is Issue.Missing -> issue.path
                    is Issue.Constraint -> issue.path
                }
                val attempt = attempts.merge(path, 1, Int::plus)!! - 1
                answer(path, plausible(path, attempt))
            }
        }
        error("still not complete: ${session.problems()}")
    }

    private fun plausible(path: AnswerPath, attempt: Int): Value {
        val question = questions.getValue(path.name)
        val options = session.item(path)?.choices
            ?: definition.choices[question.kind.list].orEmpty().map { it.name }
        val option = { options[attempt % options.size] }
        return when (question.kind.base) {
            "integer" -> Value.Integer(listOf(3L, 1L, 0L, 12L, 40L)[attempt % 5])
            "decimal" -> Value.Decimal(2.5 + attempt)
            "select_one", "rank" -> Value.Choice(option())
            "select_multiple" -> Value.Choices(listOf(option()))
            "date" -> Value.Date(LocalDate.now().minusDays(attempt.toLong()))
            "time" -> Value.Time(LocalTime.NOON)
            "date_time" -> Value.DateTime(OffsetDateTime.now())
            "geo_point" -> Value.GeoPoint(GeoPoint(-0.1807, -78.4678, null, 5.0))
            "image", "audio" -> Value.Attachment(Attachment("ab".repeat(32), "image/jpeg", "photo.jpg"))
            else -> Value.Text("Respuesta $attempt")
        }
    }
}

class FacilitatorDayTest {
    @TempDir
    lateinit var dir: File

    private fun context() = Context(SPANISH, OffsetDateTime.now(), "phone-1", "ana")

    private fun start(store: Store, form: Form): Facilitator {
        val id = store.createSubmission(form.formRef())
        return Facilitator(form, store.startFormSession(id, form, context()))
    }

    @Test
    fun bothBuiltInFormsAreFilledValidatedAndCompleted() = runBlocking {
        val forms = builtinForms().associateBy { it.id() }
        assertEquals(setOf("minga_stakeholder_dialogue", "minga_community_safety_assessment"), forms.keys)
        val store = MingaStore.open(File(dir, "day.minga").path, KEY, "phone-1", "ana")

        val dialogue = forms.getValue("minga_stakeholder_dialogue")
        val day = store.io { start(this, dialogue) }
        val id = store.io { listSubmissions(SubmissionFilter(), null, 1u).items.single().id }

        // Validation speaks Spanish, and skip logic follows the answers.
        assertTrue(day.session.problems().any { it is Issue.Missing && it.path.name == "dialogue_date" })
        day.answer(AnswerPath(name = "dialogue_date"), Value.Date(LocalDate.now().plusDays(3)))
        val future = day.session.problems().filterIsInstance<Issue.Constraint>().single()
        assertEquals("La fecha no puede estar en el futuro.", future.message)
        day.answer(AnswerPath(name = "dialogue_date"), Value.Date(LocalDate.now()))
        assertEquals(false, day.session.item(AnswerPath(name = "dialogue_type_other"))?.relevant)
        day.answer(AnswerPath(name = "dialogue_type"), Value.Choice("other"))
        assertEquals(true, day.session.item(AnswerPath(name = "dialogue_type_other"))?.relevant)

        // Two participants in the repeat, counted by the form's calculation.
        val participants = List(2) { day.addInstance("participants") }
        day.answer(AnswerPath(listOf(InstanceRef("participants", participants[0])), "role"), Value.Text("Teniente político"))
        assertEquals(2.0, (day.session.item(AnswerPath(name = "participant_count"))?.value as org.minga.ffi.Computed.Number).value)

        day.fillUntilComplete()
        store.io { setStatus(id, Status.COMPLETE) }
        assertEquals(day.session.answers(), store.io { answers(id) })

        // The second form, end to end with the same facilitator logic.
        val assessment = store.io { start(this, forms.getValue("minga_community_safety_assessment")) }
        assessment.fillUntilComplete()

        val complete = store.io { listSubmissions(SubmissionFilter(status = Status.COMPLETE), null, 10u) }
        assertEquals(listOf(id), complete.items.map { it.id })
        store.close()
    }

    @Test
    fun aBrokenWorkbookReportsWhereEachMistakeIs() {
        val workbook = builtinFormWorkbooks().first()
        val form = importXlsform(workbook.xlsx, workbook.fileName)
        assertEquals(workbook.formId, form.id())
        val error = assertThrows<MingaException.InvalidForm> { importXlsform(ByteArray(100) { 7 }, "broken.xlsx") }
        assertTrue(error.mistakes.isNotEmpty())
    }
}
