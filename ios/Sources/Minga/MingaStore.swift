//! Idiomatic Swift over the generated bindings: async calls that keep SQLite off the caller's
//! executor, and the store's changes as an AsyncSequence.

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

    /// Closes the store; later calls throw `MingaError.Closed`.
    public func close() {
        blocking.close()
    }

    private static func onBackground<T>(_ queue: DispatchQueue, _ work: @escaping () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            queue.async { continuation.resume(with: Result { try work() }) }
        }
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
