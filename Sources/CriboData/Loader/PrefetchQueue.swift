// SPDX-License-Identifier: Apache-2.0
// A bounded, ordered prefetch queue: batches are produced ahead of the consumer by a background thread (each
// batch's samples prepared in parallel by the caller's `produce`), at most `depth` waiting; the consumer receives
// them in order. Errors end the stream and are rethrown to the consumer.

import Foundation

/// Produces items 0..<count in the background, `depth` ahead, delivered in order.
package final class PrefetchQueue<Item>: @unchecked Sendable {
    private let condition = NSCondition()
    private var ready: [Int: Item] = [:]
    private var failure: Error?
    private var next = 0
    private var stopped = false
    package let count: Int
    private let depth: Int

    /// Starts producing `count` items with `produce(index)`; stops early when the queue is released or `stop()` is
    /// called.
    package init(count: Int, depth: Int, produce: @escaping @Sendable (Int) throws -> Item) {
        precondition(depth >= 1, "PrefetchQueue: depth must be at least 1")
        self.count = count
        self.depth = depth
        let thread = Thread { [weak self] in
            for index in 0..<count {
                guard let self, self.waitForRoom(index) else { return }
                do {
                    let item = try produce(index)
                    self.deliver(index, item)
                } catch {
                    self.fail(error)
                    return
                }
            }
        }
        thread.stackSize = 8 << 20
        thread.start()
    }

    deinit { stop() }

    private func waitForRoom(_ index: Int) -> Bool {
        condition.lock()
        defer { condition.unlock() }
        while !stopped && index - next >= depth { condition.wait() }
        return !stopped
    }

    private func deliver(_ index: Int, _ item: Item) {
        condition.lock()
        ready[index] = item
        condition.broadcast()
        condition.unlock()
    }

    private func fail(_ error: Error) {
        condition.lock()
        failure = error
        condition.broadcast()
        condition.unlock()
    }

    /// The next item in order, waiting for it; nil after the last. Rethrows a production error.
    package func pop() throws -> Item? {
        condition.lock()
        defer { condition.unlock() }
        guard next < count else { return nil }
        while ready[next] == nil {
            if let failure { throw failure }
            condition.wait()
        }
        let item = ready.removeValue(forKey: next)!
        next += 1
        condition.broadcast()
        return item
    }

    /// Stops production (pending items are dropped).
    package func stop() {
        condition.lock()
        stopped = true
        condition.broadcast()
        condition.unlock()
    }
}
