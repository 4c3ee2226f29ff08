import Sightline
import Testing

/// The controller against the simulated bus on fixed seeds: settling, overshoot and
/// oscillation bounds. The consumer handles 1000 messages/s; the lag target is 200 ms.
@Suite struct SimulationStabilityTests {
    static let target = Duration.milliseconds(200)
    static let band = Duration.milliseconds(250)

    static func policy(_ mode: BackPressurePolicy.RateControl.Mode = .pi) -> BackPressurePolicy {
        BackPressurePolicy(
            channels: ["sim": .init(lagTarget: target)], rate: .init(mode: mode))
    }

    /// 0.5x for 5 s, 1.4x for 10 s, 0.5x for 5 s.
    static func step(
        seed: UInt64, mode: BackPressurePolicy.RateControl.Mode = .pi, controller: Bool = true
    ) throws -> BackPressureSimulation.Outcome {
        try BackPressureSimulation(
            .init(
                seed: seed, duration: .seconds(20), capacity: 1000,
                load: { $0 < .seconds(5) ? 0.5 : ($0 < .seconds(15) ? 1.4 : 0.5) },
                policy: policy(mode), controllerEnabled: controller)
        ).run()
    }

    @Test(arguments: [1, 42, 7777] as [UInt64])
    func stepTo1_4x_settlesWithinOneSecondWithLittleOvershoot(seed: UInt64) throws {
        let outcome = try Self.step(seed: seed)

        let settling = try #require(
            outcome.settlingTime(from: .seconds(5), to: .seconds(15), band: Self.band))
        #expect(settling <= .seconds(1))
        #expect(outcome.overshoot(from: .seconds(5), to: .seconds(15), target: Self.target) <= 0.25)
        #expect(outcome.stateChanges(from: .seconds(6), to: .seconds(15)) == 0)
        #expect(outcome.goodput(from: .seconds(6), to: .seconds(15)) >= 950)
        #expect(outcome.priorities[.critical]!.shed == 0)
        #expect(outcome.priorities[.high]!.shed == 0)
    }

    @Test func stepBackTo0_5x_returnsToCalmAndEmptiesTheQueue() throws {
        let outcome = try Self.step(seed: 42)

        let after = outcome.samples.filter { $0.at >= .seconds(17) }
        #expect(after.allSatisfy { $0.state == .calm })
        #expect(after.allSatisfy { $0.timeBehind < .milliseconds(50) })
    }

    @Test func sameSeed_givesTheSameOutcome() throws {
        let first = try Self.step(seed: 9)
        let second = try Self.step(seed: 9)

        #expect(first.samples == second.samples)
        #expect(first.priorities == second.priorities)
    }

    @Test func withoutController_lagGrowsWithoutBound() throws {
        let outcome = try Self.step(seed: 42, controller: false)

        #expect(outcome.settlingTime(from: .seconds(5), to: .seconds(15), band: Self.band) == nil)
        #expect(outcome.overshoot(from: .seconds(5), to: .seconds(15), target: Self.target) > 10)
    }

    @Test func aimd_keepsLagBoundedButOscillatesMoreThanPI() throws {
        let aimd = try Self.step(seed: 42, mode: .aimd)
        let pi = try Self.step(seed: 42)

        func spread(_ outcome: BackPressureSimulation.Outcome) -> Double {
            let rates = outcome.samples.filter { $0.at >= .seconds(7) && $0.at < .seconds(15) }
                .compactMap(\.admittedRate)
            return (rates.max()! - rates.min()!) / 1000
        }
        #expect(aimd.overshoot(from: .seconds(5), to: .seconds(15), target: Self.target) <= 0.5)
        #expect(aimd.goodput(from: .seconds(6), to: .seconds(15)) >= 850)
        #expect(spread(aimd) > spread(pi))
        #expect(spread(pi) <= 0.3)
    }

    @Test func consumerHalvingItsSpeed_settlesAtTheNewCapacity() throws {
        let outcome = try BackPressureSimulation(
            .init(
                seed: 5, duration: .seconds(15), capacity: 1000, load: { _ in 0.8 },
                slowdown: (at: .seconds(5), factor: 2), policy: Self.policy())
        ).run()

        let settling = try #require(
            outcome.settlingTime(from: .seconds(5), to: .seconds(15), band: Self.band))
        #expect(settling <= .seconds(1.5))
        #expect(outcome.goodput(from: .seconds(6), to: .seconds(15)) >= 475)
        #expect(outcome.priorities[.critical]!.shed == 0)
    }

    @Test func fiveTimesOverload_shedsFromTheBottomAndNeverCritical() throws {
        let outcome = try BackPressureSimulation(
            .init(
                seed: 11, duration: .seconds(10), capacity: 1000, load: { _ in 5 },
                policy: Self.policy())
        ).run()

        func admittedShare(_ priority: Priority) -> Double {
            let counts = outcome.priorities[priority]!
            return Double(counts.admitted) / Double(counts.offered)
        }
        #expect(outcome.priorities[.critical]!.shed == 0)
        #expect(outcome.goodput(from: .seconds(1), to: .seconds(10)) >= 950)
        // The first tick already finds the queue twice its target: one tick of reaction at
        // 5x. The bounded decrease then works the backlog off within about a second.
        let settling = try #require(
            outcome.settlingTime(from: .zero, to: .seconds(10), band: Self.band))
        #expect(settling <= .seconds(1.5))
        #expect(outcome.overshoot(from: .zero, to: .seconds(10), target: Self.target) <= 1.5)
        #expect(
            outcome.overshoot(from: .seconds(1.5), to: .seconds(10), target: Self.target) <= 0.25)
        // Critical (0.5x) and high (1x) alone exceed capacity: normal and low get about
        // their probe share once regulation bites.
        #expect(admittedShare(.high) > admittedShare(.normal))
        #expect(admittedShare(.normal) < 0.04)
        #expect(admittedShare(.low) < 0.04)
    }
}
