// SPDX-License-Identifier: Apache-2.0
import CriboEval
import Testing

@Suite struct EvaluationVariantTests {
    @Test func variantsRoundTripByName() {
        for variant in EvaluationVariant.allCases { #expect(EvaluationVariant(rawValue: variant.rawValue) == variant) }
    }
}
