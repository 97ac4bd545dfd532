//! The Kotlin example of README.md, run as it is written there (a Python test checks that the
//! README shows exactly the lines between the README markers).
package org.minga

import kotlinx.coroutines.flow.first
import kotlinx.coroutines.launch
import kotlinx.coroutines.runBlocking
import kotlinx.coroutines.yield
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.io.TempDir
import org.minga.ffi.AnswerPath
import org.minga.ffi.Context
import org.minga.ffi.Issue
import org.minga.ffi.Value
import org.minga.ffi.builtinForms
import java.io.File
import java.security.SecureRandom
import java.time.OffsetDateTime

class ReadmeExampleTest {
    @TempDir
    lateinit var filesDir: File

    @Test
    fun theReadmeExampleRuns() = runBlocking {
        // README:start
        val key = ByteArray(32).also { SecureRandom().nextBytes(it) } // in an app: from the Android Keystore
        val store = MingaStore.open(File(filesDir, "field.minga").path, key, deviceId = "phone-1", userName = "ana")
        launch { store.changes().first().let { println("changed: ${it.documents.map { d -> d.id }}") } }
        yield()

        val form = builtinForms().first { it.id() == "minga_stakeholder_dialogue" }
        val id = store.io { createSubmission(form.formRef()) }
        val context = Context("Español (es)", OffsetDateTime.now(), "phone-1", "ana")
        val session = form.session(store.io { answers(id) }, context)

        val where = AnswerPath(name = "convening_institution")
        val answer = Value.Text("GAD municipal de Esmeraldas")
        store.io { setAnswer(id, where, answer) } // durable when it returns
        session.set(where, answer) // re-evaluates only what depends on it
        val missing = session.problems().filterIsInstance<Issue.Missing>().map { it.path.name }
        println("still missing: $missing")
        // README:end
        assertTrue("convening_institution" !in missing && "dialogue_date" in missing)
        store.close()
    }
}
