//! Idiomatic Swift over the generated bindings: async calls that keep SQLite and the network
//! off the caller's executor, the store's changes as an AsyncSequence, and sync (with a hub,
//! with a peer over the app's own link) as async calls or a stream of progress and report.

import Foundation

/// An open Minga store for async code. Every library call blocks on SQLite (an answer is
/// durable when the call returns), so `io` runs it on a background queue.
///
/// ```swift
/// let store = try await MingaStore.open(path: url.path, key: key, deviceId: "phone-1", userName: "ana")
/// let id = try await store.io { try $0.createSubmission(form: FormRef(formId: "safety_walk", formVersion: "1", projectId: nil)) }
/// for await change in store.changes() { ... }
/// ```
public final class MingaStore: @unchecked Sendable {
    /// The generated object, for code that may block.
    public let blocking: Store
    private let queue: DispatchQueue

    public init(_ store: Store, queue: DispatchQueue = DispatchQueue(label: "minga.store", qos: .userInitiated, attributes: .concurrent)) {
        self.blocking = store
        self.queue = queue
    }

    /// Opens (or creates) the encrypted store at `path` with a 32-byte key from the Keychain.
    public static func open(path: String, key: Data, deviceId: String, userName: String) async throws -> MingaStore {
        let store = try await onBackground(DispatchQueue.global(qos: .userInitiated)) {
            try Store.open(path: path, key: key, deviceId: deviceId, userName: userName)
        }
        return MingaStore(store)
    }

    /// Runs `call` against the store on the background queue. Errors are `MingaError`.
    public func io<T>(_ call: @escaping (Store) throws -> T) async throws -> T {
        let store = blocking
        return try await Self.onBackground(queue) { try call(store) }
    }

    /// Every change to the store (edits here and changes arriving by sync). Iterating
    /// registers an observer; ending the iteration (or the task) unregisters it.
    public func changes() -> AsyncStream<ChangeEvent> {
        AsyncStream(bufferingPolicy: .unbounded) { continuation in
            do {
                let handle = try blocking.observe(observer: StreamObserver(continuation))
                continuation.onTermination = { _ in handle.cancel() }
            } catch {
                continuation.finish()
            }
        }
    }

    /// Every event of the syncs a sync agent (`blocking.startSyncAgent(hub:schedule:)`) runs
    /// on this store: started, progress, finished, refused (the hub refused some of this device's
    /// own work: tell the user), failed (with when it retries), revoked (the
    /// store was wiped). Iterating registers an observer; ending the iteration unregisters it.
    public func syncEvents() -> AsyncStream<SyncEvent> {
        AsyncStream(bufferingPolicy: .unbounded) { continuation in
            do {
                let handle = try blocking.observeSync(observer: SyncEventStreamObserver(continuation))
                continuation.onTermination = { _ in handle.cancel() }
            } catch {
                continuation.finish()
            }
        }
    }

    /// Syncs with the hub of `hub` (from `enrol`): `MingaError.Unauthorized` means enrol
    /// again, `.Revoked` wipe the local copy, `.Network` try later (what arrived is kept).
    public func syncHttp(hub: HubCredentials, settings: HttpSettings? = nil) async throws -> SyncReport {
        try await io { try $0.syncHttp(hub: hub, settings: settings, progress: nil) }
    }

    /// The same sync as `syncHttp`, as an AsyncThrowingStream: `.progress` after every round
    /// trip, then one `.done` with the report. Iterating starts the sync; an error ends it.
    public func syncHttpSteps(hub: HubCredentials, settings: HttpSettings? = nil) -> AsyncThrowingStream<SyncStep, Error> {
        steps { store, listener in try store.syncHttp(hub: hub, settings: settings, progress: listener) }
    }

    /// Syncs with `peer` (its device id) over the app's own link: `exchange` carries one
    /// request to the peer's `responder()` and returns its reply, blocking (it runs on the
    /// store's queue). Throw `MingaError.Network` for what may pass when sent again.
    public func syncWith(peer: String, unenrolled: Bool = false, exchange: @escaping @Sendable (Data) throws -> Data) async throws -> SyncReport {
        try await io { try $0.syncWith(transport: ClosureTransport(exchange), peer: peer, progress: nil, unenrolled: unenrolled) }
    }

    /// `syncWith` as an AsyncThrowingStream of `SyncStep`s.
    public func syncWithSteps(peer: String, unenrolled: Bool = false, exchange: @escaping @Sendable (Data) throws -> Data) -> AsyncThrowingStream<SyncStep, Error> {
        steps { store, listener in try store.syncWith(transport: ClosureTransport(exchange), peer: peer, progress: listener, unenrolled: unenrolled) }
    }

    /// Trades a one-time enrolment code for this device's credentials at `hubUrl`. Keep them
    /// (the token in the Keychain): `syncHttp` takes them.
    public static func enrol(hubUrl: String, code: String) async throws -> HubCredentials {
        try await onBackground(DispatchQueue.global(qos: .userInitiated)) {
            try Minga.enrol(hubUrl: hubUrl, code: code)
        }
    }

    /// Enrols this store with the hub at `hubUrl` with the one-time `code` (from the QR code:
    /// `parseEnrolmentLink(text:)`): every later change is signed with the device id the hub
    /// gave, now and whenever the store is opened again. Keep the credentials (`toJson()`) in
    /// the Keychain; their `description` and `debugDescription` hide the token.
    public func enrol(atHub hubUrl: String, code: String) async throws -> HubCredentials {
        try await io { try $0.enrol(hubUrl: hubUrl, code: code) }
    }

    private func steps(_ sync: @escaping (Store, SyncProgressListener) throws -> SyncReport) -> AsyncThrowingStream<SyncStep, Error> {
        let store = blocking
        return AsyncThrowingStream(bufferingPolicy: .unbounded) { continuation in
            queue.async {
                do {
                    let report = try sync(store, StepListener(continuation))
                    continuation.yield(.done(report))
                    continuation.finish()
                } catch {
                    continuation.finish(throwing: error)
                }
            }
        }
    }

    /// Closes the store; later calls throw `MingaError.Closed`. Its observers are unregistered
    /// and its sync agents stopped: it waits for their threads (a sync in flight ends at its
    /// next round trip), so call it off the main thread when an agent may be syncing.
    public func close() {
        blocking.close()
    }

    private static func onBackground<T>(_ queue: DispatchQueue, _ work: @escaping () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            queue.async { continuation.resume(with: Result { try work() }) }
        }
    }
}

/// One step of a sync seen as a stream: progress after each round trip, then the report.
public enum SyncStep: Sendable {
    case progress(SyncProgress)
    case done(SyncReport)
}

/// Feeds progress callbacks into a sync's stream.
private final class StepListener: SyncProgressListener, @unchecked Sendable {
    private let continuation: AsyncThrowingStream<SyncStep, Error>.Continuation

    init(_ continuation: AsyncThrowingStream<SyncStep, Error>.Continuation) {
        self.continuation = continuation
    }

    func onProgress(progress: SyncProgress) {
        continuation.yield(.progress(progress))
    }
}

/// The app's link as the library's SyncTransport.
private final class ClosureTransport: SyncTransport, @unchecked Sendable {
    private let carry: @Sendable (Data) throws -> Data

    init(_ carry: @escaping @Sendable (Data) throws -> Data) {
        self.carry = carry
    }

    func exchange(request: Data) throws -> Data {
        try carry(request)
    }
}

/// Feeds sync events into an AsyncStream.
private final class SyncEventStreamObserver: SyncEventObserver, @unchecked Sendable {
    private let continuation: AsyncStream<SyncEvent>.Continuation

    init(_ continuation: AsyncStream<SyncEvent>.Continuation) {
        self.continuation = continuation
    }

    func onSyncEvent(event: SyncEvent) {
        continuation.yield(event)
    }
}

/// Feeds observer callbacks into an AsyncStream.
private final class StreamObserver: ChangeObserver, @unchecked Sendable {
    private let continuation: AsyncStream<ChangeEvent>.Continuation

    init(_ continuation: AsyncStream<ChangeEvent>.Continuation) {
        self.continuation = continuation
    }

    func onChange(event: ChangeEvent) {
        continuation.yield(event)
    }
}

/// Credentials as an app keeps them: `toJson()` (generated) for the Keychain, read back here.
/// The generated type prints through Rust's `Display` and `Debug`, which hide the token (a
/// `Mirror`, as `dump` uses, still sees every field: do not dump credentials).
extension HubCredentials {
    /// Reads credentials saved with `toJson()`; `MingaError.InvalidArgument` names what is wrong.
    public static func fromJson(_ json: String) throws -> HubCredentials {
        try hubCredentialsFromJson(json: json)
    }
}
