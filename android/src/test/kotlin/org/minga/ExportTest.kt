//! Export for analysis from a store, on the I/O dispatcher: ODK Central's CSV layout, and a
//! typed error for a submission of a form that was not given.
package org.minga

import kotlinx.coroutines.runBlocking
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.assertThrows
import org.junit.jupiter.api.io.TempDir
import org.minga.ffi.AnswerPath
import org.minga.ffi.ExportFormat
import org.minga.ffi.MingaException
import org.minga.ffi.Store
import org.minga.ffi.Value
import org.minga.ffi.builtinForms
import java.io.File

class ExportTest {
    @TempDir
    lateinit var dir: File

    @Test
    fun aStoreExportsCsvAndRefusesAFormNotGiven() = runBlocking {
        val store = MingaStore(Store.openUnencrypted(File(dir, "e.minga").path, "phone-1", "ana"))
        val dialogue = builtinForms().first { it.id() == "minga_stakeholder_dialogue" }
        val id = store.io { createSubmission(dialogue.formRef()) }
        store.io { setAnswer(id, AnswerPath(name = "convening_institution"), Value.Text("GAD de Ibarra")) }
        val out = File(dir, "csv")
        val files = store.io { export(listOf(dialogue), ExportFormat.CSV, out.path, null, null) }
        val main = File(out, "minga_stakeholder_dialogue.csv")
        assertTrue(main.path in files)
        val lines = main.readLines()
        assertEquals(2, lines.size)
        assertTrue("uuid:$id" in lines[1] && "GAD de Ibarra" in lines[1])

        store.io { createSubmission(SAFETY_WALK) }
        assertThrows<MingaException.InvalidArgument> {
            runBlocking { store.io { export(listOf(dialogue), ExportFormat.JSON, File(dir, "json").path, null, null) } }
        }
        store.close()
    }
}
