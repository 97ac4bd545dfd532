//! Credentials kept by an app: saved as JSON and read back, printed without their token, and an
//! enrolment QR code's link read into what `enrol` takes, with a typed error for other codes.
package org.minga

import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertFalse
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.assertThrows
import org.minga.ffi.EnrolmentLinkException
import org.minga.ffi.HubCredentials
import org.minga.ffi.MingaException
import org.minga.ffi.Role
import org.minga.ffi.parseEnrolmentLink

class CredentialsTest {
    private val credentials = HubCredentials(
        hubUrl = "https://hub.example.org",
        project = "imbabura",
        deviceId = "0190c7e4-phone",
        role = Role.FACILITATOR,
        token = "s3cret-token",
        hubId = "hub-1",
    )

    @Test
    fun savedCredentialsLoadBackEqual() {
        val saved = credentials.toJson()
        assertTrue("s3cret-token" in saved, "the saved form keeps the token, for the keystore")
        assertEquals(credentials, HubCredentials.fromJson(saved))
    }

    @Test
    fun noPrintShowsTheToken() {
        for (shown in listOf(credentials.toString(), "$credentials", listOf(credentials).toString())) {
            assertFalse("s3cret" in shown, shown)
            assertTrue("0190c7e4-phone" in shown && "<hidden>" in shown, shown)
        }
    }

    @Test
    fun damagedSavedCredentialsAreAnInvalidArgumentNamingWhatIsMissing() {
        val error = assertThrows<MingaException.InvalidArgument> {
            HubCredentials.fromJson(credentials.toJson().replace("\"token\"", "\"tokens\""))
        }
        assertTrue("no token" in error.reason, error.reason)
    }

    @Test
    fun aScannedEnrolmentLinkGivesTheHubAndTheCode() {
        val link = parseEnrolmentLink("minga://enrol?v=1&hub=http%3A%2F%2F10.0.0.2%3A8080&code=ABCD-EFGH-JKMN")
        assertEquals("http://10.0.0.2:8080", link.hubUrl)
        assertEquals("ABCD-EFGH-JKMN", link.code)
        assertThrows<EnrolmentLinkException.NotAnEnrolmentLink> { parseEnrolmentLink("https://example.org") }
        val newer = assertThrows<EnrolmentLinkException.NewerVersion> { parseEnrolmentLink("minga://enrol?v=7&code=X") }
        assertEquals(7u, newer.version)
    }
}
