// SPDX-License-Identifier: Apache-2.0
// The thread-backed communicator: rank-ordered gathers, sums identical on every rank, broadcasts.

import CriboDistributed
import Testing

@Suite struct CommunicatorTests {}

extension CommunicatorTests {
    @Test func collectivesAreRankOrderedAndIdenticalEverywhere() throws {
        let world = LocalWorld(size: 4)
        let results = try world.run { communicator -> ([Float], [Float], [Int], [Float], [Float]) in
            let r = Float(communicator.rank)
            var sums: [Float] = [r, 0.1 * r, 1]
            sums.withUnsafeMutableBufferPointer { communicator.allReduceSum($0) }
            let gathered = communicator.allGather([r, r * 10])
            let variable = communicator.allGatherVariable(Array(repeating: r, count: communicator.rank))
            var broadcast: [Float] = [r, r]
            broadcast.withUnsafeMutableBufferPointer { communicator.broadcast($0, root: 2) }
            return (sums, gathered, variable.counts, variable.values, broadcast)
        }
        for result in results {
            #expect(result.0 == results[0].0, "sums identical on every rank")
            #expect(result.0[0] == 6 && result.0[2] == 4)
            #expect(result.1 == [0, 0, 1, 10, 2, 20, 3, 30])
            #expect(result.2 == [0, 1, 2, 3] && result.3 == [1, 2, 2, 3, 3, 3])
            #expect(result.4 == [2, 2])
        }
        #expect(SingleProcessCommunicator().sum(2.5) == 2.5)
    }
}
