//! The Swift package's own check, run with `swift test` on a Mac after build-xcframework.sh.

import Foundation
import XCTest
@testable import Minga

final class MingaStoreTests: XCTestCase {
    func testAnAnswerRoundTripsAndTheChangeIsObserved() async throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent(UUID().uuidString).path
        let store = try await MingaStore.open(path: path, key: Data(repeating: 7, count: 32), deviceId: "phone-1", userName: "ana")
        var changes = store.changes().makeAsyncIterator()
        let form = FormRef(formId: "safety_walk", formVersion: "1", projectId: nil)
        let id = try await store.io { try $0.createSubmission(form: form) }
        try await store.io { try $0.setAnswer(id: id, path: AnswerPath(instances: [], name: "village"), value: .text(text: "San Rafael")) }

        let first = await changes.next()
        XCTAssertEqual(first?.documents.map(\.id), [id])
        let answers = try await store.io { try $0.answers(id: id) }
        XCTAssertEqual(answers.fields["village"], .value(value: .text(text: "San Rafael")))
        store.close()
        do {
            _ = try await store.io { try $0.submission(id: id) }
            XCTFail("a closed store answered")
        } catch MingaError.Closed {
        }
    }

    func testASubmissionSyncsToAnotherStoreAndItsObserverHearsIt() async throws {
        let folder = FileManager.default.temporaryDirectory
        let phone = MingaStore(try Store.openUnencrypted(path: folder.appendingPathComponent(UUID().uuidString).path, deviceId: "phone-1", userName: "ana"))
        let tablet = MingaStore(try Store.openUnencrypted(path: folder.appendingPathComponent(UUID().uuidString).path, deviceId: "tablet-1", userName: "sara"))
        let responder = try tablet.blocking.responder(unenrolled: true)
        var arriving = tablet.changes().makeAsyncIterator()
        let id = try await phone.io { try $0.createSubmission(form: FormRef(formId: "safety_walk", formVersion: "1", projectId: nil)) }

        var report: SyncReport?
        for try await step in phone.syncWithSteps(peer: "tablet-1", unenrolled: true, exchange: { try responder.respond(request: $0) }) {
            if case .done(let done) = step { report = done }
        }
        XCTAssertEqual(report?.sent, 1)
        let event = await arriving.next()
        XCTAssertEqual(event?.documents.map(\.id), [id])
        XCTAssertEqual(event?.documents.map(\.bySync), [true])
        phone.close()
        tablet.close()
    }

    func testAStoresOwnChangesShowAsSignedByItsOwnKeyAndAReceiversShowTheSigners() throws {
        let folder = FileManager.default.temporaryDirectory
        let phone = try Store.openUnencrypted(path: folder.appendingPathComponent(UUID().uuidString).path, deviceId: "phone-1", userName: "ana")
        let tablet = try Store.openUnencrypted(path: folder.appendingPathComponent(UUID().uuidString).path, deviceId: "tablet-1", userName: "sara")
        let id = try phone.createSubmission(form: FormRef(formId: "safety_walk", formVersion: "1", projectId: nil))
        try phone.setAnswer(id: id, path: AnswerPath(instances: [], name: "village"), value: .text(text: "San Rafael"))
        _ = try tablet.importSubmission(bytes: try phone.exportSubmission(id: id))

        let phones = ChangeSignature.signed(keyFingerprint: try phone.keyFingerprint())
        XCTAssertFalse(try phone.history(id: id).isEmpty)
        XCTAssertTrue(try phone.history(id: id).allSatisfy { $0.signature == phones })
        XCTAssertTrue(try tablet.history(id: id).allSatisfy { $0.signature == phones })
        XCTAssertNotEqual(try tablet.keyFingerprint(), try phone.keyFingerprint())
        phone.close()
        tablet.close()
    }

    func testCredentialsSaveAndLoadAndNoPrintShowsTheToken() throws {
        let credentials = HubCredentials(hubUrl: "https://hub.example.org", project: "imbabura", deviceId: "0190c7e4-phone",
                                         role: .facilitator, token: "s3cret-token", hubId: "hub-1")
        XCTAssertEqual(try HubCredentials.fromJson(credentials.toJson()), credentials)
        for shown in [credentials.description, credentials.debugDescription, "\(credentials)", String(describing: [credentials])] {
            XCTAssertFalse(shown.contains("s3cret"), shown)
            XCTAssertTrue(shown.contains("<hidden>"), shown)
        }
    }

    func testAScannedEnrolmentLinkGivesTheHubAndTheCode() throws {
        let link = try parseEnrolmentLink(text: "minga://enrol?v=1&hub=http%3A%2F%2F10.0.0.2%3A8080&code=ABCD-EFGH-JKMN")
        XCTAssertEqual(link, EnrolmentLink(hubUrl: "http://10.0.0.2:8080", code: "ABCD-EFGH-JKMN"))
        XCTAssertThrowsError(try parseEnrolmentLink(text: "https://example.org")) { error in
            guard case EnrolmentLinkError.NotAnEnrolmentLink = error else { return XCTFail("\(error)") }
        }
    }
}
