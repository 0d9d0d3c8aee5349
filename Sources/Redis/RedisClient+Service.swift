import ScepterProtocol
import ServiceLifecycle

/// Closes a Redis client once everything that used it has stopped: put it in
/// a ServiceGroup before the services that use the client (the group stops
/// them in reverse order).
package struct RedisClientService: Service {
    let client: RedisClient

    package init(client: RedisClient) { self.client = client }

    package func run() async throws {
        try? await gracefulShutdown()
        await client.close()
    }
}

extension Settings {
    /// `SCEPTER_REDIS_URL` (or its owner-only `_FILE`: the URL may hold a
    /// password), parsed; a problem naming the variable is recorded when it
    /// is missing or wrong. `use` says what the role needs Redis for.
    package mutating func redis(for use: String, _ name: String = "SCEPTER_REDIS_URL") -> RedisClient.Configuration? {
        guard let url = requiredSecret(name, "\(use), e.g. redis://redis:6379/0") else { return nil }
        let caPath = string("SCEPTER_REDIS_CA_PATH")
        do {
            var configuration = try RedisClient.Configuration(url: url)
            if let caPath {
                if configuration.tls {
                    configuration.tlsCAPath = caPath
                    let bundle = try? SecretFiles.readPublic(at: caPath, setting: "SCEPTER_REDIS_CA_PATH")
                    if bundle?.contains("-----BEGIN CERTIFICATE-----") != true {
                        problem("SCEPTER_REDIS_CA_PATH", "\(caPath) is not a readable PEM certificate bundle")
                    }
                } else {
                    problem("SCEPTER_REDIS_CA_PATH", "is set but \(name) is not rediss://; use rediss:// or remove it")
                }
            }
            return configuration
        } catch let error as RedisError {
            problem(name, error.message)
        } catch {
            problem(name, "\(error)")
        }
        return nil
    }
}
