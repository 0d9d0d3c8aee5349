import Foundation
import Testing
import ScepterProtocol

@Suite(.timeLimit(.minutes(1)))
struct ThreadLayoutTests {
    @Test("A kernel CPU list is counted range by range; anything else is not a list")
    func countsCPULists() {
        #expect(CPUAffinity.count(list: "0") == 1)
        #expect(CPUAffinity.count(list: "\t0-1\n") == 2)
        #expect(CPUAffinity.count(list: "0-3,8,10-11") == 7)
        for bad in ["", "-", "3-1", "0-", "a", "0,,1", "1-2-3", "-1"] {
            #expect(CPUAffinity.count(list: Substring(bad)) == nil, "\(bad)")
        }
    }

    @Test("The process's own affinity is read from /proc/self/status")
    func readsOwnAffinity() throws {
        let status = try String(contentsOfFile: "/proc/self/status", encoding: .utf8)
        let line = try #require(status.split(separator: "\n").first { $0.hasPrefix("Cpus_allowed_list:") })
        #expect(CPUAffinity.allowedCPUs() == CPUAffinity.count(list: line.dropFirst("Cpus_allowed_list:".count)))
        #expect(CPUAffinity.allowedCPUs(status: "/nonexistent") == nil)
    }

    @Test("One event loop per CPU the process may use: the fewer of NIO's count and the affinity")
    func eventLoopsFollowTheFewerCPUs() {
        func loops(_ counted: Int, _ allowed: Int?, _ environment: [String: String] = [:]) -> Int {
            var settings = Settings(environment: environment)
            return ThreadLayout.load(&settings, counted: counted, allowed: allowed).eventLoops
        }
        #expect(loops(8, 1) == 1)
        #expect(loops(2, 16) == 2)
        #expect(loops(4, nil) == 4)
        // An operator's count wins over both.
        #expect(loops(8, 1, ["NIO_SINGLETON_GROUP_LOOP_COUNT": "3"]) == 3)
    }

    @Test("A NIO_SINGLETON_GROUP_LOOP_COUNT NIO would quietly take for something else is refused by name")
    func loopCountChecked() {
        for (text, message) in [
            ("abc", #""abc" is not a whole number of at least 1"#), ("0", #""0" is not a whole number of at least 1"#),
            ("2000", "2000 is more than the 1024 event loops NIO runs at most"),
        ] {
            var settings = Settings(environment: ["NIO_SINGLETON_GROUP_LOOP_COUNT": text])
            #expect(ThreadLayout.load(&settings, counted: 2, allowed: 2).eventLoops == 2)
            #expect(settings.problems.map(\.description) == ["NIO_SINGLETON_GROUP_LOOP_COUNT: \(message)"])
        }
    }

    @Test("SCEPTER_TASK_EXECUTOR: event-loops by default, pool on request, anything else refused by name")
    func executorSetting() {
        var settings = Settings(environment: [:])
        #expect(ThreadLayout.load(&settings, counted: 2, allowed: 2).executor == .eventLoops)
        settings = Settings(environment: ["SCEPTER_TASK_EXECUTOR": "Pool"])
        #expect(ThreadLayout.load(&settings, counted: 2, allowed: 2).executor == .pool)
        #expect(settings.problems.isEmpty)
        settings = Settings(environment: ["SCEPTER_TASK_EXECUTOR": "threads"])
        #expect(ThreadLayout.load(&settings, counted: 2, allowed: 2).executor == .eventLoops)
        #expect(settings.problems.map(\.description) == [#"SCEPTER_TASK_EXECUTOR: "threads" is not one of event-loops, pool"#])
    }
}
