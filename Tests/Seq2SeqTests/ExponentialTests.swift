import Foundation
@testable import Seq2Seq
import Testing

@Suite("fastExp against Foundation's exp")
struct ExponentialTests {
    @Test("relative error below 3e-7 on [−87, 88], exact at 0, and no overflow or NaN at the clamps")
    func accuracy() {
        var worst: Double = 0
        var x: Float = -87
        while x <= 88 {
            let expected = Foundation.exp(Double(x))
            worst = max(worst, abs(Double(fastExp(x)) - expected) / expected)
            x += 0.0517
        }
        #expect(worst < 3e-7, "worst relative error \(worst)")
        #expect(fastExp(0) == 1)
        #expect(fastExp(-Float.infinity) >= 0 && fastExp(-Float.infinity) < 1e-37)
        #expect(fastExp(1000).isFinite)
    }
}
