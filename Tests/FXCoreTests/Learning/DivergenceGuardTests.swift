@testable import FXCore
import Testing

@Suite struct DivergenceGuardTests {
    /// The guard's verdict on each mean loss in turn.
    func verdicts(_ initialLoss: Double, _ losses: [Double]) -> [Bool] {
        var g = DivergenceGuard(lr: 1, segment: 100, initialLoss: initialLoss)
        return losses.map { g.diverges($0) }
    }

    @Test("a loss that is not finite, or climbs above 1.5 x where training started and above 1 nat, is divergence; noise below is not")
    func rules() {
        // The first segment (8) lowers the reference from the untrained model's 30 to its own mean.
        #expect(verdicts(30, [8, 2, 0.05, 0.2, 7.9, 11.9]) == [false, false, false, false, false, false])
        #expect(verdicts(30, [8, 12.5]) == [false, true])
        #expect(verdicts(30, [8, .nan]) == [false, true])
        #expect(verdicts(30, [.infinity]) == [true])
        // Already the first segment far above the untrained model's loss (a huge learning rate).
        #expect(verdicts(4.2, [46]) == [true])
        // A loss that barely moves at a low rate (softmax, few examples) is not divergence.
        #expect(verdicts(1.79, [1.78, 1.80, 2.5]) == [false, false, false])
        // A model that starts trained: its loss is low from the start, and noise above it is not divergence.
        #expect(verdicts(0.06, [0.05, 0.14, 0.9, 1.5]) == [false, false, false, true])
    }

    @Test("each back-off halves the rate and says so, up to a limit")
    func backOff() {
        var g = DivergenceGuard(lr: 8, segment: 100, initialLoss: 10)
        let line = g.backOff(epoch: 3, loss: 16)
        #expect(line == "training diverged in epoch 3 (loss 16.0, over 15.0, 1.5 x where it started): learning rate 8.0 -> 4.0, epoch 3 again from its start")
        #expect(g.lr == 4)
        let second = g.backOff(epoch: 3, loss: .nan)
        #expect(second?.contains("(loss not finite): learning rate 4.0 -> 2.0") == true)
        var lines: [String?] = []
        for _ in 2...DivergenceGuard.maxBackOffs { lines.append(g.backOff(epoch: 3, loss: .nan)) }
        #expect(lines.dropLast().allSatisfy { $0 != nil } && lines.last! == nil)
    }
}
