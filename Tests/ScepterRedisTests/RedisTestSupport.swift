import Logging
import ScepterRedis
import ScepterTesting

let testLogger: Logger = {
    var logger = Logger(label: "scepter.redis.test")
    logger.logLevel = .error
    return logger
}()

/// Runs `body` with a client of `url` (default: the shared test Redis) and closes it after.
@discardableResult
func withClient<T>(
    url: String? = nil, timeout: Duration = .seconds(10), _ body: (RedisClient) async throws -> T
) async throws -> T {
    let client = try RedisClient(url: url ?? TestRedis.url(), logger: testLogger, timeout: timeout)
    do {
        let result = try await body(client)
        await client.close()
        return result
    } catch {
        await client.close()
        throw error
    }
}

extension RedisError {
    /// For `#expect(throws:)`: the code matches and the message contains `text`.
    func matches(_ code: Code, _ text: String = "") -> Bool {
        self.code == code && (text.isEmpty || message.contains(text))
    }
}

extension RedisValue {
    static func bulk(_ text: String) -> RedisValue { .bulk(Array(text.utf8)) }
}
