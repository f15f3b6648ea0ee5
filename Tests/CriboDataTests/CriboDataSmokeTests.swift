// SPDX-License-Identifier: Apache-2.0
import CriboData
import Testing

@Suite struct CriboDataSmokeTests {
    @Test func moduleLinks() { #expect(CriboDataInfo.version == "1") }
}
