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

    @Test("the eight-lane version gives the scalar version's bits in every lane, clamps included")
    func lanesMatchScalar() {
        var mismatches = 0
        var x: Float = -100
        while x <= 100 {
            var lanes = SIMD8<Float>()
            for lane in 0..<8 { lanes[lane] = x + Float(lane) * 0.0131 }
            let vector = fastExp(lanes)
            for lane in 0..<8 where vector[lane].bitPattern != fastExp(lanes[lane]).bitPattern { mismatches += 1 }
            x += 0.0917
        }
        #expect(mismatches == 0)
    }
}
