import Foundation

/// The Redis the tests use: `SCEPTER_TEST_REDIS_URL`, which `scripts/test`
/// sets after `scripts/services start`. Tests fail, never skip, without it.
public enum TestRedis {
    public struct NotConfigured: Error, CustomStringConvertible {
        public var description: String {
            """
            SCEPTER_TEST_REDIS_URL is not set, and these tests need a real Redis. \
            Start one with `eval "$(scripts/services start)"` (Debian's redis-server on 127.0.0.1:56379; \
            `scripts/install-deps --test` installs it), or run everything with scripts/test, which does both.
            """
        }
    }

    /// The URL of the shared test Redis, e.g. redis://127.0.0.1:56379/0.
    public static func url() throws -> String {
        guard let url = ProcessInfo.processInfo.environment["SCEPTER_TEST_REDIS_URL"], !url.isEmpty else {
            throw NotConfigured()
        }
        return url
    }

    /// A key prefix no other test uses, so tests running in parallel on the
    /// same database stay independent.
    public static func uniquePrefix(_ label: String = "test") -> String {
        "scepter-test:\(label):\(UUID().uuidString.lowercased()):"
    }
}
